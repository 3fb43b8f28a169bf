"""Reads behind the push dashboard: the train's timeline, the pushes of a window with what
happened to their picks, picks per day by outcome, and the whole page of one repository (with
the delivery metrics of pushes.selectors.delivery).

Every function runs a fixed number of queries whatever the number of rows: counts are
aggregated in the database and only short lists (the pushes of a few weeks) are walked in
Python. Pushes come back as `PushCounts`: the push and its counts, nothing stuck on the model.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import (
    Count,
    DateTimeField,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from pushes.choices import PICK_MERGED_STATES, PUSH_RUNNING_STATES, BranchState, PickState, PushKind
from pushes.models import Pick, PickEvent, Push, ReleaseBranch, Repository
from pushes.selectors.delivery import (
    ChangeFailureRate,
    DeployFrequency,
    LeadTime,
    TimeToRestore,
    change_failure_rate,
    deploy_frequency,
    human_duration,
    lead_time_cut,
    lead_time_picks,
    time_to_restore,
)
from pushes.selectors.window import WEEKS_DEFAULT, Window, window_for

# The outcomes of the picks-per-day chart, in stacking order, with the pick events that count.
OUTCOMES = {
    "shipped": "Shipped",
    "conflict": "Conflict",
    "tests-failed": "Tests failed",
    "rolled": "Rolled or expired",
}
_OUTCOME_OF_EVENT = {
    PickState.SHIPPED: "shipped",
    PickState.CONFLICT: "conflict",
    PickState.TESTS_FAILED: "tests-failed",
    PickState.DEFERRED: "rolled",
    PickState.EXPIRED: "rolled",
}


# --- pushes with their counts ---------------------------------------------------------------


def _events_in(states: Iterable[str], start: str, end: str) -> Coalesce:
    """Distinct picks of the outer push's branch with an event to one of `states` in the range."""
    events = (
        PickEvent.objects.filter(
            pick__branch=OuterRef("branch"),
            to_state__in=list(states),
            at__gt=OuterRef(start),
            at__lte=OuterRef(end),
        )
        .order_by()
        .values("pick__branch")
        .annotate(n=Count("pick", distinct=True))
        .values("n")[:1]
    )
    return Coalesce(Subquery(events), 0)


@dataclass(frozen=True)
class Progress:
    """How far a push's merge got: picks dealt with (applied, conflicted, failed) of all."""

    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


@dataclass(frozen=True, slots=True)
class PushCounts:
    """A push with what happened to its picks (see `pushes_counted`)."""

    push: Push
    shipped: int  # shipped, including later reverted
    reverted: int
    conflict: int
    tests_failed: int
    picked: int  # on the branch, not shipped yet
    waiting: int  # confirmed, not merged
    picks_total: int
    merged: int  # dealt with by the merge: applied, shipped, reverted, conflict, tests failed
    rolled: int
    asked: int
    confirmed: int

    @property
    def confirm_rate(self) -> float | None:
        return self.confirmed / self.asked if self.asked else None

    @property
    def progress(self) -> Progress:
        return Progress(done=self.merged, total=self.merged + self.waiting)

    @property
    def is_running(self) -> bool:
        return self.push.state in PUSH_RUNNING_STATES

    @property
    def duration_text(self) -> str:
        duration = self.push.duration
        return human_duration(duration) if duration else ""


def pushes_counted(pushes: QuerySet[Push], *, now: dt.datetime | None = None) -> list[PushCounts]:
    """The pushes with what happened to their picks, in two queries.

    Each comes back as a `PushCounts`: `shipped` (shipped, including later reverted),
    `reverted`, `conflict`, `tests_failed`, `picked` (on the branch, not shipped yet), `waiting`
    (confirmed, not merged), `picks_total`, `rolled`, `asked`, `confirmed`, and derived from
    those `confirm_rate`, `progress`, `is_running` and `duration_text`.

    A push's window runs from the end of the branch's previous finished push (or the cut) to the
    push's own end (or now). `rolled` counts the branch's picks moved to a later push in it (not
    confirmed in time, declined or deferred); `asked` the picks asked to confirm (or confirming
    unasked) before the push started, `confirmed` those that confirmed before it started.
    Pushes later than a branch's next unstarted one have no window yet: those counts are 0.
    """
    now = now or timezone.now()
    previous_end = (
        Push.objects.filter(
            branch=OuterRef("branch"),
            scheduled_at__lt=OuterRef("scheduled_at"),
            finished_at__isnull=False,
        )
        .order_by("-scheduled_at")
        .values("finished_at")[:1]
    )
    rows = list(
        pushes.select_related("branch__repository")
        .annotate(
            window_start=Coalesce(
                Subquery(previous_end, output_field=DateTimeField()), F("branch__cut_at")
            ),
            window_end=Coalesce(F("finished_at"), Value(now, output_field=DateTimeField())),
            started_or_now=Coalesce(F("started_at"), Value(now, output_field=DateTimeField())),
        )
        .annotate(
            rolled=_events_in([PickState.DEFERRED], "window_start", "window_end"),
            asked=_events_in(
                [PickState.AWAITING_CONFIRMATION, PickState.CONFIRMED],
                "window_start",
                "started_or_now",
            ),
            confirmed=_events_in([PickState.CONFIRMED], "window_start", "started_or_now"),
        )
    )
    by_state = _picks_by_state([p.pk for p in rows])
    windowed = _windowed(rows)
    return [
        _push_counts(
            push,
            by_state.get(push.pk, {}),
            (push.rolled, push.asked, push.confirmed) if push.pk in windowed else (0, 0, 0),
        )
        for push in rows
    ]


