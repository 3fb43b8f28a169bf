"""Every page shows a time in the zone it belongs to, and names it: the repository's zone
(America/Los_Angeles here) for anything about a branch, push, pick, test run or revision,
settings.TIME_ZONE for what belongs to no repository. The cross-channel story (risk dashboard,
push page, pick page, chat, Slack) is in tests/chat/test_one_time_everywhere.py."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from karma.services import karma_unlike
from pushes import selectors, services
from pushes.choices import NotificationKind, PickState, PushState, TestRunState
from pushes.models import Notification, Pick, Push, TestRun

UTC = dt.UTC
# Tuesday's weekly push, as it ran: 11:00:05 to 11:04:40 in Los Angeles (19:00 UTC and on).
STARTED = dt.datetime(2026, 11, 24, 19, 0, 5, tzinfo=UTC)
RUN_AT = dt.datetime(2026, 11, 24, 19, 1, 30, tzinfo=UTC)
SHIPPED = dt.datetime(2026, 11, 24, 19, 4, 12, tzinfo=UTC)
FINISHED = dt.datetime(2026, 11, 24, 19, 4, 40, tzinfo=UTC)


def page(client: Client, engineer, name: str, *args) -> str:
    client.force_login(engineer.user)
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def shipped(alice, rel, branch, landed) -> Pick:
    """Alice's fix, shipped by Tuesday's push, with the test run after it."""
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    services.pick_approve(pick_id=pick.pk, actor=rel)
    pick.refresh_from_db()
    push = pick.push
    assert push is not None
    Push.objects.filter(pk=push.pk).update(
        state=PushState.DONE, started_at=STARTED, finished_at=FINISHED
    )
    Pick.objects.filter(pk=pick.pk).update(state=PickState.SHIPPED, shipped_at=SHIPPED)
    TestRun.objects.create(
        push=push,
        pick=pick,
        command="make test",
        state=TestRunState.PASSED,
        started_at=RUN_AT,
        finished_at=RUN_AT + dt.timedelta(seconds=20),
    )
    pick.refresh_from_db()
    return pick


def test_the_push_page_names_the_zone_of_started_and_finished(client, alice, shipped):
    push = page(client, alice, "push", shipped.push_id)
    assert "<dt>Started</dt><dd>Tue 24 Nov 11:00:05 PST</dd>" in push
    assert "<dt>Finished</dt><dd>Tue 24 Nov 11:04:40 PST</dd>" in push


def test_shipped_times_name_the_zone_on_the_pick_and_the_revision(client, alice, shipped):
    assert "<dt>Shipped</dt><dd>Tue 24 Nov 11:04 PST</dd>" in page(
        client, alice, "pick", shipped.pk
    )
    revision = page(client, alice, "revision", shipped.sha)
    assert "<dt>Shipped</dt><dd>Tue 24 Nov 2026 11:04 PST</dd>" in revision
    assert "<td>Tue 24 Nov 11:04 PST</td>" in revision  # the picks table
    story = selectors.revision_status(query=shipped.sha).story
    assert story[-1].endswith(", shipped Tue 24 Nov 11:04 PST.")


def test_test_runs_name_the_zone(client, alice, shipped):
    run = TestRun.objects.get()
    assert "<dt>Started</dt><dd>Tue 24 Nov 11:01:30 PST</dd>" in page(
        client, alice, "test-run", run.pk
    )
    assert "Tue 24 Nov 11:01:30 PST" in page(client, alice, "test-runs")


def test_the_train_pages_name_the_zone(client, alice, branch):
    assert "cut Sun 22 Nov 2026 18:00 PST" in page(client, alice, "branch", branch.pk)
    assert "Sun 22 Nov 2026 18:00 PST" in page(client, alice, "repository", "shop")
    dashboard = page(client, alice, "pushes-dashboard")
    assert "Sun 22 Nov 18:00 PST" in dashboard  # the cut on the train's timeline
    assert "Tue 11:00 PST" in dashboard  # the weekly ship's node


def test_the_karma_history_names_the_zone_of_each_change(client, alice, rel, shipped, settings):
    settings.TIME_ZONE = "Europe/Paris"  # not UTC, so a zone written in by hand would show
    with time_machine.travel(SHIPPED, tick=False):
        karma_unlike(
            user_id=alice.user_id, actor_id=rel.user_id, reason="Broke it", pick_id=shipped.pk
        )
        karma_unlike(user_id=alice.user_id, actor_id=rel.user_id, reason="Missed a push")
    history = page(client, rel, "engineer", "alice").split('class="timeline karma-history"')[1]
    about_the_pick, on_its_own = history.split("</li>")[1], history.split("</li>")[0]
    assert "Tue 24 Nov 2026 11:04 PST" in about_the_pick  # the pick's repository's zone
    assert "Tue 24 Nov 2026 20:04 CET" in on_its_own  # no pick: the site's zone


def test_the_engineer_page_dates_a_pick_by_its_repositorys_day(client, alice, landed, monday):
    monday.move_to(dt.datetime(2026, 11, 24, 6, 0, tzinfo=UTC))  # Monday 22:00 in Los Angeles
    services.pick_request(requestor=alice, revision=landed["fix"], reason="Late fix")
    assert '<td class="nowrap small">23 Nov 2026</td>' in page(client, alice, "engineer", "alice")


def test_the_inbox_shows_a_notice_in_its_repositorys_zone_or_the_sites(
    client, alice, shipped, settings
):
    settings.TIME_ZONE = "Europe/Paris"
    Notification.objects.all().delete()
    for pick in (shipped, None):
        Notification.objects.create(
            engineer=alice,
            kind=NotificationKind.KARMA_SUGGESTION,
            text=f"about {pick}",
            pick=pick,
            created_at=SHIPPED,
        )
    inbox = page(client, alice, "inbox")
    assert inbox.count("Tue 24 Nov 11:04 PST") == 1  # the notice about the pick
    assert inbox.count("Tue 24 Nov 20:04 CET") == 1  # the one about nothing: the site's zone
