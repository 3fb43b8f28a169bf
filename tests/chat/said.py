"""Saying one line to the bot in a test: the reply's text, asserted done or refused."""

from __future__ import annotations

from chat.commands import answer


def ok(text: str, engineer=None) -> str:
    reply = answer(text, engineer=engineer)
    assert not reply.refused, reply.text
    assert reply.blocks, "every reply has its Block Kit form"
    return reply.text


def refused(text: str, engineer=None) -> str:
    reply = answer(text, engineer=engineer)
    assert reply.refused, reply.text
    assert "Traceback" not in reply.text
    return reply.text
