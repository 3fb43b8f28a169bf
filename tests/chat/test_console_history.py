"""The web console keeps each person's conversation, shows it rendered as Slack shows it, and
shows it to nobody else."""

from __future__ import annotations

import re

from django.test import Client

from chat import selectors, services
from chat.models import ConsoleMessage
from chat.mrkdwn import mrkdwn_to_html


def exchanges(page: str) -> list[str]:
    """What the person said, exchange by exchange, in the order the page shows them."""
    return re.findall(
        r'<div class="said"><span class="who">you</span> <span class="text">([^<]*)<', page
    )


def console(client: Client) -> str:
    return client.get("/chat/").content.decode()


# --- kept per person ----------------------------------------------------------------------------


def test_a_conversation_is_still_there_after_a_reload_and_only_for_its_person(
    client, alice, bob, branch, landed
):
    client.force_login(alice.user)
    client.post("/chat/", {"text": f"where is my revision {landed['fix'][:8]}?"})
    client.post("/chat/", {"text": "mine"})
    page = console(client)
    assert exchanges(page) == [f"where is my revision {landed['fix'][:8]}?", "mine"]
    assert f"<strong><code>{landed['fix'][:10]}</code> Fix module 1</strong>" in page
    assert "You have no open picks." in page

    other = Client()
    other.force_login(bob.user)
    theirs = console(other)
    assert exchanges(theirs) == []
    assert "Fix module 1" not in theirs and "Nothing said yet." in theirs


def test_it_shows_the_last_50_oldest_first_and_keeps_the_last_200(client, alice):
    for n in range(services.KEPT + 5):
        services.console_exchange_record(
            user_id=alice.user_id, said=f"line {n}", answer=f"answer {n}", refused=False
        )
    assert ConsoleMessage.objects.filter(user=alice.user).count() == services.KEPT
    assert not ConsoleMessage.objects.filter(said__in=["line 0", "line 4"]).exists()
    client.force_login(alice.user)
    shown = exchanges(console(client))
    assert shown == [f"line {n}" for n in range(services.KEPT + 5 - selectors.SHOWN, 205)]


def test_with_htmx_the_new_exchange_is_kept_as_well(client, alice):
    client.force_login(alice.user)
    body = client.post("/chat/", {"text": "help"}, headers={"HX-Request": "true"}).content
    assert b'<div class="text mrkdwn"><p>I answer these:</p><ul><li>' in body
    assert [m.said for m in ConsoleMessage.objects.filter(user=alice.user)] == ["help"]


def test_clear_history_forgets_mine_and_not_anyone_elses(client, alice, bob):
    client.force_login(alice.user)
    client.post("/chat/", {"text": "help"})
    services.console_exchange_record(user_id=bob.user_id, said="mine", answer="x", refused=False)
    assert "Clear history" in console(client)
    assert client.post("/chat/", {"clear": "1"})["Location"] == "/chat/"
    page = console(client)
    assert exchanges(page) == [] and "Clear history" not in page
    assert list(ConsoleMessage.objects.values_list("said", flat=True)) == ["mine"]


def test_clear_history_needs_the_csrf_token(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice.user)
    services.console_exchange_record(user_id=alice.user_id, said="help", answer="x", refused=False)
    assert browser.post("/chat/", {"clear": "1"}).status_code == 403
    assert ConsoleMessage.objects.filter(user=alice.user).count() == 1


def test_a_secret_said_in_the_console_is_never_kept_or_shown(client, alice, settings):
    settings.SLACK_BOT_TOKEN = "xoxb-1234-very-secret-token"
    client.force_login(alice.user)
    client.post("/chat/", {"text": "status xoxb-1234-very-secret-token"})
    kept = ConsoleMessage.objects.get(user=alice.user)
    assert "very-secret" not in kept.said + kept.answer
    assert kept.said == "status ***"
    assert "very-secret" not in console(client)


# --- rendered as Slack shows it --------------------------------------------------------------


def test_a_reason_with_script_and_backticks_is_shown_as_text_with_its_code(client, rel, alice):
    reason = "<script>alert(1)</script> broke `cart.total()` & *search*"
    client.force_login(rel.user)
    client.post("/chat/", {"text": f"unlike @alice because {reason}"})
    client.post("/chat/", {"text": "karma @alice"})
    page = console(client)
    assert "<script>alert(1)" not in page
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt; broke <code>cart.total()</code> &amp; "
        "<strong>search</strong>"
    ) in page
    answers = re.findall(r'<div class="text mrkdwn">(.*?)</div>', page, re.DOTALL)
    assert len(answers) == 2 and not any("`" in a or "*" in a for a in answers)


def test_a_refusal_echoing_markup_renders_it_as_text(client, alice):
    client.force_login(alice.user)
    client.post("/chat/", {"text": "withdraw <img src=x onerror=alert(1)>"})
    page = console(client)
    assert "<img src=x" not in page
    assert '<div class="reply refused">' in page
    assert "<code>&lt;img</code> is neither a pick (#12) nor a revision" in page


def test_mrkdwn_becomes_safe_html():
    assert mrkdwn_to_html("*`3f2a9c1` Fix* by _alice_ ~old~") == (
        "<p><strong><code>3f2a9c1</code> Fix</strong> by <em>alice</em> <del>old</del></p>"
    )
    assert mrkdwn_to_html("Picks:\n• one\n• `two`\nDone.") == (
        "<p>Picks:</p><ul><li>one</li><li><code>two</code></li></ul><p>Done.</p>"
    )
    assert mrkdwn_to_html("&gt; quoted &amp; kept") == "<blockquote>quoted &amp; kept</blockquote>"
    assert mrkdwn_to_html("<https://example.com/a?b=1&amp;c=2|the &lt;page&gt;>") == (
        '<p><a href="https://example.com/a?b=1&amp;c=2">the &lt;page&gt;</a></p>'
    )
    assert (
        mrkdwn_to_html("<http://127.0.0.1:8000/r/abc/|Open>") == '<p><a href="/r/abc/">Open</a></p>'
    )
    assert mrkdwn_to_html("<@U123|alice> and <!here>") == (
        '<p><span class="mention">@alice</span> and <span class="mention">@here</span></p>'
    )
    assert mrkdwn_to_html(":no_entry_sign: snake_case_name 2*3*4") == (
        "<p>🚫 snake_case_name 2*3*4</p>"
    )
    assert mrkdwn_to_html("```\n<b>as written</b> *not bold*\n```") == (
        "<pre><code>&lt;b&gt;as written&lt;/b&gt; *not bold*</code></pre>"
    )


def test_mrkdwn_makes_no_link_but_http_and_mailto_and_no_tag_from_text():
    for text in (
        "<javascript:alert(1)|click>",
        "<data:text/html,<script>|x>",
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "`</code><script>`",
    ):
        html = mrkdwn_to_html(text)
        assert "<script" not in html and "<img" not in html and "href" not in html, html
    assert mrkdwn_to_html("<mailto:rel@example.com|mail rel>") == (
        '<p><a href="mailto:rel@example.com">mail rel</a></p>'
    )
