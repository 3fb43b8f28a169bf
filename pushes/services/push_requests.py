"""Pushes started by hand: a release engineer's "Run now" on a push, "Push now" on a branch, and
"Retry" on a failed push. Each queues the push for a worker after its transaction commits.

A push run before its slot asks first: it carries only the picks confirmed now, and says who
has not been asked yet and who has not confirmed; they keep their approval and wait for the
next push, nothing counted against them (see push_run's `_leave_out_unconfirmed`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TypeVar

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from common import times
from common.errors import Conflict, NotFound
from common.queue import broker_required, enqueue
from pushes import moves
from pushes.choices import (
    PICK_WAITING_STATES,
    PUSH_RUNNING_STATES,
    PUSH_UPCOMING_STATES,
    PickState,
    PushKind,
    PushState,
    PushStep,
)
from pushes.models import Engineer, Pick, Push, ReleaseBranch
from pushes.selectors import what_next
from pushes.services.push_merge import push_step
from pushes.services.push_run import PushBusy, push_run
from pushes.services.push_states import push_state_move


class PushEarly(Conflict):
    """A push asked to run before its slot, without saying so: nothing was queued."""

    code = "push-early"


@dataclass(frozen=True)
class EarlyRun:
    """What running a push now, before its slot, means for its picks."""

    push: Push
    confirmed: list[Pick]  # go out
    not_confirmed: list[Pick]  # asked, not answered yet: they wait, nothing counted
    not_asked: list[Pick]  # approved, not asked yet (asked at T-30): they wait
    then: str  # where those that wait go

    @property
    def message(self) -> str:
        def names(picks: list[Pick]) -> str:
            return ", ".join(f"{p.requestor} (#{p.pk})" for p in picks) or "nobody"

        due = times.when(self.push.scheduled_at, self.push.branch.repository)
        return (
            f"Push {self.push.label} of {self.push.branch.name} is due at {due}. Run now, it "
            f"carries the {len(self.confirmed)} confirmed pick(s) only. Not asked to confirm yet: "
            f"{names(self.not_asked)}. Asked, not confirmed yet: {names(self.not_confirmed)}. "
            f"They keep their approval and wait for {self.then}, nothing counted against them."
        )

    @property
    def details(self) -> dict[str, list[int]]:
        return {
            "confirmed": [p.pk for p in self.confirmed],
            "not_confirmed": [p.pk for p in self.not_confirmed],
            "not_asked": [p.pk for p in self.not_asked],
        }


def push_early_run(*, push: Push) -> EarlyRun | None:
    """What running `push` now would leave behind, or None when its slot has come."""
    if push.scheduled_at <= timezone.now():
        return None
    picks = list(
        push.picks.exclude(state=PickState.REQUESTED)
        .filter(
            state__in=(
                PickState.APPROVED,
                PickState.DEFERRED,
                PickState.AWAITING_CONFIRMATION,
                PickState.CONFIRMED,
            )
        )
        .select_related("requestor__user")
        .order_by("trunk_position", "pk")
    )
    _, then = what_next(branch=push.branch, after=push.scheduled_at)
    return EarlyRun(
        push=push,
        confirmed=[p for p in picks if p.state == PickState.CONFIRMED],
        not_confirmed=[p for p in picks if p.state == PickState.AWAITING_CONFIRMATION],
        not_asked=[p for p in picks if p.state in (PickState.APPROVED, PickState.DEFERRED)],
        then=then,
    )


def push_start_now(*, branch: ReleaseBranch) -> Push:
    """The branch's next push that has not started, or a new one scheduled now."""
    push = (
        Push.objects.filter(branch=branch, state__in=PUSH_UPCOMING_STATES)
        .order_by("scheduled_at")
        .first()
    )
    return push or _push_new(branch, timezone.now())


def _push_new(branch: ReleaseBranch, at: dt.datetime) -> Push:
    day = at.astimezone(branch.repository.tz).date()
    number = (Push.objects.filter(branch=branch, day=day).aggregate(n=Max("number"))["n"]) or 0
    return Push.objects.create(
        branch=branch, day=day, number=number + 1, scheduled_at=at, kind=PushKind.DAILY
    )


def _push_for_waiting(branch: ReleaseBranch) -> Push | None:
    """With no push of the branch to come (an older branch kept open has none scheduled), a new
    one for its picks that wait for no push: due after the confirmation lead, so that their
    requestors are asked to confirm first, as before any push. None when there is no such pick."""
    if Push.objects.filter(branch=branch, state__in=PUSH_UPCOMING_STATES).exists():
        return None
    waiting = Pick.objects.filter(branch=branch, push__isnull=True, state__in=PICK_WAITING_STATES)
    if not waiting.exists():
        return None
    now = timezone.now()
    push = _push_new(branch, now + dt.timedelta(minutes=branch.repository.confirm_lead_minutes))
    waiting.update(push=push, updated_at=now)
    return push


