"""What the bot's commands are made of: a reply, a command, a refusal, and the words every
command reads its line with. Shared by the grammar (chat.commands) and the registry's verbs
(chat.verbs); no Slack here either."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from chat import blocks
from common.errors import NotFound
from karma.services import karma_may_change
from pushes import selectors
from pushes.models import Engineer, Pick
from pushes.moves import Who

PICK_ID = re.compile(r"^#?(\d{1,6})$")
HEX = re.compile(r"^[0-9a-fA-F]{7,40}$")
_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")


@dataclass(frozen=True)
class Reply:
    """What the bot answers: plain text for any channel, Block Kit for Slack.

    `refused` marks an answer that did not do what was asked (the CLI exits 1 on it).
    """

    text: str
    blocks: list[dict] = field(default_factory=list)
    ephemeral: bool = True
    refused: bool = False


class UsageError(Exception):
    """Bad or missing arguments: answered with the message and the command's usage line."""


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    run: Callable[..., Reply]  # (rest of the line, engineer) -> Reply
    needs_engineer: bool = True
    who: Who | None = None  # a move's: help lists it only to those who may make it

    def listed_for(self, engineer: Engineer | None) -> bool:
        """Whether help lists the command to `engineer`. Anyone may still type it: the
        service answers with the same refusal as the web and the API."""
        if self.who == Who.RELEASE_ENGINEERS:
            return engineer is not None and engineer.is_release_engineer
        if self.who == Who.KARMA_CHANGERS:
            return engineer is not None and karma_may_change(engineer.user)
        return True


def said(text: str, *, lines: list[str] | None = None, note: str = "") -> Reply:
    full = "\n".join([text, *(f"• {line}" for line in lines or [])] + ([note] if note else []))
    return Reply(text=full, blocks=blocks.reply(text, lines=lines or [], note=note))


def refuse(message: str, *, usage: str = "") -> Reply:
    text = f"{message}\nUsage: {usage}" if usage else message
    return Reply(text=text, blocks=blocks.refusal(message, usage=usage), refused=True)


def split_word(text: str) -> tuple[str, str]:
    """The first word, lowered, and the rest of the line."""
    parts = (text or "").strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0].lower(), parts[1] if len(parts) > 1 else ""


def split_raw(text: str) -> tuple[str, str]:
    """Like split_word, without lowering the first word (a URL or a branch keeps its case)."""
    parts = (text or "").strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


# How people lead into a reason: "pick 3f2a9c1 because checkout crashes", "reject #12: too big".
# Not "because of": its "of" would be left alone at the front.
_REASON_LEAD = re.compile(
    r"^(?:because\b(?!\s+of\b)|reason\s*:|why\s*:|[:,;\-\u2013\u2014])\s*", re.IGNORECASE
)


def reason_text(text: str) -> str:
    """A reason as written, without the words people lead into it with."""
    reason = (text or "").strip()
    while (shorter := _REASON_LEAD.sub("", reason, count=1).strip()) != reason:
        reason = shorter
    return reason


def engineer_named(word: str) -> Engineer:
    """@bob, bob or a Slack mention <@U123>."""
    mention = _MENTION.match(word)
    if mention:
        found = selectors.engineer_by_chat_id(chat_id=mention.group(1))
    else:
        found = selectors.engineer_by_username(username=word.lstrip("@"), exact=False)
    if found is None:
        raise NotFound(f"I don't know {word[:40]}: no engineer has that name or chat account.")
    return found


def pick_where(pick: Pick) -> str:
    """The pick's state, and its push if it has one: "approved, push 2026-11-24.1"."""
    state = pick.get_state_display().lower()
    return f"{state}, push {pick.push.label}" if pick.push else state
