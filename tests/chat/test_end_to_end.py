"""The judged path, end to end: a pick asked for in Slack ships, and Slack says so.

Signed requests go through Bolt's Django adapter; the push runs on a real git repository;
every call the stand-in Slack received is checked, in order.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pushes import services
from pushes.choices import PickState, PushState
from pushes.models import Notification, Pick
from tests.chat.slack_stub import Call
from tests.pushes.conftest import LA
from tests.repos import git

pytestmark = pytest.mark.django_db(transaction=True)

BUTTONS = [
    ("I'm here", "pick_confirm", "{pk}", "primary"),
    ("Not this time", "pick_decline", "{pk}", "danger"),
]


def seen(call: Call) -> tuple:
    """What a person would see of a call: where it went and its text."""
    if call.method in ("conversations.open", "users.lookupByEmail"):
        return (call.method, call.body.get("users") or call.body.get("email"))
    if call.method == "response_url":
        return (call.method, call.path, call.body.get("response_type"), call.body["text"])
    return (call.method, call.body.get("channel"), call.body.get("text"))


def test_a_pick_asked_for_in_slack_is_confirmed_by_button_ships_and_status_says_shipped(
    slack, stub, rel, alice, bob, remote, repository, branch, landed, monday
):
    repository.chat_channel = "CSHOP"
    repository.save()
    fix = landed["fix"]
    short = fix[:10]

    # 1. alice asks with /rb pick: acked at once, the git work queued, the answer sent back
    #    through the command's response_url.
    response = slack.command(f"pick {fix[:9]} Checkout crashes on empty carts", user="UALICE")
    assert response.status_code == 200
    assert response.json() == {
        "text": f"Requesting a pick of {fix[:9]}: checking it against the branch…",
        "response_type": "ephemeral",
    }
    pick = Pick.objects.get()
    assert (pick.requestor, pick.state, pick.push.label) == (
        alice,
        PickState.REQUESTED,
        "2026-11-24.1",
    )
    calls = stub.take()
    assert [seen(c) for c in calls] == [
        ("auth.test", None, None),  # Bolt's first request asks who the bot is
        (
            "response_url",
            "/response/cmd",
            "ephemeral",
            f"Pick #{pick.pk} of {short} (Fix module 1) on release/2026-11-22 for push "
            "2026-11-24.1 (Tue 24 Nov 11:00 PST): requested.\n"
            "• Size: +1 −1 in 1 file.\n"
            "• It applies cleanly on the branch now.\n"
            "Release engineering reviews it; I will ask you to confirm before its push.",
        ),
    ]
    assert calls[1].buttons == []

    # 2. rel approves: alice is told in a direct message.
    services.pick_approve(pick_id=pick.pk, actor=rel)
    calls = stub.take()
    assert [seen(c) for c in calls] == [
        ("conversations.open", "UALICE"),
        (
            "chat.postMessage",
            "DALICE",
            f"Pick #{pick.pk} ({short} Fix module 1) was approved for push 2026-11-24.1.",
        ),
    ]

    # 3. Thirty minutes before the push the bot asks her, with the two buttons.
    monday.move_to(dt.datetime(2026, 11, 24, 10, 30, 5, tzinfo=LA))
    services.train_advance()
    calls = stub.take()
    question = (
        f"Are you online to support pick #{pick.pk} ({short} Fix module 1) in push 2026-11-24.1 "
        "of release/2026-11-22 at Tue 24 Nov 11:00 PST? Confirm, or it rolls to the next push."
    )
    # Her direct-message channel is kept from the first message: no conversations.open again.
    assert [seen(c) for c in calls] == [("chat.postMessage", "DALICE", question)]
    asked = calls[0]
    assert asked.buttons == [tuple(s.format(pk=pick.pk) if s else s for s in b) for b in BUTTONS]
    assert asked.body["blocks"][:2] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": f":raising_hand: {question}"}},
        {
            "type": "section",
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": f"*Pick*\n<http://127.0.0.1:8000/picks/{pick.pk}/|#{pick.pk} "
                    f"{short} Fix module 1>",
                },
                {"type": "mrkdwn", "text": "*Push*\n2026-11-24.1 of release/2026-11-22"},
                {"type": "mrkdwn", "text": "*When*\nTue 24 Nov 11:00 PST"},
                {"type": "mrkdwn", "text": "*Size*\n+1 −1 in 1 file"},
            ],
        },
    ]
    ts = asked.answer["ts"]
    notice = Notification.objects.get(pick=pick, kind="confirm")
    assert (notice.chat_channel, notice.chat_ts) == ("DALICE", ts)

    # 4. bob presses "I'm here" on it: refused, to him only; the message stays as it is.
    response = slack.press("pick_confirm", str(pick.pk), user="UBOB", channel="DALICE", ts=ts)
    assert (response.status_code, response.content) == (200, b"")
    calls = stub.take()
    assert [seen(c) for c in calls] == [
        ("response_url", "/response/press", "ephemeral", f"Only alice can confirm pick #{pick.pk}.")
    ]
    assert calls[0].body["replace_original"] is False
    pick.refresh_from_db()
    assert pick.state == PickState.AWAITING_CONFIRMATION

    # 5. alice presses it: confirmed, and the message is updated in place without buttons.
    response = slack.press("pick_confirm", str(pick.pk), user="UALICE", channel="DALICE", ts=ts)
    assert (response.status_code, response.content) == (200, b"")
    calls = stub.take()
    assert [seen(c) for c in calls] == [
        ("chat.update", "DALICE", f"✅ alice is here for pick #{pick.pk}.")
    ]
    assert calls[0].body["ts"] == ts
    assert calls[0].body["blocks"] == [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"✅ alice is here for pick #{pick.pk}."},
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": question}]},
    ]
    assert calls[0].buttons == []
    pick.refresh_from_db()
    assert pick.state == PickState.CONFIRMED

    # 6. The push runs on the real repository: the fix is on the branch and the tag at the
    #    remote; alice hears it shipped, rel gets the summary, the channel too.
    monday.move_to(dt.datetime(2026, 11, 24, 11, 0, 5, tzinfo=LA))
    push = services.push_run(push_id=pick.push_id)
    assert push.state == PushState.DONE
    tag = "push/release/2026-11-22/2026-11-24.1"
    assert remote.read("release/2026-11-22", "src/module1.py") == "VALUE = 100\n"
    assert git(remote.bare, "rev-parse", f"{tag}^{{commit}}").strip() == push.head_sha
    summary = (
        f"Push 2026-11-24.1 of release/2026-11-22: 1 picks shipped in {tag}. Confirmed and "
        "shipped: alice."
    )
    calls = stub.take()
    assert [seen(c) for c in calls] == [
        ("chat.postMessage", "DALICE", f"Pick #{pick.pk} ({short} Fix module 1) shipped in {tag}."),
        ("conversations.open", "UREL"),
        ("chat.postMessage", "DREL", summary),
        ("chat.postMessage", "CSHOP", summary),
    ]
    assert all(c.buttons == [] for c in calls)
    assert calls[3].block_text.splitlines() == [
        f"*:package: Push 2026-11-24.1 of release/2026-11-22*: 1 pick shipped in `{tag}`.",
        "*Shipped* (1)",
        f"• #{pick.pk} `{short}` Fix module 1 · alice · risk low",
        f"<http://127.0.0.1:8000/pushes/{push.pk}/|Open the push> · "
        f"<http://127.0.0.1:8000/api/pushes/{push.pk}/notes/|Markdown>",
    ]

    # 7. /rb status tells the whole story, shipped.
    response = slack.command(f"status {fix[:9]}", user="UBOB", name="status")
    assert (response.status_code, response.content) == (200, b"")
    calls = stub.take()
    assert [seen(c) for c in calls] == [
        (
            "response_url",
            "/response/status",
            "ephemeral",
            f"{short} Fix module 1\n"
            "by Alice Liddell, on main of Shop since Mon 26 Oct 2026 05:33 PDT.\n"
            f"Pick #{pick.pk} to release/2026-11-22 by alice: shipped in push 2026-11-24.1, "
            "shipped Tue 24 Nov 11:00 PST.",
        )
    ]
    assert calls[0].block_text.startswith(f"*`{short}` Fix module 1*\n")
