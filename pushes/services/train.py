"""Driving the train: confirmations before each push, reminders, rolls, and the tick that moves
every push along its day. The merge itself lives in pushes.services.push_run."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from common import times
from pushes import cadence
from pushes.choices import (
    PICK_UNCONFIRMED_STATES,
    PICK_WAITING_STATES,
    PUSH_RUNNING_STATES,
    PUSH_UPCOMING_STATES,
    FridayPolicy,
    NotificationKind,
    PickState,
    PushKind,
    PushState,
)
from pushes.models import (
    Engineer,
    FreezeWindow,
    Notification,
    Pick,
    PickEvent,
    Push,
)
from pushes.selectors import what_next
from pushes.services.notifications import notify, notify_many
from pushes.services.push_states import push_state_move
from pushes.services.transitions import pick_transition

log = logging.getLogger(__name__)


def _when(push: Push) -> str:
    return times.when(push.scheduled_at, push.branch.repository)


def _rolls_to(push: Push) -> str:
    """Where a pick of `push` that is not confirmed goes, in the confirmation's words."""
    nxt, then = what_next(branch=push.branch, after=push.scheduled_at)
    return "the next push" if nxt is not None else then


def _confirmation_text(pick: Pick, push: Push, when: str, then: str) -> str:
    return (
        f"Are you online to support pick #{pick.pk} ({pick.short_sha} {pick.title}) in "
        f"push {push.label} of {pick.branch.name} at {when}? Confirm, or it rolls to {then}."
    )


def pick_ask_confirmation(*, pick: Pick) -> Pick:
    """Ask the requestor to confirm they are online for the pick's push."""
    with transaction.atomic():
        if pick.state != PickState.AWAITING_CONFIRMATION:
            pick = pick_transition(pick_id=pick.pk, to=PickState.AWAITING_CONFIRMATION, actor=None)
        push = pick.push
        assert push is not None, "a pick is asked to confirm for its push"
        notify(
            engineer=pick.requestor,
            kind=NotificationKind.CONFIRM,
            text=_confirmation_text(pick, push, _when(push), _rolls_to(push)),
            pick=pick,
            push=push,
        )
    return pick


def _picks_ask_confirmation(push: Push) -> None:
    """Ask every requestor waiting in `push` at once, inside the caller's transaction.

    The same moves, events and notices as `pick_ask_confirmation` on each pick in turn (a
    deferred pick is approved again first), written as one locking read, one conditional
    update, and one insert each of events and notices.
    """
    picks = list(
        push.picks.filter(state__in=PICK_UNCONFIRMED_STATES)
        # of=("self",): only the picks' rows are locked, as pick_transition locks them.
        .select_for_update(of=("self",))
        .select_related("requestor__user", "branch")
        .order_by("-created_at", "-pk")
    )
    if not picks:
        return
    now = timezone.now()
    moves = {
        PickState.APPROVED: [(PickState.APPROVED, PickState.AWAITING_CONFIRMATION)],
        PickState.DEFERRED: [
            (PickState.DEFERRED, PickState.APPROVED),
            (PickState.APPROVED, PickState.AWAITING_CONFIRMATION),
        ],
        PickState.AWAITING_CONFIRMATION: [],
    }
    moving = [pick.pk for pick in picks if moves[pick.state]]
    if moving:
        # The rows are locked, so the condition holds for each; it guards the move all the same.
        moved = Pick.objects.filter(
            pk__in=moving, state__in=(PickState.APPROVED, PickState.DEFERRED)
        ).update(state=PickState.AWAITING_CONFIRMATION, updated_at=now)
        if moved != len(moving):
            raise RuntimeError(f"push {push.pk}: {moved} of {len(moving)} locked picks moved")
    PickEvent.objects.bulk_create(
        PickEvent(pick=pick, actor=None, at=now, from_state=old, to_state=new)
        for pick in picks
        for old, new in moves[pick.state]
    )
    when, then = _when(push), _rolls_to(push)  # the same for every pick of the push
    notify_many(
        notices=[
            Notification(
                engineer=pick.requestor,
                kind=NotificationKind.CONFIRM,
                text=_confirmation_text(pick, push, when, then),
                pick=pick,
                push=push,
            )
            for pick in picks
        ]
    )


