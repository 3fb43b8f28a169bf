"""The one way work is queued for a Celery worker: a row of the outbox (`OutboxMessage`),
written in the transaction that asks for the work and handed to the broker once it commits, by
the task's dotted path, so services never import tasks (tasks import services).

A broker that is down when the transaction commits delays the work and never loses it: the
change stands, the row stays unsent, and `outbox_relay` (a task beat runs every few seconds)
hands it over once the broker is back. Work that a person starts and waits for (a push run now)
asks first whether the broker answers (`broker_required`) and is refused with a 503 when not.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import cache
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from common.errors import QueueUnavailable
from common.models import OutboxMessage

log = logging.getLogger(__name__)

# An unsent row this old lost its hand-over after commit (the broker was down, or the process
# died first); younger ones are still the committing process's to send.
RELAY_AFTER = dt.timedelta(seconds=10)
RELAY_BATCH = 500
KEEP_SENT = dt.timedelta(days=7)
# A hand-over tries twice, quickly: a request must not hang on a broker that is down.
QUICK = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


class Queued:
    """An outbox row to hand to the broker once the transaction commits: what `enqueue` gives
    `on_commit`."""

    def __init__(self, message_id: int, task: str, args: tuple[Any, ...], what: str) -> None:
        self.message_id = message_id
        self.task = task
        self.args = args
        self.what = what

    def __call__(self) -> None:
        _send(self.message_id, self.task, list(self.args), self.what)

    def __repr__(self) -> str:
        return f"Queued({self.task}{self.args!r})"


def enqueue(task: str, *args: Any, what: str = "") -> OutboxMessage:
    """Queue `task` (e.g. "pushes.tasks.push_run") with JSON `args`: a row now, in the current
    transaction, handed to the broker once it commits (at once outside a transaction). `what`
    names the work in the log if the broker is down."""
    message = OutboxMessage.objects.create(
        task=task, args=list(args), what=(what or f"{task}{args!r}")[:300]
    )
    transaction.on_commit(Queued(message.pk, task, args, message.what))
    return message


def outbox_relay(*, now: dt.datetime | None = None, limit: int = RELAY_BATCH) -> int:
    """Hand the broker what commits left unsent, oldest first; stop at the first refusal (the
    broker is still down). Returns how many were handed over."""
    now = now or timezone.now()
    sent = 0
    with transaction.atomic():  # rows locked so that two relays never hand one over twice
        pending = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True, created_at__lte=now - RELAY_AFTER)
            .order_by("pk")[:limit]
        )
        for message in pending:
            if not _send(message.pk, message.task, message.args, message.what):
                break
            sent += 1
    OutboxMessage.objects.filter(sent_at__lt=now - KEEP_SENT).delete()
    return sent


def outbox_unsent(*, now: dt.datetime | None = None) -> int:
    """How many rows wait for the broker longer than a commit's own hand-over takes."""
    now = now or timezone.now()
    return OutboxMessage.objects.filter(
        sent_at__isnull=True, created_at__lte=now - RELAY_AFTER
    ).count()


def broker_required(what: str) -> None:
    """Refuse work a person starts now (503, nothing written) when the broker does not answer."""
    try:
        with current_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as error:
        log.warning("the task queue does not answer: %s", error)
        raise QueueUnavailable(
            f"The task queue does not answer, so {what} cannot start now; nothing was changed. "
            "Try again in a minute, or tell the people who run Releasebot."
        ) from None


def _send(message_id: int, task: str, args: list[Any], what: str) -> bool:
    """Hand one row to the broker and mark it sent; False (logged, left unsent) if refused."""
    rows = OutboxMessage.objects.filter(pk=message_id)
    try:
        _task(task).apply_async(args, retry=True, retry_policy=QUICK)
    except Exception as error:  # the broker is down: the change stands, the relay re-drives it
        log.exception("could not queue %s; it is queued again later", what)
        rows.update(attempts=F("attempts") + 1, last_error=str(error)[:500])
        return False
    rows.filter(sent_at__isnull=True).update(sent_at=timezone.now(), attempts=F("attempts") + 1)
    return True


@cache
def _task(path: str) -> Any:
    return import_string(path)
