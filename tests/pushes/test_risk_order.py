"""The risk dashboard orders, counts and filters open picks by a risk level the database holds;
each row's risk comes from `pick_risk` in Python, as the pick's own page computes it.
Hypothesis builds random trains, looks at the dashboard, changes them the ways the product
does, and after each change holds the dashboard to `pick_risk` for every open pick: the
order, the counts by level and flag, and what each risk filter shows.

A train is one or two repositories, with their own thresholds, hot paths, confirmation lead
and time zone (Friday is the repository's Friday), a few pushes each, and picks of random
sizes, files and review comments (unknown too), hot files, predicted conflicts, requestors
at 0 to 5 stars, revisions rejected before (on this branch or an older one of the same
repository, or in another repository, which does not count), created close to their push or
not. The changes: stars taken off and given back, pushes moved, risk settings changed (through
the settings service, a bulk update or a save), picks rejected, deferred and withdrawn
through the services, and review comments, predicted conflicts, files, sizes and pushes
written as the review service, the rehearsal and the train write them.

RISK_ORDER_EXAMPLES sets the number of examples (40); RISK_ORDER_RANDOM=1 draws new ones
instead of the same ones every run. Each example runs in a savepoint rolled back after it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections import Counter

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from common.errors import DomainError
from karma.models import Karma
from karma.selectors import karma_stars
from karma.services import karma_restore, karma_unlike
from pushes import services
from pushes.choices import PICK_ACTIVE_STATES, PICK_OPEN_STATES, BranchState, PickState
from pushes.models import Pick, Push, ReleaseBranch, Repository
from pushes.risk import Risk, pick_risk
from pushes.selectors import pick_rejections
from pushes.selectors.risk_dashboard import RiskFilters, dashboard_risk
from pushes.selectors.risk_rows import train_branches
from pushes.services.repository_settings import repository_settings_update
from tests.conftest import make_engineer

EXAMPLES = int(os.environ.get("RISK_ORDER_EXAMPLES", "40"))
MONDAY_UTC = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC)
RANK = {"high": 0, "medium": 1, "low": 2}  # the riskiest first
PATHS = ("src/pay/a.py", "db/1.sql", "src/app.py", "README.md", "src/pay/deep/b.py")
HOT_PATHS: tuple[list[str], ...] = ([], ["src/pay/*"], ["*.sql", "src/pay/*"], ["docs/*"], ["*"])
ZONES = ("America/Los_Angeles", "Pacific/Auckland", "UTC")
STATES = (*PICK_OPEN_STATES, *[PickState.REJECTED] * 3, PickState.SHIPPED, PickState.WITHDRAWN)
_shas = itertools.count(10_000)

# What the examples got up to, counted so the test shows it was not vacuous.
SEEN: Counter[str] = Counter()
SITUATIONS = (
    "high", "medium", "low", "flagged", "large", "controversial", "controversial by rejections",
    "comments unknown", "star requestor", "hot files", "predicted to conflict", "Friday",
    "close to the push", "no push", "two repositories", "level changed by a change",
    *(f"change: {name}" for name in (
        "unlike", "restore", "move push", "settings", "reject", "defer", "withdraw", "comments",
        "conflicts", "repush", "files",
    )),
)  # fmt: skip

# --- what Hypothesis draws ----------------------------------------------------------------

sizes = st.fixed_dictionaries(
    {  # mostly small, some large: most thresholds fall in between
        "lines_added": st.integers(0, 40) | st.integers(0, 600),
        "lines_deleted": st.integers(0, 20) | st.integers(0, 300),
        "files_changed": st.integers(0, 3) | st.integers(0, 15),
    }
)
risk_settings = st.fixed_dictionaries(
    {},
    optional={
        "time_zone": st.sampled_from(ZONES),
        "risk_size_threshold": st.sampled_from([0, 1, 200, 400, 700]) | st.integers(0, 900),
        "risk_churn_threshold": st.sampled_from([0, 7, 70, 100]) | st.integers(0, 250),
        "confirm_lead_minutes": st.sampled_from([0, 30, 120]),
        "hot_paths": st.sampled_from(HOT_PATHS),
    },
)
repositories = st.fixed_dictionaries(
    {
        "time_zone": st.sampled_from(ZONES),
        "risk_size_threshold": st.sampled_from([0, 1, 200, 400, 700]) | st.integers(0, 900),
        "risk_churn_threshold": st.sampled_from([0, 7, 70, 100]) | st.integers(0, 250),
        "confirm_lead_minutes": st.sampled_from([0, 30, 120]),
        "hot_paths": st.sampled_from(HOT_PATHS),
        # quarter-hours after Monday 00:00 UTC, over eight days: some land on a local Friday
        "pushes": st.lists(
            st.tuples(st.integers(0, 8 * 24 * 4), st.sampled_from([0, 0, 500_000])),
            min_size=1,
            max_size=3,
        ),
    }
)
# Minutes from the pick's push (or from Monday when it has none); "lead" is exactly the
# repository's confirmation lead before the push, the boundary of "close to the push".
created = st.sampled_from(["lead", "lead-1s", "lead+1s"]) | st.integers(-240, 30)
picks = st.builds(
    lambda values, size: {**values, **size},
    st.fixed_dictionaries(
        {
            "repository": st.integers(0, 1),
            "old_branch": st.integers(0, 4).map(lambda n: n == 0),  # rejected on an older cut
            "push": st.integers(0, 3),  # an index into its branch's pushes; past the end: none
            "requestor": st.integers(0, 3),
            "state": st.sampled_from(STATES),
            "sha": st.integers(0, 3),  # a small pool: revisions come back after a rejection
            "review_comments": st.none() | st.integers(0, 30),
            "paths": st.lists(st.sampled_from(PATHS), max_size=3, unique=True),
            "predicted_conflicts": st.sampled_from([[], [], ["src/app.py"]]),
            "created": created,
        }
    ),
    sizes,
)
anyone = st.integers(0, 3)
a_pick = st.integers(0, 40)  # an index into the train's picks, modulo their number
changes = st.one_of(
    st.tuples(st.just("unlike"), anyone),
    st.tuples(st.just("restore"), anyone),
    st.tuples(
        st.just("move push"),
        st.integers(0, 1),
        st.integers(0, 2),
        st.integers(0, 8 * 24 * 4),
        st.sampled_from(["update", "save"]),
    ),
    st.tuples(
        st.just("settings"),
        st.integers(0, 1),
        risk_settings,
        st.sampled_from(["service", "update", "save"]),
    ),  # fmt: skip
    st.tuples(st.just("reject"), a_pick),
    st.tuples(st.just("defer"), a_pick),
    st.tuples(st.just("withdraw"), a_pick),
    st.tuples(st.just("comments"), a_pick, st.none() | st.integers(0, 30)),
    st.tuples(st.just("conflicts"), a_pick, st.sampled_from([[], ["src/app.py"]])),
    st.tuples(st.just("repush"), a_pick, st.integers(0, 3)),
    st.tuples(st.just("files"), a_pick, st.lists(st.sampled_from(PATHS), max_size=3), sizes),
)
trains = st.fixed_dictionaries(
    {
        "repositories": st.lists(repositories, min_size=1, max_size=2),
        "stars": st.lists(st.none() | st.integers(0, 5), min_size=4, max_size=4),
        "picks": st.lists(picks, min_size=1, max_size=24),
        "changes": st.lists(changes, max_size=6),
    }
)

# --- the train as rows --------------------------------------------------------------------


class Train:
    """The rows of one drawn train, and the changes made to it."""

    def __init__(self, train: dict, people: list, rel) -> None:
        self.people, self.rel = people, rel
        for engineer, stars in zip(people, train["stars"], strict=True):
            if stars is not None:  # no row: the starting five
                Karma.objects.create(user=engineer.user, stars=stars)
        self.lines = [_line(n, values) for n, values in enumerate(train["repositories"])]
        self.picks: list[Pick] = []
        active: set[tuple[int, str]] = set()
        for values in train["picks"]:
            older, current, pushes = self.lines[min(values["repository"], len(self.lines) - 1)]
            state = values["state"]
            on_older = values["old_branch"] and state == PickState.REJECTED
            branch = older if on_older else current
            n = values["push"]
            push = pushes[n] if not on_older and n < len(pushes) else None
            sha = f"{values['sha']:040x}"
            if state in PICK_ACTIVE_STATES:  # one active pick of a revision per branch
                if (branch.pk, sha) in active:
                    sha = f"{next(_shas):040x}"
                active.add((branch.pk, sha))
            requestor = people[values["requestor"]]
            self.picks.append(_pick(values, branch=branch, push=push, sha=sha, requestor=requestor))

    def change(self, change: tuple) -> None:
        """One change, made the way the product makes it; a move the product refuses (a
        pick no longer open, no stars left) changes nothing."""
        name, *args = change
        try:
            getattr(self, "_" + name.replace(" ", "_"))(*args)
        except DomainError:
            SEEN[f"refused: {name}"] += 1
        else:
            SEEN[f"change: {name}"] += 1

    def _unlike(self, who: int) -> None:
        karma_unlike(user_id=self.people[who].user_id, actor_id=self.rel.user_id, reason="Broke")

    def _restore(self, who: int) -> None:
        karma_restore(user_id=self.people[who].user_id, actor_id=self.rel.user_id, reason="Ok")

    def _move_push(self, line: int, n: int, quarters: int, how: str) -> None:
        pushes = self.lines[min(line, len(self.lines) - 1)][2]
        push = pushes[min(n, len(pushes) - 1)]
        at = MONDAY_UTC + dt.timedelta(minutes=15 * quarters)
        if how == "update":
            Push.objects.filter(pk=push.pk).update(scheduled_at=at)
        else:
            push.refresh_from_db()
            push.scheduled_at = at
            push.save(update_fields=["scheduled_at"])

    def _settings(self, line: int, changes: dict, how: str) -> None:
        repository = self.lines[min(line, len(self.lines) - 1)][1].repository
        if how == "service":  # what PATCH /api/repositories/<slug>/ calls
            repository_settings_update(repository=repository, actor=self.rel, changes=changes)
        elif how == "update":
            Repository.objects.filter(pk=repository.pk).update(**changes)
        else:  # the admin's change form
            repository = Repository.objects.get(pk=repository.pk)
            for field, value in changes.items():
                setattr(repository, field, value)
            repository.save()

    def _reject(self, n: int) -> None:
        pick = self.picks[n % len(self.picks)]
        services.pick_reject(pick_id=pick.pk, actor=self.rel, reason="Not now")

    def _defer(self, n: int) -> None:
        services.pick_defer(pick_id=self.picks[n % len(self.picks)].pk, actor=self.rel)

    def _withdraw(self, n: int) -> None:
        pick = self.picks[n % len(self.picks)]
        services.pick_withdraw(pick_id=pick.pk, actor=pick.requestor)

    def _comments(self, n: int, comments: int | None) -> None:  # as pushes.reviews does
        Pick.objects.filter(pk=self.picks[n % len(self.picks)].pk).update(review_comments=comments)

    def _conflicts(self, n: int, files: list[str]) -> None:  # as push_rehearse does
        Pick.objects.filter(pk=self.picks[n % len(self.picks)].pk).update(predicted_conflicts=files)

    def _repush(self, n: int, to: int) -> None:  # as the train moves picks on
        pick = self.picks[n % len(self.picks)]
        pushes = list(pick.branch.pushes.order_by("scheduled_at", "pk"))
        Pick.objects.filter(pk=pick.pk).update(push=pushes[to] if to < len(pushes) else None)

    def _files(self, n: int, paths: list[str], size: dict) -> None:  # an edit in the admin
        pick = Pick.objects.get(pk=self.picks[n % len(self.picks)].pk)
        pick.paths = paths
        for field, value in size.items():
            setattr(pick, field, value)
        pick.save()


def _line(n: int, values: dict) -> tuple[ReleaseBranch, ReleaseBranch, list[Push]]:
    """A repository: its closed older branch, its current branch and that one's pushes."""
    settings = {k: v for k, v in values.items() if k != "pushes"}
    repository = Repository.objects.create(
        slug=f"repo{n}", name=f"Repo {n}", remote_url=f"/tmp/nowhere-{n}", **settings
    )
    older = _branch(repository, "release/old", BranchState.CLOSED, days=7)
    current = _branch(repository, "release/new", BranchState.STABILISING, days=0)
    pushes = []
    for number, (quarters, micro) in enumerate(sorted(set(values["pushes"])), start=1):
        at = MONDAY_UTC + dt.timedelta(minutes=15 * quarters, microseconds=micro)
        pushes.append(
            Push.objects.create(branch=current, day=at.date(), number=number, scheduled_at=at)
        )
    return older, current, pushes