def pick_roll(*, pick: Pick, actor: Engineer | None, reason: str) -> Pick:
    """Declined, or asked and not confirmed by the push: on to the next push, counted as a
    roll; after too many rolls it expires. With no push left on the branch it waits for the
    next weekly cut, and is told so."""
    repository = pick.branch.repository
    after = pick.push.scheduled_at if pick.push else timezone.now()
    nxt, then = what_next(branch=pick.branch, after=after)
    rolls = pick.rolls + 1
    with transaction.atomic():
        if rolls > repository.max_rolls:
            why = f"rolled {pick.rolls} times"
            if pick.state != PickState.DEFERRED:
                pick = pick_transition(
                    pick_id=pick.pk, to=PickState.DEFERRED, actor=actor, reason=reason
                )
            pick = pick_transition(
                pick_id=pick.pk, to=PickState.EXPIRED, actor=None, reason=why, rolls=rolls
            )
            notify(
                engineer=pick.requestor,
                kind=NotificationKind.EXPIRED,
                text=f"Pick #{pick.pk} ({pick.short_sha}) expired: {why}. Request it again when "
                "you can be online for a push.",
                pick=pick,
            )
            return pick
        if pick.state != PickState.DEFERRED:
            pick = pick_transition(
                pick_id=pick.pk,
                to=PickState.DEFERRED,
                actor=actor,
                reason=reason,
                push=nxt,
                rolls=rolls,
            )
        else:
            Pick.objects.filter(pk=pick.pk).update(push=nxt, rolls=rolls)
            pick.push, pick.rolls = nxt, rolls
        notify(
            engineer=pick.requestor,
            kind=NotificationKind.ROLLED,
            text=f"Pick #{pick.pk} ({pick.short_sha}) was not confirmed: it rolls to {then}.",
            pick=pick,
            push=nxt,
        )
    return pick


def pick_carry(*, pick: Pick, reason: str) -> Pick:
    """On to the next push without counting a roll, approval kept: the push ran before its
    slot, was skipped, or a policy held the pick back. Someone who was never asked to confirm
    (or had no chance to) is never counted as "not confirmed"."""
    after = pick.push.scheduled_at if pick.push else timezone.now()
    nxt, then = what_next(branch=pick.branch, after=after)
    why = f"{reason} It waits for {then}."
    with transaction.atomic():
        if pick.state in (PickState.AWAITING_CONFIRMATION, PickState.CONFIRMED):
            pick = pick_transition(
                pick_id=pick.pk, to=PickState.APPROVED, actor=None, reason=why, push=nxt
            )
        else:  # requested, approved or deferred: the state says it all
            Pick.objects.filter(pk=pick.pk).update(push=nxt, updated_at=timezone.now())
            PickEvent.objects.create(
                pick=pick, at=timezone.now(), from_state=pick.state, to_state=pick.state,
                reason=why,
            )  # fmt: skip
            pick.push = nxt
        if pick.state != PickState.REQUESTED:
            notify(
                engineer=pick.requestor,
                kind=NotificationKind.CARRIED,
                text=f"Pick #{pick.pk} ({pick.short_sha}): {why} Nothing is counted against you.",
                pick=pick,
                push=nxt,
            )
    return pick


def push_skip_reason(*, push: Push, now: dt.datetime) -> str:
    """Why a push does not go out at all (a freeze at its slot or now, or Friday's no-push),
    or "". A freeze is a deploy lock: a push overdue from before it, or run now by hand, does
    not go out while it holds either."""
    repository = push.branch.repository
    freeze = FreezeWindow.objects.filter(
        Q(starts_at__lte=push.scheduled_at, ends_at__gt=push.scheduled_at)
        | Q(starts_at__lte=now, ends_at__gt=now),
        repository=repository,
    ).first()
    if freeze:
        return f"frozen: {freeze.reason}"
    if (
        push.kind == PushKind.DAILY
        and repository.friday_policy == FridayPolicy.NO_PUSH
        and cadence.is_friday(repository, push.scheduled_at)
    ):
        return "Friday policy is no-push"
    return ""


