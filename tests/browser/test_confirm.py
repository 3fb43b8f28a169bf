"""A move not lightly taken back asks first, in a dialog with the registry's words: Cancel
changes nothing, the move's own button makes it, the keyboard alone does both, and without
script the form posts as it always did. In a real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from pushes import moves, services
from pushes.choices import PickState
from pushes.models import Pick

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUESTION, MEANING = moves.WITHDRAW.confirm.split("? ", 1)


@pytest.fixture
def pick(alice, branch, landed):
    return services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick


def state(pick) -> str:
    return Pick.objects.get(pk=pick.pk).state


def test_withdraw_asks_first_cancel_changes_nothing_and_confirm_withdraws(
    page_as, live_server, pick
):
    page = page_as("alice")
    page.goto(f"{live_server.url}{pick.get_absolute_url()}")
    withdraw = page.locator(".action-bar").get_by_role("button", name="Withdraw")
    withdraw.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text(f"{QUESTION}?")
    expect(dialog).to_contain_text(MEANING)
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()

    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.wait_for_timeout(500)  # time enough for a post that should not happen
    assert page.url == f"{live_server.url}{pick.get_absolute_url()}"
    assert state(pick) == PickState.REQUESTED

    withdraw.click()
    with page.expect_navigation():
        dialog.get_by_role("button", name="Withdraw").click()
    assert state(pick) == PickState.WITHDRAWN
    assert "withdrawn" in page.inner_text(".messages")


def test_the_keyboard_alone_cancels_with_escape_and_confirms_with_enter(page_as, live_server, pick):
    page = page_as("alice")
    page.goto(f"{live_server.url}{pick.get_absolute_url()}")
    withdraw = page.locator(".action-bar").get_by_role("button", name="Withdraw")
    for _ in range(60):  # Tab through the page to the button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Withdraw":
            break
    expect(withdraw).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(withdraw).to_be_focused()  # back where the person was
    page.wait_for_timeout(500)
    assert state(pick) == PickState.REQUESTED

    page.keyboard.press("Enter")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Enter")  # Cancel, the default
    expect(dialog).to_be_hidden()
    page.wait_for_timeout(500)
    assert state(pick) == PickState.REQUESTED

    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Withdraw")).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert state(pick) == PickState.WITHDRAWN


def test_a_risk_dashboard_reject_asks_before_its_request(page_as, live_server, rel, pick):
    page = page_as("rel")
    page.goto(f"{live_server.url}/dashboard/risk/")
    row = page.locator(f"#pick-{pick.pk}")
    row.locator("input[name=reason]").fill("Not for a stabilising branch")
    row.get_by_role("button", name="Reject").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(moves.REJECT.confirm.split("? ", 1)[1])
    dialog.get_by_role("button", name="Cancel").click()
    page.wait_for_timeout(500)
    assert state(pick) == PickState.REQUESTED
    expect(row.locator("input[name=reason]")).to_have_value("Not for a stabilising branch")

    row.get_by_role("button", name="Reject").click()
    dialog.get_by_role("button", name="Reject").click()
    expect(page.locator(f"#pick-{pick.pk}")).to_contain_text("Rejected")
    assert state(pick) == PickState.REJECTED


def test_without_script_withdraw_posts_at_once(browser, live_server, pick):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}{pick.get_absolute_url()}")
    page.locator(".action-bar").get_by_role("button", name="Withdraw").click()
    page.wait_for_load_state()
    assert state(pick) == PickState.WITHDRAWN
    context.close()
