"""The API gives every time as ISO 8601 with an offset ("Z" or ±HH:MM), never a bare local
time: a client converts it, whatever zone the site or the repository is in."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest

from karma.services import karma_unlike
from pushes import services
from pushes.choices import NotificationKind, PickState, PushState, TestRunState
from pushes.models import Notification, Pick, Push, TestRun
from tests.api import client_for

SHIPPED = dt.datetime(2026, 11, 24, 19, 4, 12, tzinfo=dt.UTC)  # Tue 11:04 in Los Angeles
DATETIME_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def strings(value, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON value, with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


@pytest.fixture
def world(alice, rel, branch, landed) -> Pick:
    """A shipped pick with its history, push, test run, notices and a karma change about it."""
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    services.pick_approve(pick_id=pick.pk, actor=rel)
    pick.refresh_from_db()
    push = pick.push
    assert push is not None
    Push.objects.filter(pk=push.pk).update(
        state=PushState.DONE, started_at=SHIPPED, finished_at=SHIPPED
    )
    Pick.objects.filter(pk=pick.pk).update(
        state=PickState.SHIPPED, confirmed_at=SHIPPED, shipped_at=SHIPPED
    )
    TestRun.objects.create(
        push=push,
        pick=pick,
        command="make test",
        state=TestRunState.PASSED,
        started_at=SHIPPED,
        finished_at=SHIPPED,
    )
    Notification.objects.create(
        engineer=alice, kind=NotificationKind.KARMA_SUGGESTION, text="No pick", created_at=SHIPPED
    )
    karma_unlike(user_id=alice.user_id, actor_id=rel.user_id, reason="Late", pick_id=pick.pk)
    pick.refresh_from_db()
    return pick


@pytest.mark.parametrize("site_zone", ["UTC", "America/New_York"])
def test_every_time_in_every_response_is_iso_8601_with_an_offset(alice, world, settings, site_zone):
    settings.TIME_ZONE = site_zone
    client = client_for(alice)
    paths = [
        f"/api/picks/{world.pk}/",
        "/api/picks/",
        f"/api/pushes/{world.push_id}/",
        "/api/pushes/",
        f"/api/branches/{world.branch_id}/",
        "/api/branches/",
        f"/api/revisions/{world.sha}/",
        f"/api/test-runs/{TestRun.objects.get().pk}/",
        "/api/test-runs/",
        "/api/inbox/",
        "/api/karma/",
        "/api/karma/alice/",
        "/api/repositories/",
    ]
    seen = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.json())
        for where, text in strings(response.json(), path):
            if DATETIME_LIKE.search(text):
                assert ISO_WITH_OFFSET.match(text), f"{where} = {text!r} has no offset"
                seen[where] = text

    # Not a walk over nothing: the times of the pick, push, run, revision, notices and karma.
    offset = re.compile(r"Z$" if site_zone == "UTC" else r"-0[45]:00$")  # EDT or EST
    shipped = "2026-11-24T19:04:12Z" if site_zone == "UTC" else "2026-11-24T14:04:12-05:00"
    for key in (
        f"/api/picks/{world.pk}/.shipped_at",
        f"/api/pushes/{world.push_id}/.finished_at",
        f"/api/revisions/{world.sha}/.shipped_at",
        "/api/inbox/.results[0].created_at",
    ):
        assert seen[key] == shipped
    for key in (
        f"/api/branches/{world.branch_id}/.cut_at",
        f"/api/revisions/{world.sha}/.commit.committed_at",
        f"/api/test-runs/{TestRun.objects.get().pk}/.started_at",
        "/api/karma/alice/.history[0].at",
    ):
        assert offset.search(seen[key]), (key, seen[key])
    assert any(".events[" in where for where in seen)
