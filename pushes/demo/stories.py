"""The picks no push has taken yet, the ones that went nowhere, and the karma they cost.

Open picks wait on the current branch for its next push; last week's branch keeps a pick that
expired and one that was rejected; release engineering's unlikes follow the failures.
"""

from __future__ import annotations

import datetime as dt

from pushes import git
from pushes.choices import PickState
from pushes.demo.plan import BOT, REL, BranchPlan, KarmaPlan, PickPlan, timeline
from pushes.demo.train import TrainWalk

MINUTE = dt.timedelta(minutes=1)
NOT_CONFIRMED = "Not confirmed before the push."  # the push runner's words
# The current branch's open picks, most wanted first: with few commits early in the week,
# the first ones still show every state.
OPEN = [
    "confirmed", "awaiting", "approved-large", "requested", "deferred-by-bot", "deferred",
    "approved", "requested", "withdrawn", "rejected", "requested", "confirmed", "awaiting",
    "approved",
]  # fmt: skip
UNLIKES = [
    ("dmitri", "Not online to support his pick on {0}; it had to be pulled at merge time."),
    ("dmitri", "Pick on {1} shipped without a test plan and needed a fix-forward the same day."),
    ("fatima", "Pick on {0} broke refund emails for two hours."),
    ("fatima", "Did not answer the confirmation for {1}, twice in one week."),
    ("mateo", "Asked for a 600-line refactor as a 'one-line fix' for {1}."),
    ("sofia", "Not online when her pick shipped on {0}; on-call had to find her."),
    ("lucas", "Pick on {0} re-opened a fixed checkout bug."),
]


def open_picks(walk: TrainWalk, branch: BranchPlan) -> None:
    """Picks on the current branch in every open state (and a withdrawn and a rejected one)."""
    now, rng = walk.now, walk.rng
    pool = walk.pool(branch, now - min(20 * MINUTE, (now - branch.cut_at) * 0.2))
    upcoming = [p for p in branch.pushes if p.scheduled_at > now]
    next_push = upcoming[0] if upcoming else None
    done = [p for p in walk.past(branch) if p.is_daily]
    large = [c for c in pool if c.kind == "big"]
    for story in OPEN:
        if not pool:
            break
        if story == "approved-large" and large:
            commit = large[0]
        elif story == "rejected":
            cleanups = [c for c in pool if c.kind in ("refactor", "docs")]
            commit = rng.choice(cleanups or pool)
        else:
            commit = rng.choice([c for c in pool if c.kind != "big"] or pool)
        if commit in large:
            large.remove(commit)
        pool.remove(commit)
        pick = walk.take(branch, commit)
        last = done[-1] if done else None
        if story == "deferred-by-bot" and last and commit.at < last.scheduled_at - 90 * MINUTE:
            _rolled(walk, pick, last)
        else:
            _open(walk, pick, story.removesuffix("-large").removesuffix("-by-bot"))
        if pick.state not in (PickState.REJECTED, PickState.WITHDRAWN):
            pick.push = next_push


def _open(walk: TrainWalk, pick: PickPlan, story: str) -> None:
    asked = [PickState.REQUESTED, PickState.APPROVED, PickState.AWAITING_CONFIRMATION]
    path = {
        "requested": asked[:1],
        "approved": asked[:2],
        "awaiting": asked,
        "confirmed": [*asked, PickState.CONFIRMED],
        "deferred": [PickState.REQUESTED, PickState.DEFERRED],
        "withdrawn": [PickState.REQUESTED, PickState.APPROVED, PickState.WITHDRAWN],
        "rejected": [PickState.REQUESTED, PickState.REJECTED],
    }[story]
    rng, now = walk.rng, walk.now
    # Between the commit and now, however close they are (the demo may run just after a cut).
    span = now - pick.commit.at
    start = pick.commit.at + min(5 * MINUTE, span * 0.1)
    end = now - min(MINUTE, span * 0.05)
    # The bot asks for confirmation shortly before a push: these two are the latest steps.
    late = [s for s in path if s in (PickState.AWAITING_CONFIRMATION, PickState.CONFIRMED)]
    early = path[: len(path) - len(late)]
    asked_at = end - min(rng.randint(12, 25) * MINUTE, (end - start) * 0.3)
    before = asked_at - min(15 * MINUTE, (asked_at - start) * 0.2) if late else end
    times = timeline(rng, start, before, len(early))
    if late:
        times.append(asked_at)
    if len(late) == 2:
        times.append(asked_at + (end - asked_at) * rng.uniform(0.2, 0.8))
    for at, state in zip(times, path, strict=True):
        pick.move(at, state, *_who(walk, pick, state))


