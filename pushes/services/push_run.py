"""One push, start to finish: bring the branch in line with origin's, merge the confirmed picks
in trunk order with tests after each, tag, push branch and tag to origin, call the deploy hook,
and mark shipped every pick the pushed tag carries.

Exactly once. The push's state records which phase it is in and each pick's state records
whether it is on the branch; a run that starts again after a crash (a SIGKILLed worker, a
redelivered task) asks the branch itself which picks it carries (once, for all of them), so it
never applies a pick twice and never skips one. One run at a time per branch: a lock, and a
database constraint behind it. Every change of the push's state is a step of its story
(PushEvent), never rewritten.

Origin is the truth. Before merging, the local branch takes origin's hand commits (and its own
unpushed picks are rebuilt on them); a push that origin refuses because its branch moved
meanwhile merges again on the new head; shipped means in a pushed tag, whichever push recorded
the pick.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.effects import side_effect_claim, side_effect_done, side_effect_outcome
from common.errors import Conflict
from karma.selectors import karma_stars_many
from pushes import cadence, git
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
    PushStep,
    Role,
    TestRunState,
)
from pushes.locks import LockTimeout, repository_lock
from pushes.models import (
    Engineer,
    Pick,
    Push,
    PushEvent,
)
from pushes.risk import LOW, pick_risk
from pushes.selectors.push_dashboard import push_summary
from pushes.services.branch_index import (
    branch_commits_shipped,
    branch_index,
    branch_reconcile,
)
from pushes.services.deploy import deploy_hook_call
from pushes.services.notifications import announce, notify
from pushes.services.push_merge import (
    merge_fresh,
    merge_resumed,
    push_step,
    resuming,
    tests_run,
)
from pushes.services.push_ship import picks_ship, picks_shipped_before
from pushes.services.push_states import push_state_move
from pushes.services.repositories import clone_path, scratch_dir
from pushes.services.train import pick_carry, pick_roll, push_skip, push_skip_reason

log = logging.getLogger(__name__)

# Times one run merges again because origin's branch moved during its push, before it fails.
REMERGES = 3


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
    push = _fresh(push_id)
    if push.state in PUSH_FINISHED_STATES:
        return push
    if push.state in PUSH_UPCOMING_STATES:
        skip = push_skip_reason(push=push, now=timezone.now())
        if skip:
            push_skip(push, skip)
            return _fresh(push_id)
        _claim(push)
    push = _resume_here(push)
    phases: dict[str, Callable[[Push], None]] = {
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
        push = _fresh(push_id)
    picks_shipped_before(push.branch)
    return push


def _fresh(push_id: int) -> Push:
    return Push.objects.select_related("branch__repository").get(pk=push_id)


def _resume_here(push: Push) -> Push:
    """A push resumed on a host whose clone lacks what the run before made (that run was on
    another host, which stopped). Deploying, origin has the push: fetch it. Tagging or pushing,
    unless origin has it, the branch the run before built is on no host alive: merge again
    here, from the picks the database recorded (`branch_reconcile` and `merge_one` find what
    origin already has)."""
    if push.state not in (PushState.TAGGING, PushState.PUSHING, PushState.DEPLOYING):
        return push
    repository = push.branch.repository
    path = clone_path(repository)
    made = [push.head_sha] if push.head_sha else list(
        push.picks.filter(state=PickState.PICKED).exclude(result_sha="")
        .values_list("result_sha", flat=True)
    )  # fmt: skip
    if _has_all(path, made):
        return push
    with repository_lock(repository.slug):
        git.sync(path, repository.remote_url)
    # Deploying, origin has the push: shipping reads it from there. Pushing, origin may have
    # it too (the run before pushed, then stopped): fetched, the clone has its head.
    if push.state == PushState.DEPLOYING or (
        push.state == PushState.PUSHING and _has_all(path, made)
    ):
        return push
    _advance(
        push,
        PushState.MERGING,
        reason=f"Resumed on {socket.gethostname()}, whose clone lacks what the run before made "
        "(its host stopped): merging again here.",
        tag="",
        head_sha="",
    )
    return _fresh(push.pk)


def _has_all(path: Path, shas: list[str]) -> bool:
    return (path / "HEAD").is_file() and all(git.rev_parse(path, sha) for sha in shas)


def _claim(push: Push) -> None:
    now = timezone.now()
    early = " before its slot" if now < push.scheduled_at else ""
    try:
        push_state_move(
            push_id=push.pk,
            to=PushState.MERGING,
            from_states=PUSH_UPCOMING_STATES,
            reason=f"Started{early}.",
            started_at=now,
            error="",
        )
    except IntegrityError:
        running = Push.objects.filter(branch=push.branch, state__in=PUSH_RUNNING_STATES).first()
        raise PushBusy(f"Push {running} of this branch is running; one push at a time.") from None
    push.refresh_from_db()


def _advance(push: Push, to: str, reason: str = "", **fields: Any) -> None:
    push_state_move(push_id=push.pk, to=to, from_states=[push.state], reason=reason, **fields)


def _fail(push: Push, error: str) -> None:
    log.error("push %s failed: %s", push, error)
    with transaction.atomic():
        moved = push_state_move(
            push_id=push.pk,
            to=PushState.FAILED,
            from_states=PUSH_RUNNING_STATES,
            reason=error,
            error=error[:5000],
            finished_at=timezone.now(),
        )
        if not moved:
            return
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
    push_step(push_id=push.pk, step=PushStep.PREPARING)  # what a run before recorded is over
    with repository_lock(repository.slug):
        git.sync(path, repository.remote_url)
        head = branch_reconcile(branch=branch, path=path, scratch=scratch_dir())
        branch_index(branch=branch, path=path)
    # A run killed mid-test left its test run open: close it, the pick is tried again.
    push.test_runs.filter(state=TestRunState.RUNNING).update(
        state=TestRunState.ERROR, finished_at=timezone.now(), log="Interrupted: the worker died."
    )
    _leave_out_unconfirmed(push)
    picks = _friday_careful(push, _to_merge(push, path, head))
    if picks:
        carried = git.branch_picks(path, branch.base_sha, head)
        with git.worktree(path, head, scratch_dir=scratch_dir()) as tree:
            if resuming(push, picks, carried):
                merge_resumed(push, picks, tree, path, head)
            else:
                merge_fresh(push, picks, tree, path, head)
    if push.kind == PushKind.WEEKLY and repository.test_command:
        head = git.branch_tip(path, branch.name)
        with git.worktree(path, head, scratch_dir=scratch_dir()) as tree:
            if tests_run(push, None, tree).state != TestRunState.PASSED:
                _fail(push, f"The tests failed on {branch.name}: see the test console.")
                return
    _advance(push, PushState.TAGGING)


def _leave_out_unconfirmed(push: Push) -> None:
    """What goes out is what is confirmed now. The rest: a requestor asked for this push who
    did not confirm by its slot rolls to the next push (a roll counted); everyone else (never
    asked, asked but the push ran before its slot, or not approved yet) is carried to the next
    push with their approval kept and nothing counted."""
    early = push.started_at is not None and push.started_at < push.scheduled_at
    waiting = (
        push.picks.filter(state__in=(PickState.REQUESTED, *PICK_UNCONFIRMED_STATES))
        .select_related("requestor__user", "backup__user", "branch__repository", "push__branch")
        .order_by("pk")
    )
    for pick in waiting:
        if pick.state == PickState.AWAITING_CONFIRMATION and not early:
            pick_roll(pick=pick, actor=None, reason="Not confirmed before the push.")
        elif early:
            pick_carry(pick=pick, reason=f"Push {push.label} ran before its slot, without it.")
        else:
            pick_carry(pick=pick, reason=f"Push {push.label} ran without it.")


def _to_merge(push: Push, path: object, head: str) -> list[Pick]:
    """The confirmed picks, in trunk order; and, on a resumed run, the picks it recorded as
    picked whose commit the branch does not have (recorded, then the worker died before the
    branch moved)."""
    picks = list(
        push.picks.filter(state__in=(PickState.CONFIRMED, PickState.PICKED))
        .select_related("requestor__user")
        .order_by("trunk_position", "pk")
    )
    for pick in picks:  # the push and its branch as loaded once, not joined into every row
        pick.push = push
        if pick.branch_id == push.branch_id:
            pick.branch = push.branch
    recorded = [p for p in picks if p.state == PickState.PICKED]
    if recorded:
        on_branch = set(
            git.commits_between(clone_path(push.branch.repository), push.branch.base_sha, head)
        )
        picks = [
            p for p in picks if p.state == PickState.CONFIRMED or p.result_sha not in on_branch
        ]
    return picks


def _friday_careful(push: Push, picks: list[Pick]) -> list[Pick]:
    """On a `careful` Friday only low-risk picks go out; the others wait for the next push,
    nothing counted against their requestors."""
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
        if risk.level == LOW or pick.state != PickState.CONFIRMED:
            kept.append(pick)
        else:
            reason = f"Friday policy is careful: only low-risk picks go out ({risk.summary})."
            pick_carry(pick=pick, reason=reason)
    return kept


# --- tag, push, deploy, ship --------------------------------------------------------------


def _tag(push: Push) -> None:
    path = clone_path(push.branch.repository)
    head = git.branch_tip(path, push.branch.name)
    tag = push_tag_name(push)
    message = f"Releasebot push {push.label} of {push.branch.name}"
    try:
        git.tag_create(path, tag, head, message)
    except git.GitError:
        # An earlier attempt of this push tagged another head, then merged again (a retry, or
        # origin moved). Origin never got that tag: it is moved. Origin has it: the push went
        # out with it, and a tag on origin is never made to mean something else.
        on_origin = git.remote_tag(path, tag)
        if on_origin is not None:
            raise git.GitError(
                f"origin has tag {tag} at {on_origin[:10]} already, not at this push's head "
                f"{head[:10]}: the push went out before; it is not tagged again"
            ) from None
        git.tag_delete(path, tag)
        git.tag_create(path, tag, head, message)
    _advance(push, PushState.PUSHING, tag=tag, head_sha=head)


def _push_remote(push: Push) -> None:
    """Push branch and tag to origin, all or nothing. Origin refusing because its branch moved
    since the merge (someone pushed by hand) sends the push back to merge on the new head."""
    path = clone_path(push.branch.repository)
    try:
        git.push(path, [f"refs/heads/{push.branch.name}", f"refs/tags/{push.tag}"])
    except git.GitError as refused:
        if _went_out(push, path):
            # The run before pushed (branch and tag at once) and stopped before recording it;
            # origin's branch may have moved since. The push is out: it is not merged again.
            _pushed(push, path, reason=f"{push.tag} was on origin already: pushed by the run "
                    "before, which stopped before recording it.")  # fmt: skip
            return
        if not _origin_moved(push, path) or _remerges(push) >= REMERGES:
            raise refused
        git.tag_delete(path, push.tag)
        _advance(
            push,
            PushState.MERGING,
            reason="Origin's branch moved during the push (a commit pushed by hand): merging "
            "again on it.",
            tag="",
            head_sha="",
        )
        return
    _pushed(push, path, reason=f"Pushed {push.tag}.")


def _pushed(push: Push, path: Path, *, reason: str) -> None:
    _advance(push, PushState.DEPLOYING, reason=reason, pushed_at=timezone.now())
    with repository_lock(push.branch.repository.slug):
        branch_index(branch=push.branch, path=path)
    # What the pushed tag carries is shipped, whoever put it on the branch (the branch itself
    # may not have moved: a tag of commits pushed by hand before).
    branch_commits_shipped(branch=push.branch)


def _went_out(push: Push, path: Path) -> bool:
    """Whether origin has this push's tag at its head already; False when origin cannot be
    asked (then the push's own error is the one to tell)."""
    try:
        return bool(push.head_sha) and git.remote_tag(path, push.tag) == push.head_sha
    except git.GitError:
        return False


def _origin_moved(push: Push, path: object) -> bool:
    """Whether origin's branch has commits the push's head lacks; False when origin cannot be
    asked (then the push's own error is the one to tell)."""
    repository = push.branch.repository
    try:
        with repository_lock(repository.slug):
            git.sync(clone_path(repository), repository.remote_url)
            remote = git.remote_tip(clone_path(repository), push.branch.name)
    except git.GitError:
        return False
    local = push.head_sha
    if not (remote and local):
        return False
    return git.relation(clone_path(repository), local, remote).behind


def _remerges(push: Push) -> int:
    return PushEvent.objects.filter(
        push=push, from_state=PushState.PUSHING, to_state=PushState.MERGING
    ).count()


def _deploy(push: Push) -> None:
    """Call the deploy hook once per push: claimed first, so a push resumed after it finished
    ships with its answer and never calls it again; one resumed after a crash in the middle
    calls it again under the same key, for the hook to drop."""
    hook = push.branch.repository.deploy_hook.strip()
    key = f"releasebot-push-{push.pk}-deploy"
    error = ""
    # The push's lock lets one run at a time reach here: a claim not done is a dead run's.
    if hook and side_effect_claim(key, stale_after=dt.timedelta(0)):
        error = deploy_hook_call(hook, push, key=key)
        side_effect_done(key, outcome=error)
    elif hook:
        error = side_effect_outcome(key) or ""
    _ship(push, deploy_error=error)


def _ship(push: Push, *, deploy_error: str) -> None:
    """Done: every picked pick of the branch the pushed tag carries is shipped with this push,
    the picks of an earlier push that failed before origin got them included."""
    path = clone_path(push.branch.repository)
    in_tag = set(git.commits_between(path, push.branch.base_sha, push.head_sha))
    with transaction.atomic():
        reason = f"Done; the deploy hook failed: {deploy_error}" if deploy_error else "Done."
        claimed = push_state_move(
            push_id=push.pk,
            to=PushState.DONE,
            from_states=[PushState.DEPLOYING],
            reason=reason,
            finished_at=timezone.now(),
            error=deploy_error,
        )
        if not claimed:
            return
        picked = Pick.objects.filter(branch=push.branch, state=PickState.PICKED)
        ids = [pk for pk, sha in picked.values_list("pk", "result_sha") if sha in in_tag]
        picks_ship(push, ids)
        summary = push_summary(push=push)
        for engineer in _release_engineers():
            notify(engineer=engineer, kind=NotificationKind.PUSH_SUMMARY, text=summary, push=push)
        announce(push=push, text=summary)
