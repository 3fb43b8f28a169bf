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

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.utils.module_loading import import_string

from common.errors import Conflict, DomainError, Forbidden
from karma.services import ONLY_RELEASE_ENGINEERS as ONLY_KARMA_CHANGERS
from karma.services import karma_may_change
from pushes.choices import (
    PICK_TRANSITIONS,
    PUSH_UPCOMING_STATES,
    BranchState,
    PickState,
    PushState,
)
from pushes.models import Engineer, Pick, Push, ReleaseBranch


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
    CHAT = "chat"  # a verb of the bot: `<move> PICK|REV [REASON]`


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
    asks_first: bool = False  # before its slot it asks first (a page says what it means; the
    # API takes early=true), because people not asked yet would be left behind
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


_PICK_OPEN_BEFORE_MERGE = frozenset(
    {
        PickState.REQUESTED,
        PickState.APPROVED,
        PickState.AWAITING_CONFIRMATION,
        PickState.CONFIRMED,
        PickState.DEFERRED,
    }
)
_ASKED = frozenset({PickState.APPROVED, PickState.AWAITING_CONFIRMATION})

CONFIRM = Move(
    name="confirm",
    target=Target.PICK,
    who=Who.REQUESTOR,
    service="pushes.services.pick_confirm",
    done="confirmed",
    summary="The requestor or their backup: online to support the push.",
    label="I'm here",
    hint="Confirm you are online to support the push",
    tone="primary",
    from_states=_ASKED,
    already=frozenset({PickState.CONFIRMED}),
    reason=Reason.NONE,
    needs_push=True,
    after="you are down to support its push",
    channels=frozenset({Channel.PAGE, Channel.API, Channel.CHAT}),
)
DECLINE = Move(
    name="decline",
    target=Target.PICK,
    who=Who.REQUESTOR,
    service="pushes.services.pick_decline",
    done="declined for this push",
    summary="The requestor or their backup: not this time; it rolls to the next push.",
    label="Not this time",
    hint="Roll the pick to the next push",
    from_states=_ASKED | {PickState.CONFIRMED},
    nothing="there is nothing to decline",
    channels=frozenset({Channel.PAGE, Channel.API, Channel.CHAT}),
)
APPROVE = Move(
    name="approve",
    target=Target.PICK,
    who=Who.RELEASE_ENGINEERS,
    service="pushes.services.pick_approve",
    done="approved",
    summary="Release engineers: approve the pick for its push.",
    label="Approve",
    tone="primary",
    from_states=frozenset({PickState.REQUESTED, PickState.DEFERRED}),
    channels=frozenset({Channel.PAGE, Channel.DASHBOARD, Channel.API}),
)
DEFER = Move(
    name="defer",
    target=Target.PICK,
    who=Who.RELEASE_ENGINEERS,
    service="pushes.services.pick_defer",
    done="deferred",
    summary="Release engineers: not this push; it moves to the next.",
    label="Defer",
    hint="Not this push: move it to the next one",
    from_states=_PICK_OPEN_BEFORE_MERGE - {PickState.DEFERRED},
    channels=frozenset({Channel.PAGE, Channel.DASHBOARD, Channel.API}),
)
WITHDRAW = Move(
    name="withdraw",
    target=Target.PICK,
    who=Who.REQUESTOR_OR_RELEASE_ENGINEERS,
    service="pushes.services.pick_withdraw",
    done="withdrawn",
    summary="The requestor (or a release engineer) takes it back.",
    label="Withdraw",
    hint="Take the request back",
    tone="danger",
    from_states=_PICK_OPEN_BEFORE_MERGE,
    channels=frozenset({Channel.PAGE, Channel.API, Channel.CHAT}),
)
REJECT = Move(
    name="reject",
    target=Target.PICK,
    who=Who.RELEASE_ENGINEERS,
    service="pushes.services.pick_reject",
    done="rejected",
    summary="Release engineers: reject, saying why.",
    label="Reject",
    tone="danger",
    from_states=_PICK_OPEN_BEFORE_MERGE,
    reason=Reason.REQUIRED,
    reason_hint="Say why the pick is rejected: the requestor will read it.",
    channels=frozenset({Channel.PAGE, Channel.DASHBOARD, Channel.API}),
)
REVERT = Move(
    name="revert",
    target=Target.PICK,
    who=Who.RELEASE_ENGINEERS,
    service="pushes.services.pick_revert",
    done="marked reverted",
    summary="Release engineers: a shipped pick had to be reverted.",
    label="Mark reverted",
    verb="mark reverted",
    from_states=frozenset({PickState.SHIPPED}),
    reason=Reason.REQUIRED,
    reason_hint="Say why it was reverted: the requestor will read it.",
    channels=frozenset(),  # recorded by the service only: no channel offers it yet
)

