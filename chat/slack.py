"""Slack through Bolt: the `/rb` slash command, mentions, direct messages and the buttons.

Every listener acks first (Slack gives 3 seconds), then answers through the one grammar in
`commands`. A pick request runs git, so it is queued as a Celery task that answers through
the command's response_url (or in the channel) when done. A button press is quick (one service
call, one chat.update), so it is answered in Bolt's listener thread.

HTTP mode: `views.slack_events` checks the signature and the timestamp itself, then that the
body is one Bolt can read (`request_refusal`), and only then hands the request to Bolt's Django
adapter, which checks the signature again. Bolt parses the body before it checks the signature,
so without that a malformed anonymous body was a 500. Socket Mode: `manage.py bot_slack`.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.conf import settings
from slack_bolt import Ack, App, Respond, Say
from slack_bolt.adapter.django import SlackRequestHandler
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from chat import blocks, commands, notifier, slackapi, tasks
from common.errors import DomainError, Forbidden, NotFound
from common.parsers import json_too_deep
from pushes import selectors

log = logging.getLogger(__name__)

_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s:,]*")


def build_app(
    client: WebClient | None = None,
    *,
    executor: Executor | None = None,
    verify_token: bool = False,
) -> App:
    """The Bolt app with Releasebot's listeners. `verify_token` calls auth.test at once (the
    Socket Mode process fails fast on a bad token); the HTTP view calls it on first use."""
    app = App(
        client=client or slackapi.client(),
        signing_secret=settings.SLACK_SIGNING_SECRET or "",
        token_verification_enabled=verify_token,
        listener_executor=executor,
        name="releasebot",
    )
    app.command("/rb")(on_command)
    app.event("app_mention")(on_mention)
    app.event("message")(on_message)
    app.action(blocks.CONFIRM_ACTION)(on_answer)
    app.action(blocks.DECLINE_ACTION)(on_answer)
    return app


def request_handler() -> SlackRequestHandler:
    """One handler per process and configuration (tests change the settings)."""
    return _handler(settings.SLACK_BOT_TOKEN, settings.SLACK_SIGNING_SECRET, slackapi.api_url())


@functools.lru_cache(maxsize=4)
def _handler(token: str, secret: str, api_url: str) -> SlackRequestHandler:
    return SlackRequestHandler(build_app())


# --- what is refused before Bolt sees it ------------------------------------------------


# Block Kit payloads nest deeper than the API's bodies (a message's rich text inside its blocks
# inside the payload), so Slack gets a roomier limit: still far below json's recursion limit.
SLACK_MAX_DEPTH = 64


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


UNSIGNED = Refusal(
    401, "invalid-signature", "This request is not signed with Slack's signing secret, or is stale."
)
MALFORMED = Refusal(400, "invalid-body", "This signed request's body is not one Slack sends.")


def request_refusal(*, body: bytes, headers: Mapping[str, str], secret: str) -> Refusal | None:
    """Why a request to /slack/events is refused before Bolt parses it, or None.

    First the signature, with the timestamp a whole number within five minutes (Slack's own
    rule): anything else is a 401 and its body is never parsed. A body only Slack's secret could
    have signed is then read the way Bolt reads it, depth-limited; one Bolt would trip over (not
    JSON, a list, nested too deep) is a 400."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    try:
        text = body.decode("utf-8")  # Slack sends UTF-8; the signature is over that text
    except UnicodeDecodeError:
        return UNSIGNED
    well_formed = (
        timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12  # else an overflow
    ) and signature.isascii()  # hmac.compare_digest raises on other text
    verifier = SignatureVerifier(secret)
    if not (well_formed and verifier.is_valid(body=text, timestamp=timestamp, signature=signature)):
        return UNSIGNED
    content_type = headers.get("Content-Type", "").split(";")[0].strip()
    if content_type == "application/json" or text.startswith("{"):  # as Bolt decides
        documents = [text]
    else:
        documents = [value for name, value in parse_qsl(text) if name == "payload"]
    if any(json_too_deep(document, SLACK_MAX_DEPTH) for document in documents):
        return MALFORMED
    try:  # parses the body and reads its context (team, user, channel) as Bolt will
        parsed = BoltRequest(body=text, headers=dict(headers)).body
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        return MALFORMED
    return None if _shaped_like_slack(parsed) else MALFORMED


