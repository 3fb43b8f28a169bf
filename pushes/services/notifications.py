"""Telling people: every notice is a row (the web inbox) written with the change it announces;
chat delivery, when configured, runs after the commit.

The change is committed before its chat delivery is queued, so a broker that is down then must
not turn a done change into an error: the failure is logged, and the train's tick queues the
delivery again (`notifications_undelivered`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from pushes.models import Engineer, Notification, Pick, Push

log = logging.getLogger(__name__)

# A notice still undelivered this long after it was written lost its delivery task (the broker
# was down); one older than REDELIVER_WITHIN is stale, and a notifier that declines to deliver
# (an engineer with no chat account) is not asked again after that.
REDELIVER_AFTER = dt.timedelta(minutes=1)
REDELIVER_WITHIN = dt.timedelta(minutes=15)
REDELIVER_SCAN = 20_000  # newest notices looked at, by primary key: a bounded, indexed scan


def _queue_after_commit(queue: Callable[[], object], what: str) -> None:
    def run() -> None:
        try:
            queue()
        except Exception:  # the broker is down: the change stands, the tick re-drives it
            log.exception("could not queue %s; the tick will retry", what)

    transaction.on_commit(run)


def notify(
    *,
    engineer: Engineer,
    kind: str,
    text: str,
    pick: Pick | None = None,
    push: Push | None = None,
) -> Notification:
    """Record a notice for one engineer and, after commit, hand it to the chat notifiers."""
    notification = Notification.objects.create(
        engineer=engineer, kind=kind, text=text, pick=pick, push=push, created_at=timezone.now()
    )
    if settings.RELEASEBOT_NOTIFIERS:
        from pushes.tasks import notification_deliver

        pk = notification.pk
        _queue_after_commit(lambda: notification_deliver.delay(pk), f"delivery of notice {pk}")
    return notification


def notifications_undelivered(*, now: dt.datetime | None = None) -> list[int]:
    """Recent notices chat never got, oldest first: written while the broker was down, their
    delivery task was never queued (or was lost with the broker's memory)."""
    if not settings.RELEASEBOT_NOTIFIERS:
        return []
    now = now or timezone.now()
    newest = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return list(
        Notification.objects.filter(
            pk__gt=newest - REDELIVER_SCAN,
            delivered_at__isnull=True,
            created_at__lte=now - REDELIVER_AFTER,
            created_at__gt=now - REDELIVER_WITHIN,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def notification_deliver(*, notification_id: int) -> None:
    """Send one notice through every configured notifier; each records that it delivered."""
    notification = (
        Notification.objects.select_related("engineer__user", "pick__branch", "push__branch")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or notification.delivered_at:
        return  # gone, or delivered by an earlier run of this task
    for path in settings.RELEASEBOT_NOTIFIERS:
        import_string(path)().deliver(notification)


def announce(*, push: Push, text: str) -> None:
    """After commit, post a push's summary to its repository's chat channel, if it has one."""
    if settings.RELEASEBOT_NOTIFIERS and push.branch.repository.chat_channel:
        from pushes.tasks import push_announce

        pk = push.pk
        _queue_after_commit(lambda: push_announce.delay(pk, text), f"summary of push {pk}")


def push_announce(*, push_id: int, text: str) -> None:
    push = Push.objects.select_related("branch__repository").filter(pk=push_id).first()
    if push is None:
        return
    for path in settings.RELEASEBOT_NOTIFIERS:
        notifier = import_string(path)()
        if hasattr(notifier, "announce"):
            notifier.announce(push, text)


def notification_mark_read(*, engineer: Engineer) -> int:
    return Notification.objects.filter(engineer=engineer, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def notifications_answer(*, pick: Pick) -> None:
    """Mark a pick's open confirmation requests answered, whichever channel answered them;
    after commit, chat notifiers update their confirmation messages in place."""
    Notification.objects.filter(
        pick=pick, kind__in=["confirm", "reminder"], answered_at__isnull=True
    ).update(answered_at=timezone.now())
    if settings.RELEASEBOT_NOTIFIERS:
        from pushes.tasks import pick_answered

        pk = pick.pk
        _queue_after_commit(lambda: pick_answered.delay(pk), f"answer to pick {pk}")


def pick_answered_tell(*, pick_id: int) -> None:
    """Hand an answered pick to every notifier that shows confirmation requests."""
    pick = Pick.objects.filter(pk=pick_id).first()
    if pick is None:
        return
    for path in settings.RELEASEBOT_NOTIFIERS:
        notifier = import_string(path)()
        if hasattr(notifier, "answered"):
            notifier.answered(pick)
