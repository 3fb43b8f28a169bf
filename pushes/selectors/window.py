"""The stretch of days a dashboard looks at: the last few whole weeks in a repository's zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.utils import timezone

from pushes.models import Repository

WEEKS_DEFAULT = 4
WEEKS_MAX = 26


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
