"""Slack's Web API as the bot uses it: the client, who is who, and posting a reply.

No Bolt here: the notifier, the Celery tasks and the Bolt listeners all share these.
"""

from __future__ import annotations

import html
import logging
import re

from django.conf import settings
from django.db import IntegrityError
from django.db.models import Q
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from chat import blocks
from pushes.models import Engineer

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"

_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")


def configured() -> bool:
    return bool(settings.SLACK_BOT_TOKEN)


def api_url() -> str:
    # SLACK_API_URL is optional: tests (and a proxy, if one is needed) point the client at it.
    return getattr(settings, "SLACK_API_URL", "") or DEFAULT_API_URL


def client() -> WebClient:
    """A Web API client with the bot token; it retries twice when Slack rate-limits it."""
    web = WebClient(token=settings.SLACK_BOT_TOKEN or None, base_url=api_url(), timeout=10)
    web.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return web


def plain(text: str) -> str:
    """A message's text as Slack sends it, made plain for the grammar.

    Links arrive as <https://…|label> and &, <, > as entities. User mentions (<@U123>) stay:
    the grammar knows them.
    """
    text = _LINK.sub(r"\1", text or "")
    text = _CHANNEL.sub(r"#\1", text)
    return html.unescape(text).strip()


# --- who is who ---------------------------------------------------------------------------


def engineer_for_user(user_id: str, web: WebClient) -> Engineer | None:
    """The engineer behind a Slack user: by Slack id, else by the email Slack has for them
    (users.info), remembering the Slack id for next time."""
    engineer = _engineers().filter(chat_id=user_id).first()
    if engineer is not None or not user_id:
        return engineer
    try:
        info = web.users_info(user=user_id)
    except SlackApiError as error:
        log.warning("users.info %s failed: %s", user_id, error.response.get("error"))
        return None
    email = ((info.get("user") or {}).get("profile") or {}).get("email") or ""
    if not email:
        return None
    engineer = (
        _engineers()
        .filter(Q(email__iexact=email) | Q(user__email__iexact=email), chat_id__isnull=True)
        .first()
    )
    if engineer is not None:
        _remember(engineer, user_id)
    return engineer


def user_for_engineer(engineer: Engineer, web: WebClient) -> str | None:
    """The Slack id to message an engineer at: theirs, else looked up by email and kept."""
    if engineer.chat_id:
        return engineer.chat_id
    email = engineer.email or engineer.user.email
    if not email:
        return None
    try:
        found = web.users_lookupByEmail(email=email)
    except SlackApiError as error:
        if error.response.get("error") != "users_not_found":
            log.warning("users.lookupByEmail for %s failed: %s", engineer, error)
        return None
    user_id = (found.get("user") or {}).get("id")
    if user_id:
        _remember(engineer, user_id)
    return user_id


def _engineers():
    return Engineer.objects.select_related("user").filter(user__is_active=True)


def _remember(engineer: Engineer, user_id: str) -> None:
    try:
        Engineer.objects.filter(pk=engineer.pk, chat_id__isnull=True).update(chat_id=user_id)
    except IntegrityError:  # another engineer already has this Slack id: leave both as they are
        log.warning("Slack user %s is already linked to another engineer", user_id)
        return
    engineer.chat_id = user_id


# --- replies ------------------------------------------------------------------------------


def message(reply) -> dict:
    """The text and blocks of a grammar reply, ready for chat.postMessage or response_url."""
    text = blocks.escape(reply.text)
    return {"text": text, "blocks": reply.blocks or [blocks.section(text)]}


def post_reply(reply, reply_to: dict, web: WebClient | None = None) -> None:
    """Post a reply where the command was asked: its response_url, or a channel (thread)."""
    if reply_to.get("response_url"):
        response_type = "ephemeral" if reply.ephemeral else "in_channel"
        WebhookClient(reply_to["response_url"], timeout=10).send_dict(
            {**message(reply), "response_type": response_type, "replace_original": False}
        )
        return
    web = web or client()
    extra = {"thread_ts": reply_to["thread_ts"]} if reply_to.get("thread_ts") else {}
    web.chat_postMessage(channel=reply_to["channel"], **message(reply), **extra)