def push_request_run(*, push_id: int, actor: Engineer, early: bool = False) -> Push:
    """Queue a push to run now, in the background: a release engineer's "Run now". Before its
    slot it runs only when `early` says the caller knows what that means (`push_early_run`)."""
    with transaction.atomic():
        push = _for_move(moves.RUN, Push, push_id, actor, "There is no push #{}.")
        _refuse_busy(push)
        _refuse_early(push, early)
        broker_required(f"push {push.label}")
        push_step(push_id=push.pk, step=PushStep.QUEUED)  # its pages poll until it runs
        enqueue("pushes.tasks.push_run", push.pk)
    return push


def branch_push_now(*, branch_id: int, actor: Engineer, early: bool = False) -> Push:
    """A release engineer's "push now": the branch's next push (or a new one), queued now.

    Picks that wait for no push get a new push first (`_push_for_waiting`), kept even when the
    answer is the question "run it early?": their requestors are asked to confirm before it and
    it runs at its slot, since run now it would leave every one of them behind."""
    with transaction.atomic():
        branch = _for_move(
            moves.PUSH_NOW, ReleaseBranch, branch_id, actor, "There is no branch #{}."
        )
        made = _push_for_waiting(branch)
        push = made or push_start_now(branch=branch)
        push.branch = branch
        _refuse_busy(push)
        run = push_early_run(push=push)
        if run is None or early:
            broker_required(f"push {push.label}")
            push_step(push_id=push.pk, step=PushStep.QUEUED)  # its pages poll until it runs
            enqueue("pushes.tasks.push_run", push.pk)
    if run is not None and not early:
        raise _early(run, made=made is not None)
    return push


def _refuse_busy(push: Push) -> None:
    """One push of a branch at a time: another one running makes this one wait, and says so."""
    running = (
        Push.objects.filter(branch_id=push.branch_id, state__in=PUSH_RUNNING_STATES)
        .exclude(pk=push.pk)
        .first()
    )
    if running is not None:
        raise PushBusy(
            f"Push {running.label} of {push.branch.name} is running "
            f"({running.get_state_display().lower()}): one push of a branch at a time. Run this "
            "one when it has finished."
        )


def _refuse_early(push: Push, early: bool) -> None:
    run = push_early_run(push=push)
    if run is not None and not early:
        raise _early(run)


def _early(run: EarlyRun, *, made: bool = False) -> PushEarly:
    why = ""
    if made:
        why = (
            f"Push {run.push.label} was set up for the picks of {run.push.branch.name} that "
            "waited for no push: it runs at its slot, and those approved are asked to confirm "
            "before it. "
        )
    return PushEarly(
        why + run.message + " Run it early to go ahead (early=true).", details=run.details
    )


def push_retry_request(*, push_id: int, actor: Engineer) -> Push:
    """A release engineer's "Retry" on a failed push: it runs again in the background from
    where it failed (`push_retry_prepare`), the failure kept in its story."""
    with transaction.atomic():
        push = _for_move(moves.RETRY, Push, push_id, actor, "There is no push #{}.")
        _refuse_busy(push)
        broker_required(f"the retry of push {push.label}")
        push_retry_prepare(push=push, actor=actor)
        push_step(push_id=push.pk, step=PushStep.QUEUED)  # its pages poll until it runs
        enqueue("pushes.tasks.push_run", push.pk)
    return push


_Target = TypeVar("_Target", Push, ReleaseBranch)


def _for_move(
    move: moves.Move, model: type[_Target], pk: int, actor: Engineer, missing: str
) -> _Target:
    """The push or branch, locked, once the registry allows `actor` the move."""
    related = "branch__repository" if model is Push else "repository"
    obj = (
        model.objects.select_for_update(of=("self",)).select_related(related).filter(pk=pk).first()
    )
    if obj is None:
        raise NotFound(missing.format(pk))
    moves.move_check(move, obj, actor)
    return obj


def push_retry_prepare(*, push: Push, actor: Engineer | None = None) -> None:
    """Send a failed push round again from where it failed: from the remote push if it was
    tagged, else from the merge (picks already on the branch are found there, not re-applied).
    The failure stays in the push's story; the retry is added to it."""
    resume = PushState.PUSHING if push.tag else PushState.MERGING
    who = f" by {actor}" if actor else ""
    push_state_move(
        push_id=push.pk,
        to=resume,
        from_states=[PushState.FAILED],
        actor=actor,
        reason=f"Retried{who} from {'the push to origin' if push.tag else 'the merge'}.",
        error="",
        finished_at=None,
    )
    push.refresh_from_db()


def push_retry(*, push_id: int) -> Push:
    """Retry a failed push now, in this process (`manage.py run_push --retry`)."""
    push = Push.objects.select_related("branch").get(pk=push_id)
    if push.state != PushState.FAILED:
        raise Conflict(f"Push {push.label} is {push.get_state_display().lower()}, not failed.")
    push_retry_prepare(push=push)
    return push_run(push_id=push.pk)
