"""One push, start to finish: merge the confirmed picks in trunk order with tests after each,
tag, push branch and tag to the remote, call the deploy hook, mark the picks shipped.

Exactly once. The push's state records which phase it is in and each pick's state records
whether it is on the branch; a run that starts again after a crash (a SIGKILLed worker, a
redelivered task) asks the branch itself before each pick, so it never applies a pick twice and
never skips one. One run at a time per branch: a lock, and a database constraint behind it.
"""

from __future__ import annotations

import json
import logging
import shlex
import urllib.request
from typing import TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from common.errors import Conflict, NotFound
from common.queue import enqueue
from karma.selectors import karma_stars_many
from pushes import cadence, git, moves
from pushes.choices import (
    PICK_UNCONFIRMED_STATES,
    PUSH_FINISHED_STATES,
    PUSH_RUNNING_STATES,
    PUSH_UPCOMING_STATES,
    FridayPolicy,
    NotificationKind,
    PickState,
    PushKind,
    PushState,
    Role,
    TestRunState,
)
from pushes.locks import LockTimeout, repository_lock
from pushes.models import Engineer, Pick, Push, ReleaseBranch, TestRun
from pushes.risk import LOW, pick_risk
from pushes.services.notifications import announce, notify
from pushes.services.picks import pick_transition
from pushes.services.push_merge import merge_careful_each, merge_fresh, resuming, tests_run
from pushes.services.repositories import clone_path, scratch_dir
from pushes.services.train import pick_roll, push_skip, push_skip_reason

log = logging.getLogger(__name__)

DEPLOY_TIMEOUT = 300


class PushBusy(Conflict):
    code = "push-busy"


def push_tag_name(push: Push) -> str:
    return f"push/{push.branch.name}/{push.day:%Y-%m-%d}.{push.number}"


def push_run(*, push_id: int) -> Push:
    """Run (or resume) a push through every phase. Returns the push as it ended."""
    push = Push.objects.select_related("branch__repository").get(pk=push_id)
    if push.state in PUSH_FINISHED_STATES:
        return push
    try:
        with repository_lock(f"{push.branch.repository.slug}.push-{push.branch_id}", timeout=0):
            return _run_locked(push_id)
    except LockTimeout:
        raise PushBusy(f"A push of {push.branch.name} is running; this one waits for it.") from None


def _run_locked(push_id: int) -> Push:
    push = Push.objects.select_related("branch__repository").get(pk=push_id)
    if push.state in PUSH_FINISHED_STATES:
        return push
    if push.state in PUSH_UPCOMING_STATES:
        skip = push_skip_reason(push=push, now=timezone.now())
        if skip:
            push_skip(push, skip)
            return Push.objects.get(pk=push_id)
        _claim(push)
    phases = {
        PushState.MERGING: _merge,
        PushState.TAGGING: _tag,
        PushState.PUSHING: _push_remote,
        PushState.DEPLOYING: _deploy,
    }
    while push.state in phases:
        try:
            phases[push.state](push)
        except git.GitError as error:
            _fail(push, f"{push.get_state_display()} failed: {error}")
        push = Push.objects.select_related("branch__repository").get(pk=push_id)
    return push


def _claim(push: Push) -> None:
    try:
        with transaction.atomic():
            Push.objects.filter(pk=push.pk, state__in=PUSH_UPCOMING_STATES).update(
                state=PushState.MERGING, started_at=timezone.now(), error=""
            )
    except IntegrityError:
        running = Push.objects.filter(branch=push.branch, state__in=PUSH_RUNNING_STATES).first()
        raise PushBusy(f"Push {running} of this branch is running; one push at a time.") from None
    push.refresh_from_db()


def _advance(push: Push, to: str, **fields: object) -> None:
    Push.objects.filter(pk=push.pk, state=push.state).update(state=to, **fields)


