"""The pick's state machine, written: one transition at a time, locked, checked against
PICK_TRANSITIONS, recorded as a PickEvent. People's moves come through `pick_move_allowed`, which
asks the moves registry (pushes.moves) first; the train's own steps (picked, shipped, rolled)
call `pick_transition` directly."""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone

from common.errors import DomainError, NotFound
from pushes import moves
from pushes.choices import PICK_TRANSITIONS, PickState
from pushes.models import Engineer, Pick, PickEvent
from pushes.moves import IllegalTransition

# NUL (PostgreSQL refuses it in text) and lone surrogates (no database stores them; Python makes
# them of undecodable bytes, in a command-line argument or a JSON "\udcff" escape).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class PickRefused(DomainError):
    """A pick request refused at request time; nothing was stored."""

    code = "pick-refused"


def storable(text: str, what: str) -> str:
    """``text``, if a database can store it; refused clearly rather than failing at the write."""
    if UNSTORABLE.search(text):
        raise PickRefused(
            f"The {what} has characters that cannot be stored (a NUL byte or invalid Unicode): "
            "type it again as plain text.",
            code="bad-text",
        )
    return text


_VERBS: dict[str, str] = {
    PickState.APPROVED: "approved",
    PickState.REJECTED: "rejected",
    PickState.DEFERRED: "deferred",
    PickState.WITHDRAWN: "withdrawn",
    PickState.CONFIRMED: "confirmed",
    PickState.AWAITING_CONFIRMATION: "sent for confirmation",
    PickState.PICKED: "picked",
    PickState.SHIPPED: "shipped",
    PickState.EXPIRED: "expired",
    PickState.CONFLICT: "marked conflicting",
    PickState.TESTS_FAILED: "marked as failing tests",
    PickState.REVERTED: "marked reverted",
}


def _locked(pick_id: int) -> Pick:
    """The pick, its row locked until the transaction ends."""
    pick = (
        # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the joins to
        # push and backup; the pick's row is the one that must be locked.
        Pick.objects.select_for_update(of=("self",))
        .select_related("branch__repository", "requestor__user", "backup__user", "push")
        .filter(pk=pick_id)
        .first()
    )
    if pick is None:
        raise NotFound(f"There is no pick #{pick_id}.")
    return pick


def pick_transition(
    *,
    pick_id: int,
    to: str,
    actor: Engineer | None,
    reason: str = "",
    **changes: object,
) -> Pick:
    """Move a pick to `to` in one transaction, recording the event; refuse a move the pick's
    state machine (PICK_TRANSITIONS) does not have. People's moves come through `pick_move`,
    which asks the moves registry first."""
    reason = storable(reason, "reason")
    with transaction.atomic():
        pick = _locked(pick_id)
        if to not in PICK_TRANSITIONS.get(pick.state, ()):
            raise IllegalTransition(
                f"Pick #{pick.pk} is {pick.get_state_display().lower()}: it cannot be "
                f"{_VERBS.get(to, to)} now.",
                details={"pick": pick.pk, "state": pick.state},
            )
        now = timezone.now()
        from_state = pick.state
        pick.state = to
        for name, value in changes.items():
            setattr(pick, name, value)
        if to == PickState.CONFIRMED:
            pick.confirmed_at = now
        if to == PickState.SHIPPED:
            pick.shipped_at = now
        pick.save()
        PickEvent.objects.create(
            pick=pick, actor=actor, at=now, from_state=from_state, to_state=to, reason=reason
        )
    return pick


def pick_for_move(move: moves.Move, *, pick_id: int, actor: Engineer) -> Pick:
    """Inside the caller's transaction: the pick, locked, once the registry lets `actor` make
    `move` on it now (its refusal raised otherwise). The pick may be in one of the move's
    `already` states: the move is then made, and the caller changes nothing."""
    pick = _locked(pick_id)
    moves.move_check(move, pick, actor)
    return pick