def _picks_by_state(push_ids: list[int]) -> dict[int, dict[str, int]]:
    """How many picks of each push are in each state (1 query)."""
    by_state: dict[int, dict[str, int]] = defaultdict(dict)
    counted = (
        Pick.objects.filter(push__in=push_ids)
        .order_by()
        .values("push_id", "state")
        .annotate(n=Count("id"))
    )
    for row in counted:
        by_state[row["push_id"]][row["state"]] = row["n"]
    return by_state


def _unstarted(push: Push) -> bool:
    return push.started_at is None and push.finished_at is None


def _windowed(pushes: Sequence[Push]) -> set[int]:
    """The pushes whose window has begun: all but those after their branch's next unstarted."""
    next_unstarted: dict[int, int] = {}
    for push in sorted(pushes, key=lambda p: p.scheduled_at):
        if _unstarted(push):
            next_unstarted.setdefault(push.branch_id, push.pk)
    return {p.pk for p in pushes if not _unstarted(p) or next_unstarted.get(p.branch_id) == p.pk}


def _push_counts(push: Push, states: dict[str, int], window: tuple[int, int, int]) -> PushCounts:
    """A push's counts from its picks' states and its window's (rolled, asked, confirmed)."""
    rolled, asked, confirmed = window
    return PushCounts(
        push=push,
        shipped=states.get(PickState.SHIPPED, 0) + states.get(PickState.REVERTED, 0),
        reverted=states.get(PickState.REVERTED, 0),
        conflict=states.get(PickState.CONFLICT, 0),
        tests_failed=states.get(PickState.TESTS_FAILED, 0),
        picked=states.get(PickState.PICKED, 0),
        waiting=states.get(PickState.CONFIRMED, 0),
        picks_total=sum(states.values()),
        merged=sum(states.get(s, 0) for s in PICK_MERGED_STATES),
        rolled=rolled,
        asked=asked,
        confirmed=confirmed,
    )


# --- the train's timeline -------------------------------------------------------------------


@dataclass(frozen=True)
class Timeline:
    """The current branch of one repository: cut, stabilising, the weekly ship, daily pushes."""

    repository: Repository
    branch: ReleaseBranch | None
    weekly: PushCounts | None = None
    dailies: list[PushCounts] = field(default_factory=list)
    next_push_id: int | None = None
    stabilising_now: bool = False

    @property
    def running(self) -> list[PushCounts]:
        return [p for p in self.pushes if p.is_running]

    @property
    def pushes(self) -> list[PushCounts]:
        return ([self.weekly] if self.weekly else []) + self.dailies


def train_timelines(*, now: dt.datetime | None = None) -> list[Timeline]:
    """Each active repository's current branch with its pushes and their counts (4 queries)."""
    now = now or timezone.now()
    repositories = list(Repository.objects.filter(is_active=True))
    current: dict[int, ReleaseBranch] = {}
    open_branches = (
        ReleaseBranch.objects.filter(repository__in=repositories)
        .exclude(state=BranchState.CLOSED)
        .order_by("repository_id", "-cut_at")
    )
    for branch in open_branches:
        current.setdefault(branch.repository_id, branch)
    pushes: dict[int, list[PushCounts]] = defaultdict(list)
    if current:
        queryset = Push.objects.filter(branch__in=list(current.values()))
        for row in sorted(pushes_counted(queryset, now=now), key=lambda r: r.push.scheduled_at):
            pushes[row.push.branch_id].append(row)
    timelines = []
    for repository in repositories:
        branch = current.get(repository.pk)
        if branch is None:
            timelines.append(Timeline(repository=repository, branch=None))
            continue
        branch.repository = repository
        rows = pushes[branch.pk]
        weekly = next((r for r in rows if r.push.kind == PushKind.WEEKLY), None)
        upcoming = [r.push for r in rows if _unstarted(r.push)]
        timelines.append(
            Timeline(
                repository=repository,
                branch=branch,
                weekly=weekly,
                dailies=[r for r in rows if r is not weekly],
                next_push_id=upcoming[0].pk if upcoming else None,
                stabilising_now=weekly is None or weekly.push.started_at is None,
            )
        )
    return timelines


def pushes_running(timelines: list[Timeline]) -> bool:
    return any(t.running for t in timelines)


# --- the window's pushes and picks ----------------------------------------------------------


