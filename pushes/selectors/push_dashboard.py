"""Reads behind the push dashboard and the test console.

The train's timeline, picks per day by outcome, confirmation rate, push durations and the four
delivery metrics (deploy frequency, lead time, change failure rate, time to restore). Every
function runs a fixed number of queries whatever the number of rows: counts are aggregated in
the database, percentiles are read with ORDER BY ... OFFSET, and only short lists (the pushes
of a few weeks) are walked in Python.

Percentiles are nearest-rank: the p-th percentile of n values is the value at rank ceil(p * n)
in ascending order (so the median of 1, 2, 3, 4 is 2 and the p90 of ten values is the 9th).
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from pushes.choices import (
    PUSH_RUNNING_STATES,
    BranchState,
    NotificationKind,
    PickState,
    PushKind,
    PushState,
)
from pushes.models import (
    Notification,
    Pick,
    PickEvent,
    Push,
    ReleaseBranch,
    Repository,
    Revision,
    TestRun,
)

WEEKS_DEFAULT = 4
WEEKS_MAX = 26

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
# Picks the merge has dealt with, and those it still has to: a running push's progress.
_MERGED = (
    PickState.PICKED,
    PickState.SHIPPED,
    PickState.REVERTED,
    PickState.CONFLICT,
    PickState.TESTS_FAILED,
)


def human_duration(value: dt.timedelta | None) -> str:
    """ "2 d 4 h", "3 h 12 min", "4 min 35 s", "12 s"; "—" for nothing."""
    if value is None:
        return "—"
    seconds = round(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


# --- the window ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The last `weeks` whole days in a repository's time zone, today included."""

    since: dt.datetime
    until: dt.datetime
    weeks: int
    tz: zoneinfo.ZoneInfo

    @property
    def days(self) -> list[dt.date]:
        first = self.since.astimezone(self.tz).date()
        return [first + dt.timedelta(days=n) for n in range(self.weeks * 7)]

    @property
    def first_day(self) -> dt.date:
        return self.days[0]

    @property
    def last_day(self) -> dt.date:
        return self.days[-1]


def weeks_parse(value: object) -> int:
    """`?weeks=`: a whole number of weeks from 1 to WEEKS_MAX; anything else is the default."""
    try:
        weeks = int(str(value))
    except (TypeError, ValueError):
        return WEEKS_DEFAULT
    return min(max(weeks, 1), WEEKS_MAX)


def window_for(
    *, repository: Repository, weeks: int = WEEKS_DEFAULT, now: dt.datetime | None = None
) -> Window:
    now = now or timezone.now()
    tz = repository.tz
    today = now.astimezone(tz).date()
    first = today - dt.timedelta(days=weeks * 7 - 1)
    since = dt.datetime.combine(first, dt.time(0), tzinfo=tz)
    return Window(since=since, until=now, weeks=weeks, tz=tz)


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


def pushes_counted(pushes: QuerySet[Push], *, now: dt.datetime | None = None) -> list[Push]:
    """The pushes with what happened to their picks, in two queries.

    Each push gets: `shipped` (shipped, including later reverted), `reverted`, `conflict`,
    `tests_failed`, `picked` (on the branch, not shipped yet), `waiting` (confirmed, not merged),
    `picks_total`, `rolled`, `asked`, `confirmed`, `confirm_rate`, `progress` and `is_running`.

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
    by_state: dict[int, dict[str, int]] = defaultdict(dict)
    counted = (
        Pick.objects.filter(push__in=[p.pk for p in rows])
        .order_by()
        .values("push_id", "state")
        .annotate(n=Count("id"))
    )
    for row in counted:
        by_state[row["push_id"]][row["state"]] = row["n"]
    _attach(rows, by_state)
    return rows


def _attach(rows: list[Push], by_state: dict[int, dict[str, int]]) -> None:
    next_unstarted: dict[int, int] = {}
    for push in sorted(rows, key=lambda p: p.scheduled_at):
        if push.started_at is None and push.finished_at is None:
            next_unstarted.setdefault(push.branch_id, push.pk)
    for push in rows:
        states = by_state.get(push.pk, {})
        push.shipped = states.get(PickState.SHIPPED, 0) + states.get(PickState.REVERTED, 0)
        push.reverted = states.get(PickState.REVERTED, 0)
        push.conflict = states.get(PickState.CONFLICT, 0)
        push.tests_failed = states.get(PickState.TESTS_FAILED, 0)
        push.picked = states.get(PickState.PICKED, 0)
        push.waiting = states.get(PickState.CONFIRMED, 0)
        push.picks_total = sum(states.values())
        unstarted = push.started_at is None and push.finished_at is None
        if unstarted and next_unstarted.get(push.branch_id) != push.pk:
            push.rolled = push.asked = push.confirmed = 0
        push.confirm_rate = push.confirmed / push.asked if push.asked else None
        merged = sum(states.get(s, 0) for s in _MERGED)
        push.progress = Progress(done=merged, total=merged + push.waiting)
        push.is_running = push.state in PUSH_RUNNING_STATES
        push.duration_text = human_duration(push.duration) if push.duration else ""


@dataclass(frozen=True)
class Progress:
    """How far a push's merge got: picks dealt with (applied, conflicted, failed) of all."""

    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


