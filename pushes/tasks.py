"""Celery tasks: triggers only. Each re-reads the database and calls one service, so running a
task twice (at-least-once delivery) changes nothing the first run did not."""

from __future__ import annotations

import logging

from celery import shared_task

from pushes import reviews, services
from pushes.models import Repository
from pushes.services import notifications

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def train_tick() -> None:
    """Every minute: cut due branches, open confirmations, remind, rehearse, run due pushes,
    and re-queue chat deliveries that never reached the broker."""
    services.branch_cut_due()
    work = services.train_advance()
    for push_id in work.rehearse:
        push_rehearse.delay(push_id)
    for push_id in work.due:
        push_run.delay(push_id)
    # Lost while the broker was down: queued again, in chunks.
    notifications.notifications_queue(notification_ids=services.notifications_undelivered())


@shared_task(ignore_result=True)
def trunk_sync_all() -> None:
    """Every minute: queue a trunk sync for each active repository."""
    for pk in Repository.objects.filter(is_active=True).values_list("pk", flat=True):
        trunk_sync.delay(pk)


@shared_task(ignore_result=True)
def picks_risk_check() -> None:
    """Every ten minutes: the risk dashboard's kept ranks computed again, and put right."""
    from pushes.services.risk_index import picks_risk_check

    picks_risk_check()


@shared_task(ignore_result=True)
def trunk_sync(repository_id: int) -> None:
    """Fetch one repository's trunk and index its new commits."""
    repository = Repository.objects.filter(pk=repository_id, is_active=True).first()
    if repository is None:
        return
    added = services.trunk_sync(repository=repository)
    if added:
        log.info("indexed %d new trunk commits of %s", added, repository.slug)


@shared_task(ignore_result=True)
def push_run(push_id: int) -> None:
    """Run or resume one push; a push already running elsewhere is left to that run."""
    try:
        services.push_run(push_id=push_id)
    except services.PushBusy as busy:
        log.info("push %s: %s", push_id, busy.message)


@shared_task(ignore_result=True)
def push_rehearse(push_id: int) -> None:
    """Rehearse a push's picks so predicted conflicts reach requestors in time."""
    services.push_rehearse(push_id=push_id)


@shared_task(bind=True, ignore_result=True, max_retries=3)
def pick_review_fetch(self, pick_id: int) -> None:
    """Count a pick's review comments; retry with backoff, then record "unknown"."""
    final = self.request.retries >= self.max_retries
    try:
        reviews.pick_review_fetch(pick_id=pick_id, final_attempt=final)
    except reviews.ReviewUnavailable as error:
        raise self.retry(countdown=10 * 2**self.request.retries, exc=error) from None


@shared_task(ignore_result=True)
def notification_deliver(notification_id: int) -> None:
    """Deliver one notice to chat; the notifier records the delivery, so a rerun skips it."""
    services.notification_deliver(notification_id=notification_id)


@shared_task(ignore_result=True)
def notifications_deliver(notification_ids: list[int]) -> None:
    """Deliver a chunk of notices to chat, each as `notification_deliver` would; a rerun skips
    those delivered, and one that fails is left to the tick."""
    notifications.notifications_deliver(notification_ids=notification_ids)


@shared_task(ignore_result=True)
def push_announce(push_id: int, text: str, key: str = "") -> None:
    """Post a push's summary to its repository's chat channel, once per `key`."""
    services.push_announce(push_id=push_id, text=text, key=key)


@shared_task(ignore_result=True)
def pick_answered(pick_id: int) -> None:
    """A confirmation was answered (web, API, chat or button): update chat messages in place.
    Updating a message to the same answer twice changes nothing."""
    services.pick_answered_tell(pick_id=pick_id)
