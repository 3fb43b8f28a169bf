"""The outbox: work asked for in a transaction is a row of it, so a broker that is down delays
the work and never loses it, and work a person starts now is refused (503) rather than left
to start some time later without their knowing.

The broker here is "down" the way Redis is when its server is gone: the app's broker URL points
at a port nobody listens on. Nothing about Celery or the broker is faked.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import transaction
from django.utils import timezone

from common import queue
from common.models import OutboxMessage
from pushes import services
from pushes.choices import PushState, ReviewStatus
from pushes.models import Pick, Push
from releasebot.celery import app
from tests.api import assert_error, client_for
from tests.workers import _reset_pools

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit runs, as in production


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free once the probe is closed: nobody listens there


@contextmanager
def broker_down() -> Iterator[None]:
    saved = app.conf.broker_url, app.conf.broker_transport
    app.conf.broker_url = f"redis://127.0.0.1:{closed_port()}/0"
    app.conf.broker_transport = None  # the embedded broker's class would override the URL
    _reset_pools()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.broker_transport = saved
        _reset_pools()


@contextmanager
def worker_in_process() -> Iterator[None]:
    """Tasks the broker is handed run at once, here: the worker's side, for the relay."""
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = saved


def later(seconds: float = 11) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


def test_work_asked_in_a_transaction_that_rolls_back_is_never_queued(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue.enqueue("pushes.tasks.train_tick", what="a tick")
        raise RuntimeError("the change fails")
    assert not OutboxMessage.objects.exists()


def test_a_pick_asked_for_with_the_broker_down_is_stored_and_its_review_fetched_later(
    alice, remote, repository, branch, caplog
):
    # A review on a host nobody answers at: the fetch ends at once, whatever it concludes.
    link = f"http://127.0.0.1:{closed_port()}/acme/app/pull/43"
    sha = remote.commit({"src/a.py": "A = 1\n"}, "Fix checkout", body=f"Review: {link}")
    services.trunk_sync(repository=repository)
    with broker_down():
        response = client_for(alice).post(
            "/api/picks/", {"revision": sha, "reason": "Fixes checkout"}, format="json"
        )
    assert response.status_code == 201, response.content
    pick = Pick.objects.get(pk=response.json()["id"])
    assert pick.review_status == ReviewStatus.PENDING
    message = OutboxMessage.objects.get(task="pushes.tasks.pick_review_fetch")
    assert (message.args, message.sent_at, message.attempts) == ([pick.pk], None, 1)
    assert "Connection refused" in message.last_error
    assert f"could not queue {message.what}; it is queued again later" in caplog.text
    # The relay waits a few seconds for the committing process's own hand-over, then sends.
    assert queue.outbox_unsent() == 0 and queue.outbox_relay() == 0
    assert queue.outbox_unsent(now=later()) == 1

    with broker_down():  # still down: the relay tries, keeps the row and says so
        assert queue.outbox_relay(now=later()) == 0
    assert OutboxMessage.objects.get(pk=message.pk).attempts == 2

    with worker_in_process():  # the broker is back
        assert queue.outbox_relay(now=later()) == 1
        assert queue.outbox_relay(now=later()) == 0  # handed over once
    message.refresh_from_db()
    assert message.sent_at is not None and message.attempts == 3
    pick.refresh_from_db()
    assert pick.review_status != ReviewStatus.PENDING  # the fetch ran, once the broker was back


def test_runs_asked_for_with_the_broker_down_are_refused_and_change_nothing(rel, branch, client):
    push = branch.pushes.order_by("scheduled_at").first()
    before = list(Push.objects.order_by("pk").values_list("pk", "state"))
    with broker_down():
        api = client_for(rel)
        run = api.post(f"/api/pushes/{push.pk}/run/", {"early": True}, format="json")
        now = api.post(f"/api/branches/{branch.pk}/push-now/", {"early": True}, format="json")
        client.force_login(rel.user)
        page = client.post(f"/pushes/{push.pk}/run/", {"early": "1"}, follow=True)
    for response in (run, now):
        body = assert_error(response, 503, "queue-unavailable")
        assert body["message"] == (
            f"The task queue does not answer, so push {push.label} cannot start now; nothing "
            "was changed. Try again in a minute, or tell the people who run Releasebot."
        )
    assert body["message"] in page.content.decode()
    assert list(Push.objects.order_by("pk").values_list("pk", "state")) == before
    assert not OutboxMessage.objects.exists()


def test_a_retry_asked_for_with_the_broker_down_keeps_the_push_failed(rel, branch):
    push = branch.pushes.order_by("scheduled_at").first()
    Push.objects.filter(pk=push.pk).update(state=PushState.FAILED, error="tests failed")
    with broker_down():
        response = client_for(rel).post(f"/api/pushes/{push.pk}/retry/")
    assert_error(response, 503, "queue-unavailable")
    push.refresh_from_db()
    assert (push.state, push.error) == (PushState.FAILED, "tests failed")
    assert not push.events.filter(reason__icontains="retry").exists()
    assert not OutboxMessage.objects.exists()


def test_the_relay_hands_over_the_oldest_first_and_stops_while_the_broker_is_down(db):
    for n in range(3):
        queue.enqueue("pushes.tasks.train_tick", what=f"tick {n}")
    OutboxMessage.objects.update(sent_at=None)  # as if every commit's hand-over had failed
    with broker_down():
        assert queue.outbox_relay(now=later()) == 0
    # One try, then it stops: the rows behind the first are not hammered against a dead broker.
    assert list(OutboxMessage.objects.values_list("attempts", flat=True)) == [2, 1, 1]
    with worker_in_process():
        assert queue.outbox_relay(now=later(), limit=2) == 2
        assert queue.outbox_relay(now=later()) == 1
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