def _branch(repository: Repository, name: str, state: str, days: int) -> ReleaseBranch:
    return ReleaseBranch.objects.create(
        repository=repository,
        name=name,
        cut_at=MONDAY_UTC - dt.timedelta(days=1 + days),
        base_sha="0" * 40,
        state=state,
    )


def _pick(values: dict, **fields) -> Pick:
    pick = Pick.objects.create(
        **fields,
        state=values["state"],
        title="A change",
        author_name="A",
        author_email="a@example.com",
        reason="Needed",
        lines_added=values["lines_added"],
        lines_deleted=values["lines_deleted"],
        files_changed=values["files_changed"],
        review_comments=values["review_comments"],
        paths=values["paths"],
        predicted_conflicts=values["predicted_conflicts"],
    )
    Pick.objects.filter(pk=pick.pk).update(created_at=_created(values["created"], pick.push))
    return pick


def _created(offset: str | int, push: Push | None) -> dt.datetime:
    if push is None:
        return MONDAY_UTC + dt.timedelta(minutes=offset if isinstance(offset, int) else 0)
    if isinstance(offset, int):
        return push.scheduled_at + dt.timedelta(minutes=offset)
    lead = dt.timedelta(minutes=push.branch.repository.confirm_lead_minutes)
    second = {"lead": 0, "lead-1s": -1, "lead+1s": 1}[offset]
    return push.scheduled_at - lead + dt.timedelta(seconds=second)


