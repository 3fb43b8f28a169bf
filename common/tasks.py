"""The outbox's relay: work whose hand-over to the broker failed at commit goes now."""

from __future__ import annotations

import logging

from celery import shared_task

from common import queue

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def outbox_relay() -> None:
    """Every few seconds: queue what commits could not (the broker was down). Safe to run
    twice: rows are locked while handed over, and each is marked once sent."""
    sent = queue.outbox_relay()
    if sent:
        log.info("queued %d task(s) that waited in the outbox", sent)