def _fail(push: Push, error: str) -> None:
    log.error("push %s failed: %s", push, error)
    with transaction.atomic():
        Push.objects.filter(pk=push.pk).update(
            state=PushState.FAILED, error=error[:5000], finished_at=timezone.now()
        )
        for engineer in _release_engineers():
            notify(
                engineer=engineer,
                kind=NotificationKind.PUSH_FAILED,
                text=f"Push {push.label} of {push.branch.name} failed: {error[:500]}",
                push=push,
            )


def _release_engineers() -> list[Engineer]:
    return list(Engineer.objects.filter(role=Role.RELEASE_ENGINEER).select_related("user"))


# --- merging ------------------------------------------------------------------------------


def _merge(push: Push) -> None:
    branch = push.branch
    repository = branch.repository
    path = clone_path(repository)
    with repository_lock(repository.slug):
        git.sync(path, repository.remote_url)
    # A run killed mid-test left its test run open: close it, the pick is tried again.
    TestRun.objects.filter(push=push, state=TestRunState.RUNNING).update(
        state=TestRunState.ERROR, finished_at=timezone.now(), log="Interrupted: the worker died."
    )
    for pick in push.picks.filter(state__in=PICK_UNCONFIRMED_STATES).select_related(
        "branch__repository"
    ):
        pick_roll(pick=pick, actor=None, reason="Not confirmed before the push.")
    picks = list(
        push.picks.filter(state=PickState.CONFIRMED)
        .select_related("requestor__user", "branch__repository", "push")
        .order_by("trunk_position", "pk")
    )
    picks = _friday_careful(push, picks)
    if picks:
        head = git.branch_tip(path, branch.name)
        carried = git.branch_picks(path, branch.base_sha, head)
        with git.worktree(path, head, scratch_dir=scratch_dir()) as tree:
            if resuming(push, picks, carried):
                merge_careful_each(push, picks, tree, path)
            else:
                merge_fresh(push, picks, tree, path, head)
    if push.kind == PushKind.WEEKLY and repository.test_command:
        head = git.branch_tip(path, branch.name)
        with git.worktree(path, head, scratch_dir=scratch_dir()) as tree:
            if tests_run(push, None, tree).state != TestRunState.PASSED:
                _fail(push, f"The tests failed on {branch.name}: see the test console.")
                return
    _advance(push, PushState.TAGGING)


def _friday_careful(push: Push, picks: list[Pick]) -> list[Pick]:
    """On a `careful` Friday only low-risk picks go out; the others roll to the next push."""
    repository = push.branch.repository
    if not (
        push.kind == PushKind.DAILY
        and repository.friday_policy == FridayPolicy.CAREFUL
        and cadence.is_friday(repository, push.scheduled_at)
    ):
        return picks
    stars = karma_stars_many(user_ids={p.requestor.user_id for p in picks})
    kept = []
    for pick in picks:
        risk = pick_risk(pick, stars=stars[pick.requestor.user_id], when_pushed=False)
        if risk.level == LOW:
            kept.append(pick)
        else:
            reason = f"Friday policy is careful: only low-risk picks go out ({risk.summary})."
            pick_roll(pick=pick, actor=None, reason=reason)
    return kept


# --- tag, push, deploy, ship --------------------------------------------------------------


def _tag(push: Push) -> None:
    path = clone_path(push.branch.repository)
    head = git.branch_tip(path, push.branch.name)
    tag = push_tag_name(push)
    git.tag_create(path, tag, head, f"Releasebot push {push.label} of {push.branch.name}")
    _advance(push, PushState.PUSHING, tag=tag, head_sha=head)


def _push_remote(push: Push) -> None:
    path = clone_path(push.branch.repository)
    git.push(path, [f"refs/heads/{push.branch.name}", f"refs/tags/{push.tag}"])
    _advance(push, PushState.DEPLOYING)


def _deploy(push: Push) -> None:
    hook = push.branch.repository.deploy_hook.strip()
    error = deploy_hook_call(hook, push) if hook else ""
    _ship(push, deploy_error=error)