# --- what the dashboard must say ----------------------------------------------------------


def expected_risks() -> dict[int, Risk]:
    """Each open pick of the train with its risk as the pick's own page computes it."""
    found = {}
    for pick in Pick.objects.filter(
        branch__in=list(train_branches()), state__in=PICK_OPEN_STATES
    ).select_related("branch__repository", "push__branch__repository", "requestor__user"):
        stars = karma_stars(user_id=pick.requestor.user_id)
        found[pick.pk] = pick_risk(pick, stars=stars, rejections=pick_rejections(pick=pick))
    return found


def riskiest_first(risks: dict[int, Risk]):
    """The dashboard's promise for sort=risk: next push first (picks without one last), then
    high, medium, low; flagged first; larger first; then by id."""
    pushes = Push.objects.filter(branch__in=list(train_branches())).order_by("scheduled_at", "pk")
    order = {p.pk: i for i, p in enumerate(pushes)}
    push_of = dict(Pick.objects.filter(pk__in=list(risks)).values_list("pk", "push_id"))

    def key(pk: int) -> tuple:
        risk = risks[pk]
        return (order.get(push_of[pk], len(order)), RANK[risk.level], not risk.flagged,
                -risk.size, pk)  # fmt: skip

    return key


def assert_the_dashboard_agrees(expected: dict[int, Risk], when: str) -> None:
    page = dashboard_risk(filters=RiskFilters(), per_page=1000)
    rows = [row for group in page.groups for row in group.rows]
    assert {row.pick.pk: row.risk for row in rows} == expected, when
    assert [row.pick.pk for row in rows] == sorted(expected, key=riskiest_first(expected)), when
    levels = Counter(r.level for r in expected.values())
    assert page.levels == {name: levels[name] for name in RANK}, when
    assert page.flagged == sum(r.flagged for r in expected.values()), when
    assert page.total == len(expected), when
    for sort in ("risk", "-size", "comments"):  # pages of three, read push by push, in order
        whole = dashboard_risk(filters=RiskFilters(sort=sort), per_page=1000)
        paged = [
            row.pick.pk
            for number in range(1, -(-len(expected) // 3) + 1)
            for group in dashboard_risk(
                filters=RiskFilters(sort=sort, page=number), per_page=3
            ).groups
            for row in group.rows
        ]
        assert paged == [row.pick.pk for group in whole.groups for row in group.rows], when
    for risk in (*RANK, "flagged"):
        shown = dashboard_risk(filters=RiskFilters(risk=risk), per_page=1000)
        ids = {row.pick.pk for group in shown.groups for row in group.rows}
        wanted = {
            pk
            for pk, r in expected.items()
            if (r.flagged if risk == "flagged" else r.level == risk)
        }
        assert ids == wanted, f"{when}: risk={risk}"


def seen(train: dict, risks: dict[int, Risk]) -> None:
    SEEN["two repositories"] += len(train["repositories"]) > 1
    picks = Pick.objects.filter(pk__in=list(risks)).select_related("branch__repository")
    for pick in picks:
        risk = risks[pick.pk]
        SEEN[risk.level] += 1
        SEEN["flagged"] += risk.flagged
        SEEN["no push"] += pick.push_id is None
        SEEN["comments unknown"] += risk.churn is None
        for reason in risk.reasons:
            SEEN[reason.split(" (")[0].split("-", 1)[-1]] += 1
        comments, limit = pick.review_comments, pick.branch.repository.risk_churn_threshold
        SEEN["controversial by rejections"] += comments is not None and 7 * comments < limit <= (
            risk.churn or 0
        )


# --- trains written out: what random ones reach rarely --------------------------------------


def _p(**changes) -> dict:
    return {
        "repository": 0, "old_branch": False, "push": 0, "requestor": 0,
        "state": PickState.REQUESTED, "sha": 0, "lines_added": 5, "lines_deleted": 1,
        "files_changed": 1, "review_comments": 2, "paths": [], "predicted_conflicts": [],
        "created": -600, **changes,
    }  # fmt: skip


def _r(**changes) -> dict:
    return {
        "time_zone": "UTC", "risk_size_threshold": 400, "risk_churn_threshold": 70,
        "confirm_lead_minutes": 30, "hot_paths": [], "pushes": [(4 * 96 + 44, 0)], **changes,
    }  # fmt: skip


# A revision rejected twice before in its repository (once on the older cut) and once in
# another: 2 comments (14) + 2 x 30 reach 70, 14 + 30 do not. Then the other pick of sha 2
# is rejected, and the pick of sha 1 in the other repository too: the count moves.
REJECTED_BEFORE = {
    "repositories": [_r(), _r()],
    "stars": [None, None, None, None],
    "picks": [
        _p(sha=1),
        _p(sha=1, state=PickState.REJECTED, push=9),
        _p(sha=1, state=PickState.REJECTED, old_branch=True),
        _p(sha=1, state=PickState.REJECTED, repository=1),
        _p(sha=1, repository=1, requestor=1),
        _p(sha=2, requestor=2),
        _p(sha=2, state=PickState.REJECTED),
        _p(sha=2, requestor=3, push=9),
    ],
    "changes": [("reject", 7), ("reject", 4)],
}
# Friday where the repository is: Thursday 12:00 UTC is Friday 01:00 in Auckland, Saturday
# 05:00 UTC is Friday 21:00 in Los Angeles; picks a second either side of the lead; then the
# pushes move, the time zones and leads change, and a requestor loses a star.
FRIDAYS_AND_LEADS = {
    "repositories": [
        _r(time_zone="Pacific/Auckland", pushes=[(336, 0), (300, 500_000)]),
        _r(time_zone="America/Los_Angeles", confirm_lead_minutes=120, pushes=[(500, 0)]),
    ],
    "stars": [5, 3, 4, 0],
    "picks": [
        _p(created="lead"),
        _p(created="lead-1s", sha=1, push=1),
        _p(created="lead+1s", sha=2, push=1),
        _p(created="lead+1s", sha=3, requestor=1, repository=1),
        _p(created="lead-1s", sha=4, requestor=2, repository=1, review_comments=None),
        _p(created="lead", sha=5, requestor=3, repository=1, push=9),
    ],
    "changes": [
        ("move push", 0, 1, 300, "save"),
        ("settings", 1, {"time_zone": "UTC", "confirm_lead_minutes": 0}, "service"),
        ("unlike", 2),
        ("move push", 1, 0, 336, "update"),
    ],
}


# Every kind of change, each one the product takes: so every run makes each at least once.
EVERY_CHANGE = {
    "repositories": [_r(pushes=[(100, 0), (4 * 96 + 44, 0)], hot_paths=["src/pay/*"])],
    "stars": [None, 4, None, None],
    "picks": [_p(sha=n, requestor=n % 4, push=n % 2) for n in range(6)],
    "changes": [
        ("unlike", 1),
        ("restore", 1),
        ("move push", 0, 0, 4 * 96 + 40, "save"),
        ("settings", 0, {"risk_churn_threshold": 14, "hot_paths": ["db/*"]}, "service"),
        ("reject", 0),
        ("defer", 1),
        ("withdraw", 2),
        ("comments", 3, 9),
        ("conflicts", 3, ["src/app.py"]),
        ("repush", 4, 1),
        ("files", 4, ["db/1.sql"], {"lines_added": 300, "lines_deleted": 90, "files_changed": 2}),
    ],
}


@pytest.fixture
def people(db):
    return [make_engineer(name) for name in ("ann", "ben", "cid", "dot")]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not os.environ.get("RISK_ORDER_RANDOM"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(train=trains)
@example(train=REJECTED_BEFORE)
@example(train=FRIDAYS_AND_LEADS)
@example(train=EVERY_CHANGE)
def the_dashboard_agrees(people: list, rel, train: dict) -> None:
    with transaction.atomic():
        built = Train(train, people, rel)
        expected = expected_risks()
        seen(train, expected)
        assert_the_dashboard_agrees(expected, "as built")
        for change in train["changes"]:
            built.change(change)
            before, expected = expected, expected_risks()
            changed = any(
                before[pk].level != risk.level for pk, risk in expected.items() if pk in before
            )
            SEEN["level changed by a change"] += changed
            assert_the_dashboard_agrees(expected, f"after {change}")
        transaction.set_rollback(True)


def test_the_dashboard_ranks_every_open_pick_as_pick_risk_does_whatever_changed(people, rel):
    SEEN.clear()
    the_dashboard_agrees(people, rel)
    print(f"\nrisk order: {EXAMPLES} trains; seen: {dict(sorted(SEEN.items()))}")
    missing = [situation for situation in SITUATIONS if not SEEN[situation]]
    assert not missing, f"no example had {missing}: the test would prove less than it says"
