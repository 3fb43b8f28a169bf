"""Reads behind the dashboards: the release engineer's risk dashboard of the current train.

The same queries whatever the number of open picks: the current branches (with their
repositories), their pushes, whether a kept risk rank is to compute again (the risk index,
pushes.services.risk_index; it computes the changed picks' risk then), one GROUP BY counting
the matching picks by push, state, risk level and flag, and one ORDER BY ... LIMIT choosing
the page's picks, both over the kept ranks. Then only the page's picks are loaded (one row of
values each, the requestor's name joined in) with their requestors' stars (one
`karma_stars_many` call) and how often each revision was rejected before (one GROUP BY), and
their risk computed by `pick_risk`, with its reasons. Picks come back as `PickLine`s, plain
objects with a pick's attributes that share their branch, repository and push, rather than
model instances.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, Count, F, IntegerField, OrderBy, Q, QuerySet, Value, When

from pushes.choices import PICK_OPEN_STATES
from pushes.models import Pick, Push, ReleaseBranch, Repository
from pushes.risk import (
    HIGH,
    LEVEL_OF_RANK,
    LOW,
    MEDIUM,
    RANK_OF_LEVEL,
)
from pushes.selectors.risk_rows import (
    RiskRow,
    pick_lines,
    risk_rows,
    train_branches,
    train_pushes,
)
from pushes.services.risk_index import picks_risk_fill

RISK_LEVELS = (HIGH, MEDIUM, LOW)
FLAGGED = "flagged"
SORTS = ("risk", "size", "comments", "age", "requestor")
PAGE_SIZE = 50  # picks a page: what a person looks at first


@dataclass(frozen=True)
class RiskFilters:
    """What the dashboard shows: every field empty means every open pick, riskiest first."""

    state: str = ""
    requestor: str = ""  # a username
    risk: str = ""  # low, medium, high or flagged
    push: str = ""  # a push id, or "none" for picks without a push
    repository: str = ""  # a repository's slug
    q: str = ""  # words in the title or the requestor's username
    sort: str = "risk"  # one of SORTS; a leading "-" reverses it
    page: int = 1


@dataclass
class PushGroup:
    """The open picks riding one push; `push` None holds the picks that have no push yet.
    `rows` are those on the page; `count` and `flagged` count every matching pick."""

    push: Push | None
    rows: list[RiskRow] = field(default_factory=list)
    count: int = 0
    flagged: int = 0

    @property
    def key(self) -> str:
        return f"push-{self.push.pk}" if self.push else "no-push"


@dataclass
class RiskPage:
    """One page of the dashboard: its rows grouped by push, and counts of every pick that
    matches the filters (by risk level and by state), from aggregate queries."""

    groups: list[PushGroup]
    total: int
    flagged: int
    levels: dict[str, int]
    states: dict[str, int]
    page: int
    pages: int
    per_page: int
    pushes: list[Push]  # the train's, for the filters
    repositories: list[Repository]


def dashboard_risk(
    *, filters: RiskFilters, per_page: int = PAGE_SIZE, now: dt.datetime | None = None
) -> RiskPage:
    """A page of the current train's open picks with their risk, ordered by push (next push
    first, picks without a push last) then by the sort; and the counts of all that match.

    The same queries whatever the number of picks: the order and the counts are the
    database's, over the kept risk ranks, and only the page's rows are loaded and rendered.
    """
    # The kept ranks of picks changed since are computed first (a write, the only one here).
    branches = train_branches()
    pushes = train_pushes(branches)
    picks_risk_fill(branches=branches)
    picks = _ranked(_open_picks(branches, filters), pushes)
    if filters.risk == FLAGGED:
        picks = picks.filter(risk_flagged=True)
    elif filters.risk:
        picks = picks.filter(risk_rank=RANK_OF_LEVEL[filters.risk])
    counts = _counts(picks)
    total = sum(n for _, _, _, _, n in counts)
    pages = max(1, -(-total // per_page))
    page = min(max(filters.page, 1), pages)
    ids = _page_ids(picks, counts, pushes, filters.sort, (page - 1) * per_page, per_page)
    chosen = Pick.objects.filter(pk__in=ids)
    place = {pk: i for i, pk in enumerate(ids)}
    lines = sorted(pick_lines(chosen, branches, pushes), key=lambda line: place[line.pk])
    rows = risk_rows(lines, shas=chosen.values("sha"), now=now)
    groups: dict[int | None, PushGroup] = {}
    for row in rows:
        push = row.pick.push
        key = push.pk if push else None
        if key not in groups:
            groups[key] = PushGroup(push=push)
        groups[key].rows.append(row)
    levels = dict.fromkeys(RISK_LEVELS, 0)
    states: dict[str, int] = {}
    flagged = 0
    for push_id, state, rank, is_flagged, n in counts:
        if rank is not None:  # None: emptied by a write since the fill, counted next view
            levels[LEVEL_OF_RANK[rank]] += n
        states[state] = states.get(state, 0) + n
        flagged += n * bool(is_flagged)
        if push_id in groups:
            groups[push_id].count += n
            groups[push_id].flagged += n * bool(is_flagged)
    return RiskPage(
        groups=list(groups.values()),  # in the page's order: by push first
        total=total,
        flagged=flagged,
        levels=levels,
        states=states,
        page=page,
        pages=pages,
        per_page=per_page,
        pushes=list(pushes.values()),
        repositories=sorted({b.repository for b in branches.values()}, key=lambda r: r.name),
    )


def _ranked(picks: QuerySet[Pick], pushes: dict[int, Push]) -> QuerySet[Pick]:
    """The picks with risk_size and push_rank: the push's place in the train (the next push
    first, picks without a push last)."""
    ordered = _pushes_in_order(pushes)
    return picks.annotate(
        risk_size=F("lines_added") + F("lines_deleted") + 30 * F("files_changed"),
        push_rank=Case(
            *(When(push_id=p.pk, then=Value(i)) for i, p in enumerate(ordered)),
            default=Value(len(ordered)),
            output_field=IntegerField(),
        )
        if ordered
        else Value(0, output_field=IntegerField()),
    )


# Each sort's natural order puts what needs a look first; ties go riskiest first, then by id.
# (column, descending)
_ORDERS: dict[str, tuple[tuple[str, bool], ...]] = {
    "risk": (("risk_rank", False), ("risk_flagged", True), ("risk_size", True), ("pk", False)),
    "size": (("risk_size", True), ("risk_rank", False), ("pk", False)),
    "comments": (("review_comments", True), ("risk_rank", False), ("pk", False)),
    "age": (("created_at", False), ("pk", False)),
    "requestor": (("requestor__user__username", False), ("risk_rank", False), ("pk", False)),
}


_NULLABLE = {"review_comments", "risk_rank"}


def _ordering(sort: str) -> list[OrderBy]:
    """ORDER BY for a sort ("size", or "-size" for the reverse): by push first, then the
    sort's keys, all reversed by "-". Unknown comment counts go last, and first reversed."""
    reverse = sort.startswith("-")
    keys = _ORDERS.get(sort.lstrip("-"), _ORDERS["risk"])
    ordering = [F("push_rank").asc()]
    for name, descending in keys:
        # NULLS placed only where a column has them, so that the order of the columns that
        # have none is the index's (pick_risk_page): SQLite's indexes cannot say NULLS LAST.
        nullable = name in _NULLABLE
        if descending != reverse:
            last = nullable and not reverse
            ordering.append(F(name).desc(nulls_last=True) if last else F(name).desc())
        else:
            first = nullable and reverse
            ordering.append(F(name).asc(nulls_first=True) if first else F(name).asc())
    return ordering


