"""Reads behind the dashboards: the release engineer's risk dashboard of the current train.

Built for thousands of open picks in a fixed number of queries, whatever the number of rows:
the current branches (with their repositories), their pushes, the picks (one row of values
each, the requestor's name joined in), the requestors' stars (one `karma_stars_many` call) and
how often each revision was rejected before (one GROUP BY). Risk is computed in Python once
per pick. Picks come back as `PickLine`s, plain objects with a pick's attributes that share
their branch, repository and push, rather than model instances: 3,000 of those cost more than
the whole page may.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, QuerySet
from django.db.models.sql.constants import MULTI
from django.utils import timezone

from karma.selectors import karma_stars_many
from pushes.choices import PICK_OPEN_STATES, BranchState, PickState, ReviewStatus
from pushes.models import Engineer, Pick, Push, ReleaseBranch, Repository
from pushes.moves import Channel, Target, Who, moves_by_state
from pushes.risk import HIGH, LOW, MEDIUM, Risk, _hot_paths, pick_risk

RISK_LEVELS = (HIGH, MEDIUM, LOW)
FLAGGED = "flagged"
SORTS = ("risk", "size", "comments", "age", "requestor")

# What a release engineer can do to an open pick from the dashboard, by its state: the
# registry's dashboard moves that release engineers make.
PICK_MOVES = moves_by_state(
    Target.PICK,
    Channel.DASHBOARD,
    who=(Who.RELEASE_ENGINEERS, Who.REQUESTOR_OR_RELEASE_ENGINEERS),
)
_STATE_LABELS = dict(PickState.choices)
_REVIEW_LABELS = dict(ReviewStatus.choices)


@dataclass(frozen=True)
class Requestor:
    """Who asked, as a row shows them; one object per person, shared by their rows."""

    user_id: int
    username: str

    def __str__(self) -> str:
        return self.username


@dataclass(slots=True)
class PickLine:
    """A pick as the dashboard reads it: the attributes of Pick that rows and `pick_risk` use,
    loaded as values. Not a model: it is never saved."""

    pk: int
    branch_id: int
    push_id: int | None
    sha: str
    title: str
    state: str
    urgent: bool
    lines_added: int
    lines_deleted: int
    files_changed: int
    paths: list[str]
    predicted_conflicts: list[str]
    review_url: str
    review_comments: int | None
    review_status: str
    rolls: int
    confirmed_at: dt.datetime | None
    created_at: dt.datetime
    requestor: Requestor
    branch: ReleaseBranch
    push: Push | None

    @property
    def size(self) -> int:
        return self.lines_added + self.lines_deleted + 30 * self.files_changed

    def get_state_display(self) -> str:
        return _STATE_LABELS.get(self.state, self.state)

    def get_review_status_display(self) -> str:
        return _REVIEW_LABELS.get(self.review_status, self.review_status)


_LINE_COLUMNS = (
    "id",
    "branch_id",
    "push_id",
    "sha",
    "title",
    "state",
    "urgent",
    "lines_added",
    "lines_deleted",
    "files_changed",
    "paths",
    "predicted_conflicts",
    "review_url",
    "review_comments",
    "review_status",
    "rolls",
    "confirmed_at",
    "created_at",
    "requestor__user_id",
    "requestor__user__username",
)


@dataclass(frozen=True)
class RiskFilters:
    """What the dashboard shows: every field empty means every open pick, riskiest first."""

    state: str = ""
    requestor: str = ""  # a username
    risk: str = ""  # low, medium, high or flagged
    push: str = ""  # a push id, or "none" for picks without a push
    sort: str = "risk"  # one of SORTS; a leading "-" reverses it


@dataclass(slots=True)
class RiskRow:
    """One pick (a Pick or a PickLine) with its requestor's stars and its risk."""

    pick: Pick | PickLine
    stars: int
    risk: Risk
    age: dt.timedelta
    rejections: int = 0
    error: str = ""  # a refusal to show on the row, after a move from the dashboard
    done: str = ""  # what a move from the dashboard just did

    @property
    def moves(self) -> tuple[str, ...]:
        return PICK_MOVES.get(self.pick.state, ())

    @property
    def age_text(self) -> str:
        minutes = int(self.age.total_seconds() // 60)
        if minutes < 60:
            return f"{max(minutes, 0)}m"
        if minutes < 48 * 60:
            return f"{minutes // 60}h"
        return f"{minutes // (24 * 60)}d"


@dataclass
class PushGroup:
    """The open picks riding one push; `push` None holds the picks that have no push yet."""

    push: Push | None
    rows: list[RiskRow] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"push-{self.push.pk}" if self.push else "no-push"

    @property
    def flagged(self) -> int:
        return sum(1 for row in self.rows if row.risk.flagged)


def train_branches() -> dict[int, ReleaseBranch]:
    """The current train: each active repository's newest branch not closed, in one query."""
    branches: dict[int, ReleaseBranch] = {}
    seen: set[int] = set()
    for branch in (
        ReleaseBranch.objects.filter(repository__is_active=True)
        .exclude(state=BranchState.CLOSED)
        .select_related("repository")
        .order_by("repository_id", "-cut_at", "-pk")
    ):
        if branch.repository_id not in seen:
            seen.add(branch.repository_id)
            branches[branch.pk] = branch
    return branches


def _pushes_of(branches: dict[int, ReleaseBranch]) -> dict[int, Push]:
    pushes = {}
    for push in Push.objects.filter(branch_id__in=list(branches)).order_by("scheduled_at", "pk"):
        push.branch = branches[push.branch_id]
        pushes[push.pk] = push
    return pushes


def dashboard_risk(*, filters: RiskFilters, now: dt.datetime | None = None) -> list[PushGroup]:
    """Every open pick of the current train with its risk, grouped by push (next push first,
    picks without a push last) and sorted within each group."""
    branches = train_branches()
    picks = _open_picks(branches, filters)
    lines = _lines(picks, branches, _pushes_of(branches))
    rows = risk_rows(lines, shas=picks.values("sha"), now=now)
    if filters.risk == FLAGGED:
        rows = [row for row in rows if row.risk.flagged]
    elif filters.risk:
        rows = [row for row in rows if row.risk.level == filters.risk]
    _sort(rows, filters.sort)
    groups: dict[int | None, PushGroup] = {}
    for row in rows:
        push = row.pick.push
        key = push.pk if push else None
        if key not in groups:
            groups[key] = PushGroup(push=push)
        groups[key].rows.append(row)
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(
        groups.values(),
        key=lambda g: (g.push is None, g.push.scheduled_at if g.push else far, g.key),
    )


def dashboard_risk_pushes() -> list[Push]:
    """The current train's pushes, for the dashboard's push filter."""
    return list(_pushes_of(train_branches()).values())


def dashboard_risk_row(*, pick_id: int, now: dt.datetime | None = None) -> RiskRow | None:
    """One pick as a dashboard row, whatever its state and branch (after a move it may have
    left the train: the row then shows where it went)."""
    picks = Pick.objects.filter(pk=pick_id)
    branches = {
        b.pk: b
        for b in ReleaseBranch.objects.filter(picks__pk=pick_id).select_related("repository")
    }
    lines = _lines(picks, branches, _pushes_of(branches))
    found = risk_rows(lines, now=now)
    return found[0] if found else None


def engineer_risk_rows(*, engineer: Engineer, limit: int = 100) -> list[RiskRow]:
    """An engineer's latest picks with their risk, for the engineer's page."""
    picks = (
        Pick.objects.filter(requestor=engineer)
        .select_related("requestor__user", "push", "branch__repository")
        .order_by("-created_at", "-pk")[:limit]
    )
    return risk_rows(picks)


def risk_rows(
    picks: Iterable[Pick | PickLine],
    *,
    shas: Iterable[str] | QuerySet | None = None,
    now: dt.datetime | None = None,
) -> list[RiskRow]:
    """Rows for picks: stars in one query, earlier rejections in one, risk in Python."""
    picks = list(picks)
    if not picks:
        return []
    now = now or timezone.now()
    stars = karma_stars_many(user_ids={pick.requestor.user_id for pick in picks})
    rejected = rejections_many(
        repository_ids={pick.branch.repository_id for pick in picks},
        shas=shas if shas is not None else {pick.sha for pick in picks},
    )
    rows = []
    for pick in picks:
        # A pick that is itself rejected does not count against itself.
        before = rejected.get((pick.branch.repository_id, pick.sha), 0)
        before -= pick.state == PickState.REJECTED
        user_stars = stars[pick.requestor.user_id]
        decided = getattr(pick, "decided_risk", None)  # a Pick has it; a dashboard line not
        rows.append(
            RiskRow(
                pick=pick,
                stars=user_stars,
                risk=Risk.from_record(decided)
                if decided
                else pick_risk(pick, stars=user_stars, rejections=before),  # type: ignore[arg-type]
                age=now - pick.created_at,
                rejections=before,
            )
        )
    return rows


def rejections_many(
    *, repository_ids: Iterable[int], shas: Iterable[str] | QuerySet
) -> dict[tuple[int, str], int]:
    """How often each revision was rejected in each repository, in one GROUP BY query.

    `shas` may be a queryset of values("sha"): it then runs as a subquery, with no parameter
    per pick.
    """
    rows = (
        Pick.objects.filter(
            state=PickState.REJECTED,
            branch__repository_id__in=list(repository_ids),
            sha__in=shas if isinstance(shas, QuerySet) else list(shas),
        )
        .values_list("branch__repository_id", "sha")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(repository_id, sha): n for repository_id, sha, n in rows}


def _lines(
    picks: QuerySet[Pick], branches: dict[int, ReleaseBranch], pushes: dict[int, Push]
) -> list[PickLine]:
    """The picks as PickLines, in one query; branches and pushes come from the dicts.

    The rows are read raw: Django's converters parse every datetime and JSON cell of every
    row, which at thousands of rows costs more than the query. Here `created_at` is parsed
    with the C parser, `confirmed_at` only when set, and the JSON lists only when not empty.
    A line's `paths` keeps only the files that match its repository's hot paths: all that risk
    reads of them.
    """
    people: dict[int, Requestor] = {}
    hot: dict[tuple[int, str], list[str]] = {}
    aware = settings.USE_TZ
    lines = []
    for row in _raw_rows(picks, _LINE_COLUMNS):
        (pk, branch_id, push_id, sha, title, state, urgent, added, deleted, files, paths, conflicts,
         url, comments, status, rolls, confirmed, created, user_id, username) = row  # fmt: skip
        branch = branches[branch_id]
        paths = _hot_only(branch.repository, paths, hot)
        requestor = people.get(user_id)
        if requestor is None:
            requestor = people[user_id] = Requestor(user_id=user_id, username=username)
        lines.append(
            PickLine(
                pk=pk,
                branch_id=branch_id,
                push_id=push_id,
                sha=sha,
                title=title,
                state=state,
                urgent=bool(urgent),
                lines_added=added,
                lines_deleted=deleted,
                files_changed=files,
                paths=paths,
                predicted_conflicts=_json_list(conflicts) if conflicts != "[]" else [],
                review_url=url,
                review_comments=comments,
                review_status=status,
                rolls=rolls,
                confirmed_at=_when(confirmed, aware) if confirmed else None,
                created_at=_when(created, aware),
                requestor=requestor,
                branch=branch,
                push=pushes.get(push_id) if push_id else None,
            )
        )
    return lines


def _hot_only(
    repository: Repository, paths: str | list | None, seen: dict[tuple[int, str], list[str]]
) -> list[str]:
    """The files of a pick that match its repository's hot paths, from the column as read.

    Picks often touch the same files: each distinct list is decoded and matched once.
    """
    if not repository.hot_paths or not paths or paths == "[]":
        return []
    key = (repository.pk, paths if isinstance(paths, str) else json.dumps(paths))
    if key not in seen:
        seen[key] = _hot_paths(_json_list(paths), repository.hot_paths)
    return seen[key]


def _raw_rows(queryset: QuerySet, columns: tuple[str, ...]) -> Iterator[tuple]:
    """The rows of values_list(*columns) as the database driver returns them."""
    query = queryset.values_list(*columns).query
    for chunk in query.get_compiler(using=queryset.db).execute_sql(MULTI) or ():
        yield from chunk


def _json_list(value: str | list | None) -> list:
    """A JSON list column read raw: text on SQLite and PostgreSQL (Django loads JSON as text)."""
    if isinstance(value, str):
        return json.loads(value) if value != "[]" else []
    return list(value or [])


def _when(value: str | dt.datetime, aware: bool) -> dt.datetime:
    """A datetime column read raw: text on SQLite (naive UTC), a datetime on PostgreSQL."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if aware and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _open_picks(branches: dict[int, ReleaseBranch], filters: RiskFilters) -> QuerySet[Pick]:
    picks = Pick.objects.filter(branch_id__in=list(branches), state__in=PICK_OPEN_STATES)
    picks = picks.order_by()  # sorted in Python, after risk is known
    if filters.state:
        picks = picks.filter(state=filters.state)
    if filters.requestor:
        picks = picks.filter(requestor__user__username=filters.requestor)
    if filters.push == "none":
        picks = picks.filter(push__isnull=True)
    elif filters.push:
        picks = picks.filter(push_id=int(filters.push))
    return picks


_LEVEL_RANK = {HIGH: 0, MEDIUM: 1, LOW: 2}
_SORT_KEYS = {
    # Each sort's natural order puts what needs a look first; ties go riskiest first.
    "risk": lambda r: (_LEVEL_RANK[r.risk.level], not r.risk.flagged, -r.risk.size, r.pick.pk),
    "size": lambda r: (-r.risk.size, _LEVEL_RANK[r.risk.level], r.pick.pk),
    "comments": lambda r: (
        r.pick.review_comments is None,
        -(r.pick.review_comments or 0),
        _LEVEL_RANK[r.risk.level],
        r.pick.pk,
    ),
    "age": lambda r: (r.pick.created_at, r.pick.pk),
    "requestor": lambda r: (r.pick.requestor.username, _LEVEL_RANK[r.risk.level], r.pick.pk),
}


def _sort(rows: list[RiskRow], sort: str) -> None:
    name = sort.lstrip("-") or "risk"
    rows.sort(key=_SORT_KEYS.get(name, _SORT_KEYS["risk"]), reverse=sort.startswith("-"))
