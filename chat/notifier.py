"""Notices to Slack: each engineer's notices as direct messages, confirmation requests with
their buttons, each push's summary in its repository's channel.

The web inbox (the Notification row) is written either way; this only delivers it. Set
`RELEASEBOT_NOTIFIERS = ["chat.notifier.SlackNotifier"]` to turn it on.
"""

from __future__ import annotations

import logging

from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

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


class SlackNotifier:
    """The chat notifier `pushes.services.notification_deliver` and `push_announce` call."""

    def __init__(self, client: WebClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> WebClient:
        if self._client is None:
            self._client = slackapi.client()
        return self._client

    def deliver(self, notification: Notification) -> bool:
        """Send one notice as a direct message and record where it went. True: sent now."""
        if not slackapi.configured() or notification.delivered_at:
            return False
        user_id = slackapi.user_for_engineer(notification.engineer, self.client)
        if not user_id:
            log.info(
                "%s has no Slack account: notice %s stays in the inbox",
                notification.engineer,
                notification.pk,
            )
            return False
        try:
            channel = self.client.conversations_open(users=user_id)["channel"]["id"]
            sent = self.client.chat_postMessage(
                channel=channel,
                text=blocks.escape(notification.text),
                blocks=blocks.notice(notification),
            )
        except SlackApiError as error:
            log.warning("notice %s to %s not delivered: %s", notification.pk, user_id, error)
            return False
        # Conditional: a second run of the task (at-least-once delivery) records nothing new.
        Notification.objects.filter(pk=notification.pk, delivered_at__isnull=True).update(
            chat_channel=sent["channel"], chat_ts=sent["ts"], delivered_at=timezone.now()
        )
        if notification.kind in CLOSING_KINDS and notification.pick is not None:
            confirmation_answered(notification.pick, client=self.client, unanswered_only=True)
        return True

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