def deploy_hook_call(hook: str, push: Push) -> str:
    """Call the repository's deploy hook; returns "" or what went wrong. Never a shell."""
    info = {
        "repository": push.branch.repository.slug,
        "branch": push.branch.name,
        "push": push.label,
        "tag": push.tag,
        "sha": push.head_sha,
    }
    if hook.startswith(("http://", "https://")):
        request = urllib.request.Request(
            hook,
            data=json.dumps(info).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=DEPLOY_TIMEOUT) as response:
                response.read(1000)
            return ""
        except OSError as error:
            return f"deploy hook {hook} failed: {error}"
    env = {f"RELEASEBOT_{key.upper()}": value for key, value in info.items()}
    try:
        result = git.run_command(shlex.split(hook), scratch_dir(), DEPLOY_TIMEOUT, env)
    except ValueError as error:
        return f"deploy hook cannot be parsed: {error}"
    if result.timed_out or result.exit_code != 0:
        return f"deploy hook exited {result.exit_code}: {result.output[-500:]}"
    return ""


def _ship(push: Push, *, deploy_error: str) -> None:
    with transaction.atomic():
        claimed = Push.objects.filter(pk=push.pk, state=PushState.DEPLOYING).update(
            state=PushState.DONE, finished_at=timezone.now(), error=deploy_error
        )
        if not claimed:
            return
        shipped = []
        for pick in push.picks.filter(state=PickState.PICKED).select_related("requestor__user"):
            pick = pick_transition(
                pick_id=pick.pk, to=PickState.SHIPPED, actor=None, reason=f"In {push.tag}."
            )
            shipped.append(pick)
            notify(
                engineer=pick.requestor,
                kind=NotificationKind.SHIPPED,
                text=f"Pick #{pick.pk} ({pick.short_sha} {pick.title}) shipped in {push.tag}.",
                pick=pick,
                push=push,
            )
        summary = push_summary(push=push)
        for engineer in _release_engineers():
            notify(engineer=engineer, kind=NotificationKind.PUSH_SUMMARY, text=summary, push=push)
        announce(push=push, text=summary)


def push_summary(*, push: Push) -> str:
    """Who confirmed, what went out, what did not and why: one paragraph."""
    picks = list(push.picks.select_related("requestor__user").order_by("trunk_position", "pk"))
    out = [p for p in picks if p.state == PickState.SHIPPED]
    not_out = [p for p in picks if p.state != PickState.SHIPPED]
    lines = [f"Push {push.label} of {push.branch.name}: {len(out)} picks shipped in {push.tag}."]
    if out:
        confirmed = sorted({str(p.requestor) for p in out})
        lines.append(f"Confirmed and shipped: {', '.join(confirmed)}.")
    for pick in not_out:
        lines.append(f"#{pick.pk} {pick.short_sha} not shipped: {pick.get_state_display()}.")
    if push.error:
        lines.append(push.error)
    return " ".join(lines)


# --- rehearsal ----------------------------------------------------------------------------


