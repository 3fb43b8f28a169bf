"""Times as people read them, written once: one zone rule, one format, the zone always named.

A time that belongs to a repository (anything about a branch, push, pick, test run or revision)
is shown in the repository's `time_zone`; a time that belongs to none (a karma change without a
pick, a notice without a pick or push) in `settings.TIME_ZONE`. Either way with the zone's
abbreviation, so the same moment reads the same on every page, in chat, in Slack and in the
notices: "Fri 04 Dec 13:50 PST". Pages use the filters in `common.templatetags.releasebot`
(`{{ at|when:repository }}`); Python calls `when`. The API gives ISO 8601 with an offset instead.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Protocol

from django.conf import settings


class HasTimeZone(Protocol):
    """A repository, or anything else that names its zone."""

    @property
    def time_zone(self) -> str: ...


Place = HasTimeZone | str | dt.tzinfo | None

_DAY = "%a %d %b"  # Fri 04 Dec
_DAY_YEAR = "%a %d %b %Y"  # Fri 04 Dec 2015


def zone(place: Place) -> dt.tzinfo:
    """The zone of a repository (anything with a `time_zone` name), a zone name or a tzinfo;
    `settings.TIME_ZONE` for None or "": the time belongs to no repository."""
    if isinstance(place, dt.tzinfo):
        return place
    name = place if isinstance(place, str) else getattr(place, "time_zone", "")
    return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)


def _local(at: dt.datetime, place: Place) -> dt.datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        # A naive time has no moment to convert: Python would take it as the server's clock.
        raise ValueError(f"an aware datetime is needed to show a time, not {at!r}")
    return at.astimezone(zone(place))


def when(
    at: dt.datetime | None, place: Place = None, *, year: bool = False, seconds: bool = False
) -> str:
    """`at` in the place's zone with its abbreviation: "Fri 04 Dec 13:50 PST"; with the year
    "Fri 04 Dec 2015 13:50 PST", with seconds "Fri 04 Dec 13:50:07 PST". "" for None."""
    if at is None:
        return ""
    clock = "%H:%M:%S" if seconds else "%H:%M"
    return f"{_local(at, place):{_DAY_YEAR if year else _DAY} {clock} %Z}"


def when_short(at: dt.datetime | None, place: Place = None) -> str:
    """The weekday and time only, "Fri 13:50 PST", where the week is plain from around it
    (the nodes of the train's timeline). "" for None."""
    return "" if at is None else f"{_local(at, place):%a %H:%M %Z}"


def day(at: dt.datetime | None, place: Place = None) -> str:
    """The date only, "04 Dec 2015", taken in the place's zone (an evening in Los Angeles is
    already tomorrow in UTC). No abbreviation: a date is not a time of day. "" for None."""
    return "" if at is None else f"{_local(at, place):%d %b %Y}"


def duration(value: dt.timedelta | float | None) -> str:
    """How long something took (a timedelta, or seconds), said the same way on every page, in
    chat and in Slack: "0 s", "under 1 s", "12 s", "1 min 05 s", "1 h 02 min", "2 d 4 h".
    Whole seconds, cut down rather than rounded, so a running clock never shows time that has
    not passed (59.9 s is "59 s"). "" for None."""
    if value is None:
        return ""
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    if 0 < seconds < 1:
        return "under 1 s"
    whole = max(int(seconds), 0)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
