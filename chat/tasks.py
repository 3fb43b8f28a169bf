"""Celery tasks of the bot: triggers only, each safe to run twice (at-least-once delivery)."""

from __future__ import annotations

from celery import shared_task

from chat import commands, slackapi
from pushes.models import Engineer


@shared_task(ignore_result=True)
def command_reply(text: str, engineer_id: int | None, reply_to: dict) -> None:
    """Answer a slow command (a pick request runs git) where it was asked: a response_url, or
    a channel and thread. Run twice, a pick request answers with the pick the first run made."""
    engineer = None
    if engineer_id is not None:
        engineer = Engineer.objects.select_related("user").filter(pk=engineer_id).first()
    reply = commands.answer(text, engineer=engineer)
    slackapi.post_reply(reply, reply_to)