RUN = Move(
    name="run",
    target=Target.PUSH,
    who=Who.RELEASE_ENGINEERS,
    service="pushes.services.push_request_run",
    done="queued",
    summary="Release engineers: run (or resume) the push now, in the background.",
    label="Run now",
    hint="Run this push now instead of at its time",
    tone="primary",
    # A push a crash left half-way is resumed by the train's tick, not by a button.
    from_states=frozenset({PushState.SCHEDULED, PushState.CONFIRMING}),
    reason=Reason.NONE,
    asks_first=True,
    nothing="there is nothing to run",
    code="push-finished",
    channels=frozenset({Channel.PAGE, Channel.API}),
)
RETRY = Move(
    name="retry",
    target=Target.PUSH,
    who=Who.RELEASE_ENGINEERS,
    service="pushes.services.push_retry_request",
    done="queued for a retry",
    summary="Release engineers: run a failed push again from where it failed, in the background.",
    label="Retry",
    hint="Run this push again from where it failed",
    tone="primary",
    from_states=frozenset({PushState.FAILED}),
    reason=Reason.NONE,
    nothing="only a failed push is retried",
    code="push-not-failed",
    channels=frozenset({Channel.PAGE, Channel.API}),
)
PUSH_NOW = Move(
    name="push_now",
    target=Target.BRANCH,
    who=Who.RELEASE_ENGINEERS,
    service="pushes.services.branch_push_now",
    done="queued",
    summary="Release engineers: run the branch's next push now (or a new one). The push runs "
    "in the background; follow it at /api/pushes/{id}/.",
    label="Push now",
    hint="Run the branch's next push now (or a new one if none is left)",
    tone="primary",
    verb="run",
    from_states=frozenset({BranchState.STABILISING, BranchState.SHIPPED}),
    reason=Reason.NONE,
    asks_first=True,
    nothing="the train moved on",
    code="branch-closed",
    channels=frozenset({Channel.PAGE, Channel.API}),
)

UNLIKE = Move(
    name="unlike",
    target=Target.ENGINEER,
    who=Who.KARMA_CHANGERS,
    service="karma.services.karma_change",
    done="unliked",
    summary="Release engineers: take one star off the engineer's push karma.",
    label="Unlike",
    tone="danger",
    reason=Reason.REQUIRED,
    reason_hint="A reason is required.",
    channels=frozenset({Channel.PAGE, Channel.DASHBOARD}),
)
RESTORE = Move(
    name="restore",
    target=Target.ENGINEER,
    who=Who.KARMA_CHANGERS,
    service="karma.services.karma_change",
    done="restored",
    summary="Release engineers: give stars back after the talk.",
    label="Restore",
    reason=Reason.REQUIRED,
    reason_hint="A reason is required.",
    channels=frozenset({Channel.PAGE}),
)

# In the order the bot's help and the API's docs list them; buttons put the primary move first
# and the dangerous ones last (`moves_offered`).
MOVES: dict[str, Move] = {
    move.name: move
    for move in (
        WITHDRAW,
        CONFIRM,
        DECLINE,
        APPROVE,
        DEFER,
        REJECT,
        REVERT,
        RUN,
        RETRY,
        PUSH_NOW,
        UNLIKE,
        RESTORE,
    )
}


def moves_of(target: Target, channel: Channel | None = None) -> list[Move]:
    """The moves made on `target`, in the registry's order; those one channel offers if given."""
    return [
        move
        for move in MOVES.values()
        if move.target == target and (channel is None or move.takes(channel))
    ]


# --- the one decision -----------------------------------------------------------------------


def move_refusal(move: Move, obj: object, actor: Engineer | None) -> DomainError | None:
    """Why `actor` may not make `move` on `obj` now, or None when they may.

    Who is asked first, then the state: someone who may never make the move is told so
    whatever the state.
    """
    if actor is None or not _may(move, obj, actor):
        return Forbidden(_forbidden(move, obj))
    state = getattr(obj, "state", None)
    if move.from_states and state not in move.from_states | move.already:
        return _wrong_state(move, obj)
    if move.needs_push and state not in move.already and not _push_to_come(obj):
        return IllegalTransition(
            f"Pick #{getattr(obj, 'pk', '')} waits for no push yet: there is nothing to "
            f"{move.verb_text} for; you will be asked before the push that takes it.",
            code="no-push-yet",
            details={"pick": getattr(obj, "pk", None), "state": state},
        )
    return None


