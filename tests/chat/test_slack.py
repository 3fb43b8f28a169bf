"""Slack through Bolt's Django adapter: signed requests in, what reached the stand-in out."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from chat import commands
from chat.commands import NOT_LINKED
from pushes import services
from pushes.choices import PickState
from pushes.models import Engineer, Notification, Pick
from tests.chat.conftest import SECRET, Slack
from tests.chat.slack_stub import TOKEN
from tests.conftest import make_engineer
from tests.workers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def seen(call) -> tuple:
    if call.method in ("conversations.open", "users.info", "users.lookupByEmail"):
        return (call.method, call.body.get("users") or call.body.get("user") or call.body["email"])
    if call.method == "response_url":
        return (call.method, call.body.get("response_type"), call.body["text"])
    thread = call.body.get("thread_ts")
    return (call.method, call.body.get("channel"), call.body.get("text"), thread)


@pytest.fixture
def awaiting(alice, rel, branch, landed):
    """Alice's approved pick of the fix, asked for confirmation in Slack for Tuesday's push."""
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash fix").pick
    services.pick_approve(pick_id=pick.pk, actor=rel)
    services.push_confirmations_open(push_id=pick.push_id)
    return Notification.objects.get(pick=pick, kind="confirm")


# --- the endpoint and its checks ---------------------------------------------------------


@pytest.fixture
def real_handler(settings, stub, client):
    """Slack configured, and the view's own Bolt app (not the test's tracked one)."""
    settings.SLACK_BOT_TOKEN, settings.SLACK_SIGNING_SECRET = TOKEN, SECRET
    settings.SLACK_APP_TOKEN = ""
    settings.SLACK_API_URL = stub.api_url
    return Slack(client, stub, executor=_NoThreads(), errors=[])


class _NoThreads:
    def drain(self) -> None:
        pass


def test_a_forged_signature_is_refused_before_any_listener(real_handler, stub, alice):
    response = real_handler.command("help", secret="not-the-signing-secret")
    assert response.status_code == 401
    time.sleep(0.2)
    assert stub.calls == []


def test_a_replayed_timestamp_is_refused(real_handler, stub, alice):
    six_minutes_ago = int(time.time()) - 6 * 60
    response = real_handler.command("help", timestamp=six_minutes_ago)
    assert response.status_code == 401
    time.sleep(0.2)
    assert stub.calls == []


def test_a_signed_request_is_answered_by_the_views_own_app(real_handler, stub, alice):
    response = real_handler.command("help")
    assert (response.status_code, response.content) == (200, b"")
    wait_for(lambda: "response_url" in stub.methods(), what="the answer to /rb help")
    assert stub.methods() == ["auth.test", "response_url"]
    assert stub.calls[1].body["text"].startswith("I answer these:\n• status REV: ")


def test_slacks_url_check_is_answered_with_its_challenge(real_handler, stub):
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1a", "type": "url_verification"})
    response = real_handler.post(body, "application/json")
    assert (response.status_code, response.json()) == (200, {"challenge": "3eZbrw1a"})


def test_the_endpoint_says_when_slack_is_not_configured_here(settings, client):
    settings.SLACK_BOT_TOKEN = settings.SLACK_SIGNING_SECRET = settings.SLACK_APP_TOKEN = ""
    response = client.post("/slack/events", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"] == "not-configured"
    assert response.json()["message"].startswith("Slack is not configured on this Releasebot")
    settings.SLACK_BOT_TOKEN, settings.SLACK_SIGNING_SECRET = TOKEN, SECRET
    settings.SLACK_APP_TOKEN = "xapp-1-test"
    response = client.post("/slack/events", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert "Socket Mode" in response.json()["message"]


# --- the slash command --------------------------------------------------------------------


def test_rb_is_acked_before_the_answer_is_worked_out(slack, stub, alice, monkeypatch):
    release = threading.Event()
    real = commands.answer

    def slow(text, *, engineer):
        release.wait(10)
        return real(text, engineer=engineer)

    monkeypatch.setattr(commands, "answer", slow)
    body = urlencode(
        {"command": "/rb", "text": "help", "user_id": "UALICE", "team_id": "T0TEST",
         "response_url": stub.response_url()}
    )  # fmt: skip
    started = time.monotonic()
    response = slack.client.post(
        "/slack/events",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=_signature(body),
    )
    assert (response.status_code, response.content) == (200, b"")
    assert time.monotonic() - started < 3  # Slack's deadline
    assert "response_url" not in stub.methods()  # still thinking
    release.set()
    slack.executor.drain()
    assert stub.methods() == ["auth.test", "response_url"]


def _signature(body: str) -> dict:
    ts = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def test_a_slack_user_is_found_by_email_once_and_remembered(slack, stub, branch):
    dave = make_engineer("dave")
    Engineer.objects.filter(pk=dave.pk).update(chat_id=None)
    stub.user("U0DAVE", "dave@example.com")
    slack.command("mine", user="U0DAVE")
    slack.command("mine", user="U0DAVE")
    assert [seen(c) for c in stub.take()] == [
        ("auth.test", None, None, None),
        ("users.info", "U0DAVE"),
        ("response_url", "ephemeral", commands.answer("mine", engineer=dave).text),
        ("response_url", "ephemeral", "You have no open picks.\nAsk for one with `pick REV "
         "REASON`, or see `help`."),
    ]  # fmt: skip
    assert Engineer.objects.get(pk=dave.pk).chat_id == "U0DAVE"


def test_someone_slack_knows_but_releasebot_does_not_is_told_how_to_get_linked(
    slack, stub, branch, remote
):
    slack.command("mine", user="U0STRANGER")
    slack.command(f"status {remote.trunk[0][:8]}", user="U0STRANGER")
    calls = stub.take()
    assert [c.method for c in calls] == [
        "auth.test", "users.info", "response_url", "users.info", "response_url",
    ]  # fmt: skip
    assert calls[2].body["text"] == NOT_LINKED.replace("&", "&amp;")
    assert calls[4].body["text"].startswith(f"{remote.trunk[0][:10]} Add module 1\n")


def test_a_review_link_the_way_slack_sends_it_is_understood(slack, stub, alice, branch, remote):
    slack.command("status <https://github.com/acme/app/pull/101|acme/app#101>")
    assert stub.calls[-1].body["text"].startswith(f"{remote.trunk[0][:10]} Add module 1\n")


def test_a_refusal_is_answered_with_the_usage_never_a_traceback(slack, stub, alice):
    slack.command("stauts 3f2a9c1")
    answer = stub.calls[-1]
    assert answer.body["text"] == (
        "I don't know `stauts`. Did you mean `status`? For example: `status 3f2a9c1`.\n"
        "Usage: status REV"
    )
    assert answer.block_text == (
        ":no_entry_sign: I don't know `stauts`. Did you mean `status`? For example: "
        "`status 3f2a9c1`.\nUsage: `status REV`"
    )


# --- mentions and direct messages ---------------------------------------------------------


def test_a_mention_is_answered_in_a_thread_under_it(slack, stub, alice, branch, remote):
    slack.event(
        {
            "type": "app_mention",
            "user": "UALICE",
            "text": f"<@UBOT> status {remote.trunk[0][:8]}",
            "ts": "1795000100.000100",
            "channel": "CRELEASE",
            "event_ts": "1795000100.000100",
        }
    )
    calls = stub.take()
    assert [c.method for c in calls] == ["auth.test", "chat.postMessage"]
    assert seen(calls[1])[1:] == (
        "CRELEASE",
        commands.answer(f"status {remote.trunk[0][:8]}", engineer=None).text,
        "1795000100.000100",
    )


def test_a_direct_message_is_answered_in_the_conversation(slack, stub, alice):
    slack.event(_dm("help"))
    calls = stub.take()
    assert [seen(c)[:2] for c in calls] == [("auth.test", None), ("chat.postMessage", "DALICE")]
    assert calls[1].body["text"].startswith("I answer these:")
    assert "thread_ts" not in calls[1].body


def test_a_question_put_as_people_ask_it_is_understood_in_slack(slack, stub, alice, branch, landed):
    sha = landed["fix"][:8]
    story = commands.answer(f"status {sha}", engineer=None)
    slack.event(
        {
            "type": "app_mention",
            "user": "UALICE",
            "text": f"<@UBOT> hey, where is my revision `{sha}`? thanks",
            "ts": "1795000100.000200",
            "channel": "CRELEASE",
            "event_ts": "1795000100.000200",
        }
    )
    slack.command(f"please cherry-pick `{sha}` because checkout crashes on empty carts")
    calls = stub.take()
    assert story.text.startswith(f"{landed['fix'][:10]} Fix module 1\n")
    assert seen(calls[1])[1:] == ("CRELEASE", story.text, "1795000100.000200")
    assert calls[1].body["blocks"] == story.blocks
    pick = Pick.objects.get()
    assert (pick.requestor, pick.reason) == (alice, "checkout crashes on empty carts")
    assert seen(calls[-1]) == ("response_url", "ephemeral", _requested_text(pick))


def _dm(text: str, **extra) -> dict:
    return {
        "type": "message",
        "channel_type": "im",
        "channel": "DALICE",
        "user": "UALICE",
        "text": text,
        "ts": "1795000200.000100",
        "event_ts": "1795000200.000100",
        **extra,
    }


def test_channel_messages_edits_and_the_bots_own_are_ignored(slack, stub, alice):
    slack.event(_dm("help", channel_type="channel", channel="CRELEASE"))
    slack.event(_dm("help", subtype="message_changed"))
    slack.event(_dm("help", user="UBOT", bot_id="BBOT"))
    assert "chat.postMessage" not in stub.methods()


def test_a_pick_by_direct_message_says_it_is_on_it_then_answers(slack, stub, alice, branch, landed):
    slack.event(_dm(f"pick {landed['fix'][:8]} Crash on checkout"))
    pick = Pick.objects.get()
    calls = stub.take()
    assert [seen(c)[:3] for c in calls] == [
        ("auth.test", None, None),
        (
            "chat.postMessage",
            "DALICE",
            f"Requesting a pick of {landed['fix'][:8]}: checking it against the branch…",
        ),
        ("chat.postMessage", "DALICE", _requested_text(pick)),
    ]


def _requested_text(pick: Pick) -> str:
    return (
        f"Pick #{pick.pk} of {pick.short_sha} (Fix module 1) on release/2026-11-22 for push "
        "2026-11-24.1 (Tue 24 Nov 11:00 PST): requested.\n• Size: +1 −1 in 1 file.\n• It applies "
        "cleanly on the branch now.\nRelease engineering reviews it; I will ask you to confirm "
        "before its push."
    )


# --- the buttons --------------------------------------------------------------------------


def test_not_this_time_rolls_the_pick_and_updates_the_message_in_place(slack, stub, awaiting):
    stub.take()
    pick = awaiting.pick
    slack.press("pick_decline", str(pick.pk), user="UALICE", channel="DALICE", ts=awaiting.chat_ts)
    rolled = "2026-11-25.1 at Wed 25 Nov 11:00 PST"
    calls = stub.take()
    assert [seen(c) for c in calls] == [
        ("auth.test", None, None, None),
        (  # to the channel kept from the question: no conversations.open
            "chat.postMessage",
            "DALICE",
            f"Pick #{pick.pk} ({pick.short_sha}) was not confirmed: it rolls to push {rolled}.",
            None,
        ),
        ("chat.update", "DALICE", f"↪ Pick #{pick.pk} rolled to the next push: {rolled}.", None),
    ]
    assert calls[2].body["ts"] == awaiting.chat_ts
    assert calls[2].buttons == []
    pick.refresh_from_db()
    assert (pick.state, pick.push.label) == (PickState.DEFERRED, "2026-11-25.1")


def test_a_press_on_a_request_no_longer_open_is_answered_and_the_message_closed(
    slack, stub, awaiting, alice
):
    pick = awaiting.pick
    services.pick_withdraw(pick_id=pick.pk, actor=alice, reason="Fixed by config")
    stub.take()
    slack.press("pick_confirm", str(pick.pk), user="UALICE", channel="DALICE", ts=awaiting.chat_ts)
    assert [seen(c) for c in stub.take()] == [
        ("auth.test", None, None, None),
        ("response_url", "ephemeral", f"Pick #{pick.pk} is withdrawn: it cannot be confirmed now."),
        ("chat.update", "DALICE", f"Pick #{pick.pk} was withdrawn.", None),
    ]


def test_a_press_from_someone_not_linked_changes_nothing(slack, stub, awaiting):
    stub.take()
    pick = awaiting.pick
    slack.press("pick_confirm", str(pick.pk), user="U0STRANGER", channel="DALICE", ts="1.2")
    assert [seen(c)[:2] for c in stub.take()] == [
        ("auth.test", None),
        ("users.info", "U0STRANGER"),
        ("response_url", "ephemeral"),
    ]
    pick.refresh_from_db()
    assert pick.state == PickState.AWAITING_CONFIRMATION


def test_the_backup_may_press_im_here(slack, stub, alice, bob, rel, branch, landed):
    pick = services.pick_request(
        requestor=alice, revision=landed["fix"], reason="Crash", backup=bob
    ).pick
    services.pick_approve(pick_id=pick.pk, actor=rel)
    services.push_confirmations_open(push_id=pick.push_id)
    notice = Notification.objects.get(pick=pick, kind="confirm")
    stub.take()
    slack.press("pick_confirm", str(pick.pk), user="UBOB", channel="DALICE", ts=notice.chat_ts)
    calls = stub.take()
    assert seen(calls[-1]) == (
        "chat.update",
        "DALICE",
        f"✅ bob (backup for alice) is here for pick #{pick.pk}.",
        None,
    )
