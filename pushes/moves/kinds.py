"""The words of the moves registry: what a move is made on, who makes it, its reason, the
channels that offer it, and the `Move` itself."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.utils.module_loading import import_string

from common.errors import Conflict


class Target(enum.StrEnum):
    PICK = "pick"
    PUSH = "push"
    BRANCH = "branch"
    ENGINEER = "engineer"  # an engineer's push karma


class Who(enum.StrEnum):
    RELEASE_ENGINEERS = "release engineers"
    REQUESTOR = "the requestor or their backup"
    REQUESTOR_OR_RELEASE_ENGINEERS = "the requestor, their backup or a release engineer"
    KARMA_CHANGERS = "those karma lets change stars"


class Reason(enum.StrEnum):
    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


class Channel(enum.StrEnum):
    PAGE = "page"  # a button on the object's page (a pick's also in the inbox)
    DASHBOARD = "dashboard"  # a button on a row of the risk dashboard
    API = "api"  # POST /api/<target>s/<id>/<move>/
    CHAT = "chat"  # a verb of the bot, whatever the target (chat.verbs): `<move> PICK [REASON]`


ALL_CHANNELS = frozenset(Channel)


class IllegalTransition(Conflict):
    """A move the object's state does not allow now; nothing was changed."""

    code = "illegal-transition"


@dataclass(frozen=True)
class Move:
    name: str
    target: Target
    who: Who
    service: str  # the dotted path of the service that makes the move
    done: str  # as in "Pick #12 was approved", "it cannot be approved now"
    summary: str  # one line for the API's docs and the bot's help
    label: str  # the button
    from_states: frozenset[str] = frozenset()  # empty: any state (karma has none)
    already: frozenset[str] = frozenset()  # states where the move is made: done, nothing changes
    reason: Reason = Reason.OPTIONAL
    reason_hint: str = ""  # the reason field's placeholder; also the refusal when it is missing
    hint: str = ""  # the button's title
    tone: str = ""  # "primary", "danger" or plain
    nothing: str = ""  # said in a wrong state instead of "it cannot be <done> now"
    code: str = ""  # the refusal's code in a wrong state, instead of the target's own
    verb: str = ""  # as in "Only release engineers can <verb> picks"; the name when empty
    after: str = ""  # what it means for the person who made it, after "Pick #12 confirmed: "
    needs_push: bool = False  # a pick's move that only means something while a push is to come
    background: bool = False  # its service queues the work: the API answers 202, not 200
    check: str = ""  # dotted path of `(obj) -> DomainError | None`: what else the move needs
    # of the object besides its state (a commit to revert, a push to roll back to)
    asks_first: bool = False  # before its slot it asks first (a page says what it means; the
    # API takes early=true), because people not asked yet would be left behind
    confirm: str = ""  # a move not lightly taken back: the question a page's button asks in a
    # dialog first ("Withdraw this pick?" then what it means); the API and the bot do not ask
    channels: frozenset[Channel] = field(default=ALL_CHANNELS)

    @property
    def slug(self) -> str:
        """The move in URLs: /picks/<id>/<slug>/, /api/branches/<id>/push-now/."""
        return self.name.replace("_", "-")

    @property
    def url_name(self) -> str:
        """The page's URL for the move: pick-approve, push-run, branch-push-now."""
        return f"{self.target}-{self.slug}"

    @property
    def verb_text(self) -> str:
        return self.verb or self.name.replace("_", " ")

    def takes(self, channel: Channel) -> bool:
        return channel in self.channels

    @property
    def service_function(self) -> Callable[..., Any]:
        return _resolve(self.service)


@cache
def _resolve(path: str) -> Callable[..., Any]:
    return import_string(path)