# Fields Slack sends as objects (or null), and as lists of objects, where Bolt's middleware and
# matchers call .get() on them: another type there was a 500 inside Bolt.
_OBJECTS = ("event", "view", "team", "user", "channel", "container", "message", "enterprise")
_LISTS_OF_OBJECTS = ("actions", "authorizations")


def _shaped_like_slack(parsed: object) -> bool:
    if not isinstance(parsed, dict):
        return False
    if any(not isinstance(parsed.get(name) or {}, dict) for name in _OBJECTS):
        return False
    for name in _LISTS_OF_OBJECTS:
        items = parsed.get(name) or []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            return False
    return True


# --- listeners ----------------------------------------------------------------------------


def on_command(ack: Ack, command: dict, respond: Respond, client: WebClient) -> None:
    """/rb COMMAND: answered to the asker only, through the response_url."""
    text = slackapi.plain(command.get("text", ""))
    if commands.is_slow(text):
        ack(text=blocks.escape(commands.working_text(text)), response_type="ephemeral")
    else:
        ack()
    engineer = slackapi.engineer_for_user(command["user_id"], client)
    if commands.is_slow(text):
        reply_to = {"response_url": command["response_url"]}
        tasks.command_reply.delay_on_commit(text, engineer and engineer.pk, reply_to)
        return
    reply = commands.answer(text, engineer=engineer)
    response_type = "ephemeral" if reply.ephemeral else "in_channel"
    respond(**slackapi.message(reply), response_type=response_type)


def on_mention(ack: Ack, event: dict, say: Say, client: WebClient) -> None:
    """@Releasebot COMMAND in a channel: answered in a thread under the mention."""
    ack()
    text = _LEADING_MENTION.sub("", slackapi.plain(event.get("text", "")), count=1)
    _converse(text, event, say, client, thread_ts=event.get("thread_ts") or event["ts"])


def on_message(ack: Ack, event: dict, say: Say, client: WebClient) -> None:
    """A direct message to the bot; messages anywhere else, edits and bots' own are ignored."""
    ack()
    if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
        return
    text = _LEADING_MENTION.sub("", slackapi.plain(event.get("text", "")), count=1)
    _converse(text, event, say, client, thread_ts=event.get("thread_ts"))


def _converse(text: str, event: dict, say: Say, client: WebClient, thread_ts: str | None) -> None:
    engineer = slackapi.engineer_for_user(event.get("user", ""), client)
    if commands.is_slow(text):
        say(text=blocks.escape(commands.working_text(text)), thread_ts=thread_ts)
        reply_to = {"channel": event["channel"], "thread_ts": thread_ts}
        tasks.command_reply.delay_on_commit(text, engineer and engineer.pk, reply_to)
        return
    reply = commands.answer(text, engineer=engineer)
    message = slackapi.message(reply)
    say(text=message["text"], blocks=message["blocks"], thread_ts=thread_ts)


def on_answer(ack: Ack, body: dict, action: dict, respond: Respond, client: WebClient) -> None:
    """ "I'm here" / "Not this time": only the requestor or their backup; the message is then
    updated in place (by the services' answered hook). A refused press is told why, to the
    presser only."""
    ack()
    container = body.get("container") or {}
    pressed = (container.get("channel_id", ""), container.get("message_ts", ""))
    engineer = slackapi.engineer_for_user(body["user"]["id"], client)
    if engineer is None:
        _tell(respond, commands.NOT_LINKED)
        return
    try:
        pick_id = int(action.get("value", ""))
        blocks.ANSWERS[action["action_id"]].service_function(pick_id=pick_id, actor=engineer)
    except ValueError:
        _tell(respond, "That button names no pick.")
        return
    except DomainError as refused:
        _tell(respond, refused.message)
        if isinstance(refused, (Forbidden, NotFound)):
            return  # someone else's press leaves the message as it is
        # A stale press (the pick moved on): close the message it was pressed on.
        pick = selectors.pick_by_id(pick_id=pick_id)
        if pick is not None:
            notifier.confirmation_answered(pick, client=client, pressed=pressed)
    # An answer the services took: they tell every notifier, this message included.


def _tell(respond: Respond, message: str) -> None:
    respond(
        text=blocks.escape(message),
        blocks=blocks.refusal(message),
        response_type="ephemeral",
        replace_original=False,
    )
