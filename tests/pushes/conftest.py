"""A release train on a real repository, at a frozen Monday morning after Sunday's cut."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
SUNDAY_CUT = dt.datetime(2026, 11, 22, 18, 0, tzinfo=LA)
MONDAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=LA)


@pytest.fixture
def monday():
    with time_machine.travel(MONDAY, tick=True) as traveller:
        yield traveller


@pytest.fixture
def branch(repository, monday):
    """Sunday's cut of `remote` (five commits), with its week of pushes scheduled."""
    from pushes import services

    return services.branch_cut(repository=repository, at=SUNDAY_CUT)


@pytest.fixture
def landed(remote, repository, branch):
    """Commits that landed on trunk after the cut, by name, indexed."""
    from pushes import services

    shas = {
        "fix": remote.commit({"src/module1.py": "VALUE = 100\n"}, "Fix module 1", author="alice"),
        "feature": remote.commit({"src/feature.py": "ON = True\n"}, "Add feature", author="bob"),
        "second": remote.commit({"src/feature.py": "ON = False\n"}, "Turn feature off"),
    }
    services.trunk_sync(repository=repository)
    return shas