# --- the train's timeline -------------------------------------------------------------------


@dataclass(frozen=True)
class Timeline:
    """The current branch of one repository: cut, stabilising, the weekly ship, daily pushes."""

    repository: Repository
    branch: ReleaseBranch | None
    weekly: Push | None = None
    dailies: list[Push] = field(default_factory=list)
    next_push_id: int | None = None
    stabilising_now: bool = False

    @property
    def running(self) -> list[Push]:
        return [p for p in self.pushes if p.is_running]

    @property
    def pushes(self) -> list[Push]:
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
    pushes: dict[int, list[Push]] = defaultdict(list)
    if current:
        queryset = Push.objects.filter(branch__in=list(current.values()))
        for push in sorted(pushes_counted(queryset, now=now), key=lambda p: p.scheduled_at):
            pushes[push.branch_id].append(push)
    timelines = []
    for repository in repositories:
        branch = current.get(repository.pk)
        if branch is None:
            timelines.append(Timeline(repository=repository, branch=None))
            continue
        branch.repository = repository
        rows = pushes[branch.pk]
        weekly = next((p for p in rows if p.kind == PushKind.WEEKLY), None)
        upcoming = [p for p in rows if p.started_at is None and p.finished_at is None]
        timelines.append(
            Timeline(
                repository=repository,
                branch=branch,
                weekly=weekly,
                dailies=[p for p in rows if p is not weekly],
                next_push_id=upcoming[0].pk if upcoming else None,
                stabilising_now=weekly is None or weekly.started_at is None,
            )
        )
    return timelines


def pushes_running(timelines: list[Timeline]) -> bool:
    return any(t.running for t in timelines)


# --- the window's pushes and picks ----------------------------------------------------------


def window_pushes(*, repository: Repository, window: Window) -> list[Push]:
    """Pushes of the repository due in the window up to now, oldest first, with their counts."""
    queryset = Push.objects.filter(
        branch__repository=repository,
        scheduled_at__gte=window.since,
        scheduled_at__lte=window.until,
    ).order_by("scheduled_at", "pk")
    return sorted(pushes_counted(queryset, now=window.until), key=lambda p: p.scheduled_at)


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


# --- delivery metrics -----------------------------------------------------------------------


