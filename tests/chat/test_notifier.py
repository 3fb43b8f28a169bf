"""The Slack notifier: notices as direct messages, each push's summary in its channel, and
confirmation messages that change in place once answered anywhere."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
from django.utils import timezone

from chat import notifier
from chat.commands import answer
from chat.notifier import SlackNotifier
from common.models import SideEffect
from pushes import services, tasks
from pushes.choices import NotificationKind, PickState, PushState
from pushes.models import Engineer, Notification
from pushes.services import notifications
from tests.conftest import make_engineer
from tests.pushes.conftest import LA

pytestmark = pytest.mark.django_db(transaction=True)


def seen(call) -> tuple:
    if call.method in ("conversations.open", "users.lookupByEmail"):
        return (call.method, call.body.get("users") or call.body.get("email"))
    return (call.method, call.body.get("channel"), call.body.get("text"))


def _written(settings, people: list) -> list[Notification]:
    """A notice for each of `people`, written with no notifier on: delivered later, by the
    test, as a task would."""
    settings.RELEASEBOT_NOTIFIERS = []
    told = notifications.notify_many(
        notices=[
            Notification(engineer=who, kind=NotificationKind.APPROVED, text=f"For {who}")
            for who in people
        ]
    )
    settings.RELEASEBOT_NOTIFIERS = ["chat.notifier.SlackNotifier"]
    return told


def test_a_notice_finds_the_engineer_by_email_and_keeps_their_slack_id(slack, stub, db):
    dave = make_engineer("dave")
    Engineer.objects.filter(pk=dave.pk).update(chat_id=None)
    dave.refresh_from_db()
    stub.user("U0DAVE", "dave@example.com")
    notice = services.notify(
        engineer=dave, kind=NotificationKind.APPROVED, text="Pick #7 <ok> & go"
    )
    assert [seen(c) for c in stub.take()] == [
        ("users.lookupByEmail", "dave@example.com"),
        ("conversations.open", "U0DAVE"),
        ("chat.postMessage", "D0DAVE", "Pick #7 &lt;ok&gt; &amp; go"),
    ]
    notice.refresh_from_db()
    assert (notice.chat_channel, notice.chat_ts) == ("D0DAVE", "1795000000.000001")
    assert notice.delivered_at is not None
    assert Engineer.objects.get(pk=dave.pk).chat_id == "U0DAVE"
    # At-least-once delivery: the task running again sends nothing twice.
    services.notification_deliver(notification_id=notice.pk)
    assert SlackNotifier().deliver(notice) is False
    assert stub.calls == []


def test_an_engineer_slack_does_not_know_keeps_the_notice_in_the_inbox(slack, stub, db):
    erin = make_engineer("erin")
    Engineer.objects.filter(pk=erin.pk).update(chat_id=None)
    erin.refresh_from_db()
    notice = services.notify(engineer=erin, kind=NotificationKind.APPROVED, text="Approved")
    assert [seen(c) for c in stub.take()] == [("users.lookupByEmail", "erin@example.com")]
    notice.refresh_from_db()
    assert (notice.delivered_at, notice.chat_ts) == (None, "")
    assert Engineer.objects.get(pk=erin.pk).chat_id is None


def test_slack_refusing_a_message_leaves_it_undelivered_without_an_error(slack, stub, alice):
    stub.errors["chat.postMessage"] = "channel_not_found"
    notice = services.notify(engineer=alice, kind=NotificationKind.APPROVED, text="Approved")
    assert stub.methods() == ["conversations.open", "chat.postMessage"]
    notice.refresh_from_db()
    assert notice.delivered_at is None


def test_a_push_s_confirmations_go_out_in_chunks_each_message_once(
    slack, stub, alice, bob, rel, branch, landed, monday, monkeypatch
):
    monkeypatch.setattr(notifications, "DELIVERY_CHUNK", 2)
    chunks = []
    queue = tasks.notifications_deliver.apply_async
    monkeypatch.setattr(
        tasks.notifications_deliver,
        "apply_async",
        lambda args, **options: chunks.append(args[0]) or queue(args, **options),
    )
    for who, name in ((alice, "fix"), (bob, "feature"), (rel, "second")):
        pick = services.pick_request(requestor=who, revision=landed[name], reason="Needed").pick
        services.pick_approve(pick_id=pick.pk, actor=rel)
    monday.move_to(dt.datetime(2026, 11, 24, 10, 30, 5, tzinfo=LA))
    stub.take()
    services.train_advance()
    asks = Notification.objects.filter(kind=NotificationKind.CONFIRM).order_by("pk")
    assert chunks == [list(asks.values_list("pk", flat=True))[:2], [asks.last().pk]]
    calls = stub.take()
    posted = [c for c in calls if c.method == "chat.postMessage"]
    assert sorted(c.body["channel"] for c in posted) == ["DALICE", "DBOB", "DREL"]
    assert all(len(c.buttons) == 2 for c in posted)
    sent = {(c.answer["channel"], c.answer["ts"]) for c in posted}
    assert set(asks.values_list("chat_channel", "chat_ts")) == sent
    assert not asks.filter(delivered_at__isnull=True).exists()
    # At-least-once delivery: the chunks delivered again send nothing.
    for chunk in chunks:
        services.notification_deliver(notification_id=chunk[0])
        notifications.notifications_deliver(notification_ids=chunk)
    assert stub.calls == []


def test_a_notice_failing_in_a_chunk_is_left_to_the_tick_and_the_rest_go_out(
    slack, stub, alice, bob, rel, caplog
):
    answer = stub.answer

    def unreachable_for_bob(method: str, body: dict, authorized: bool) -> dict:
        if method == "conversations.open" and body.get("users") == "UBOB":
            raise ConnectionResetError("the connection drops")  # no answer at all
        return answer(method, body, authorized)

    stub.answer = unreachable_for_bob
    told = notifications.notify_many(
        notices=[
            Notification(engineer=who, kind=NotificationKind.APPROVED, text=f"For {who}")
            for who in (alice, bob, rel)
        ]
    )
    by_name = {str(n.engineer): n.pk for n in told}
    posted = [c.body["channel"] for c in stub.take() if c.method == "chat.postMessage"]
    assert sorted(posted) == ["DALICE", "DREL"]  # sent side by side: in no set order
    undelivered = Notification.objects.filter(delivered_at__isnull=True)
    assert list(undelivered.values_list("pk", flat=True)) == [by_name["bob"]]
    assert f"notice {by_name['bob']} not delivered; the tick will retry" in caplog.text

    # The tick, a minute later, queues bob's notice again; Slack answers this time.
    stub.answer = answer
    later = timezone.now() + dt.timedelta(minutes=2)
    assert services.notifications_undelivered(now=later) == [by_name["bob"]]
    notifications.notifications_queue(notification_ids=[by_name["bob"]])
    assert [seen(c) for c in stub.take()] == [
        ("conversations.open", "UBOB"),
        ("chat.postMessage", "DBOB", "For bob"),
    ]
    assert not undelivered.exists()


def test_a_chunks_messages_are_in_flight_together_and_each_notice_records_its_own_answer(
    slack, stub, settings
):
    people = [make_engineer(f"p{n}") for n in range(notifier.SEND_THREADS + 4)]
    told = _written(settings, people)
    answer = stub.answer
    # Three messages must reach Slack before any is answered: one after another, the first
    # would wait here until the barrier gives up, and Slack would refuse them all.
    together, arrived = threading.Barrier(3, timeout=10), itertools.count()
    answered: dict[str, str] = {}

    def three_at_once(method: str, body: dict, authorized: bool) -> dict:
        if method == "chat.postMessage" and next(arrived) < 3:
            try:
                together.wait()
            except threading.BrokenBarrierError:
                return {"ok": False, "error": "internal_error"}
        reply = answer(method, body, authorized)
        if method == "chat.postMessage":
            answered[reply["channel"]] = reply["ts"]
        return reply

    stub.answer = three_at_once
    notifications.notifications_deliver(notification_ids=[notice.pk for notice in told])

    assert not together.broken
    recorded = Notification.objects.filter(pk__in=[n.pk for n in told]).select_related(
        "engineer__user"
    )
    assert len(answered) == len(told)
    for notice in recorded:
        channel = f"D{notice.engineer.chat_id[1:]}"
        assert (notice.chat_channel, notice.chat_ts) == (channel, answered[channel])
        assert notice.delivered_at is not None
    claims = SideEffect.objects.filter(key__in=[f"notice-{n.pk}" for n in told])
    assert claims.count() == len(told) and not claims.filter(done_at__isnull=True).exists()


def test_a_task_stopped_mid_chunk_records_what_went_out_and_the_next_run_sends_only_the_rest(
    slack, stub, settings, monkeypatch
):
    from celery.exceptions import SoftTimeLimitExceeded

    people = [make_engineer(f"q{n}") for n in range(notifier.SEND_THREADS * 3)]
    told = _written(settings, people)
    chunk = [notice.pk for notice in told]
    real = notifier.as_completed

    def three_then_the_time_limit(futures):
        for n, future in enumerate(real(futures)):
            if n == 3:
                raise SoftTimeLimitExceeded()
            yield future

    monkeypatch.setattr(notifier, "as_completed", three_then_the_time_limit)
    with pytest.raises(SoftTimeLimitExceeded):
        notifications.notifications_deliver(notification_ids=chunk)
    first = {c.body["channel"] for c in stub.take() if c.method == "chat.postMessage"}
    assert 3 <= len(first) < len(told)  # stopped: the messages not started were not sent
    delivered = Notification.objects.filter(pk__in=chunk, delivered_at__isnull=False)
    assert {n.chat_channel for n in delivered} == first  # what went out is recorded

    monkeypatch.setattr(notifier, "as_completed", real)
    notifications.notifications_deliver(notification_ids=chunk)
    second = [c.body["channel"] for c in stub.take() if c.method == "chat.postMessage"]
    assert sorted(second) == sorted({f"D{p.chat_id[1:]}" for p in people} - first)
    assert not Notification.objects.filter(pk__in=chunk, delivered_at__isnull=True).exists()


def test_a_chunk_claims_once_sends_each_notice_once_and_retries_only_the_one_that_failed(
    slack, stub, alice, bob, rel, settings
):
    people = [alice, bob, rel, make_engineer("dave"), make_engineer("erin")]
    told = _written(settings, people)
    chunk = [notice.pk for notice in told]
    answer = stub.answer

    def refuse_rel(method: str, body: dict, authorized: bool) -> dict:
        if method == "chat.postMessage" and body.get("channel") == "DREL":
            return {"ok": False, "error": "internal_error"}
        return answer(method, body, authorized)

    stub.answer = refuse_rel
    notifications.notifications_deliver(notification_ids=chunk)  # rel's, in the middle, fails
    sent = [c.body["channel"] for c in stub.take() if c.method == "chat.postMessage"]
    assert sorted(sent) == ["DALICE", "DBOB", "DDAVE", "DERIN", "DREL"]  # DREL: tried, refused
    claims = SideEffect.objects.filter(key__in=[f"notice-{pk}" for pk in chunk])
    assert sorted(claims.values_list("key", flat=True)) == sorted(
        f"notice-{n.pk}" for n in told if n.engineer != rel
    )
    assert not claims.filter(done_at__isnull=True).exists()  # rel's claim was released

    # The task runs again (at-least-once), and Slack takes rel's message this time: only it goes.
    stub.answer = answer
    notifications.notifications_deliver(notification_ids=chunk)
    assert [c.body["channel"] for c in stub.take() if c.method == "chat.postMessage"] == ["DREL"]
    assert not Notification.objects.filter(pk__in=chunk, delivered_at__isnull=True).exists()
    # And once more: nothing left to send.
    notifications.notifications_deliver(notification_ids=chunk)
    assert stub.calls == []


def test_a_second_message_uses_the_kept_direct_channel_and_a_gone_one_is_opened_again(
    slack, stub, alice
):
    services.notify(engineer=alice, kind=NotificationKind.APPROVED, text="One")
    assert [seen(c)[:2] for c in stub.take()] == [
        ("conversations.open", "UALICE"),
        ("chat.postMessage", "DALICE"),
    ]
    services.notify(engineer=alice, kind=NotificationKind.APPROVED, text="Two")
    assert [seen(c)[:2] for c in stub.take()] == [("chat.postMessage", "DALICE")]
    notifier.direct_channels.keep("UALICE", "DGONE")  # a channel Slack no longer takes
    answer = stub.answer

    def gone(method: str, body: dict, authorized: bool) -> dict:
        if method == "chat.postMessage" and body.get("channel") == "DGONE":
            return {"ok": False, "error": "channel_not_found"}
        return answer(method, body, authorized)

    stub.answer = gone
    notice = services.notify(engineer=alice, kind=NotificationKind.APPROVED, text="Three")
    assert [seen(c)[:2] for c in stub.take()] == [
        ("chat.postMessage", "DGONE"),
        ("conversations.open", "UALICE"),
        ("chat.postMessage", "DALICE"),
    ]
    notice.refresh_from_db()
    assert (notice.chat_channel, notice.delivered_at is not None) == ("DALICE", True)
    assert notifier.direct_channels.get("UALICE") == "DALICE"


def test_without_slack_configured_the_notifier_sends_nothing(settings, slack, stub, alice):
    settings.SLACK_BOT_TOKEN = ""
    notice = services.notify(engineer=alice, kind=NotificationKind.APPROVED, text="Approved")
    assert stub.calls == []
    assert Notification.objects.get(pk=notice.pk).delivered_at is None


def test_a_rejection_says_why(slack, stub, alice, rel, branch, landed):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    services.pick_reject(pick_id=pick.pk, actor=rel, reason="Too risky the week of the sale")
    sent = stub.calls[-1]
    assert sent.body["text"] == (
        f"Pick #{pick.pk} ({pick.short_sha} Fix module 1) was rejected: Too risky the week of "
        "the sale"
    )
    assert sent.block_text.splitlines()[0].startswith(":no_entry: Pick #")


def test_a_reminder_carries_the_buttons_too(slack, stub, alice, rel, branch, landed, monday):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    services.pick_approve(pick_id=pick.pk, actor=rel)
    monday.move_to(dt.datetime(2026, 11, 24, 10, 30, 5, tzinfo=LA))
    services.train_advance()
    monday.move_to(dt.datetime(2026, 11, 24, 10, 50, 5, tzinfo=LA))
    stub.take()
    services.train_advance()
    reminder = stub.take()[-1]
    assert reminder.body["text"].startswith("Reminder: push 2026-11-24.1 goes out at Tue 24 Nov")
    assert reminder.block_text.startswith(":alarm_clock: Reminder:")
    assert reminder.buttons == [
        ("I'm here", "pick_confirm", str(pick.pk), "primary"),
        ("Not this time", "pick_decline", str(pick.pk), "danger"),
    ]


def test_confirming_in_the_console_or_by_command_updates_both_slack_messages(
    slack, stub, alice, rel, branch, landed, monday
):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    services.pick_approve(pick_id=pick.pk, actor=rel)
    monday.move_to(dt.datetime(2026, 11, 24, 10, 30, 5, tzinfo=LA))
    services.train_advance()
    monday.move_to(dt.datetime(2026, 11, 24, 10, 50, 5, tzinfo=LA))
    services.train_advance()  # the reminder: a second message with buttons
    asks = list(Notification.objects.filter(pick=pick, kind__in=["confirm", "reminder"]))
    stub.take()
    assert not answer("confirm", engineer=alice).refused
    calls = stub.take()
    assert [seen(c) for c in calls] == [
        ("chat.update", "DALICE", f"✅ alice is here for pick #{pick.pk}."),
        ("chat.update", "DALICE", f"✅ alice is here for pick #{pick.pk}."),
    ]
    assert [c.body["ts"] for c in calls] == [n.chat_ts for n in asks[::-1]]


def test_a_push_is_told_to_each_requestor_and_summed_up_in_the_channel(
    slack, stub, alice, bob, rel, remote, repository, branch, landed, monday
):
    """Shipped, tests failed, conflict, and not confirmed: each told, and the summary says
    who confirmed, what went out, what did not and why."""
    repository.chat_channel = "CSHOP"
    repository.test_command = "test ! -e src/feature.py"  # the feature breaks the tests
    repository.save()
    dave = make_engineer("dave")
    other = remote.commit({"src/other.py": "OTHER = 1\n"}, "Other fix", author="rel")
    services.trunk_sync(repository=repository)
    asks = [
        (alice, landed["fix"]),
        (bob, landed["feature"]),
        (rel, landed["second"]),
        (dave, other),
    ]
    picks = []
    for who, sha in asks:
        pick = services.pick_request(requestor=who, revision=sha, reason="Needed").pick
        services.pick_approve(pick_id=pick.pk, actor=rel)
        picks.append(pick)
    fix, feature, second, late = picks
    monday.move_to(dt.datetime(2026, 11, 24, 10, 30, 5, tzinfo=LA))
    services.train_advance()
    for who in (alice, bob, rel):
        assert not answer("confirm", engineer=who).refused
    stub.take()

    monday.move_to(dt.datetime(2026, 11, 24, 11, 0, 5, tzinfo=LA))
    push = services.push_run(push_id=fix.push_id)
    assert push.state == PushState.DONE
    states = {p.pk: p.state for p in (fix, feature, second, late) if not p.refresh_from_db()}
    assert states == {
        fix.pk: PickState.SHIPPED,
        feature.pk: PickState.TESTS_FAILED,
        second.pk: PickState.CONFLICT,
        late.pk: PickState.DEFERRED,
    }
    calls = stub.take()
    posted = [c for c in calls if c.method == "chat.postMessage"]
    by_channel = {}
    for call in posted:
        by_channel.setdefault(call.body["channel"], []).append(call)

    # dave did not confirm: told it rolled, and his confirmation message closed in place.
    assert by_channel["DDAVE"][0].body["text"] == (
        f"Pick #{late.pk} ({late.short_sha}) was not confirmed: it rolls to push 2026-11-25.1 at "
        "Wed 25 Nov 11:00 PST."
    )
    update = next(c for c in calls if c.method == "chat.update")
    assert (update.body["channel"], update.body["text"], update.buttons) == (
        "DDAVE",
        f"↪ Pick #{late.pk} rolled to the next push: 2026-11-25.1 at Wed 25 Nov 11:00 PST.",
        [],
    )
    # bob's pick broke the tests: told, with the test console.
    tests_failed = by_channel["DBOB"][0]
    assert tests_failed.body["text"].startswith(
        f"Pick #{feature.pk} ({feature.short_sha} Add feature) broke the tests on "
        "release/2026-11-22 (test run #"
    )
    assert tests_failed.block_text.splitlines()[0].startswith(":x: Pick #")
    assert f"/pushes/{push.pk}/|Test console>" in tests_failed.block_text
    # rel's pick conflicted: the files and the next step.
    conflict = next(
        c for c in by_channel["DREL"] if c.body["text"].startswith(f"Pick #{second.pk} (")
    )
    assert conflict.body["text"] == (
        f"Pick #{second.pk} ({second.short_sha} Turn feature off) did not apply on "
        "release/2026-11-22: conflicts in src/feature.py. The branch is untouched. Next step: "
        "prepare a change for release/2026-11-22 (or pick its prerequisites first) and request "
        "that."
    )
    assert "*Conflicting files*\n• `src/feature.py`" in conflict.block_text
    # alice shipped.
    assert by_channel["DALICE"][0].body["text"] == (
        f"Pick #{fix.pk} ({fix.short_sha} Fix module 1) shipped in "
        "push/release/2026-11-22/2026-11-24.1."
    )
    # The channel: who confirmed, what went out, what did not and why.
    [summary] = by_channel["CSHOP"]
    assert summary.block_text.splitlines() == [
        "*:package: Push 2026-11-24.1 of release/2026-11-22*: 1 pick shipped in "
        "`push/release/2026-11-22/2026-11-24.1`.",
        "*Shipped* (1)",
        f"• #{fix.pk} `{fix.short_sha}` Fix module 1 · alice · risk low",
        "*Conflicts* (1)",
        f"• #{second.pk} `{second.short_sha}` Turn feature off · rel · risk medium (predicted "
        "to conflict): conflicts in src/feature.py",
        "*Tests failed* (1)",
        f"• #{feature.pk} `{feature.short_sha}` Add feature · bob · risk low: Tests failed "
        f"(test run #{feature.test_runs.get().pk}); taken back off.",
        "*Left out / rolled to a later push* (1)",
        f"• #{late.pk} `{late.short_sha}` Other fix · dave · risk low: Not confirmed before the "
        "push; now in push 2026-11-25.1",
        f"<http://127.0.0.1:8000/pushes/{push.pk}/|Open the push> · "
        f"<http://127.0.0.1:8000/api/pushes/{push.pk}/notes/|Markdown>",
    ]
    assert remote.read("release/2026-11-22", "src/module1.py") == "VALUE = 100\n"
