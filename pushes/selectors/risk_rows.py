"""The rows behind the risk pages: picks as plain lines read in one query (`PickLine`), each
with its requestor's stars and its risk (`RiskRow`, `risk_rows`), and the current train's
branches and pushes they belong to. Read by the risk dashboard (risk_dashboard), the engineer
page, release notes and the risk index (pushes.services.risk_index), which keeps each open
pick's rank for the dashboard's order.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, QuerySet
from django.db.models.sql.constants import MULTI
from django.utils import timezone

from karma.selectors import karma_stars_many
from pushes.choices import BranchState, PickState, ReviewStatus
from pushes.models import Engineer, Pick, Push, ReleaseBranch, Repository
from pushes.moves import Channel, Target, Who, moves_by_state
from pushes.risk import Risk, _hot_paths, pick_risk

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


def train_pushes(branches: dict[int, ReleaseBranch]) -> dict[int, Push]:
    pushes = {}
    for push in Push.objects.filter(branch_id__in=list(branches)).order_by("scheduled_at", "pk"):
        push.branch = branches[push.branch_id]
        pushes[push.pk] = push
    return pushes


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


def pick_lines(
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
