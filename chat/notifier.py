"""Notices to Slack: each engineer's notices as direct messages, confirmation requests with
their buttons, each push's summary in its repository's channel.

The web inbox (the Notification row) is written either way; this only delivers it. Set
`RELEASEBOT_NOTIFIERS = ["chat.notifier.SlackNotifier"]` to turn it on.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import suppress
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from chat import blocks, slackapi
from pushes.choices import NotificationKind, PickState
from pushes.models import Notification, Pick, PickEvent, Push
from pushes.selectors.release_notes import release_notes

log = logging.getLogger(__name__)

# Notices of a change nobody answered in chat: the open confirmation messages are closed too.
CLOSING_KINDS = (
    NotificationKind.ROLLED,
    NotificationKind.EXPIRED,
    NotificationKind.REJECTED,
    NotificationKind.DEFERRED,
)
_STILL_ASKING = (PickState.APPROVED, PickState.AWAITING_CONFIRMATION)
# What Slack answers when a kept direct-message channel no longer takes messages.
CHANNEL_GONE = ("channel_not_found", "is_archived", "not_in_channel")
DIRECT_KEPT = 7 * 24 * 3600  # seconds a direct-message channel's id is kept
# Direct messages in flight at once from one delivery task: each goes to its own channel, and
# Slack limits chat.postMessage by channel (about one a second), not by the bot.
SEND_THREADS = 8
# Deliveries recorded together, in one transaction (a commit, which PostgreSQL writes to disk).
RECORD_EVERY = 25


@dataclass(frozen=True)
class Posted:
    """What Slack answered for one direct message, and what became of its channel's id: a
    channel opened for it (to keep), or a kept one Slack no longer took (to forget)."""

    sent: SlackResponse
    opened: str = ""
    forgot: bool = False


class DirectChannels:
    """The direct-message channel between the bot and each Slack user, by user id, kept in the
    cache (shared through Redis when configured, else per process). Keyed by the workspace's
    API address and token too: an engineer linked to another Slack account has another user id,
    and another workspace other channels. An unreachable cache is a miss, never an error.
    `namespace` keeps one set of channels apart from another (each test has its own)."""

    def __init__(self, namespace: str = "") -> None:
        self.namespace = namespace

    def _key(self, user_id: str) -> str:
        scope = f"{self.namespace}|{slackapi.api_url()}|{settings.SLACK_BOT_TOKEN}".encode()
        return f"slack-dm:{hashlib.sha256(scope).hexdigest()[:16]}:{user_id}"

    def get(self, user_id: str) -> str | None:
        try:
            return cache.get(self._key(user_id))
        except Exception as error:
            log.warning("cache unreachable (%s): opening the direct message", type(error).__name__)
            return None

    def get_many(self, user_ids: list[str]) -> dict[str, str | None]:
        """The kept channel (or None) of each user, in one round trip."""
        keys = {self._key(user_id): user_id for user_id in user_ids}
        try:
            found = cache.get_many(list(keys))
        except Exception as error:
            log.warning("cache unreachable (%s): opening the direct messages", type(error).__name__)
            found = {}
        return {user_id: found.get(key) for key, user_id in keys.items()}

    def keep(self, user_id: str, channel: str) -> None:
        with suppress(Exception):
            cache.set(self._key(user_id), channel, DIRECT_KEPT)

    def forget(self, user_id: str) -> None:
        with suppress(Exception):
            cache.delete(self._key(user_id))


direct_channels = DirectChannels()


class SlackNotifier:
    """The chat notifier `pushes.services.notification_deliver` and `push_announce` call."""

    def __init__(self, client: WebClient | None = None) -> None:
        self._client = client
        self._channels: dict[str, str | None] = {}  # direct channels read by `prepare`

    @property
    def client(self) -> WebClient:
        if self._client is None:
            self._client = slackapi.client()
        return self._client

    def prepare(self, notifications: list[Notification]) -> None:
        """About to deliver these notices: read their engineers' kept direct-message channels
        in one go rather than one by one."""
        users = [n.engineer.chat_id for n in notifications if n.engineer.chat_id]
        if slackapi.configured() and users:
            self._channels.update(direct_channels.get_many(users))

    def deliver(self, notification: Notification) -> bool:
        """Send one notice as a direct message and record where it went. True: sent now."""
        return notification.pk in self.deliver_many([notification])

    def deliver_many(self, notifications: list[Notification]) -> set[int]:
        """Send these notices as direct messages, SEND_THREADS at a time, and record where
        each went as the answers come back (RECORD_EVERY at a time); the ids of those sent
        now.

        Only the calls to Slack run in the threads: the texts are made, and the deliveries
        recorded, here, in this thread's database transaction and connection. A notice Slack
        refuses or that fails in transit is logged and left undelivered, for the tick to try
        again; the others go on."""
        if not slackapi.configured():
            return set()
        posts = self._posts(notifications)
        if not posts:
            return set()
        sent_now: set[int] = set()
        answered: list[tuple[Notification, str, Posted]] = []
        read: set[Future] = set()

        def record() -> None:
            try:
                self._record(answered)
            except Exception:
                sent = [notification.pk for notification, *_ in answered]
                log.exception("notices %s sent; recording them failed", sent)
            sent_now.update(notification.pk for notification, *_ in answered)
            answered.clear()

        def take(future: Future) -> None:
            read.add(future)
            notification, user_id = futures[future]
            try:
                answered.append((notification, user_id, future.result()))
            except SlackApiError as error:
                log.warning("notice %s to %s not delivered: %s", notification.pk, user_id, error)
            except Exception:
                log.exception("notice %s not delivered; the tick will retry", notification.pk)

        pool = ThreadPoolExecutor(max_workers=min(SEND_THREADS, len(posts)))
        futures = {
            pool.submit(self._post, user_id, kept, text, shown): (notification, user_id)
            for notification, user_id, kept, text, shown in posts
        }
        try:
            for future in as_completed(futures):
                take(future)
                if len(answered) >= RECORD_EVERY:
                    record()
        finally:
            # Stopped early (a time limit, a shutdown): nothing more is sent, and what went
            # out is recorded, so that the tick does not send it again.
            pool.shutdown(wait=True, cancel_futures=True)
            for future in futures.keys() - read:
                if not future.cancelled():
                    take(future)
            record()
        return sent_now

    def _posts(self, notifications: list[Notification]) -> list[tuple]:
        """(notice, Slack user, kept channel, text, blocks) of each notice to send now."""
        posts = []
        for notification in notifications:
            if notification.delivered_at:
                continue
            user_id = slackapi.user_for_engineer(notification.engineer, self.client)
            if not user_id:
                log.info(
                    "%s has no Slack account: notice %s stays in the inbox",
                    notification.engineer,
                    notification.pk,
                )
                continue
            kept = (
                self._channels.pop(user_id)
                if user_id in self._channels
                else direct_channels.get(user_id)
            )
            text, shown = blocks.escape(notification.text), blocks.notice(notification)
            posts.append((notification, user_id, kept, text, shown))
        return posts

    def _record(self, answered: list[tuple[Notification, str, Posted]]) -> None:
        """Keep the channels the messages went to, and record the notices as delivered there,
        in one transaction (one commit for them all; Django's bulk_update, a CASE a column,
        cost more to build than the statements it replaces)."""
        if not answered:
            return
        now = timezone.now()
        for _, user_id, posted in answered:
            if posted.forgot:
                direct_channels.forget(user_id)
            if posted.opened:
                direct_channels.keep(user_id, posted.opened)
        with transaction.atomic():
            for notification, _, posted in answered:
                # Conditional: a second run of the task (at-least-once) records nothing new.
                Notification.objects.filter(pk=notification.pk, delivered_at__isnull=True).update(
                    chat_channel=posted.sent["channel"], chat_ts=posted.sent["ts"], delivered_at=now
                )
        for notification, *_ in answered:
            if notification.kind in CLOSING_KINDS and notification.pick is not None:
                confirmation_answered(notification.pick, client=self.client, unanswered_only=True)

    def _post(self, user_id: str, kept: str | None, text: str, shown: list[dict]) -> Posted:
        """The calls to Slack of one direct message, and nothing else (it runs in a thread of
        `deliver_many`): to the `kept` channel, else to one opened for it.

        The channel's id is kept from an earlier `conversations.open` (`direct_channels`), so a
        person told again costs one call, not two (Slack allows `conversations.open` some 50
        calls a minute). A kept id Slack no longer takes is opened afresh, once."""
        forgot = False
        if kept:
            try:
                return Posted(self.client.chat_postMessage(channel=kept, text=text, blocks=shown))
            except SlackApiError as error:
                if error.response.get("error") not in CHANNEL_GONE:
                    raise
                forgot = True
        channel = self.client.conversations_open(users=user_id)["channel"]["id"]
        sent = self.client.chat_postMessage(channel=channel, text=text, blocks=shown)
        return Posted(sent, opened=channel, forgot=forgot)

    def copy(self, notification: Notification, channel: str) -> tuple[str, str] | None:
        """Post a copy of a notice in a channel (its engineer asked for one there too), naming
        whom it is for; no buttons: the engineer answers in their messages, inbox or /rb.
        Returns where it went (channel, ts), or None if it did not."""
        if not slackapi.configured():
            return None
        try:
            sent = self.client.chat_postMessage(
                channel=channel,
                text=blocks.escape(notification.text),
                blocks=blocks.notice_copy(notification),
            )
        except SlackApiError as error:
            log.warning("copy of notice %s not posted to %s: %s", notification.pk, channel, error)
            return None
        return sent["channel"], sent["ts"]

    def announce(self, push: Push, text: str) -> None:
        """Post a push's summary to its repository's channel."""
        channel = push.branch.repository.chat_channel
        if not slackapi.configured() or not channel:
            return
        notes = release_notes(push=push)
        try:
            self.client.chat_postMessage(
                channel=channel, text=blocks.escape(text), blocks=blocks.push_summary(notes)
            )
        except SlackApiError as error:
            log.warning("summary of push %s not posted to %s: %s", push.pk, channel, error)

    def answered(self, pick: Pick) -> None:
        confirmation_answered(pick, client=self.client)


def confirmation_answered(
    pick: Pick,
    *,
    client: WebClient | None = None,
    pressed: tuple[str, str] | None = None,
    unanswered_only: bool = False,
) -> int:
    """Replace the buttons of `pick`'s confirmation messages with what became of them.

    A message still asking (the pick waits for confirmation for that very push) is left alone.
    `pressed` is the (channel, ts) of a message a button was pressed on, updated even if no
    notice row remembers it. Returns how many messages were updated.
    """
    if not slackapi.configured():
        return 0
    client = client or slackapi.client()
    pick = Pick.objects.select_related("push__branch__repository", "requestor__user").get(
        pk=pick.pk
    )
    query = Notification.objects.filter(pick=pick, kind__in=blocks.ASK_KINDS).exclude(chat_ts="")
    if unanswered_only:
        query = query.filter(answered_at__isnull=True)
    asks = list(query.select_related("push__branch__repository").order_by("pk"))
    confirmer = _confirmer(pick)
    targets = {}
    for notice in asks:
        if pick.state in _STILL_ASKING and notice.push_id == pick.push_id:
            continue
        answer = blocks.answer_line(pick, asked_for=notice.push, confirmer=confirmer)
        targets[(notice.chat_channel, notice.chat_ts)] = (answer, notice.text)
    if pressed and pressed not in targets and pick.state not in _STILL_ASKING:
        answer = blocks.answer_line(pick, asked_for=None, confirmer=confirmer)
        targets[pressed] = (answer, "")
    for (channel, ts), (answer, asked) in targets.items():
        try:
            client.chat_update(
                channel=channel,
                ts=ts,
                text=blocks.escape(answer),
                blocks=blocks.confirmation_answered(answer, asked),
            )
        except SlackApiError as error:
            log.warning("confirmation message %s/%s not updated: %s", channel, ts, error)
    return len(targets)


def _confirmer(pick: Pick) -> str | None:
    event = (
        PickEvent.objects.filter(pick=pick, to_state=PickState.CONFIRMED)
        .select_related("actor__user")
        .order_by("-at", "-pk")
        .first()
    )
    if event is None or event.actor is None:
        return None
    if event.actor_id != pick.requestor_id:
        return f"{event.actor} (backup for {pick.requestor})"
    return str(event.actor)
