"""Every move a person makes on the train, in one registry.

For each move: what it is made on (a pick, a push, a branch, an engineer's karma), the states it
is allowed from, who may make it, whether it takes a reason, the service that makes it, and the
channels that offer it. Pages, the risk dashboard, the API, the bot and Slack's buttons ask
`moves_offered` which buttons and verbs to show; every service asks `move_check`, under the
row's lock, before it moves anything. So the rule is written once, here, and a button is never
offered that its service would refuse.

Adding a move: one entry below, one service (named in the entry, taking
`<target>_id`, `actor` and, unless the move takes no reason, `reason`), one test. The API action
(`POST /api/<target>s/<id>/<move>/`), the page's button and URL, and (with `Channel.CHAT`) the
bot's verb follow from the entry.
"""

from __future__ import annotations

from pushes.moves.decide import (
    move_check,
    move_offered,
    move_refusal,
    moves_by_state,
    moves_of,
    moves_offered,
    registry_problems,
)
from pushes.moves.kinds import (
    ALL_CHANNELS,
    Channel,
    IllegalTransition,
    Move,
    Reason,
    Target,
    Who,
)
from pushes.moves.registry import (
    APPROVE,
    CONFIRM,
    DECLINE,
    DEFER,
    MOVES,
    PUSH_NOW,
    REJECT,
    RESTORE,
    RETRY,
    REVERT,
    ROLLBACK,
    RUN,
    UNLIKE,
    WITHDRAW,
)

__all__ = [
    "ALL_CHANNELS",
    "APPROVE",
    "CONFIRM",
    "DECLINE",
    "DEFER",
    "MOVES",
    "PUSH_NOW",
    "REJECT",
    "RESTORE",
    "RETRY",
    "REVERT",
    "ROLLBACK",
    "RUN",
    "UNLIKE",
    "WITHDRAW",
    "Channel",
    "IllegalTransition",
    "Move",
    "Reason",
    "Target",
    "Who",
    "move_check",
    "move_offered",
    "move_refusal",
    "moves_by_state",
    "moves_of",
    "moves_offered",
    "registry_problems",
]
