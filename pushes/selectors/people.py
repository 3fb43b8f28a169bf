"""Reads about people: an engineer's change failure rate (of the picks they shipped, how many
were reverted), the engineers' table of /engineers/ and the API, and finding people by name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Concat

from common.errors import DomainError
from karma.selectors import karma_stars_many
from pushes.choices import PICK_OPEN_STATES, PickState
from pushes.models import Engineer, Pick

# Picks that went out in a pushed tag: still out, or reverted since (only a shipped pick can
# be reverted). The denominator of an engineer's change failure rate.
PICK_SHIPPED_STATES = (PickState.SHIPPED, PickState.REVERTED)

# The columns /engineers/ and GET /api/engineers/ sort by; a leading "-" reverses one.
ENGINEER_SORTS = (
    "name",
    "stars",
    "picks",
    "open",
    "shipped",
    "reverted",
    "failure_rate",
    "last_pick",
)
ENGINEER_SORT_DEFAULT = "name"
PEOPLE_FOUND_MAX = 20


@dataclass(frozen=True)
class ChangeFailure:
    """Of the picks an engineer shipped, how many were reverted."""

    shipped: int
    reverted: int

    @property
    def rate(self) -> float | None:
        """The reverted share, 0 to 1; None when nothing shipped (no rate, not a perfect one)."""
        return self.reverted / self.shipped if self.shipped else None

    @property
    def percent(self) -> str:
        """The rate as people read it: "8%", "<1%" for a sliver; "" when nothing shipped."""
        if self.rate is None:
            return ""
        percent = 100 * self.rate
        return "<1%" if 0 < percent < 1 else f"{percent:.0f}%"

    @property
    def text(self) -> str:
        """ "1 of 12 shipped picks reverted (8%)", or "No shipped picks yet"."""
        if not self.shipped:
            return "No shipped picks yet"
        picks = "pick" if self.shipped == 1 else "picks"
        return f"{self.reverted} of {self.shipped} shipped {picks} reverted ({self.percent})"


def engineer_change_failure(*, engineer: Engineer) -> ChangeFailure:
    """The engineer's shipped picks and how many of them were reverted (1 query)."""
    counts = Pick.objects.filter(requestor=engineer).aggregate(
        shipped=Count("pk", filter=Q(state__in=PICK_SHIPPED_STATES)),
        reverted=Count("pk", filter=Q(state=PickState.REVERTED)),
    )
    return ChangeFailure(shipped=counts["shipped"], reverted=counts["reverted"])


@dataclass(frozen=True)
class EngineerRow:
    """One engineer in the table: stars, picks by where they are, the change failure rate."""

    engineer: Engineer
    stars: int
    picks: int  # every pick they asked for
    open: int  # on their way out (PICK_OPEN_STATES)
    change_failure: ChangeFailure
    last_pick: Pick | None  # the newest they asked for, with its repository (for its zone)

    @property
    def username(self) -> str:
        return self.engineer.username

    @property
    def name(self) -> str:
        return self.engineer.user.get_full_name() or self.engineer.username

    @property
    def last_pick_at(self) -> dt.datetime | None:
        return self.last_pick.created_at if self.last_pick else None


def engineer_sort_refusal(order: str) -> DomainError | None:
    """Why `order` is no sort of the engineers' table, or None when it is one."""
    if order.removeprefix("-") in ENGINEER_SORTS:
        return None
    return DomainError(
        f"{order[:40]!r} is not a sort: give one of {', '.join(ENGINEER_SORTS)}, with a "
        "leading - to reverse it.",
        code="bad-sort",
        details={"sorts": list(ENGINEER_SORTS)},
    )


def engineers_overview(*, order: str = ENGINEER_SORT_DEFAULT) -> list[EngineerRow]:
    """Every engineer with their stars, picks and change failure rate, sorted by `order` (one
    of ENGINEER_SORTS, "-" reverses it; anything else is refused). Three queries: the counts,
    the stars (asked of karma), the last picks. Rows without a value (no rate, no pick yet)
    come last either way."""
    refusal = engineer_sort_refusal(order)
    if refusal is not None:
        raise refusal
    newest = Pick.objects.filter(requestor=OuterRef("pk")).order_by("-created_at", "-pk")
    engineers = list(
        Engineer.objects.select_related("user")
        .annotate(
            picks_count=Count("picks"),
            open_count=Count("picks", filter=Q(picks__state__in=PICK_OPEN_STATES)),
            shipped_count=Count("picks", filter=Q(picks__state__in=PICK_SHIPPED_STATES)),
            reverted_count=Count("picks", filter=Q(picks__state=PickState.REVERTED)),
            last_pick_id=Subquery(newest.values("pk")[:1]),
        )
        .order_by("user__username")
    )
    stars = karma_stars_many(user_ids=[e.user_id for e in engineers])
    last_ids = [e.last_pick_id for e in engineers if e.last_pick_id]
    last = Pick.objects.select_related("branch__repository").in_bulk(last_ids)
    rows = [
        EngineerRow(
            engineer=e,
            stars=stars[e.user_id],
            picks=e.picks_count,
            open=e.open_count,
            change_failure=ChangeFailure(
                shipped=e.shipped_count,
                reverted=e.reverted_count,
            ),
            last_pick=last.get(e.last_pick_id),
        )
        for e in engineers
    ]
    return _sorted(rows, order)


_SORT_KEYS: dict[str, Callable[[EngineerRow], Any]] = {
    "name": lambda r: r.name.casefold(),
    "stars": lambda r: r.stars,
    "picks": lambda r: r.picks,
    "open": lambda r: r.open,
    "shipped": lambda r: r.change_failure.shipped,
    "reverted": lambda r: r.change_failure.reverted,
    "failure_rate": lambda r: r.change_failure.rate,
    "last_pick": lambda r: r.last_pick_at,
}


def _sorted(rows: list[EngineerRow], order: str) -> list[EngineerRow]:
    """Sorted by one column, ties by username; rows with no value for it last either way."""
    name = order.removeprefix("-")
    key = _SORT_KEYS[name]
    rows = sorted(rows, key=lambda r: r.username)
    present = [r for r in rows if key(r) is not None]
    missing = [r for r in rows if key(r) is None]
    present.sort(key=key, reverse=order.startswith("-"))
    return present + missing


def engineers_matching(*, query: str, limit: int = PEOPLE_FOUND_MAX) -> list[Engineer]:
    """Engineers whose username, first or last name, or full name contains `query` (any
    case); exact usernames first, then by username."""
    text = " ".join(query.split())
    if not text or "\x00" in text:
        return []
    exact_first = Case(When(user__username__iexact=text, then=0), default=1)
    found = (
        Engineer.objects.select_related("user")
        .annotate(full_name=Concat("user__first_name", Value(" "), "user__last_name"))
        .filter(Q(user__username__icontains=text) | Q(full_name__icontains=text))
        .order_by(exact_first, "user__username")
    )
    return list(found[:limit])