def push_confirmations_open(*, push_id: int) -> Push | None:
    """T-30: ask every requestor with an approved pick in the push to confirm."""
    with transaction.atomic():
        claimed = push_state_move(
            push_id=push_id,
            to=PushState.CONFIRMING,
            from_states=[PushState.SCHEDULED],
            reason="Confirmations asked for.",
        )
        push = Push.objects.select_related("branch__repository").get(pk=push_id)
        if not claimed:
            return push  # an earlier run did it
        skip = push_skip_reason(push=push, now=timezone.now())
        if skip:
            push_skip(push, skip)
            return push
        _picks_ask_confirmation(push)
    return push


def push_skip(push: Push, reason: str) -> None:
    """The push does not go out: its picks are carried to the next push, no roll counted."""
    with transaction.atomic():
        moved = push_state_move(
            push_id=push.pk,
            to=PushState.SKIPPED,
            from_states=PUSH_UPCOMING_STATES,
            reason=f"Skipped: {reason}.",
            error=f"Skipped: {reason}.",
            finished_at=timezone.now(),
        )
        if not moved:
            return
        carried = push.picks.filter(state__in=PICK_WAITING_STATES).select_related(
            "requestor__user", "backup__user", "branch__repository", "push__branch__repository"
        )
        for pick in carried:
            pick_carry(pick=pick, reason=f"Push {push.label} was skipped ({reason}).")


def push_remind(*, push_id: int) -> int:
    """T-10: remind whoever has not answered yet. Returns how many were reminded."""
    with transaction.atomic():
        claimed = Push.objects.filter(
            pk=push_id, state=PushState.CONFIRMING, reminded_at__isnull=True
        ).update(reminded_at=timezone.now())
        if not claimed:
            return 0
        push = Push.objects.select_related("branch__repository").get(pk=push_id)
        waiting = push.picks.filter(state=PickState.AWAITING_CONFIRMATION).select_related(
            "requestor__user"
        )
        when = _when(push)
        notices = notify_many(
            notices=[
                Notification(
                    engineer=pick.requestor,
                    kind=NotificationKind.REMINDER,
                    text=f"Reminder: push {push.label} goes out at {when}. Confirm pick "
                    f"#{pick.pk} ({pick.short_sha} {pick.title}) or it rolls to the next push.",
                    pick=pick,
                    push=push,
                )
                for pick in waiting
            ]
        )
        return len(notices)


@dataclass(frozen=True)
class TrainWork:
    due: list[int]  # pushes to run (or resume)
    rehearse: list[int]  # pushes whose picks should be rehearsed now


def train_advance(*, now: dt.datetime | None = None) -> TrainWork:
    """Move every push along: open confirmations, remind, and say which pushes to run.

    Database-driven, so a tick lost or run twice changes nothing: each step claims its push
    with a conditional update.
    """
    now = now or timezone.now()
    due, rehearse = [], []
    scheduled = Push.objects.filter(
        state=PushState.SCHEDULED, scheduled_at__lte=now + dt.timedelta(hours=24)
    ).select_related("branch__repository")
    for push in scheduled:
        lead = dt.timedelta(minutes=push.branch.repository.confirm_lead_minutes)
        if push.scheduled_at - lead <= now:
            push_confirmations_open(push_id=push.pk)
    confirming = Push.objects.filter(state=PushState.CONFIRMING).select_related(
        "branch__repository"
    )
    for push in confirming:
        reminder = dt.timedelta(minutes=push.branch.repository.reminder_lead_minutes)
        if push.reminded_at is None and push.scheduled_at - reminder <= now < push.scheduled_at:
            push_remind(push_id=push.pk)
        if push.scheduled_at <= now:
            due.append(push.pk)
        elif push.rehearsed_at is None:
            rehearse.append(push.pk)
    # Pushes a crash left half-way: the reconciler's share of the tick.
    due += list(Push.objects.filter(state__in=PUSH_RUNNING_STATES).values_list("pk", flat=True))
    return TrainWork(due=due, rehearse=rehearse)
