"""Which buttons a page offers: pure functions of a row and the person looking at it.

The services decide what is allowed (and refuse anything else with a message); these only
spare people buttons that would be refused. They follow the services' own rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from pushes.choices import (
    PICK_ACTIVE_STATES,
    PICK_TRANSITIONS,
    BranchState,
    NotificationKind,
    PickState,
    PushState,
)
from pushes.models import Engineer, Notification, Pick, Push, ReleaseBranch
from pushes.selectors import RevisionStatus

# The order buttons appear in on a page.
PICK_ACTIONS = ("confirm", "decline", "approve", "defer", "reject", "withdraw")

_TARGET = {
    "approve": PickState.APPROVED,
    "reject": PickState.REJECTED,
    "defer": PickState.DEFERRED,
    "withdraw": PickState.WITHDRAWN,
}
_CONFIRMABLE = (PickState.APPROVED, PickState.AWAITING_CONFIRMATION)
_DECLINABLE = (*_CONFIRMABLE, PickState.CONFIRMED)
PUSH_RUNNABLE = (PushState.SCHEDULED, PushState.CONFIRMING)
_ASKS = (NotificationKind.CONFIRM, NotificationKind.REMINDER)


def pick_actions(pick: Pick, engineer: Engineer | None) -> list[str]:
    """The moves `engineer` may make on `pick` now, in button order."""
    if engineer is None:
        return []
    legal = PICK_TRANSITIONS.get(pick.state, ())
    release_engineer = engineer.is_release_engineer
    theirs = engineer.pk in (pick.requestor_id, pick.backup_id)
    allowed = set()
    if release_engineer:
        allowed |= {name for name in ("approve", "reject", "defer") if _TARGET[name] in legal}
    if (release_engineer or theirs) and PickState.WITHDRAWN in legal:
        allowed.add("withdraw")
    if theirs and pick.state in _CONFIRMABLE:
        allowed.add("confirm")
    if theirs and pick.state in _DECLINABLE:
        allowed.add("decline")
    return [name for name in PICK_ACTIONS if name in allowed]


def push_can_run(push: Push, engineer: Engineer | None) -> bool:
    """A release engineer may start a push that has not started yet."""
    return bool(engineer and engineer.is_release_engineer and push.state in PUSH_RUNNABLE)


def branch_can_push(branch: ReleaseBranch, engineer: Engineer | None) -> bool:
    """A release engineer may push a branch the train has not left behind."""
    return bool(engineer and engineer.is_release_engineer and branch.state != BranchState.CLOSED)


def revision_pickable(status: RevisionStatus) -> bool:
    """Worth a "Request a pick" button: not in any open branch by a cut or an active pick.

    A commit cut into some branch is in every later one too, so only a commit no cut holds
    yet can be missing from the current branch.
    """
    if status.cut_into is not None:
        return False
    return not any(
        p.state in PICK_ACTIVE_STATES and p.branch.state != BranchState.CLOSED for p in status.picks
    )


def revision_held_by(status: RevisionStatus) -> list[Pick]:
    """The picks that put the revision on a branch (picked, or picked and shipped)."""
    return [p for p in status.picks if p.state in (PickState.PICKED, PickState.SHIPPED)]


@dataclass(frozen=True)
class InboxRow:
    """One notice as the inbox shows it. `answers` are the "I'm here" / "Not this time"
    moves of an unanswered confirmation request that can still be answered."""

    notice: Notification
    unread: bool
    answers: tuple[str, ...] = ()

    @property
    def waiting(self) -> bool:
        return bool(self.answers)


def inbox_rows(notices: list[Notification], engineer: Engineer) -> list[InboxRow]:
    """The inbox's rows, read before the visit marks everything read."""
    rows = []
    for notice in notices:
        answers: tuple[str, ...] = ()
        if notice.pick and notice.kind in _ASKS and notice.answered_at is None:
            moves = pick_actions(notice.pick, engineer)
            answers = tuple(name for name in moves if name in ("confirm", "decline"))
        rows.append(InboxRow(notice=notice, unread=notice.read_at is None, answers=answers))
    return rows
