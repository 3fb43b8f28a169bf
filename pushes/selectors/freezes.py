"""Reads of freezes: the freeze a repository is under now, and how every channel says so.

A freeze a release engineer starts (`repository_freeze`) has no planned end: it lasts until
someone unfreezes it, stored as a far end (OPEN_ENDED from its start) and never shown as a date.
A window planned in the admin has its own end, shown as a time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from common import times
from pushes.models import FreezeWindow, Repository

# How far ahead an open-ended freeze's stored end lies; any window at least this long is shown
# as lasting until someone unfreezes it.
OPEN_ENDED = dt.timedelta(days=3652)
UNTIL_UNFROZEN = "until a release engineer unfreezes it"
# Started this recently, the weekday says when ("since Thu 11:02 PST"); longer ago, the date.
_THIS_WEEK = dt.timedelta(days=6)


def repository_freeze_now(
    *, repository: Repository, now: dt.datetime | None = None
) -> FreezeWindow | None:
    """The freeze window in force on the repository now, the one that lasts longest if several
    overlap (what "frozen until" means); None when it is not frozen."""
    now = now or timezone.now()
    return (
        repository.freezes.filter(starts_at__lte=now, ends_at__gt=now)
        .select_related("created_by__user")
        .order_by("-ends_at", "-pk")
        .first()
    )


def repository_frozen(*, repository: Repository, now: dt.datetime | None = None) -> Frozen | None:
    """The freeze in force now, as pages, the API and the bot show it; None when not frozen."""
    window = repository_freeze_now(repository=repository, now=now)
    return Frozen(window=window, repository=repository) if window else None


def freeze_until(window: FreezeWindow, repository: Repository) -> str:
    """ "until a release engineer unfreezes it", or "until Fri 27 Nov 10:00 PST" for a window
    with a planned end."""
    if freeze_open_ended(window):
        return UNTIL_UNFROZEN
    return f"until {times.when(window.ends_at, repository)}"


def freeze_open_ended(window: FreezeWindow) -> bool:
    return window.ends_at - window.starts_at >= OPEN_ENDED


@dataclass(frozen=True)
class Frozen:
    """A repository's freeze in force now: who started it, since when, why, until when."""

    window: FreezeWindow
    repository: Repository

    @property
    def reason(self) -> str:
        return self.window.reason

    @property
    def since(self) -> dt.datetime:
        return self.window.starts_at

    @property
    def by(self) -> str | None:
        """Who froze it; None for a window planned in the admin."""
        creator = self.window.created_by
        return creator.username if creator else None

    @property
    def until(self) -> dt.datetime | None:
        """The planned end; None while it lasts until someone unfreezes it."""
        return None if freeze_open_ended(self.window) else self.window.ends_at

    @property
    def until_text(self) -> str:
        return freeze_until(self.window, self.repository)

    @property
    def banner(self) -> str:
        """ "Frozen by rel since Thu 11:02 PST: Incident 42", with its planned end if it has
        one."""
        recent = timezone.now() - self.since < _THIS_WEEK
        show = times.when_short if recent else times.when
        by = f" by {self.by}" if self.by else ""
        until = "" if self.until is None else f" {self.until_text}"
        return f"Frozen{by} since {show(self.since, self.repository)}{until}: {self.reason}"


def freeze_started_text(window: FreezeWindow) -> str:
    """What a release engineer is told after freezing, on every channel."""
    repository = window.repository
    until = freeze_until(window, repository)
    return (
        f"{repository.name} is frozen {until} ({window.reason}): no picks and no pushes. "
        "The requestors of its open picks are told."
    )


def freeze_lifted_text(repository: Repository, windows: list[FreezeWindow]) -> str:
    """What a release engineer is told after unfreezing, on every channel."""
    ended = f" ({len(windows)} freezes ended)" if len(windows) > 1 else ""
    return (
        f"{repository.name} is unfrozen{ended}: picks and pushes go on. "
        "The requestors of its open picks are told."
    )
