"""One moment reads the same on every channel: the repository's zone, with its abbreviation.

The issue: a confirmation at "13:50" on the risk dashboard was "05:50" on the push page (one in
settings.TIME_ZONE, the other in the repository's zone, neither saying which), karma history
was in UTC and started, finished and shipped times carried no zone. Shop is in Los Angeles;
settings.TIME_ZONE is UTC.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from chat import blocks
from chat.commands import answer
from karma.services import karma_unlike
from pushes import services
from pushes.choices import NotificationKind, PickState
from pushes.models import Notification, Pick

# Monday 13:50 in Los Angeles is 21:50 UTC: the old risk dashboard said 21:50.
CONFIRMED_AT = dt.datetime(2026, 11, 23, 21, 50, tzinfo=dt.UTC)
CONFIRMED = "Mon 23 Nov 13:50 PST"
PUSH_AT = "Tue 24 Nov 11:00 PST"  # push 2026-11-24.1, the one Alice's pick rides


@pytest.fixture
def awaiting(alice, rel, branch, landed) -> Pick:
    """Alice's pick, approved and asked to confirm for Tuesday's push."""
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    push = services.pick_approve(pick_id=pick.pk, actor=rel).push
    assert push is not None
    services.push_confirmations_open(push_id=push.pk)
    pick.refresh_from_db()
    assert pick.state == PickState.AWAITING_CONFIRMATION
    return pick


@pytest.fixture
def confirmed(awaiting, alice) -> Pick:
    with time_machine.travel(CONFIRMED_AT, tick=False):
        services.pick_confirm(pick_id=awaiting.pk, actor=alice)
    awaiting.refresh_from_db()
    assert awaiting.confirmed_at == CONFIRMED_AT
    return awaiting


def page(client: Client, engineer, name: str, *args) -> str:
    client.force_login(engineer.user)
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


def risk_row(client: Client, rel, pick: Pick) -> str:
    found = re.search(
        rf'<tr id="pick-{pick.pk}".*?</tr>', page(client, rel, "risk-dashboard"), re.S
    )
    assert found, "the pick is on the risk dashboard"
    return found.group(0)


def test_a_confirmation_reads_the_same_on_the_risk_dashboard_the_push_and_the_pick(
    client, rel, alice, confirmed
):
    row = risk_row(client, rel, confirmed)
    push = page(client, alice, "push", confirmed.push_id)
    pick = page(client, alice, "pick", confirmed.pk)

    assert CONFIRMED in row
    assert CONFIRMED in re.search(r'<table class="push-picks">.*?</table>', push, re.S).group(0)
    assert f"<dt>Confirmed</dt><dd>{CONFIRMED}</dd>" in pick
    history = re.search(r'<ul class="timeline">.*?</ul>', pick, re.S).group(0)
    assert re.search(rf"<strong>Confirmed</strong> <span[^>]*>{CONFIRMED} by", history)
    for shown in (row, push, pick):
        assert "21:50" not in shown  # settings.TIME_ZONE, nowhere


def test_a_push_time_reads_the_same_in_chat_slack_the_inbox_and_the_pages(
    client, rel, alice, awaiting
):
    mine = answer("mine", engineer=alice).text
    pushes = answer("push", engineer=alice).text
    notice = Notification.objects.get(pick=awaiting, kind=NotificationKind.CONFIRM)
    slack = blocks.confirmation(notice)

    assert f"push 2026-11-24.1 at {PUSH_AT}" in mine
    assert f"push 2026-11-24.1 of {awaiting.branch.name} at {PUSH_AT}" in pushes
    assert {"type": "mrkdwn", "text": f"*When*\n{PUSH_AT}"} in slack[1]["fields"]
    assert f"at {PUSH_AT}?" in notice.text
    assert f"at {PUSH_AT}?" in page(client, alice, "inbox")
    assert f"goes out {PUSH_AT}." in page(client, alice, "pick", awaiting.pk)
    assert PUSH_AT in page(client, rel, "risk-dashboard")
    assert PUSH_AT in page(client, alice, "branch", awaiting.branch_id)
    # The push's own page names the year, as it did: the same time, the same zone.
    assert "scheduled Tue 24 Nov 2026 11:00 PST" in page(client, alice, "push", awaiting.push_id)


def test_the_bots_karma_history_names_the_zone_of_each_change(alice, rel, confirmed, settings):
    settings.TIME_ZONE = "Europe/Paris"  # whatever the site's zone is, it is named
    with time_machine.travel(CONFIRMED_AT, tick=False):
        karma_unlike(
            user_id=alice.user_id, actor_id=rel.user_id, reason="Late", pick_id=confirmed.pk
        )
        karma_unlike(user_id=alice.user_id, actor_id=rel.user_id, reason="Talked about it")
    text = answer("karma", engineer=alice).text
    assert "-1 on Mon 23 Nov 2026 22:50 CET by rel: Talked about it" in text
    assert "-1 on Mon 23 Nov 2026 13:50 PST by rel: Late" in text