def _pushes_in_order(pushes: dict[int, Push]) -> list[Push]:
    """The train's pushes in the page's order: the next push first."""
    return sorted(pushes.values(), key=lambda p: (p.scheduled_at, p.pk))


def _page_ids(
    picks: QuerySet[Pick],
    counts: list[tuple[int | None, str, int, int, int]],
    pushes: dict[int, Push],
    sort: str,
    start: int,
    size: int,
) -> list[int]:
    """The ids of the matching picks at [start, start + size) in the page's order (by push,
    then the sort): one query, over the pushes the page shows only. The counts say where each
    push's picks start; a page within one push (the first page, most often) reads it in an
    order the index `pick_risk_page` keeps, so it sorts nothing, whatever the number of picks.
    """
    ordered = [push.pk for push in _pushes_in_order(pushes)]
    sizes: dict[int | None, int] = dict.fromkeys([*ordered, None], 0)
    for push_id, _, _, _, n in counts:
        sizes[push_id if push_id in sizes else None] += n
    shown: list[int | None] = []
    first = skip = 0  # where each push's picks start in the whole order; where the page does
    for push_id, n in sizes.items():
        if n and first + n > start and first < start + size:
            skip = skip if shown else start - first
            shown.append(push_id)
        first += n
    if not shown:
        return []
    earlier = ordered[: ordered.index(shown[0])] if shown[0] is not None else ordered
    if shown[-1] is None:  # the last group: picks with no push, or whose push left the train
        group = picks.exclude(push_id__in=earlier)
    else:
        group = picks.filter(push_id__in=shown)
    keys = _ordering(sort)
    if len(shown) == 1:
        keys = keys[1:]  # one push: the sort's own keys, the index's order
    return list(group.order_by(*keys).values_list("pk", flat=True)[skip : skip + size])


def _counts(picks: QuerySet[Pick]) -> list[tuple[int | None, str, int, int, int]]:
    """(push id, state, risk rank, flagged, how many) for the matching picks: one GROUP BY."""
    return list(
        picks.order_by()
        .values_list("push_id", "state", "risk_rank", "risk_flagged")
        .annotate(n=Count("pk"))
    )


def dashboard_risk_row(*, pick_id: int, now: dt.datetime | None = None) -> RiskRow | None:
    """One pick as a dashboard row, whatever its state and branch (after a move it may have
    left the train: the row then shows where it went)."""
    picks = Pick.objects.filter(pk=pick_id)
    branches = {
        b.pk: b
        for b in ReleaseBranch.objects.filter(picks__pk=pick_id).select_related("repository")
    }
    lines = pick_lines(picks, branches, train_pushes(branches))
    found = risk_rows(lines, now=now)
    return found[0] if found else None


def _open_picks(branches: dict[int, ReleaseBranch], filters: RiskFilters) -> QuerySet[Pick]:
    picks = Pick.objects.filter(branch_id__in=list(branches), state__in=PICK_OPEN_STATES)
    picks = picks.order_by()
    if filters.state:
        picks = picks.filter(state=filters.state)
    if filters.requestor:
        picks = picks.filter(requestor__user__username=filters.requestor)
    if filters.push == "none":
        picks = picks.filter(push__isnull=True)
    elif filters.push:
        picks = picks.filter(push_id=int(filters.push))
    if filters.repository:
        picks = picks.filter(branch__repository__slug=filters.repository)
    if filters.q:
        picks = picks.filter(
            Q(title__icontains=filters.q) | Q(requestor__user__username__icontains=filters.q)
        )
    return picks
