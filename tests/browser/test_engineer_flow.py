"""An engineer requests a pick and confirms it, in a real browser."""

from __future__ import annotations

import re

import pytest

from pushes import services
from pushes.choices import PickState
from pushes.models import Pick

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_engineer_requests_a_pick_and_confirms_it(page_as, live_server, rel, alice, landed):
    page = page_as("alice")
    page.click("text=Request a pick")
    page.fill("#id_revision", landed["fix"][:8])
    page.fill("#id_reason", "Checkout crashes for 2% of users")
    page.click("button:has-text('Request the pick')")
    page.wait_for_url(re.compile(r"/picks/\d+/$"))
    assert "applies cleanly" in page.inner_text(".messages")
    pick = Pick.objects.get(sha=landed["fix"])
    assert pick.state == PickState.REQUESTED

    # Release engineering approves; the push's confirmation window opens.
    services.pick_approve(pick_id=pick.pk, actor=rel)
    services.push_confirmations_open(push_id=pick.push_id)

    page.goto(f"{live_server.url}/inbox/")
    assert "Are you online to support pick" in page.inner_text("main")
    page.click('button:has-text("I\'m here")')
    page.wait_for_load_state()
    assert Pick.objects.get(pk=pick.pk).state == PickState.CONFIRMED
    page.goto(f"{live_server.url}{pick.get_absolute_url()}")
    assert "Confirmed" in page.inner_text("main")
