"""How an engineer hears from the bot: quiet hours hold direct messages until they end (never
a confirmation request), a copy in the repository's channel, direct messages off; set on the
engineer's own page and in the API, and refused whole when wrong."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine

from pushes import services, tasks
from pushes.choices import NotificationKind
from pushes.models import Engineer, Notification
from pushes.services.preferences import notification_hold_until
from tests.api import assert_error, client_for
from tests.chat.conftest import eager_celery, slack, stub  # noqa: F401

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
LATE = dt.datetime(2026, 11, 23, 23, 30, tzinfo=BERLIN)  # a Monday night in Berlin


def set_prefs(engineer: Engineer, **fields) -> Engineer:
    Engineer.objects.filter(pk=engineer.pk).update(**fields)
    engineer.refresh_from_db()
    return engineer


def night_owl(engineer: Engineer) -> Engineer:
    """Quiet from 22:00 until 07:00, Berlin time."""
    return set_prefs(
        engineer, quiet_from=dt.time(22), quiet_until=dt.time(7), time_zone="Europe/Berlin"
    )


def posts(slack_api) -> list[tuple[str, str]]:
    return [
        (call.body["channel"], call.body["text"])
        for call in slack_api.take()
        if call.method == "chat.postMessage"
    ]


# --- the rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock", "held_until"),
    [
        (dt.time(21, 59), None),
        (dt.time(22, 0), dt.datetime(2026, 11, 24, 7, 0, tzinfo=BERLIN)),
        (dt.time(3, 0), dt.datetime(2026, 11, 23, 7, 0, tzinfo=BERLIN)),
        (dt.time(7, 0), None),
    ],
)
def test_quiet_hours_past_midnight_end_the_next_morning(alice, clock, held_until):
    night_owl(alice)
    notice = Notification(engineer=alice, kind=NotificationKind.APPROVED, text="Approved")
    now = dt.datetime.combine(dt.date(2026, 11, 23), clock, tzinfo=BERLIN)
    assert notification_hold_until(engineer=alice, notification=notice, now=now) == held_until


def test_without_a_zone_quiet_hours_are_in_the_notice_s_repository_s_zone(
    alice, rel, branch, landed
):
    set_prefs(alice, quiet_from=dt.time(9), quiet_until=dt.time(12))
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    notice = Notification(engineer=alice, kind=NotificationKind.APPROVED, text="x", pick=pick)
    ten_in_la = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.UTC)  # 10:00 in Los Angeles
    held = notification_hold_until(engineer=alice, notification=notice, now=ten_in_la)
    assert held == dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC)  # noon in Los Angeles


# --- delivery ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_quiet_hours_hold_a_direct_message_and_the_tick_sends_it_when_they_end(
    slack,  # noqa: F811
    stub,  # noqa: F811
    alice,
):
    night_owl(alice)
    with time_machine.travel(LATE, tick=True) as clock:
        notice = services.notify(engineer=alice, kind=NotificationKind.APPROVED, text="Approved")
        assert posts(stub) == []
        clock.move_to(LATE + dt.timedelta(minutes=20))
        tasks.train_tick()  # still quiet: not even queued
        assert posts(stub) == []
        notice.refresh_from_db()
        assert notice.delivered_at is None
        clock.move_to(dt.datetime(2026, 11, 24, 7, 0, 30, tzinfo=BERLIN))
        tasks.train_tick()
        assert posts(stub) == [("DALICE", "Approved")]
        notice.refresh_from_db()
        assert notice.delivered_at is not None
        tasks.train_tick()
        assert posts(stub) == []


@pytest.mark.django_db(transaction=True)
def test_a_confirmation_request_goes_out_at_once_in_quiet_hours(
    slack,  # noqa: F811
    stub,  # noqa: F811
    alice,
    rel,
    branch,
    landed,
):
    # Monday 10:00 in Los Angeles, inside alice's quiet hours (her zone: the repository's).
    set_prefs(alice, quiet_from=dt.time(8), quiet_until=dt.time(18))
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    services.pick_approve(pick_id=pick.pk, actor=rel)
    assert posts(stub) == []  # "approved" waits for the evening
    services.push_confirmations_open(push_id=pick.push_id)
    [(channel, text)] = posts(stub)
    assert channel == "DALICE" and text.startswith(f"Are you online to support pick #{pick.pk}")
    ask = Notification.objects.get(pick=pick, kind=NotificationKind.CONFIRM)
    approved = Notification.objects.get(pick=pick, kind=NotificationKind.APPROVED)
    assert ask.delivered_at is not None and approved.delivered_at is None


@pytest.mark.django_db(transaction=True)
def test_a_copy_goes_to_the_repository_s_channel_and_direct_off_sends_no_message(
    slack,  # noqa: F811
    stub,  # noqa: F811
    alice,
    bob,
    repository,
    branch,
    landed,
):
    repository.chat_channel = "CSHOP"
    repository.save()
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    stub.take()
    set_prefs(alice, notify_channel=True)  # and direct messages, as by default
    services.notify(engineer=alice, kind=NotificationKind.APPROVED, text="Both", pick=pick)
    calls = stub.take()
    assert sorted(c.body["channel"] for c in calls if c.method == "chat.postMessage") == [
        "CSHOP",
        "DALICE",
    ]
    copy = next(c for c in calls if c.body.get("channel") == "CSHOP")
    assert copy.block_text.splitlines()[0] == "For <@UALICE>:"
    assert copy.buttons == []

    set_prefs(alice, notify_direct=False)
    only = services.notify(engineer=alice, kind=NotificationKind.APPROVED, text="Copy", pick=pick)
    calls = stub.take()
    assert [c.method for c in calls] == ["chat.postMessage"]  # no conversations.open: no DM
    assert calls[0].body["channel"] == "CSHOP"
    only.refresh_from_db()
    assert (only.chat_channel, only.delivered_at is not None) == ("CSHOP", True)

    set_prefs(bob, notify_direct=False)  # and no copy: chat hears nothing, the inbox has it
    quiet = services.notify(engineer=bob, kind=NotificationKind.APPROVED, text="Inbox", pick=pick)
    assert stub.take() == []
    assert Notification.objects.get(pk=quiet.pk).delivered_at is None
    assert quiet.pk not in services.notifications_undelivered(
        now=quiet.created_at + dt.timedelta(minutes=2)
    )


# --- the API ---------------------------------------------------------------------------------


def test_the_api_reads_and_changes_your_own_preferences(alice, bob):
    client = client_for(alice)
    assert client.get("/api/me/preferences/").json() == {
        "notify_direct": True,
        "notify_channel": False,
        "quiet_hours": None,
        "time_zone": "",
        "never_held": (
            "Confirmation requests and their reminders are never held: a push's deadline does "
            "not wait for quiet hours, so they go out at once."
        ),
    }
    changed = client.patch(
        "/api/me/preferences/",
        {"notify_channel": True, "quiet_hours": {"from": "22:00", "until": "07:00"}},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["quiet_hours"] == {"from": "22:00", "until": "07:00"}
    alice.refresh_from_db()
    assert (alice.notify_channel, alice.quiet_from, alice.quiet_until) == (
        True,
        dt.time(22),
        dt.time(7),
    )
    assert Engineer.objects.get(pk=bob.pk).quiet_from is None  # only yours
    cleared = client.patch(
        "/api/me/preferences/", {"quiet_hours": None, "time_zone": "Asia/Tokyo"}, format="json"
    )
    assert (cleared.json()["quiet_hours"], cleared.json()["time_zone"]) == (None, "Asia/Tokyo")


@pytest.mark.parametrize(
    "body",
    [
        {"time_zone": "Mars/Olympus_Mons", "notify_channel": True},
        {"quiet_hours": {"from": "22:00"}, "notify_channel": True},
        {"quiet_hours": {"from": "25:00", "until": "07:00"}},
        {"notify_direct": "yes"},
        {"mute": True},
    ],
)
def test_a_bad_preference_is_refused_with_400_and_nothing_changes(alice, body):
    response = client_for(alice).patch("/api/me/preferences/", body, format="json")
    assert_error(response, 400, "invalid")
    fresh = Engineer.objects.get(pk=alice.pk)
    assert (fresh.notify_channel, fresh.quiet_from, fresh.time_zone) == (False, None, "")


def test_a_bad_time_zone_is_named_in_the_refusal(alice):
    response = client_for(alice).patch(
        "/api/me/preferences/", {"time_zone": "Mars/Olympus_Mons"}, format="json"
    )
    body = assert_error(response, 400, "invalid")
    assert (
        body["message"]
        == 'time_zone: "Mars/Olympus_Mons" is not a known time zone (e.g. Europe/Berlin).'
    )


def test_quiet_hours_that_start_when_they_end_are_none(alice):
    response = client_for(alice).patch(
        "/api/me/preferences/", {"quiet_hours": {"from": "09:00", "until": "09:00"}}, format="json"
    )
    assert response.json()["quiet_hours"] is None


# --- the page -------------------------------------------------------------------------------


def test_your_own_page_has_the_form_and_saves_it(client, alice, bob):
    client.force_login(alice.user)
    page = client.get("/engineers/alice/").content.decode()
    assert "How you hear from the bot" in page
    assert "Confirmation requests and their reminders never wait" in page
    assert "How you hear from the bot" not in client.get("/engineers/bob/").content.decode()
    form = {
        "notify_direct": "on",
        "notify_channel": "on",
        "quiet_from": "22:00",
        "quiet_until": "07:00",
        "time_zone": "Europe/Berlin",
    }
    saved = client.post("/engineers/alice/", form, follow=True)
    assert "Saved: this is how the bot reaches you from now on." in saved.content.decode()
    alice.refresh_from_db()
    assert (alice.notify_direct, alice.notify_channel, alice.time_zone) == (
        True,
        True,
        "Europe/Berlin",
    )
    assert (alice.quiet_from, alice.quiet_until) == (dt.time(22), dt.time(7))
    page = client.get("/engineers/alice/").content.decode()
    assert 'value="22:00"' in page and '<option value="Europe/Berlin" selected>' in page


def test_someone_else_s_preferences_are_refused_and_a_half_quiet_hour_changes_nothing(
    client, alice, bob
):
    client.force_login(bob.user)
    refused = client.post("/engineers/alice/", {"quiet_from": "22:00", "quiet_until": "07:00"})
    assert refused.status_code == 403
    assert Engineer.objects.get(pk=alice.pk).quiet_from is None
    client.force_login(alice.user)
    half = client.post(
        "/engineers/alice/", {"notify_direct": "on", "quiet_from": "22:00"}, follow=True
    )
    assert "Quiet hours need both a start and an end (or neither)." in half.content.decode()
    assert Engineer.objects.get(pk=alice.pk).quiet_from is None
