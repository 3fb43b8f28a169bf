"""The grammar's other doors: the web chat console and `manage.py bot`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from chat.commands import NOT_LINKED
from pushes.models import Pick
from tests.chat.slack_stub import SlackStub

# --- /chat/ -------------------------------------------------------------------------------


def test_the_console_needs_a_login(client, db):
    response = client.get("/chat/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_line_said_in_the_console_is_answered_as_the_signed_in_engineer(
    client, alice, branch, landed
):
    client.force_login(alice.user)
    response = client.post("/chat/", {"text": f"pick {landed['fix'][:8]} Crash on checkout"})
    assert (response.status_code, response["Location"]) == (302, "/chat/")
    client.post("/chat/", {"text": "mine"})
    page = client.get("/chat/").content.decode()
    pick = Pick.objects.get(sha=landed["fix"])  # ids are not reset between tests on PostgreSQL
    assert f'<span class="text">pick {landed["fix"][:8]} Crash on checkout</span>' in page
    assert f"Pick #{pick.pk} of " in page and "requested." in page
    assert (
        f"<li>#{pick.pk} {landed['fix'][:10]} Fix module 1: requested, waiting for release" in page
    )
    assert 'hx-post="/chat/"' in page and "csrfmiddlewaretoken" in page


def test_with_htmx_only_the_new_exchange_comes_back(client, alice):
    client.force_login(alice.user)
    response = client.post("/chat/", {"text": "help"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<li class="exchange">')
    assert "<html" not in body and "I answer these:" in body
    assert 'id="chat-empty" hx-swap-oob="delete"' in body  # the first: the placeholder goes
    second = client.post("/chat/", {"text": "karma"}, headers={"HX-Request": "true"})
    assert "chat-empty" not in second.content.decode()


def test_the_console_refuses_a_post_without_its_csrf_token(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice.user)
    assert browser.post("/chat/", {"text": "mine"}).status_code == 403


def test_someone_without_an_engineer_record_is_told_and_can_still_ask_status(client, db):
    user = get_user_model().objects.create_user("visitor", password="visitor")
    client.force_login(user)
    client.post("/chat/", {"text": "mine"})
    page = client.get("/chat/").content.decode()
    assert 'class="reply refused"' in page
    assert "I don&#x27;t know who you are in Releasebot yet" in page
    assert NOT_LINKED.startswith("I don't know who you are in Releasebot yet")


def test_the_conversation_can_be_cleared(client, alice):
    client.force_login(alice.user)
    client.post("/chat/", {"text": "help"})
    assert "I answer these:" in client.get("/chat/").content.decode()
    client.post("/chat/", {"clear": "1"})
    assert "Nothing said yet." in client.get("/chat/").content.decode()


# --- manage.py bot ------------------------------------------------------------------------


def bot(*args: str) -> str:
    out = StringIO()
    call_command("bot", *args, stdout=out)
    return out.getvalue()


def test_bot_prints_the_reply_as_the_engineer(alice, branch, landed):
    assert bot("--as", "alice", "mine") == (
        "You have no open picks.\nAsk for one with `pick REV REASON`, or see `help`.\n"
    )
    reply = bot("--as", "alice", "pick", landed["fix"][:8], "Crash", "on", "checkout")
    assert reply.startswith(f"Pick #{Pick.objects.get(sha=landed['fix']).pk} of ")
    assert bot("status", landed["fix"][:8]).splitlines()[0] == f"{landed['fix'][:10]} Fix module 1"


def test_bot_exits_1_with_the_message_when_refused(alice, db):
    with pytest.raises(CommandError) as refused:
        bot("--as", "alice", "stauts", "3f2a9c1")
    assert refused.value.returncode == 1
    assert str(refused.value) == (
        "I don't know `stauts`. Did you mean `status`? For example: `status 3f2a9c1`.\n"
        "Usage: status REV"
    )
    with pytest.raises(CommandError, match="No engineer is called 'zed'."):
        bot("--as", "zed", "mine")
    with pytest.raises(CommandError, match="I don't know who you are"):
        bot("mine")


# --- manage.py bot_slack ------------------------------------------------------------------


def test_bot_slack_says_which_tokens_are_missing(settings, db):
    settings.SLACK_BOT_TOKEN = settings.SLACK_APP_TOKEN = ""
    with pytest.raises(CommandError) as missing:
        call_command("bot_slack")
    assert str(missing.value).startswith("Socket Mode needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN")


def test_bot_slack_fails_fast_on_a_token_slack_refuses(settings, db):
    with SlackStub() as stub:
        settings.SLACK_BOT_TOKEN, settings.SLACK_APP_TOKEN = "xoxb-revoked", "xapp-1-test"
        settings.SLACK_API_URL = stub.api_url
        with pytest.raises(CommandError, match="Slack refused SLACK_BOT_TOKEN: .*not_authed"):
            call_command("bot_slack")
        assert stub.methods() == ["auth.test"]


def test_bot_slack_connects_in_socket_mode_with_the_app_token(settings, db, monkeypatch):
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    started = []
    monkeypatch.setattr(SocketModeHandler, "start", lambda self: started.append(self))
    with SlackStub() as stub:
        settings.SLACK_BOT_TOKEN, settings.SLACK_APP_TOKEN = "xoxb-test", "xapp-1-test"
        settings.SLACK_API_URL = stub.api_url
        out = StringIO()
        call_command("bot_slack", stdout=out)
    [handler] = started
    assert handler.app_token == "xapp-1-test"
    assert handler.app.client.token == "xoxb-test"
    assert stub.methods() == ["auth.test"]
    assert out.getvalue() == "Connecting to Slack in Socket Mode…\n"
