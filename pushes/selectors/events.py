"""Every recorded move as one list, newest first: the audit trail behind GET /api/events/.

Five records hold moves, each in its own shape: a pick's history (PickEvent), a push's story
(PushEvent), karma's unlikes and restores (KarmaEvent), freezes (FreezeWindow: who froze a
repository from its start, and who lifted it early at its end) and rollbacks (Rollback). Each is
read into one row shape and the five are read as one UNION ALL, so a page of it is one query
(and its count another), however long the history is.

A row's `move` is what happened: the state a pick or push reached ("approved", "shipped",
"failed"), karma's change ("unlike", "restore"), "freeze", "unfreeze" or "rollback". Its
`target` and `target_id` name what moved as the API names it: a pick's or push's id, an
engineer's username, a repository's slug.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields

from django.db.models import CharField, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast

from karma.choices import KarmaChange
from karma.models import KarmaEvent
from pushes.choices import PickState, PushState
from pushes.models import FreezeWindow, Pick, PickEvent, PushEvent, Rollback

FREEZE, UNFREEZE, ROLLBACK = "freeze", "unfreeze", "rollback"
# Every move a row can have, for the `move` filter.
EVENT_MOVES = (
    *PickState.values,
    *PushState.values,
    *KarmaChange.values,
    FREEZE,
    UNFREEZE,
    ROLLBACK,
)
EVENT_TARGETS = ("pick", "push", "engineer", "repository")


@dataclass(frozen=True)
class EventFilters:
    since: dt.datetime | None = None  # at or after
    until: dt.datetime | None = None  # before
    repository: str | None = None  # a slug
    actor: str | None = None  # a username
    move: str | None = None  # one of EVENT_MOVES


@dataclass(frozen=True)
class EventRow:
    """One move: when, in which repository (None: karma's change about no pick), by whom
    (None: the bot, or the admin for a planned freeze), what moved, and why."""

    at: dt.datetime
    repository: str | None
    actor: str | None
    move: str
    target: str
    target_id: str
    from_state: str | None
    to_state: str | None
    reason: str


COLUMNS = tuple(f.name for f in fields(EventRow))


@dataclass(frozen=True)
class _Source:
    """One record read as rows: where its time, repository and actor are, the moves it can
    hold (`move_field` tells them apart; without it every row is `moves[0]`), and the columns."""

    rows: Callable[[], QuerySet]
    at: str
    repository: Callable[[str], Q]
    actor: str
    moves: tuple[str, ...]
    move_field: str | None
    columns: Callable[[], dict[str, Combinable]]


def _text(value: str | None) -> Value:
    return Value(value, output_field=CharField())


def _pick_of_karma() -> Subquery:
    pick = Pick.objects.filter(pk=OuterRef("pick_id")).values("branch__repository__slug")
    return Subquery(pick[:1], output_field=CharField())


_SOURCES = (
    _Source(
        rows=lambda: PickEvent.objects.all(),
        at="at",
        repository=lambda slug: Q(pick__branch__repository__slug=slug),
        actor="actor__user__username",
        moves=tuple(PickState.values),
        move_field="to_state",
        columns=lambda: {
            "repository": F("pick__branch__repository__slug"),
            "actor": F("actor__user__username"),
            "move": F("to_state"),
            "target": _text("pick"),
            "target_id": Cast("pick_id", CharField()),
            "from_state": F("from_state"),
            "to_state": F("to_state"),
        },
    ),
    _Source(
        rows=lambda: PushEvent.objects.all(),
        at="at",
        repository=lambda slug: Q(push__branch__repository__slug=slug),
        actor="actor__user__username",
        moves=tuple(PushState.values),
        move_field="to_state",
        columns=lambda: {
            "repository": F("push__branch__repository__slug"),
            "actor": F("actor__user__username"),
            "move": F("to_state"),
            "target": _text("push"),
            "target_id": Cast("push_id", CharField()),
            "from_state": F("from_state"),
            "to_state": F("to_state"),
        },
    ),
    _Source(
        # Karma knows no repository: a change about a pick is in that pick's repository.
        rows=lambda: KarmaEvent.objects.all(),
        at="at",
        repository=lambda slug: Q(
            pick_id__in=Pick.objects.filter(branch__repository__slug=slug).values("pk")
        ),
        actor="actor__username",
        moves=tuple(KarmaChange.values),
        move_field="change",
        columns=lambda: {
            "repository": _pick_of_karma(),
            "actor": F("actor__username"),
            "move": F("change"),
            "target": _text("engineer"),
            "target_id": F("user__username"),
            # Stars before and after, as text like every state.
            "from_state": Cast(F("stars_after") - F("delta"), CharField()),
            "to_state": Cast("stars_after", CharField()),
        },
    ),
    _Source(
        # A freeze counts from its start; a freeze planned in the admin has no actor.
        rows=lambda: FreezeWindow.objects.all(),
        at="starts_at",
        repository=lambda slug: Q(repository__slug=slug),
        actor="created_by__user__username",
        moves=(FREEZE,),
        move_field=None,
        columns=lambda: _freeze_columns(FREEZE, "created_by__user__username"),
    ),
    _Source(
        # Lifting a freeze early ends it then: its end is when it was lifted.
        rows=lambda: FreezeWindow.objects.filter(lifted_by__isnull=False),
        at="ends_at",
        repository=lambda slug: Q(repository__slug=slug),
        actor="lifted_by__user__username",
        moves=(UNFREEZE,),
        move_field=None,
        columns=lambda: _freeze_columns(UNFREEZE, "lifted_by__user__username"),
    ),
    _Source(
        # From the push's tag back to the tag deployed again.
        rows=lambda: Rollback.objects.all(),
        at="at",
        repository=lambda slug: Q(push__branch__repository__slug=slug),
        actor="actor__user__username",
        moves=(ROLLBACK,),
        move_field=None,
        columns=lambda: {
            "repository": F("push__branch__repository__slug"),
            "actor": F("actor__user__username"),
            "move": _text(ROLLBACK),
            "target": _text("push"),
            "target_id": Cast("push_id", CharField()),
            "from_state": F("push__tag"),
            "to_state": F("to_push__tag"),
        },
    ),
)


def _freeze_columns(move: str, actor: str) -> dict[str, Combinable]:
    return {
        "repository": F("repository__slug"),
        "actor": F(actor),
        "move": _text(move),
        "target": _text("repository"),
        "target_id": F("repository__slug"),
        "from_state": _text(None),
        "to_state": _text(None),
    }


def _part(index: int, source: _Source, filters: EventFilters) -> QuerySet | None:
    """One source's rows as the shared columns (named e_*: no model's own field names), or
    None when the filters leave it nothing."""
    if filters.move is not None and filters.move not in source.moves:
        return None
    rows = source.rows().order_by()  # a part of a UNION may not be ordered
    if filters.move is not None and source.move_field:
        rows = rows.filter(**{source.move_field: filters.move})
    if filters.since is not None:
        rows = rows.filter(**{f"{source.at}__gte": filters.since})
    if filters.until is not None:
        rows = rows.filter(**{f"{source.at}__lt": filters.until})
    if filters.repository is not None:
        rows = rows.filter(source.repository(filters.repository))
    if filters.actor is not None:
        rows = rows.filter(**{source.actor: filters.actor})
    columns = {"at": F(source.at), **source.columns(), "reason": F("reason")}
    # The same names in the same order in every part: a UNION matches columns by position.
    named = {f"e_{name}": columns[name] for name in COLUMNS}
    named["e_source"] = Value(index)
    named["e_pk"] = F("pk")
    return rows.annotate(**named).values(*named)


class EventList:
    """The matching events, newest first, read a slice at a time: DRF's paginator takes it
    (`count()` and a slice, two queries), and iterating streams every row in chunks."""

    def __init__(self, rows: QuerySet | None) -> None:
        self._rows = rows

    def count(self) -> int:
        return 0 if self._rows is None else self._rows.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[EventRow]:
        return [] if self._rows is None else [_event(row) for row in self._rows[index]]

    def __iter__(self) -> Iterator[EventRow]:
        if self._rows is not None:
            for row in self._rows.iterator(chunk_size=2000):
                yield _event(row)


def _event(row: dict) -> EventRow:
    values = {name: row[f"e_{name}"] for name in COLUMNS}
    for name in ("from_state", "to_state"):  # a pick's first event came from no state
        values[name] = values[name] or None
    return EventRow(**values)


def events_list(*, filters: EventFilters) -> EventList:
    """Every recorded move matching the filters, newest first (ties: the later record first)."""
    parts = [
        part
        for index, source in enumerate(_SOURCES)
        if (part := _part(index, source, filters)) is not None
    ]
    if not parts:
        return EventList(None)
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return EventList(rows.order_by("-e_at", "-e_source", "-e_pk"))
