"""The train's calendar: when a repository cuts, ships and pushes, in its own time zone.

Pure functions of a repository's settings and a moment; no database, no git.
"""

from __future__ import annotations

import datetime as dt

from pushes.choices import Weekday
from pushes.models import Repository


def local_moment(repository: Repository, day: dt.date, at: dt.time) -> dt.datetime:
    """An aware datetime for a wall-clock time on a day in the repository's time zone."""
    return dt.datetime.combine(day, at, tzinfo=repository.tz)


def last_cut_slot(repository: Repository, now: dt.datetime) -> dt.datetime:
    """The most recent scheduled cut at or before `now`."""
    local_now = now.astimezone(repository.tz)
    days_back = (local_now.weekday() - repository.cut_weekday) % 7
    slot = local_moment(
        repository, local_now.date() - dt.timedelta(days=days_back), repository.cut_time
    )
    if slot > local_now:
        slot = local_moment(repository, slot.date() - dt.timedelta(days=7), repository.cut_time)
    return slot


def next_cut_slot(repository: Repository, now: dt.datetime) -> dt.datetime:
    last = last_cut_slot(repository, now)
    return local_moment(repository, last.date() + dt.timedelta(days=7), repository.cut_time)


def branch_name_for(repository: Repository, cut_at: dt.datetime) -> str:
    """`release/YYYY-MM-DD`, dated by the cut's day in the repository's time zone."""
    return f"release/{cut_at.astimezone(repository.tz):%Y-%m-%d}"


def ship_moment(repository: Repository, cut_at: dt.datetime) -> dt.datetime:
    """The weekly ship of the branch cut at `cut_at`: the next ship weekday after the cut."""
    local_cut = cut_at.astimezone(repository.tz)
    days = (repository.ship_weekday - local_cut.weekday()) % 7 or 7
    return local_moment(
        repository, local_cut.date() + dt.timedelta(days=days), repository.ship_time
    )


def daily_push_moments(repository: Repository, cut_at: dt.datetime) -> list[dt.datetime]:
    """Every daily push of the week that follows a cut, in order (before the next cut)."""
    local_cut = cut_at.astimezone(repository.tz)
    ship = ship_moment(repository, cut_at)
    next_cut = local_moment(
        repository, local_cut.date() + dt.timedelta(days=7), repository.cut_time
    )
    moments = []
    for offset in range(1, 8):
        day = local_cut.date() + dt.timedelta(days=offset)
        if day.weekday() not in repository.push_weekdays:
            continue
        for text in sorted(repository.push_times):
            moment = local_moment(repository, day, dt.time.fromisoformat(text))
            if ship < moment < next_cut:
                moments.append(moment)
    return moments


def is_friday(repository: Repository, moment: dt.datetime) -> bool:
    return moment.astimezone(repository.tz).weekday() == Weekday.FRIDAY
