"""The registry's entries: every move, in the order the bot's help and the API list them."""

from __future__ import annotations

from pushes.choices import BranchState, PickState, PushState
from pushes.moves.kinds import Channel, Move, Reason, Target, Who

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
    channels=frozenset({Channel.PAGE, Channel.DASHBOARD, Channel.API, Channel.CHAT}),
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
    channels=frozenset({Channel.PAGE, Channel.DASHBOARD, Channel.API, Channel.CHAT}),
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
    confirm="Withdraw this pick? It leaves the train; to ship the revision later, request it "
    "again.",
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
    confirm="Reject this pick? The requestor is told why; to ship it they must request it again.",
    from_states=_PICK_OPEN_BEFORE_MERGE,
    reason=Reason.REQUIRED,
    reason_hint="Say why the pick is rejected: the requestor will read it.",
    channels=frozenset({Channel.PAGE, Channel.DASHBOARD, Channel.API, Channel.CHAT}),
)
REVERT = Move(
    name="revert",
    target=Target.PICK,
    who=Who.RELEASE_ENGINEERS,
    service="pushes.services.pick_revert",
    done="reverted",
    summary="Release engineers: revert a shipped pick: `git revert` of its commit on the "
    "branch, carried by the next push (or one started now); the requestor is told.",
    label="Revert",
    hint="Revert its commit on the branch; the next push carries the revert",
    tone="danger",
    verb="revert",
    from_states=frozenset({PickState.SHIPPED}),
    reason=Reason.REQUIRED,
    reason_hint="Say why it is reverted: the requestor will read it.",
    check="pushes.services.reverts.revert_refusal",
    channels=frozenset({Channel.PAGE, Channel.API, Channel.CHAT}),
)

RUN = Move(
    name="run",
    target=Target.PUSH,
    who=Who.RELEASE_ENGINEERS,
    service="pushes.services.push_request_run",
    done="queued",
    background=True,
    summary="Release engineers: run (or resume) the push now, in the background.",
    label="Run now",
    hint="Run this push now instead of at its time",
    tone="primary",
    confirm="Run this push now? Its picks go onto the branch, the tag is pushed and the deploy "
    "hook is called; only a rollback undoes that.",
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
    background=True,
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
    background=True,
    summary="Release engineers: run the branch's next push now (or a new one). The push runs "
    "in the background; follow it at /api/pushes/{id}/.",
    label="Push now",
    hint="Run the branch's next push now (or a new one if none is left)",
    tone="primary",
    confirm="Run the branch's next push now? Its picks go onto the branch, the tag is pushed and "
    "the deploy hook is called; only a rollback undoes that.",
    verb="run",
    from_states=frozenset({BranchState.STABILISING, BranchState.SHIPPED}),
    reason=Reason.NONE,
    asks_first=True,
    nothing="the train moved on",
    code="branch-closed",
    channels=frozenset({Channel.PAGE, Channel.API, Channel.CHAT}),
)

ROLLBACK = Move(
    name="rollback",
    target=Target.PUSH,
    who=Who.RELEASE_ENGINEERS,
    service="pushes.services.push_rollback",
    done="rolled back",
    summary="Release engineers: deploy the previous push's tag again through the deploy hook; "
    "recorded as a rollback and counted in the time to restore.",
    label="Roll back",
    hint="Deploy the previous push's tag again",
    tone="danger",
    verb="roll back",
    from_states=frozenset({PushState.DONE}),
    reason=Reason.REQUIRED,
    reason_hint="Say why it is rolled back: everyone on the push reads it.",
    nothing="only a push that went out can be rolled back",
    check="pushes.services.rollbacks.rollback_refusal",
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
    confirm="Take a star off? The engineer is told why; with too few stars their picks are "
    "refused until stars are restored.",
    reason=Reason.REQUIRED,
    reason_hint="A reason is required.",
    channels=frozenset({Channel.PAGE, Channel.DASHBOARD, Channel.CHAT}),
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
        ROLLBACK,
        UNLIKE,
        RESTORE,
    )
}