def push_rehearse(*, push_id: int) -> list[Pick]:
    """Apply the push's approved picks in push order in a scratch worktree, and tell the
    requestors whose pick is predicted to conflict while they can still act. Returns those."""
    push = Push.objects.select_related("branch__repository").get(pk=push_id)
    branch = push.branch
    path = clone_path(branch.repository)
    picks = list(
        push.picks.filter(
            state__in=(PickState.APPROVED, PickState.AWAITING_CONFIRMATION, PickState.CONFIRMED)
        )
        .select_related("requestor__user", "branch")
        .order_by("trunk_position", "pk")
    )
    now = timezone.now()
    conflicting = []
    head = git.branch_tip(path, branch.name)
    with git.worktree(path, head, scratch_dir=scratch_dir()) as tree:
        for pick in picks:
            before = tree.head()
            result = tree.cherry_pick(pick.sha)
            files = (
                [] if (result.applied or result.already_applied) else list(result.conflict_files)
            )
            if not result.applied and not result.already_applied:
                tree.reset_hard(before)
            with transaction.atomic():
                Pick.objects.filter(pk=pick.pk).update(predicted_conflicts=files, checked_at=now)
                if files and files != pick.predicted_conflicts:
                    conflicting.append(pick)
                    notify(
                        engineer=pick.requestor,
                        kind=NotificationKind.PREDICTED_CONFLICT,
                        text=(
                            f"Heads-up: in a rehearsal of push {push.label}, pick #{pick.pk} "
                            f"({pick.short_sha}) conflicts in {', '.join(files)}. Fix it now "
                            f"(prepare a change for {branch.name}, or withdraw), or it will be "
                            "marked conflicting at the push."
                        ),
                        pick=pick,
                        push=push,
                    )
    Push.objects.filter(pk=push.pk).update(rehearsed_at=now)
    return conflicting


# --- by hand ------------------------------------------------------------------------------


def push_start_now(*, branch: ReleaseBranch) -> Push:
    """The branch's next push that has not started, or a new one scheduled now."""
    now = timezone.now()
    push = (
        Push.objects.filter(branch=branch, state__in=PUSH_UPCOMING_STATES)
        .order_by("scheduled_at")
        .first()
    )
    if push is None:
        day = now.astimezone(branch.repository.tz).date()
        number = (Push.objects.filter(branch=branch, day=day).aggregate(n=Max("number"))["n"]) or 0
        push = Push.objects.create(
            branch=branch, day=day, number=number + 1, scheduled_at=now, kind=PushKind.DAILY
        )
    return push


def push_request_run(*, push_id: int, actor: Engineer) -> Push:
    """Queue a push to run now, in the background: a release engineer's "Run now"."""
    with transaction.atomic():
        push = _for_move(moves.RUN, Push, push_id, actor, "There is no push #{}.")
        enqueue("pushes.tasks.push_run", push.pk)
    return push


def push_retry_request(*, push_id: int, actor: Engineer) -> Push:
    """A release engineer's "Retry" on a failed push: it runs again in the background from
    where it failed (`push_retry_prepare`)."""
    with transaction.atomic():
        push = _for_move(moves.RETRY, Push, push_id, actor, "There is no push #{}.")
        push_retry_prepare(push=push)
        enqueue("pushes.tasks.push_run", push.pk)
    return push


def branch_push_now(*, branch_id: int, actor: Engineer) -> Push:
    """A release engineer's "push now": the branch's next push (or a new one), queued now."""
    with transaction.atomic():
        branch = _for_move(
            moves.PUSH_NOW, ReleaseBranch, branch_id, actor, "There is no branch #{}."
        )
        push = push_start_now(branch=branch)
        push.branch = branch
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


def push_retry_prepare(*, push: Push) -> None:
    """Send a failed push round again from where it failed: from the remote push if it was
    tagged, else from the merge (picks already on the branch are found there, not re-applied)."""
    resume = PushState.PUSHING if push.tag else PushState.MERGING
    Push.objects.filter(pk=push.pk, state=PushState.FAILED).update(
        state=resume, error="", finished_at=None
    )
    push.refresh_from_db()


def push_retry(*, push_id: int) -> Push:
    """Retry a failed push now, in this process (`manage.py run_push --retry`)."""
    push = Push.objects.select_related("branch").get(pk=push_id)
    if push.state != PushState.FAILED:
        raise Conflict(f"Push {push.label} is {push.get_state_display().lower()}, not failed.")
    push_retry_prepare(push=push)
    return push_run(push_id=push.pk)


__all__ = [
    "branch_push_now",
    "push_retry_prepare",
    "push_retry_request",
    "push_rehearse",
    "push_request_run",
    "push_retry",
    "push_run",
    "push_start_now",
    "push_summary",
]
