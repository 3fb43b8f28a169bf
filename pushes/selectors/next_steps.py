"""What happens next, in words: for a pick that leaves a push, and for every open pick.

Every open pick has a push it is waiting for or a sentence that says exactly what happens to
it; the pick's page, the API (`next_step`), the bot's `mine` and the notices all read it here.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from common.times import when
from pushes import cadence
from pushes.choices import PUSH_UPCOMING_STATES, PickState
from pushes.models import Engineer, Pick, Push, ReleaseBranch


def push_next(*, branch: ReleaseBranch, now: dt.datetime) -> Push | None:
    """The next push of a branch that a pick asked for now can still make."""
    return (
        Push.objects.filter(branch=branch, state__in=PUSH_UPCOMING_STATES, scheduled_at__gt=now)
        .order_by("scheduled_at")
        .first()
    )


def what_next(*, branch: ReleaseBranch, after: dt.datetime) -> tuple[Push | None, str]:
    """Where a pick that leaves a push goes: the branch's next push, or (none left this week)
    the next weekly cut, which takes its revision from trunk. With the words that say so."""
    nxt = push_next(branch=branch, now=after)
    if nxt is not None:
        return nxt, f"push {nxt.label} at {_at(nxt)}"
    return None, next_cut_text(branch=branch, after=after)


def next_cut_text(*, branch: ReleaseBranch, after: dt.datetime | None = None) -> str:
    return _after_the_week(branch, _moved_on(branch), after)


def _moved_on(branch: ReleaseBranch) -> str:
    """The branch the train moved on to, when `branch` is an older one (kept open because it
    is still deployed somewhere); "" for the current branch."""
    newer = ReleaseBranch.objects.filter(
        repository_id=branch.repository_id, cut_at__gt=branch.cut_at
    )
    return newer.order_by("-cut_at").values_list("name", flat=True).first() or ""


def _after_the_week(branch: ReleaseBranch, newer: str, after: dt.datetime | None = None) -> str:
    """What a pick waits for when no push of its branch is left: the next cut, which takes its
    revision from trunk; on an older branch, which no cut feeds, a push started by hand."""
    if newer:
        return (
            f"a push of {branch.name} that release engineering starts (the train moved on to "
            f"{newer}, so none is scheduled)"
        )
    repository = branch.repository
    cut = cadence.next_cut_slot(repository, max(after or timezone.now(), timezone.now()))
    return (
        f"the next weekly cut ({when(cut, repository)}): no push of {branch.name} is left, "
        "and the cut takes its revision from trunk"
    )


def _at(push: Push) -> str:
    return when(push.scheduled_at, push.branch.repository)


def pick_next_step(pick: Pick, engineer: Engineer | None = None, *, confirm_with: str = "") -> str:
    """What is expected of the requestor and what happens to the pick next, in one line.

    `confirm_with` is how the reader confirms (the bot says "`confirm 12`").
    """
    upcoming = pick.push if pick.push and pick.push.state in PUSH_UPCOMING_STATES else None
    push = f"push {upcoming.label} at {_at(upcoming)}" if upcoming else ""
    files = ", ".join(pick.conflict_files[:3]) or "some files"
    state = pick.state
    if state in (PickState.REQUESTED, PickState.APPROVED, PickState.DEFERRED) and not upcoming:
        leads: dict[str, str] = {
            PickState.REQUESTED: "requested, waiting for release engineering to approve it",
            PickState.APPROVED: "approved",
            PickState.DEFERRED: "deferred",
        }
        newer = _moved_on(pick.branch)
        unless = "" if newer else ", unless release engineering starts a push"
        text = f"{leads[state]}; it waits for {_after_the_week(pick.branch, newer)}{unless}"
    elif state == PickState.PICKED:
        text = _picked(pick, upcoming)
    else:
        how = f": {confirm_with}" if confirm_with else ""
        then = "the next push"
        if state == PickState.AWAITING_CONFIRMATION and not (upcoming and _later(upcoming)):
            then = _week_over(pick.branch)
        texts: dict[str, str] = {
            PickState.REQUESTED: "requested, waiting for release engineering to approve it",
            PickState.APPROVED: f"approved for {push}; I will ask you to confirm before it",
            PickState.AWAITING_CONFIRMATION: (
                f"confirm you are online for {push or 'its push'}{how}, or it rolls to {then}"
            ),
            PickState.CONFIRMED: f"confirmed: be online for {push or 'its push'}",
            PickState.DEFERRED: f"rolled to {push}; I will ask again before it",
            PickState.CONFLICT: (
                f"did not apply ({files}): prepare a change for {pick.branch.name} and request that"
            ),
            PickState.TESTS_FAILED: "broke the tests and was taken back off: fix it and ask again",
        }
        text = texts.get(state, pick.get_state_display().lower())
    if engineer is not None and pick.requestor_id != engineer.pk:
        text += f" (backup for {pick.requestor})"
    return text


def _week_over(branch: ReleaseBranch) -> str:
    """Where a pick asked for its branch's last push rolls: the cut, or on an older branch (which
    no cut feeds) a push started by hand."""
    newer = _moved_on(branch)
    return _after_the_week(branch, newer) if newer else "the next weekly cut"


def _later(push: Push) -> bool:
    return push_next(branch=push.branch, now=push.scheduled_at) is not None


def _picked(pick: Pick, upcoming: Push | None) -> str:
    """On the branch Releasebot pushes from, not in a pushed tag yet: the push that carries it."""
    branch = pick.branch.name
    if upcoming is not None:
        return f"on {branch}; it ships with push {upcoming.label} at {_at(upcoming)}"
    _, then = what_next(branch=pick.branch, after=timezone.now())
    missed = f" (push {pick.push.label} did not get it out)" if pick.push else ""
    return f"on {branch}{missed}; it ships with {then}"
