"""Chat side effects happen once: a notice or a push's summary is claimed before it is sent, so
two runs of its task (the broker's at-least-once delivery, or the outbox handing a row over
again after a crash) post one message.

Each test plays the duplicate the way it happens: the outbox row handed over again, or two
workers on the same notice at the same moment against a Slack that answers slowly."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from common import queue
from common.models import OutboxMessage, SideEffect
from pushes import services
from pushes.choices import NotificationKind
from pushes.models import Notification
from pushes.services import notifications

pytestmark = pytest.mark.django_db(transaction=True)


def posted(stub) -> list[str]:
    return [call.body.get("channel") for call in stub.take() if call.method == "chat.postMessage"]


def hand_over_again(task: str) -> None:
    """The outbox row of `task` handed to the broker again, as after a relay that died before
    it marked the row sent."""
    OutboxMessage.objects.filter(task=task).update(sent_at=None)
    later = timezone.now() + dt.timedelta(seconds=11)
    assert queue.outbox_relay(now=later) >= 1


def test_a_notice_handed_over_twice_is_posted_once(slack, stub, alice):
    notice = services.notify(engineer=alice, kind=NotificationKind.APPROVED, text="Approved")
    assert posted(stub) == ["DALICE"]
    hand_over_again("pushes.tasks.notification_deliver")
    assert posted(stub) == []
    assert SideEffect.objects.get(key=f"notice-{notice.pk}").done_at is not None


def test_two_workers_on_one_notice_at_once_post_it_once(slack, stub, alice, settings):
    settings.RELEASEBOT_NOTIFIERS = []  # written, not yet sent: the two workers send it
    notice = services.notify(engineer=alice, kind=NotificationKind.APPROVED, text="Approved")
    settings.RELEASEBOT_NOTIFIERS = ["chat.notifier.SlackNotifier"]
    answer = stub.answer

    def slow(method: str, body: dict, authorized: bool) -> dict:
        if method == "conversations.open":
            time.sleep(0.3)  # both workers are past their first look before either posts
        return answer(method, body, authorized)

    stub.answer = slow
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            notifications.notifications_deliver(notification_ids=[notice.pk])
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert posted(stub) == ["DALICE"]
    assert Notification.objects.get(pk=notice.pk).delivered_at is not None


def test_a_notice_that_failed_is_not_held_by_its_claim(slack, stub, alice):
    stub.errors["chat.postMessage"] = "ratelimited"
    notice = services.notify(engineer=alice, kind=NotificationKind.APPROVED, text="Approved")
    stub.take()  # Slack refused it
    assert Notification.objects.get(pk=notice.pk).delivered_at is None
    assert not SideEffect.objects.filter(key=f"notice-{notice.pk}").exists()
    del stub.errors["chat.postMessage"]
    notifications.notifications_deliver(notification_ids=[notice.pk])  # the tick's retry
    assert posted(stub) == ["DALICE"]


def test_a_push_summary_handed_over_twice_is_posted_once(slack, stub, branch, repository):
    repository.chat_channel = "CSHOP"
    repository.save()
    push = branch.pushes.order_by("scheduled_at").first()
    services.announce(push=push, text="Push 1 done")
    assert posted(stub) == ["CSHOP"]
    hand_over_again("pushes.tasks.push_announce")
    assert posted(stub) == []
    services.announce(push=push, text="Push 1 done")  # a second summary is a new one
    assert posted(stub) == ["CSHOP"]
