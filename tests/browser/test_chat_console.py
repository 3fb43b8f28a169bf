"""The chat console in a real browser: asked as a person asks, answered as Slack shows it, and
still there after a reload, for that person only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chat import services
from chat.models import ConsoleMessage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("CHAT_SHOTS", "/tmp/helper-chat-shots"))


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def last_visible(page) -> bool:
    """Whether the newest exchange is in view inside the conversation's scrolling box."""
    return page.evaluate(
        """() => {
          const box = document.querySelector('.chat-scroll').getBoundingClientRect();
          const items = document.querySelectorAll('#conversation .exchange');
          const last = items[items.length - 1].getBoundingClientRect();
          return last.bottom <= box.bottom + 1 && last.top >= box.top - 1;
        }"""
    )


def test_a_question_is_answered_rendered_and_kept_for_its_person_only(
    page_as, live_server, alice, bob, landed
):
    sha = landed["fix"]
    page = page_as("alice")
    page.goto(f"{live_server.url}/chat/")
    page.fill("input[name=text]", f"where is my revision {sha[:8]}?")
    page.press("input[name=text]", "Enter")
    answer = page.locator("#conversation .exchange .reply .mrkdwn").last
    answer.locator("code").first.wait_for()
    assert answer.locator("strong code").inner_text() == sha[:10]
    assert "Fix module 1" in answer.inner_text()
    assert "`" not in answer.inner_text() and "*" not in answer.inner_text()
    assert answer.locator("a", has_text="Open the revision's page").get_attribute("href") == (
        f"/r/{sha}/"
    )
    assert page.input_value("input[name=text]") == ""  # ready for the next question
    assert page.locator("#chat-empty").count() == 0
    shot(page, "console-answered")

    page.reload()
    said = page.locator("#conversation .said .text")
    assert said.all_inner_texts() == [f"where is my revision {sha[:8]}?"]
    assert page.locator("#conversation .reply strong code").inner_text() == sha[:10]
    shot(page, "console-after-reload")

    other = page_as("bob")
    other.goto(f"{live_server.url}/chat/")
    assert other.locator("#conversation .exchange").count() == 0
    assert "Fix module 1" not in other.inner_text("main")
    assert "Nothing said yet" in other.inner_text("main")
    shot(other, "console-another-person")


def test_a_long_conversation_opens_at_its_end_and_can_be_cleared(page_as, live_server, alice):
    for n in range(40):
        services.console_exchange_record(
            user_id=alice.user_id,
            said=f"question {n}",
            answer=f"Answer {n}: `#{n}` is *fine*\n• a line\n• another",
            refused=n % 7 == 0,
        )
    page = page_as("alice")
    page.goto(f"{live_server.url}/chat/")
    assert page.locator("#conversation .exchange").count() == 40
    assert last_visible(page)
    page.fill("input[name=text]", "what can you do?")
    page.click("button:has-text('Send')")
    page.locator("#conversation .exchange").nth(40).wait_for()
    assert "I answer these:" in page.locator("#conversation .reply").last.inner_text()
    assert last_visible(page)
    shot(page, "console-long")

    page.click("button:has-text('Clear history')")
    page.click("dialog.confirm [value=confirm]")
    page.wait_for_selector("#chat-empty")
    assert page.locator("#conversation .exchange").count() == 0
    assert not ConsoleMessage.objects.filter(user=alice.user).exists()
