"""Telling people: every notice is a row (the web inbox) written with the change it announces;
chat delivery, when configured, runs after the commit."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from pushes.models import Engineer, Notification, Pick, Push


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

        notification_deliver.delay_on_commit(notification.pk)
    return notification


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

        push_announce.delay_on_commit(push.pk, text)


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

        pick_answered.delay_on_commit(pick.pk)


def pick_answered_tell(*, pick_id: int) -> None:
    """Hand an answered pick to every notifier that shows confirmation requests."""
    pick = Pick.objects.filter(pk=pick_id).first()
    if pick is None:
        return
    for path in settings.RELEASEBOT_NOTIFIERS:
        notifier = import_string(path)()
        if hasattr(notifier, "answered"):
            notifier.answered(pick)
