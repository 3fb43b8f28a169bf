"""Telling people: every notice is a row (the web inbox) written with the change it announces;
chat delivery, when configured, runs after the commit.

Delivery is queued through the outbox, in the transaction that writes the notice, so a broker
that is down delays it and never loses it; a broker that loses what it held (Redis restarted
empty) is covered by the train's tick, which queues undelivered notices again
(`notifications_undelivered`). Each notice and each summary is claimed before it is sent
(`common.effects`), so a task that runs twice posts nothing twice.

Each engineer chooses how notices reach them (`pushes.services.preferences`): delivery asks
`notification_routing` first. A direct message held for quiet hours stays undelivered, and the
tick queues it again once they end, as it queues a lost one.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from common.effects import (
    side_effect_claim,
    side_effect_done,
    side_effect_release,
    side_effects_claim,
    side_effects_finish,
)
from common.queue import enqueue
from common.redact import redact, redact_all
from karma.selectors import karma_stars
from pushes.choices import NotificationKind, Role
from pushes.models import Engineer, Notification, Pick, Push
from pushes.services.preferences import notification_hold_until, notification_routing

log = logging.getLogger(__name__)

# A notice still undelivered this long after it was written lost its delivery task (the broker
# was down); one older than REDELIVER_WITHIN is stale, and a notifier that declines to deliver
# (an engineer with no chat account) is not asked again after that.
REDELIVER_AFTER = dt.timedelta(minutes=1)
REDELIVER_WITHIN = dt.timedelta(minutes=15)
REDELIVER_SCAN = 20_000  # newest notices looked at, by primary key: a bounded, indexed scan
# Quiet hours last less than a day: a direct message held longer ago than this is not looked for.
HELD_AT_MOST = dt.timedelta(days=1)
# Notices per delivery task when many are written at once (a push's confirmations): few enough
# that every worker process gets a share and the first ones leave at once, many enough that a
# task's start (a database connection, a Slack client) is paid once for the chunk.
DELIVERY_CHUNK = 100


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
        engineer=engineer,
        kind=kind,
        text=redact(text),
        pick=pick,
        push=push,
        created_at=timezone.now(),
    )
    if settings.RELEASEBOT_NOTIFIERS:
        pk = notification.pk
        enqueue("pushes.tasks.notification_deliver", pk, what=f"delivery of notice {pk}")
    return notification


def notify_many(*, notices: list[Notification]) -> list[Notification]:
    """Record many notices (unsaved rows) in one insert and, after commit, hand them to the
    chat notifiers in chunks: the same rows and deliveries as `notify` on each in turn."""
    now = timezone.now()
    for notice, text in zip(notices, redact_all([n.text for n in notices]), strict=True):
        notice.created_at = now
        notice.text = text
    created = Notification.objects.bulk_create(notices)
    if settings.RELEASEBOT_NOTIFIERS and created:
        notifications_queue(notification_ids=[notice.pk for notice in created])
    return created


def notifications_queue(*, notification_ids: list[int]) -> None:
    """Queue chat delivery of these notices after commit, a task per chunk. A broker that is
    down is logged: the change stands, and the tick queues them again."""
    for start in range(0, len(notification_ids), DELIVERY_CHUNK):
        chunk = notification_ids[start : start + DELIVERY_CHUNK]
        what = "delivery of notices " + ", ".join(str(pk) for pk in chunk)
        enqueue("pushes.tasks.notifications_deliver", chunk, what=what)


def notifications_undelivered(*, now: dt.datetime | None = None) -> list[int]:
    """Recent notices chat never got, oldest first: written while the broker was down, their
    delivery task was never queued (or was lost with the broker's memory); and direct messages
    held for quiet hours that have ended. Those still held are left for later."""
    if not settings.RELEASEBOT_NOTIFIERS:
        return []
    now = now or timezone.now()
    newest = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    lost = Q(created_at__lte=now - REDELIVER_AFTER, created_at__gt=now - REDELIVER_WITHIN)
    held = Q(engineer__notify_direct=True, engineer__quiet_from__isnull=False)
    candidates = (
        _to_deliver()
        .filter(lost | held)
        .filter(
            pk__gt=newest - REDELIVER_SCAN,
            delivered_at__isnull=True,
            created_at__lte=now,
            created_at__gt=now - HELD_AT_MOST - REDELIVER_WITHIN,
        )
        .order_by("pk")
    )
    return [notice.pk for notice in candidates if _due(notice, now)]


def _due(notice: Notification, now: dt.datetime) -> bool:
    """Whether the tick queues an undelivered notice now: not held now, it has somewhere to go,
    and it was written, or its quiet hours ended, within the redelivery window."""
    routing = notification_routing(notification=notice, now=now)
    if routing.held_until is not None or not routing.anywhere:
        return False
    if now - REDELIVER_WITHIN < notice.created_at <= now - REDELIVER_AFTER:
        return True
    engineer, written = notice.engineer, notice.created_at
    released = notification_hold_until(engineer=engineer, notification=notice, now=written)
    return released is not None and released <= now < released + REDELIVER_WITHIN


def _to_deliver():
    # Everything the notifiers' messages and the engineer's choices need, in the one query.
    return Notification.objects.select_related(
        "engineer__user", "pick__branch__repository", "push__branch__repository"
    )


def notification_deliver(*, notification_id: int) -> None:
    """Send one notice through every configured notifier; each records that it delivered."""
    notification = _to_deliver().filter(pk=notification_id).first()
    if notification is None or notification.delivered_at:
        return  # gone, or delivered by an earlier run of this task
    notifiers = [import_string(path)() for path in settings.RELEASEBOT_NOTIFIERS]
    _deliver_once(notification, notifiers)


def notifications_deliver(*, notification_ids: list[int]) -> None:
    """Send each notice through every configured notifier, as `notification_deliver` would.

    A notice that fails is logged and left undelivered, for the tick to queue again on its
    own; the others go on. The direct messages of the chunk are claimed in one write before
    any is sent, so a notice another run of the task holds or delivered is not sent twice;
    the notifier sends them several at a time and records each delivery as its answer comes
    back (a conditional update), and the claims are closed together at the end: done for
    those delivered, released for the rest.
    """
    notices = list(
        _to_deliver().filter(pk__in=notification_ids, delivered_at__isnull=True).order_by("pk")
    )
    if not notices:
        return
    notifiers = [import_string(path)() for path in settings.RELEASEBOT_NOTIFIERS]
    for notifier in notifiers:
        if hasattr(notifier, "prepare"):
            notifier.prepare(notices)
    now = timezone.now()
    routed = [(notice, notification_routing(notification=notice, now=now)) for notice in notices]
    claimed = side_effects_claim(
        [
            f"notice-{notice.pk}"
            for notice, routing in routed
            if routing.direct and routing.held_until is None
        ]
    )
    direct = [notice for notice, _ in routed if f"notice-{notice.pk}" in claimed]
    done: set[int] = set()
    try:
        for notice, routing in routed:
            if routing.channel:
                try:
                    _copy_once(notice, notifiers, routing.channel, is_delivery=not routing.direct)
                except Exception:
                    log.exception("copy of notice %s not posted; the tick will retry", notice.pk)
        done = _direct_send(direct, notifiers)
    finally:
        if direct and not done:  # stopped by an error: what the rows show went out is done
            done = _delivered({notice.pk for notice in direct})
        side_effects_finish(
            done=[f"notice-{pk}" for pk in sorted(done)],
            released=sorted(claimed - {f"notice-{pk}" for pk in done}),
        )


def _direct_send(notices: list[Notification], notifiers: list) -> set[int]:
    """Send claimed notices through every notifier (all of them at once to a notifier that
    can, `deliver_many`): the ids of those delivered (a notifier that sent one says so, or its
    row shows it)."""
    sent: set[int] = set()
    if not notices:
        return sent
    for notifier in notifiers:
        if hasattr(notifier, "deliver_many"):
            sent |= notifier.deliver_many(notices)
            continue
        for notice in notices:
            try:
                if notifier.deliver(notice) is True:
                    sent.add(notice.pk)
            except Exception:
                log.exception("notice %s not delivered; the tick will retry", notice.pk)
    return sent | _delivered({notice.pk for notice in notices} - sent)


def _delivered(ids: set[int]) -> set[int]:
    if not ids:
        return set()
    return set(
        Notification.objects.filter(pk__in=ids, delivered_at__isnull=False).values_list(
            "pk", flat=True
        )
    )


def _deliver_once(notification: Notification, notifiers: list) -> None:
    """Send the notice where its engineer wants it now: the channel copy at once, the direct
    message unless it is held for quiet hours (the tick queues it when they end)."""
    routing = notification_routing(notification=notification, now=timezone.now())
    if routing.channel:
        _copy_once(notification, notifiers, routing.channel, is_delivery=not routing.direct)
    if routing.direct and routing.held_until is None:
        _direct_once(notification, notifiers)


def _direct_once(notification: Notification, notifiers: list) -> None:
    """Claim the notice, send it through every notifier, and keep the claim if it went out.
    Another run holding the claim (or one that sent it) makes this one send nothing."""
    key = f"notice-{notification.pk}"
    if not side_effect_claim(key):
        return
    try:
        for notifier in notifiers:
            notifier.deliver(notification)
    except Exception:
        side_effect_release(key)  # nothing went out: the tick's next try may send it
        raise
    if Notification.objects.filter(pk=notification.pk, delivered_at__isnull=False).exists():
        side_effect_done(key)
    else:
        side_effect_release(key)  # declined (no chat account yet): the tick may ask again


def _copy_once(
    notification: Notification, notifiers: list, channel: str, *, is_delivery: bool
) -> None:
    """Post the notice's copy in `channel` once. `is_delivery`: the engineer takes no direct
    messages, so the copy is the notice's delivery and is recorded as it."""
    key = f"notice-{notification.pk}-channel"
    if not side_effect_claim(key):
        return
    posted = None
    try:
        for notifier in notifiers:
            if hasattr(notifier, "copy"):
                posted = notifier.copy(notification, channel) or posted
    except Exception:
        side_effect_release(key)
        raise
    if posted is None:
        side_effect_release(key)  # not posted: the tick's next try may post it
        return
    side_effect_done(key)
    if is_delivery:
        Notification.objects.filter(pk=notification.pk, delivered_at__isnull=True).update(
            chat_channel=posted[0], chat_ts=posted[1], delivered_at=timezone.now()
        )


def announce(*, push: Push, text: str) -> None:
    """After commit, post a push's summary to its repository's chat channel, if it has one."""
    if settings.RELEASEBOT_NOTIFIERS and push.branch.repository.chat_channel:
        key = f"push-summary-{push.pk}-{uuid.uuid4().hex[:12]}"  # this summary, once
        what = f"summary of push {push.pk}"
        enqueue("pushes.tasks.push_announce", push.pk, text, key, what=what)


def push_announce(*, push_id: int, text: str, key: str = "") -> None:
    """Post the summary once: `key` is claimed first, so a second run of the task posts
    nothing (a summary queued before keys existed has none and is posted as it is)."""
    push = Push.objects.select_related("branch__repository").filter(pk=push_id).first()
    if push is None or (key and not side_effect_claim(key)):
        return
    try:
        for path in settings.RELEASEBOT_NOTIFIERS:
            notifier = import_string(path)()
            if hasattr(notifier, "announce"):
                notifier.announce(push, text)
    except Exception:
        if key:
            side_effect_release(key)
        raise
    if key:
        side_effect_done(key)


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
        enqueue("pushes.tasks.pick_answered", pick.pk, what=f"answer to pick {pick.pk}")


def pick_answered_tell(*, pick_id: int) -> None:
    """Hand an answered pick to every notifier that shows confirmation requests."""
    pick = Pick.objects.filter(pk=pick_id).first()
    if pick is None:
        return
    for path in settings.RELEASEBOT_NOTIFIERS:
        notifier = import_string(path)()
        if hasattr(notifier, "answered"):
            notifier.answered(pick)


def karma_suggest(*, pick: Pick, what: str) -> None:
    """Suggest to release engineers that they look at the requestor's karma. Only a
    suggestion: stars change when a release engineer presses "unlike"."""
    stars = karma_stars(user_id=pick.requestor.user_id)
    for engineer in Engineer.objects.filter(role=Role.RELEASE_ENGINEER).select_related("user"):
        notify(
            engineer=engineer,
            kind=NotificationKind.KARMA_SUGGESTION,
            text=(
                f"Pick #{pick.pk} by {pick.requestor} {what}. {pick.requestor} has {stars} of 5 "
                "stars: consider an unlike on their page."
            ),
            pick=pick,
        )