def window_pushes(*, repository: Repository, window: Window) -> list[PushCounts]:
    """Pushes of the repository due in the window up to now, oldest first, with their counts."""
    queryset = Push.objects.filter(
        branch__repository=repository,
        scheduled_at__gte=window.since,
        scheduled_at__lte=window.until,
    ).order_by("scheduled_at", "pk")
    return sorted(pushes_counted(queryset, now=window.until), key=lambda r: r.push.scheduled_at)


@dataclass(frozen=True)
class DailyOutcomes:
    days: list[dt.date]
    series: dict[str, list[int]]  # outcome -> a count per day

    @property
    def totals(self) -> dict[str, int]:
        return {outcome: sum(counts) for outcome, counts in self.series.items()}

    @property
    def totals_labelled(self) -> list[tuple[str, int]]:
        return [(OUTCOMES[outcome], total) for outcome, total in self.totals.items()]


def picks_per_day(*, repository: Repository, window: Window) -> DailyOutcomes:
    """What happened to picks each day (repository time), read from their history (1 query).

    Shipped, conflict and tests failed count the pick events to those states; rolled or
    expired counts moves to a later push (deferrals) and expiries that no deferral preceded
    (a pick that rolls too often is deferred, then expired at once: counted once).
    """
    rows = (
        PickEvent.objects.filter(
            pick__branch__repository=repository,
            at__gte=window.since,
            at__lte=window.until,
            to_state__in=list(_OUTCOME_OF_EVENT),
        )
        .exclude(to_state=PickState.EXPIRED, from_state=PickState.DEFERRED)
        .annotate(day=TruncDate("at", tzinfo=window.tz))
        .order_by()
        .values("day", "to_state")
        .annotate(n=Count("id"))
    )
    days = window.days
    index = {day: n for n, day in enumerate(days)}
    series = {outcome: [0] * len(days) for outcome in OUTCOMES}
    for row in rows:
        if row["day"] in index:
            series[_OUTCOME_OF_EVENT[row["to_state"]]][index[row["day"]]] += row["n"]
    return DailyOutcomes(days=days, series=series)


# --- the whole dashboard ----------------------------------------------------------------------


@dataclass(frozen=True)
class PushDashboard:
    repository: Repository
    window: Window
    pushes: list[PushCounts]
    per_day: DailyOutcomes
    frequency: DeployFrequency
    lead_picks: LeadTime
    lead_cut: LeadTime
    failure_rate: ChangeFailureRate
    restore: TimeToRestore

    @property
    def pushes_newest(self) -> list[PushCounts]:
        return self.pushes[::-1]


def push_dashboard(
    *, repository: Repository, weeks: int = WEEKS_DEFAULT, now: dt.datetime | None = None
) -> PushDashboard:
    """Everything the dashboard shows of one repository over its last `weeks` weeks."""
    window = window_for(repository=repository, weeks=weeks, now=now)
    return PushDashboard(
        repository=repository,
        window=window,
        pushes=window_pushes(repository=repository, window=window),
        per_day=picks_per_day(repository=repository, window=window),
        frequency=deploy_frequency(repository=repository, window=window),
        lead_picks=lead_time_picks(repository=repository, window=window),
        lead_cut=lead_time_cut(repository=repository, window=window),
        failure_rate=change_failure_rate(repository=repository, window=window),
        restore=time_to_restore(repository=repository, window=window),
    )


def dashboard_repository(*, slug: str | None) -> tuple[Repository | None, list[Repository]]:
    """The repository the dashboard's graphs show (by slug, else the first active one)."""
    active = list(Repository.objects.filter(is_active=True))
    chosen = next((r for r in active if r.slug == slug), active[0] if active else None)
    return chosen, active


def push_summary(*, push: Push) -> str:
    """Who confirmed, what went out, what did not and why: one paragraph."""
    picks = list(push.picks.select_related("requestor__user").order_by("trunk_position", "pk"))
    late = list(
        push.shipped_picks.exclude(push=push)
        .select_related("requestor__user")
        .order_by("trunk_position", "pk")
    )
    out = [p for p in picks if p.state == PickState.SHIPPED and p.shipped_with_id == push.pk]
    shipped_here = {p.pk for p in out}  # by key: `p not in out` compared models, n * n
    not_out = [p for p in picks if p.pk not in shipped_here]
    shipped = len(out) + len(late)
    lines = [f"Push {push.label} of {push.branch.name}: {shipped} picks shipped in {push.tag}."]
    if out or late:
        confirmed = sorted({str(p.requestor) for p in (*out, *late)})
        lines.append(f"Confirmed and shipped: {', '.join(confirmed)}.")
    for pick in late:
        lines.append(f"#{pick.pk} {pick.short_sha} shipped too (picked in an earlier push).")
    for pick in not_out:
        lines.append(f"#{pick.pk} {pick.short_sha} not shipped: {pick.get_state_display()}.")
    if push.error:
        lines.append(push.error)
    return " ".join(lines)
