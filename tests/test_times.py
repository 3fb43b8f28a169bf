"""One way to show a time (common/times.py and its template filters): the zone of the place the
time belongs to, always with its abbreviation."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from types import SimpleNamespace

import pytest
from django.template import Context, Template

from common import times

# 13:50 UTC on a winter Friday: 05:50 in Los Angeles. The same moment, two ways it was shown.
MOMENT = dt.datetime(2015, 12, 4, 13, 50, 7, tzinfo=dt.UTC)
SHOP = SimpleNamespace(time_zone="America/Los_Angeles")  # what a Repository gives


def test_a_time_is_shown_in_the_repositorys_zone_with_its_abbreviation():
    assert times.when(MOMENT, SHOP) == "Fri 04 Dec 05:50 PST"
    assert times.when(MOMENT, SHOP, year=True) == "Fri 04 Dec 2015 05:50 PST"
    assert times.when(MOMENT, SHOP, seconds=True) == "Fri 04 Dec 05:50:07 PST"
    assert times.when(MOMENT, SHOP, year=True, seconds=True) == "Fri 04 Dec 2015 05:50:07 PST"
    assert times.when_short(MOMENT, SHOP) == "Fri 05:50 PST"
    assert times.day(MOMENT, SHOP) == "04 Dec 2015"


def test_summer_time_has_its_own_abbreviation():
    assert times.when(dt.datetime(2026, 7, 1, 18, 0, tzinfo=dt.UTC), SHOP) == "Wed 01 Jul 11:00 PDT"


def test_a_zone_is_a_repository_a_name_or_a_tzinfo():
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    assert times.when(MOMENT, "Europe/Paris") == times.when(MOMENT, paris) == "Fri 04 Dec 14:50 CET"


@pytest.mark.parametrize("place", [None, "", SimpleNamespace(time_zone="")])
def test_a_time_of_no_repository_is_in_the_sites_zone(settings, place):
    assert times.when(MOMENT, place) == "Fri 04 Dec 13:50 UTC"
    settings.TIME_ZONE = "Asia/Tokyo"
    assert times.when(MOMENT, place) == "Fri 04 Dec 22:50 JST"


def test_the_date_is_the_one_in_the_repositorys_zone():
    evening = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)  # Monday 22:00 in Los Angeles
    assert times.day(evening, SHOP) == "23 Nov 2026"
    assert times.day(evening) == "24 Nov 2026"


def test_no_time_is_shown_as_nothing():
    assert times.when(None, SHOP) == times.when_short(None) == times.day(None) == ""


def test_a_naive_time_is_refused_rather_than_read_as_the_servers_clock():
    with pytest.raises(ValueError, match="aware"):
        times.when(dt.datetime(2015, 12, 4, 13, 50), SHOP)


def render(source: str, **context) -> str:
    return Template("{% load releasebot %}" + source).render(Context(context))


def test_the_template_filters_show_the_same_strings(db):
    assert render("{{ at|when:shop }}", at=MOMENT, shop=SHOP) == "Fri 04 Dec 05:50 PST"
    assert render("{{ at|when_year:shop }}", at=MOMENT, shop=SHOP) == "Fri 04 Dec 2015 05:50 PST"
    assert render("{{ at|when_seconds:shop }}", at=MOMENT, shop=SHOP) == "Fri 04 Dec 05:50:07 PST"
    assert render("{{ at|when_short:shop }}", at=MOMENT, shop=SHOP) == "Fri 05:50 PST"
    assert render("{{ at|day:shop }}", at=MOMENT, shop=SHOP) == "04 Dec 2015"
    assert render('{{ at|when:"Europe/Paris" }}', at=MOMENT) == "Fri 04 Dec 14:50 CET"
    assert render("{{ at|when }}", at=MOMENT) == "Fri 04 Dec 13:50 UTC"
    assert render('{{ at|when:shop|default:"—" }}', at=None, shop=SHOP) == "—"