def nearest_rank(values: list, fraction: float):
    """The nearest-rank percentile of a list (sorted here); None for an empty list."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]


def _percentiles(queryset: QuerySet, name: str) -> tuple[int, object, object]:
    """Count, nearest-rank median and p90 of an annotated column, in the database (3 queries)."""
    count = queryset.count()
    if not count:
        return 0, None, None
    ordered = queryset.order_by(name).values_list(name, flat=True)
    ranks = [max(math.ceil(f * count), 1) - 1 for f in (0.5, 0.9)]
    return count, ordered[ranks[0]], ordered[ranks[1]]


@dataclass(frozen=True)
class DeployFrequency:
    done: int
    weekly: int
    daily: int
    weeks: int

    @property
    def per_week(self) -> float:
        return self.done / self.weeks

    @property
    def per_day(self) -> float:
        return self.done / (self.weeks * 7)


def deploy_frequency(*, repository: Repository, window: Window) -> DeployFrequency:
    """Pushes that finished done in the window, per week and per day (1 query)."""
    counts = Push.objects.filter(
        branch__repository=repository,
        state=PushState.DONE,
        finished_at__gte=window.since,
        finished_at__lte=window.until,
    ).aggregate(
        done=Count("id"),
        weekly=Count("id", filter=Q(kind=PushKind.WEEKLY)),
    )
    return DeployFrequency(
        done=counts["done"],
        weekly=counts["weekly"],
        daily=counts["done"] - counts["weekly"],
        weeks=window.weeks,
    )


@dataclass(frozen=True)
class LeadTime:
    count: int
    median: dt.timedelta | None
    p90: dt.timedelta | None
    ships: int = 0  # weekly ships counted (lead time of cut commits only)

    @property
    def median_text(self) -> str:
        return human_duration(self.median)

    @property
    def p90_text(self) -> str:
        return human_duration(self.p90)


def lead_time_picks(*, repository: Repository, window: Window) -> LeadTime:
    """Shipped time minus trunk commit time, for picks shipped in the window (3 queries).

    Picks later reverted count (they shipped); a pick whose revision is not in the trunk
    index is left out.
    """
    committed = Revision.objects.filter(repository_id=repository.pk, sha=OuterRef("sha")).values(
        "committed_at"
    )[:1]
    picks = (
        Pick.objects.filter(
            branch__repository=repository,
            shipped_at__gte=window.since,
            shipped_at__lte=window.until,
        )
        .annotate(committed_at=Subquery(committed, output_field=DateTimeField()))
        .filter(committed_at__isnull=False)
        .annotate(
            lead=ExpressionWrapper(
                F("shipped_at") - F("committed_at"), output_field=DurationField()
            )
        )
    )
    count, median, p90 = _percentiles(picks, "lead")
    return LeadTime(count=count, median=median, p90=p90)


def lead_time_cut(*, repository: Repository, window: Window) -> LeadTime:
    """Weekly ship finish minus trunk commit time, for commits that rode a cut (4 queries).

    The commits of a cut are trunk's, after the previous cut's base up to this cut's base;
    they ship when the first weekly ship done that holds them finishes. Ships done in the
    window count. A repository's first cut is left out: its commits waited for the train to
    start, not on it.
    """
    previous_base = (
        ReleaseBranch.objects.filter(
            repository_id=repository.pk, cut_at__lt=OuterRef("branch__cut_at")
        )
        .order_by("-cut_at")
        .values("base_position")[:1]
    )
    ships = [
        row
        for row in Push.objects.filter(
            branch__repository=repository,
            kind=PushKind.WEEKLY,
            state=PushState.DONE,
            finished_at__gte=window.since,
            finished_at__lte=window.until,
            branch__base_position__isnull=False,
        )
        .annotate(previous_base=Subquery(previous_base))
        .values("branch__base_position", "previous_base")
        if row["previous_base"] is not None
    ]
    if not ships:
        return LeadTime(count=0, median=None, p90=None)
    shipped = (
        Push.objects.filter(
            branch__repository=repository,
            kind=PushKind.WEEKLY,
            state=PushState.DONE,
            branch__base_position__gte=OuterRef("position"),
        )
        .order_by("finished_at")
        .values("finished_at")[:1]
    )
    commits = (
        Revision.objects.filter(
            repository=repository,
            position__gt=min(s["previous_base"] for s in ships),
            position__lte=max(s["branch__base_position"] for s in ships),
        )
        .annotate(shipped_at=Subquery(shipped, output_field=DateTimeField()))
        .filter(shipped_at__gte=window.since, shipped_at__lte=window.until)
        .annotate(
            lead=ExpressionWrapper(
                F("shipped_at") - F("committed_at"), output_field=DurationField()
            )
        )
    )
    count, median, p90 = _percentiles(commits, "lead")
    return LeadTime(count=count, median=median, p90=p90, ships=len(ships))


def _failure_noted() -> Subquery:
    """When a push first failed, from the failure notice: a retried push forgets its failure."""
    noted = (
        Notification.objects.filter(push=OuterRef("pk"), kind=NotificationKind.PUSH_FAILED)
        .order_by("created_at")
        .values("created_at")[:1]
    )
    return Subquery(noted, output_field=DateTimeField())


@dataclass(frozen=True)
class ChangeFailureRate:
    pushes: int
    failed: int  # pushes that failed (now, or before a retry)
    reverted: int  # pushes done that shipped a pick later reverted
    failures: int  # pushes with either

    @property
    def share(self) -> float | None:
        return self.failures / self.pushes if self.pushes else None

    @property
    def percent(self) -> float | None:
        return 100 * self.failures / self.pushes if self.pushes else None


def change_failure_rate(*, repository: Repository, window: Window) -> ChangeFailureRate:
    """Of the pushes that finished (done or failed) in the window, the share that failed or
    shipped a pick later reverted (1 query)."""
    reverted = Pick.objects.filter(push=OuterRef("pk"), state=PickState.REVERTED)
    failed = Q(state=PushState.FAILED) | Q(failure_noted__isnull=False)
    counts = (
        Push.objects.filter(
            branch__repository=repository,
            state__in=(PushState.DONE, PushState.FAILED),
            finished_at__gte=window.since,
            finished_at__lte=window.until,
        )
        .annotate(has_revert=Exists(reverted), failure_noted=_failure_noted())
        .aggregate(
            pushes=Count("id"),
            failed=Count("id", filter=failed),
            reverted=Count("id", filter=Q(has_revert=True)),
            failures=Count("id", filter=failed | Q(has_revert=True)),
        )
    )
    return ChangeFailureRate(**counts)


@dataclass(frozen=True)
class Outage:
    """A branch unable to push: from its first failed push to its next push that finished done."""

    branch: str
    failed_push: str
    started_at: dt.datetime
    restored_at: dt.datetime | None

    @property
    def duration(self) -> dt.timedelta | None:
        return self.restored_at - self.started_at if self.restored_at else None

    @property
    def duration_text(self) -> str:
        return human_duration(self.duration)


@dataclass(frozen=True)
class TimeToRestore:
    outages: list[Outage]

    @property
    def restored(self) -> list[Outage]:
        return [o for o in self.outages if o.restored_at]

    @property
    def open(self) -> list[Outage]:
        return [o for o in self.outages if not o.restored_at]

    @property
    def median(self) -> dt.timedelta | None:
        return nearest_rank([o.duration for o in self.restored], 0.5)

    @property
    def median_text(self) -> str:
        return human_duration(self.median)


def time_to_restore(*, repository: Repository, window: Window) -> TimeToRestore:
    """Outages that started in the window and how long each took to end (1 query).

    A push fails at its failure notice (or its end when there is none); a later failure while
    the branch is still down does not start another outage. The outage ends when a push of the
    same branch (the failed one, retried, included) finishes done.
    """
    rows = (
        Push.objects.filter(branch__repository=repository)
        .annotate(failure_noted=_failure_noted())
        .filter(Q(finished_at__gte=window.since) | Q(failure_noted__gte=window.since))
        .filter(Q(state__in=(PushState.DONE, PushState.FAILED)) | Q(failure_noted__isnull=False))
        .values(
            "branch_id", "branch__name", "day", "number", "state", "finished_at", "failure_noted"
        )
    )
    moments: dict[int, list[tuple[dt.datetime, int, dict]]] = defaultdict(list)
    for row in rows:
        failed_at = row["failure_noted"]
        if row["state"] == PushState.FAILED and row["finished_at"]:
            failed_at = min(filter(None, [failed_at, row["finished_at"]]))
        if failed_at:
            moments[row["branch_id"]].append((failed_at, 0, row))
        if row["state"] == PushState.DONE and row["finished_at"]:
            moments[row["branch_id"]].append((row["finished_at"], 1, row))
    outages = []
    for events in moments.values():
        down: tuple[dt.datetime, dict] | None = None
        for at, is_success, row in sorted(events, key=lambda e: (e[0], e[1])):
            if not is_success and down is None and at >= window.since:
                down = (at, row)
            elif is_success and down is not None:
                outages.append(_outage(down, at))
                down = None
        if down is not None:
            outages.append(_outage(down, None))
    return TimeToRestore(outages=sorted(outages, key=lambda o: o.started_at))


def _outage(down: tuple[dt.datetime, dict], restored_at: dt.datetime | None) -> Outage:
    at, row = down
    return Outage(
        branch=row["branch__name"],
        failed_push=f"{row['day']:%Y-%m-%d}.{row['number']}",
        started_at=at,
        restored_at=restored_at,
    )


# --- the whole dashboard ----------------------------------------------------------------------


@dataclass(frozen=True)
class PushDashboard:
    repository: Repository
    window: Window
    pushes: list[Push]
    per_day: DailyOutcomes
    frequency: DeployFrequency
    lead_picks: LeadTime
    lead_cut: LeadTime
    failure_rate: ChangeFailureRate
    restore: TimeToRestore

    @property
    def pushes_newest(self) -> list[Push]:
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


# --- the test console -------------------------------------------------------------------------


def console_test_runs(
    *, push_id: int | None = None, pick_id: int | None = None, state: str | None = None
) -> QuerySet[TestRun]:
    """Test runs, newest first, without their logs; filtered by push, pick and state."""
    runs = TestRun.objects.defer("log").select_related("push__branch__repository", "pick")
    if push_id is not None:
        runs = runs.filter(push_id=push_id)
    if pick_id is not None:
        runs = runs.filter(pick_id=pick_id)
    if state:
        runs = runs.filter(state=state)
    return runs.order_by("-started_at", "-pk")