def _who(walk: TrainWalk, pick: PickPlan, state: str) -> tuple[str | None, str]:
    if state == PickState.REQUESTED:
        return pick.requestor, pick.reason
    if state == PickState.CONFIRMED:
        return pick.requestor, ""
    if state == PickState.WITHDRAWN:
        return pick.requestor, "Not needed after all: the flag is off in production."
    if state == PickState.AWAITING_CONFIRMATION:
        return BOT, ""
    if state == PickState.DEFERRED:
        return REL, "Holding this until Monday's load test: it touches the shard cache."
    if state == PickState.REJECTED:
        return REL, _rejection(walk, pick)
    return REL, ""  # approved


def _rejection(walk: TrainWalk, pick: PickPlan) -> str:
    stat = git.diff_stat(walk.clone, pick.commit.sha)
    if pick.commit.kind == "big":
        size = stat.lines_added + stat.lines_deleted
        return f"Too large for a daily push ({size} lines); it rides Sunday's cut."
    if pick.commit.kind in ("refactor", "docs"):
        return "A clean-up, not a fix: it rides Sunday's cut with everything else."
    return "The bug is not on the branch: the code this fixes landed on trunk after the cut."


def _rolled(walk: TrainWalk, pick: PickPlan, missed) -> None:
    """Approved for `missed`, never confirmed: the bot rolled it to the next push."""
    walk.ask(pick, pick.commit.at, missed)
    confirmed = pick.events.pop()
    pick.state, pick.confirmed_at = PickState.AWAITING_CONFIRMATION, None
    pick.move(missed.started_at or confirmed.at, PickState.DEFERRED, BOT, NOT_CONFIRMED)
    pick.rolls = 1


def closed_picks(walk: TrainWalk, branch: BranchPlan) -> None:
    """On last week's branch: carol's pick that expired unconfirmed, and a rejected feature."""
    dailies = [p for p in branch.pushes if p.is_daily][: walk.max_rolls + 1]
    pool = walk.pool(branch, dailies[0].scheduled_at - 150 * MINUTE)
    carols = [c for c in pool if c.author.username == "carol"] or pool
    if carols:
        pick = walk.take(branch, walk.rng.choice(carols), "carol")
        walk.ask(pick, branch.cut_at, dailies[0])
        pick.events.pop()
        pick.state, pick.confirmed_at = PickState.AWAITING_CONFIRMATION, None
        for rolls, push in enumerate(dailies, start=1):
            if rolls > 1:
                ask = push.scheduled_at - 30 * MINUTE
                pick.move(ask, PickState.AWAITING_CONFIRMATION, BOT)
            pick.move(push.scheduled_at, PickState.DEFERRED, BOT, NOT_CONFIRMED)
        # As the push runner words it: the roll past the last allowed one expires the pick.
        reason = f"rolled {len(dailies) - 1} times"
        pick.move(dailies[-1].scheduled_at, PickState.EXPIRED, BOT, reason)
        pick.rolls, pick.push = len(dailies), dailies[-1]
    features = [c for c in pool if c.kind in ("feature", "big")]
    if features:
        pick = walk.take(branch, walk.rng.choice(features))
        times = timeline(walk.rng, pick.commit.at, dailies[0].scheduled_at, 2)
        pick.move(times[0], PickState.REQUESTED, pick.requestor, pick.reason)
        reason = "A feature, not a fix: it rides next week's train with everything else."
        pick.move(times[1], PickState.REJECTED, REL, reason)


def karma_stories(walk: TrainWalk) -> list[KarmaPlan]:
    """Release engineering's unlikes and one restore, each after what prompted it."""
    plans = []
    for pick in walk.plan.picks:
        last = pick.events[-1]
        if pick.state == PickState.TESTS_FAILED and pick.push:
            area = pick.commit.area
            reason = f"Pick broke {area} tests on push {pick.push.label}."
            plans.append(KarmaPlan(pick.requestor, "unlike", reason, last.at + 40 * MINUTE, pick))
        elif pick.state == PickState.REVERTED and pick.push:
            reason = f"Pick shipped on {pick.push.label} had to be reverted within hours."
            plans.append(KarmaPlan(pick.requestor, "unlike", reason, last.at + 90 * MINUTE, pick))
        elif pick.state == PickState.EXPIRED and pick.push:
            reason = f"Not online for four pushes in a row; pick expired on {pick.push.label}."
            plans.append(KarmaPlan(pick.requestor, "unlike", reason, last.at + 30 * MINUTE, pick))
    pushes = [p for b in walk.plan.branches[:2] for p in b.pushes if p.is_daily]
    for i, (username, template) in enumerate(UNLIKES):
        first, second = pushes[i % 3], pushes[3 + i % 3]
        at = (second if "{1}" in template else first).finished_at or second.scheduled_at
        reason = template.format(first.label, second.label)
        plans.append(KarmaPlan(username, "unlike", reason, at + (20 + i) * MINUTE))
    restore = pushes[-1].finished_at or pushes[-1].scheduled_at
    reason = "Talked it through: he runs the tests before asking now. Stars back."
    plans.append(KarmaPlan("lucas", "restore", reason, restore + 2 * MINUTE))
    return sorted(plans, key=lambda k: k.at)
