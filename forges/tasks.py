"""Celery tasks of the forges: triggers only, each safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from forges import services

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def pick_ask_handle(ask_id: int) -> None:
    """Ask for the picks of a merged pull request's ask (the forge is asked first)."""
    outcome = services.pick_ask_handle(ask_id=ask_id)
    log.info("pick ask %s: %s", ask_id, outcome)


@shared_task(ignore_result=True)
def pull_request_writeback(pull_request_id: int) -> None:
    """Write a pull request's picks back to it: comment, labels, conflict hand-overs."""
    outcome = services.pull_request_writeback(pull_request_id=pull_request_id)
    log.info("write-back to pull request %s: %s", pull_request_id, outcome)


@shared_task(ignore_result=True)
def forge_sweep() -> None:
    """Every minute: queue the asks and write-backs that are due again."""
    asks, pull_requests = services.forge_work_due()
    for ask_id in asks:
        pick_ask_handle.delay(ask_id)
    for pull_request_id in pull_requests:
        pull_request_writeback.delay(pull_request_id)