def _push_to_come(obj: object) -> bool:
    push = getattr(obj, "push", None)
    return push is not None and push.state in PUSH_UPCOMING_STATES


def move_check(move: Move, obj: object, actor: Engineer | None) -> bool:
    """Raise the refusal, if any. Returns False when the move is made already (`already`):
    the caller answers as done and changes nothing."""
    refusal = move_refusal(move, obj, actor)
    if refusal is not None:
        raise refusal
    return getattr(obj, "state", None) not in move.already


def move_offered(move: Move, obj: object, actor: Engineer | None) -> bool:
    """Worth a button or a verb: the move would be made (not refused, not made already)."""
    if move_refusal(move, obj, actor) is not None:
        return False
    return getattr(obj, "state", None) not in move.already


def moves_offered(
    obj: Pick | Push | ReleaseBranch | Engineer,
    actor: Engineer | None,
    channel: Channel,
    target: Target | None = None,
) -> list[Move]:
    """The moves `actor` may make on `obj` now through `channel`, in button order: primary
    first, dangerous last, the registry's order within each."""
    target = target or _TARGETS[type(obj)]
    offered = [move for move in moves_of(target, channel) if move_offered(move, obj, actor)]
    return sorted(offered, key=lambda move: _TONE_ORDER[move.tone])


_TONE_ORDER = {"primary": 0, "": 1, "danger": 2}


def moves_by_state(
    target: Target, channel: Channel, *, who: Iterable[Who]
) -> dict[str, tuple[str, ...]]:
    """For pages that show many rows to one kind of person (the risk dashboard, for release
    engineers): each state's move names among those `who` may make, from the same entries."""
    kinds = set(who)
    moves = [move for move in moves_of(target, channel) if move.who in kinds]
    states = {state for move in moves for state in move.from_states}
    return {
        state: tuple(move.name for move in moves if state in move.from_states) for state in states
    }


def _may(move: Move, obj: object, actor: Engineer) -> bool:
    if move.who == Who.RELEASE_ENGINEERS:
        return actor.is_release_engineer
    if move.who == Who.KARMA_CHANGERS:
        return karma_may_change(actor.user)
    theirs = isinstance(obj, Pick) and actor.pk in (obj.requestor_id, obj.backup_id)
    if move.who == Who.REQUESTOR:
        return theirs
    return theirs or actor.is_release_engineer


_NOUNS = {Target.PICK: "picks", Target.PUSH: "pushes", Target.BRANCH: "pushes"}


def _forbidden(move: Move, obj: object) -> str:
    if move.who == Who.KARMA_CHANGERS:
        return ONLY_KARMA_CHANGERS
    if move.who == Who.RELEASE_ENGINEERS or not isinstance(obj, Pick):
        return f"Only release engineers can {move.verb_text} {_NOUNS[move.target]}."
    backup = f" or {obj.backup}" if obj.backup_id else ""
    return f"Only {obj.requestor}{backup} can {move.verb_text} pick #{obj.pk}."


def _wrong_state(move: Move, obj: object) -> DomainError:
    why = move.nothing or f"it cannot be {move.done} now"
    if isinstance(obj, Pick):
        return IllegalTransition(
            f"Pick #{obj.pk} is {obj.get_state_display().lower()}: {why}.",
            code=move.code or None,
            details={"pick": obj.pk, "state": obj.state},
        )
    if isinstance(obj, Push):
        return Conflict(
            f"Push {obj.label} of {obj.branch.name} is {obj.get_state_display().lower()}: {why}.",
            code=move.code or None,
        )
    if isinstance(obj, ReleaseBranch):
        return Conflict(f"{obj.name} is {obj.get_state_display().lower()}: {why}.", code=move.code)
    return Conflict(f"Not now: {why}.", code=move.code or None)


_TARGETS: dict[type, Target] = {
    Pick: Target.PICK,
    Push: Target.PUSH,
    ReleaseBranch: Target.BRANCH,
    Engineer: Target.ENGINEER,
}


def registry_problems() -> list[str]:
    """What would make the registry lie: a pick move allowed from a state the pick's state
    machine has no way out of, or a service that does not exist. Checked by a test."""
    problems = []
    for move in MOVES.values():
        try:
            _resolve(move.service)
        except ImportError:
            problems.append(f"{move.name}: no service {move.service}")
        if move.target == Target.PICK:
            for state in move.from_states:
                if not PICK_TRANSITIONS.get(state):
                    problems.append(f"{move.name}: {state} is a final state")
    return problems
