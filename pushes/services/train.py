"""Driving the train: confirmations before each push, reminders, rolls, and the tick that moves
every push along its day. The merge itself lives in pushes.services.push_run."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from pushes import cadence
from pushes.choices import (
    PUSH_RUNNING_STATES,
    FridayPolicy,
    NotificationKind,
    PickState,
    PushKind,
    PushState,
)
from pushes.models import Engineer, FreezeWindow, Pick, Push
from pushes.services.notifications import notify
from pushes.services.picks import pick_transition, push_next

log = logging.getLogger(__name__)

WAITING = (PickState.APPROVED, PickState.AWAITING_CONFIRMATION, PickState.DEFERRED)


def _when(push: Push) -> str:
    local = push.scheduled_at.astimezone(push.branch.repository.tz)
    return f"{local:%a %d %b %H:%M %Z}"


def pick_ask_confirmation(*, pick: Pick) -> Pick:
    """Ask the requestor to confirm they are online for the pick's push."""
    with transaction.atomic():
        if pick.state != PickState.AWAITING_CONFIRMATION:
            pick = pick_transition(pick_id=pick.pk, to=PickState.AWAITING_CONFIRMATION, actor=None)
        notify(
            engineer=pick.requestor,
            kind=NotificationKind.CONFIRM,
            text=(
                f"Are you online to support pick #{pick.pk} ({pick.short_sha} {pick.title}) in "
                f"push {pick.push.label} of {pick.branch.name} at {_when(pick.push)}? Confirm, "
                "or it rolls to the next push."
            ),
            pick=pick,
            push=pick.push,
        )
    return pick


def pick_roll(*, pick: Pick, actor: Engineer | None, reason: str) -> Pick:
    """Not confirmed for this push: move to the next one, or expire after too many rolls."""
    repository = pick.branch.repository
    after = pick.push.scheduled_at if pick.push else timezone.now()
    nxt = push_next(branch=pick.branch, now=after)
    rolls = pick.rolls + 1
    with transaction.atomic():
        if rolls > repository.max_rolls or nxt is None:
            why = f"rolled {pick.rolls} times" if nxt else "no push of this branch is left"
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
            text=f"Pick #{pick.pk} ({pick.short_sha}) was not confirmed: it rolls to push "
            f"{nxt.label} at {_when(nxt)}.",
            pick=pick,
            push=nxt,
        )
    return pick


def push_skip_reason(*, push: Push, now: dt.datetime) -> str:
    """Why a push does not go out at all (a freeze, or Friday's no-push), or ""."""
    repository = push.branch.repository
    freeze = FreezeWindow.objects.filter(
        repository=repository, starts_at__lte=push.scheduled_at, ends_at__gt=push.scheduled_at
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
        claimed = Push.objects.filter(pk=push_id, state=PushState.SCHEDULED).update(
            state=PushState.CONFIRMING
        )
        push = Push.objects.select_related("branch__repository").get(pk=push_id)
        if not claimed:
            return push  # an earlier run did it
        skip = push_skip_reason(push=push, now=timezone.now())
        if skip:
            push_skip(push, skip)
            return push
        picks = push.picks.filter(state__in=WAITING).select_related("requestor__user", "branch")
        for pick in picks:
            if pick.state == PickState.DEFERRED:
                pick = pick_transition(pick_id=pick.pk, to=PickState.APPROVED, actor=None)
            pick.push = push
            pick_ask_confirmation(pick=pick)
    return push


def push_skip(push: Push, reason: str) -> None:
    Push.objects.filter(pk=push.pk).update(
        state=PushState.SKIPPED, error=f"Skipped: {reason}.", finished_at=timezone.now()
    )
    nxt = push_next(branch=push.branch, now=push.scheduled_at)
    push.picks.filter(state__in=(*WAITING, PickState.CONFIRMED)).update(push=nxt)


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
        for pick in waiting:
            notify(
                engineer=pick.requestor,
                kind=NotificationKind.REMINDER,
                text=f"Reminder: push {push.label} goes out at {_when(push)}. Confirm pick "
                f"#{pick.pk} ({pick.short_sha} {pick.title}) or it rolls to the next push.",
                pick=pick,
                push=push,
            )
        return len(waiting)


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
