"""The one decision: may this person make this move on this object now, and if not, why."""

from __future__ import annotations

from collections.abc import Iterable

from common.errors import Conflict, DomainError, Forbidden
from karma.services import ONLY_RELEASE_ENGINEERS as ONLY_KARMA_CHANGERS
from karma.services import karma_may_change
from pushes.choices import PICK_TRANSITIONS, PUSH_UPCOMING_STATES
from pushes.models import Engineer, Pick, Push, ReleaseBranch
from pushes.moves.kinds import Channel, IllegalTransition, Move, Target, Who, _resolve
from pushes.moves.registry import MOVES


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
    if move.check and state not in move.already:
        return _resolve(move.check)(obj)
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
