"""The four delivery metrics of one repository over a window: deploy frequency, lead time,
change failure rate and time to restore.

Every function runs a fixed number of queries whatever the number of rows: counts are
aggregated in the database and percentiles are read with ORDER BY ... OFFSET.

Percentiles are nearest-rank: the p-th percentile of n values is the value at rank ceil(p * n)
in ascending order (so the median of 1, 2, 3, 4 is 2 and the p90 of ten values is the 9th).

`human_duration` lives here because these metrics are most of its callers; the push dashboard
imports it from here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from common import times
from pushes.choices import PickState, PushKind, PushState
from pushes.models import Pick, Push, PushEvent, ReleaseBranch, Repository, Revision, Rollback
from pushes.selectors.window import Window

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparisonT

_M = TypeVar("_M", bound=Model)


def human_duration(value: dt.timedelta | None) -> str:
    """ "2 d 4 h", "3 h 12 min", "4 min 35 s", "12 s" (`common.times.duration`, what every
    page and chat say); "—" for nothing."""
    return "—" if value is None else times.duration(value)


def nearest_rank(
    values: list[SupportsRichComparisonT], fraction: float
) -> SupportsRichComparisonT | None:
    """The nearest-rank percentile of a list (sorted here); None for an empty list."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]


def _percentiles(
    queryset: QuerySet[_M], name: str
) -> tuple[int, dt.timedelta | None, dt.timedelta | None]:
    """Count, nearest-rank median and p90 of an annotated duration, in the database (3
    queries)."""
    count = queryset.count()
    if not count:
        return 0, None, None
    ordered = queryset.order_by(name).values_list(name, flat=True)
    ranks = [max(math.ceil(f * count), 1) - 1 for f in (0.5, 0.9)]
    return count, ordered[ranks[0]], ordered[ranks[1]]


# --- deploy frequency -----------------------------------------------------------------------


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


# --- lead time ------------------------------------------------------------------------------


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


# --- change failure rate --------------------------------------------------------------------


def _ever_failed() -> Exists:
    """Whether the push failed at some point of its story: a retry adds to it, so a failure a
    retry fixed still counts."""
    return Exists(PushEvent.objects.filter(push=OuterRef("pk"), to_state=PushState.FAILED))


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
    """Of the pushes that finished (done or failed) in the window, the share that failed,
    shipped a pick later reverted, or was rolled back (1 query)."""
    reverted = Pick.objects.filter(push=OuterRef("pk"), state=PickState.REVERTED)
    rolled_back = Rollback.objects.filter(push=OuterRef("pk"), deployed=True)
    failed = Q(state=PushState.FAILED) | Q(ever_failed=True) | Q(rolled_back=True)
    counts = (
        Push.objects.filter(
            branch__repository=repository,
            state__in=(PushState.DONE, PushState.FAILED),
            finished_at__gte=window.since,
            finished_at__lte=window.until,
        )
        .annotate(
            has_revert=Exists(reverted),
            rolled_back=Exists(rolled_back),
            ever_failed=_ever_failed(),
        )
        .aggregate(
            pushes=Count("id"),
            failed=Count("id", filter=failed),
            reverted=Count("id", filter=Q(has_revert=True)),
            failures=Count("id", filter=failed | Q(has_revert=True)),
        )
    )
    return ChangeFailureRate(**counts)


# --- time to restore ------------------------------------------------------------------------


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
        return nearest_rank([d for o in self.restored if (d := o.duration) is not None], 0.5)

    @property
    def median_text(self) -> str:
        return human_duration(self.median)


def time_to_restore(*, repository: Repository, window: Window) -> TimeToRestore:
    """Outages that started in the window and how long each took to end (2 queries).

    From the pushes' stories: an outage starts when a push of a branch fails; a later failure
    while the branch is still down does not start another. It ends when a push of the same
    branch (the failed one, retried, included) is done. A push rolled back is an outage too:
    from its deploy to the rollback's redeploy.
    """
    steps = (
        PushEvent.objects.filter(
            push__branch__repository=repository,
            to_state__in=(PushState.FAILED, PushState.DONE),
            at__gte=window.since,
        )
        .exclude(from_state=F("to_state"))
        .values(
            "push__branch_id", "push__branch__name", "push__day", "push__number", "to_state", "at"
        )
        .order_by("at", "pk")
    )
    moments: dict[int, list[tuple[dt.datetime, int, dict]]] = defaultdict(list)
    for step in steps:
        row = {
            "branch__name": step["push__branch__name"],
            "day": step["push__day"],
            "number": step["push__number"],
        }
        is_success = 1 if step["to_state"] == PushState.DONE else 0
        moments[step["push__branch_id"]].append((step["at"], is_success, row))
    outages = []
    for events in moments.values():
        down: tuple[dt.datetime, dict] | None = None
        for at, is_success, row in sorted(events, key=lambda e: (e[0], e[1])):
            if not is_success and down is None:
                down = (at, row)
            elif is_success and down is not None:
                outages.append(_outage(down, at))
                down = None
        if down is not None:
            outages.append(_outage(down, None))
    outages += _rolled_back(repository, window)
    return TimeToRestore(outages=sorted(outages, key=lambda o: o.started_at))


def _rolled_back(repository: Repository, window: Window) -> list[Outage]:
    rollbacks = (
        Rollback.objects.filter(
            push__branch__repository=repository,
            deployed=True,
            push__finished_at__gte=window.since,
            push__finished_at__isnull=False,
        )
        .values("push__branch__name", "push__day", "push__number", "push__finished_at", "at")
        .order_by("at", "pk")
    )
    return [
        Outage(
            branch=row["push__branch__name"],
            failed_push=f"{row['push__day']:%Y-%m-%d}.{row['push__number']} (rolled back)",
            started_at=row["push__finished_at"],
            restored_at=row["at"],
        )
        for row in rollbacks
        if row["push__finished_at"] is not None
    ]


def _outage(down: tuple[dt.datetime, dict], restored_at: dt.datetime | None) -> Outage:
    at, row = down
    return Outage(
        branch=row["branch__name"],
        failed_push=f"{row['day']:%Y-%m-%d}.{row['number']}",
        started_at=at,
        restored_at=restored_at,
    )
