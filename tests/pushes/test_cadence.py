from __future__ import annotations

import datetime as dt
import zoneinfo

from pushes import cadence
from pushes.models import Repository

LA = zoneinfo.ZoneInfo("America/Los_Angeles")


def repo(**fields) -> Repository:
    return Repository(
        slug="shop", name="Shop", remote_url="/x", time_zone="America/Los_Angeles", **fields
    )


def test_the_last_cut_is_sunday_1800_in_the_repositorys_time_zone():
    wednesday = dt.datetime(2026, 11, 25, 9, 0, tzinfo=LA)
    assert cadence.last_cut_slot(repo(), wednesday) == dt.datetime(2026, 11, 22, 18, 0, tzinfo=LA)


def test_a_sunday_before_1800_still_belongs_to_last_weeks_cut():
    sunday_noon = dt.datetime(2026, 11, 29, 12, 0, tzinfo=LA)
    assert cadence.last_cut_slot(repo(), sunday_noon).date() == dt.date(2026, 11, 22)
    sunday_evening = dt.datetime(2026, 11, 29, 18, 0, tzinfo=LA)
    assert cadence.last_cut_slot(repo(), sunday_evening).date() == dt.date(2026, 11, 29)


def test_the_branch_is_named_by_the_local_day_of_the_cut():
    # 18:00 in Los Angeles is already Monday in UTC: the name keeps the local Sunday.
    cut = dt.datetime(2026, 11, 22, 18, 0, tzinfo=LA).astimezone(dt.UTC)
    assert cadence.branch_name_for(repo(), cut) == "release/2026-11-22"


def test_the_week_after_a_cut_ships_tuesday_and_pushes_twice_a_day_wednesday_to_friday():
    cut = dt.datetime(2026, 11, 22, 18, 0, tzinfo=LA)
    assert cadence.ship_moment(repo(), cut) == dt.datetime(2026, 11, 24, 11, 0, tzinfo=LA)
    moments = cadence.daily_push_moments(repo(), cut)
    assert [(m.strftime("%a %H:%M")) for m in moments] == [
        "Wed 11:00",
        "Wed 16:00",
        "Thu 11:00",
        "Thu 16:00",
        "Fri 11:00",
        "Fri 16:00",
    ]


def test_push_times_and_days_come_from_the_repository():
    r = repo(push_weekdays=[3], push_times=["09:30"])
    moments = cadence.daily_push_moments(r, dt.datetime(2026, 11, 22, 18, 0, tzinfo=LA))
    assert moments == [dt.datetime(2026, 11, 26, 9, 30, tzinfo=LA)]
