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
from pathlib import Path

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from karma.selectors import karma_stars_many
from pushes import cadence, git
from pushes.choices import (
    PUSH_FINISHED_STATES,
    PUSH_RUNNING_STATES,
    BranchState,
    FridayPolicy,
    NotificationKind,
    PickState,
    PushKind,
    PushState,
    Role,
    TestRunState,
)
from pushes.locks import LockTimeout, repository_lock
from pushes.models import Engineer, Pick, PickEvent, Push, ReleaseBranch, TestRun
from pushes.risk import LOW, pick_risk
from pushes.services.notifications import announce, notify
from pushes.services.picks import karma_suggest, pick_transition, push_next
from pushes.services.repositories import clone_path, scratch_dir
from pushes.services.train import WAITING, pick_roll, push_skip, push_skip_reason
from pushes.statuscache import status_changed
from releasebot.errors import Conflict, Forbidden, NotFound

log = logging.getLogger(__name__)

LOG_LIMIT = 100_000  # characters of a test log kept in the database: the end
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
    if push.state in (PushState.SCHEDULED, PushState.CONFIRMING):
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
            Push.objects.filter(
                pk=push.pk, state__in=(PushState.SCHEDULED, PushState.CONFIRMING)
            ).update(state=PushState.MERGING, started_at=timezone.now(), error="")
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
    for pick in push.picks.filter(state__in=WAITING).select_related("branch__repository"):
        pick_roll(pick=pick, actor=None, reason="Not confirmed before the push.")
    picks = list(
        push.picks.filter(state=PickState.CONFIRMED)
        .select_related("requestor__user", "branch__repository", "push")
        .order_by("trunk_position", "pk")
    )
    picks = _friday_careful(push, picks)
    if picks:
        head = git.branch_head(path, branch.name)
        carried = git.branch_picks(path, branch.base_sha, head)
        with git.worktree(path, head, scratch_dir=scratch_dir()) as tree:
            if _resuming(push, picks, carried):
                for pick in picks:
                    _merge_one(push, pick, tree, path)
            else:
                _merge_fresh(push, picks, tree, path, head)
    if push.kind == PushKind.WEEKLY and repository.test_command:
        head = git.branch_head(path, branch.name)
        with git.worktree(path, head, scratch_dir=scratch_dir()) as tree:
            if _test(push, None, tree).state != TestRunState.PASSED:
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


def _resuming(push: Push, picks: list[Pick], carried: dict[str, str]) -> bool:
    """Whether an earlier run of this push got anywhere: a pick of it on the branch (every
    pick Releasebot makes carries its `-x` trailer), recorded, or under test."""
    if any(pick.sha in carried for pick in picks):
        return True
    done = (PickState.PICKED, PickState.CONFLICT, PickState.TESTS_FAILED)
    return push.picks.filter(state__in=done).exists() or push.test_runs.exists()


CHUNK = 20  # picks one git process applies in turn, when no tests run between them


def _merge_fresh(push: Push, picks: list[Pick], tree: git.Worktree, path: Path, head: str) -> None:
    """Merge the picks of a push no run has touched, in few git processes.

    Exactly once without a search per pick: the branch is where this run found it and carries
    none of these picks (`_resuming`), so a clean cherry-pick is a pick not yet there, and a
    pick that comes out empty or conflicting gets the full search of `_merge_one`, which names
    where it already is. git cherry-picks a chunk of picks at a time in the worktree (one pick
    when tests run after each); then, as before, the branch moves by compare-and-swap to each
    pick's commit in turn and each pick is recorded before the branch moves again, while git
    already picks the next chunk. A branch moved under the run hands the rest to `_merge_one`.
    """
    branch = push.branch
    testing = bool(branch.repository.test_command)
    try:
        parents = git.commit_parents(path, [pick.sha for pick in picks])
    except git.GitError:  # a revision git does not know: each pick's own search says which
        parents = {}
    queue, size = list(picks), 1 if testing else CHUNK
    tip = head  # the worktree's HEAD, where the next chunk starts
    running: tuple[list[Pick], git.PendingPicks] | None = None
    try:
        with git.branch_mover(path, branch.name) as move:
            while queue or running:
                if running is None:
                    if _maybe_on_branch(queue[0], branch, parents):
                        head = tip = _merge_careful(push, queue.pop(0), tree, path)
                        continue
                    running = _start(tree, queue, branch, parents, tip, size)
                chunk, pending = running
                running = None
                done = pending.result()
                applied = list(zip(chunk, done.commits, strict=False))
                failed = chunk[len(applied) :] if done.stopped else []
                if testing and applied:
                    test = _test(push, applied[0][0], tree)
                    if test.state != TestRunState.PASSED:
                        tree.reset_hard(head)
                        _tests_failed(push, applied[0][0], test)
                        continue
                tip = applied[-1][1] if applied and not failed else tip
                if queue and not failed and not _maybe_on_branch(queue[0], branch, parents):
                    running = _start(tree, queue, branch, parents, tip, size)  # git goes on
                for n, (pick, commit) in enumerate(applied):
                    move.send(commit, head)
                    if not (_moved(move) and _picked(pick, commit)):
                        # The branch moved under the run, or the pick left CONFIRMED under
                        # it: from here on the branch is asked before each pick.
                        rest = [p for p, _ in applied[n:]] + failed + (running or ([], 0))[0]
                        if running:
                            running[1].cancel()
                            running = None
                        for later in rest + queue:
                            _merge_careful(push, later, tree, path)
                        return
                    head = commit
                if failed:  # empty or conflicting: it may be on the branch already
                    head = tip = _merge_careful(push, failed[0], tree, path)
                    queue[:0] = failed[1:]
    finally:
        if running:
            running[1].cancel()


def _start(
    tree: git.Worktree,
    queue: list[Pick],
    branch: ReleaseBranch,
    parents: dict,
    tip: str,
    size: int,
) -> tuple[list[Pick], git.PendingPicks]:
    """Take up to `size` picks off the queue (as far as none may be on the branch already)
    and start git on them in the worktree."""
    chunk = [queue.pop(0)]
    while queue and len(chunk) < size and not _maybe_on_branch(queue[0], branch, parents):
        chunk.append(queue.pop(0))
    merges = any(len(parents[pick.sha]) > 1 for pick in chunk)
    shas = [pick.sha for pick in chunk]
    return chunk, git.worktree_picks_start(tree, shas, start=tip, merges=merges)


def _moved(move: git.BranchMover) -> bool:
    """Whether the move sent went through; False when the branch was not where it was."""
    try:
        move.confirm()
    except git.BranchMoved:
        return False
    return True


def _merge_careful(push: Push, pick: Pick, tree: git.Worktree, path: Path) -> str:
    """One pick through `_merge_one`; returns where the branch is now, the worktree there."""
    _merge_one(push, pick, tree, path)
    head = git.branch_head(path, push.branch.name)
    if head is None:
        raise git.GitError(f"no such branch: {push.branch.name}")
    return head


def _maybe_on_branch(pick: Pick, branch: ReleaseBranch, parents: dict) -> bool:
    """A pick the branch may hold without a trailer: a revision from before the cut (asked
    for by sha when the index did not know it), or one git does not know as given."""
    if pick.sha not in parents:
        return True
    position, base = pick.trunk_position, branch.base_position
    return position is None or base is None or position <= base


def _picked(pick: Pick, sha: str) -> bool:
    """Record a pick the branch now carries: CONFIRMED -> PICKED with its commit and event,
    what `pick_transition` writes, as one conditional update. False if the pick is no longer
    confirmed (withdrawn under the run, say): then nothing is written."""
    now = timezone.now()
    reason = f"Cherry-picked as {sha[:10]}."
    if connection.vendor == "postgresql" and not connection.settings_dict["OPTIONS"].get(
        "server_side_binding"
    ):
        # One round trip rather than four (BEGIN, UPDATE, INSERT, COMMIT): on a busy machine
        # each waits for the server to be scheduled. Two statements in one simple query run
        # as one transaction; the insert finds the pick only if this update moved it.
        with connection.cursor() as cursor:
            cursor.execute(
                _PICKED_SQL,
                [PickState.PICKED, sha, now, pick.pk, PickState.CONFIRMED,
                 now, PickState.CONFIRMED, PickState.PICKED, reason,
                 pick.pk, PickState.PICKED, sha, now],
            )  # fmt: skip
            cursor.nextset()
            recorded = bool(cursor.fetchall())
        if recorded:
            status_changed()  # raw SQL: no queryset tells the status cache
        return recorded
    with transaction.atomic():
        moved = Pick.objects.filter(pk=pick.pk, state=PickState.CONFIRMED).update(
            state=PickState.PICKED, result_sha=sha, updated_at=now
        )
        if moved:
            PickEvent.objects.create(
                pick_id=pick.pk,
                at=now,
                from_state=PickState.CONFIRMED,
                to_state=PickState.PICKED,
                reason=reason,
            )
    return bool(moved)


_PICKED_SQL = f"""
UPDATE "{Pick._meta.db_table}" SET "state" = %s, "result_sha" = %s, "updated_at" = %s
WHERE "id" = %s AND "state" = %s;
INSERT INTO "{PickEvent._meta.db_table}" ("pick_id", "actor_id", "at", "from_state", "to_state",
    "reason")
SELECT "id", NULL, %s, %s, %s, %s FROM "{Pick._meta.db_table}"
WHERE "id" = %s AND "state" = %s AND "result_sha" = %s AND "updated_at" = %s
RETURNING "pick_id"
""".strip()


def _merge_one(push: Push, pick: Pick, tree: git.Worktree, path: Path) -> None:
    branch = push.branch
    head = git.branch_head(path, branch.name)
    if tree.head() != head:
        tree.reset_hard(head)
    found = git.find_in_branch(path, pick.sha, branch.name, branch.base_sha)
    if found:  # a run before the crash applied it: record it, never apply it again
        pick_transition(
            pick_id=pick.pk,
            to=PickState.PICKED,
            actor=None,
            reason=f"Found on the branch as {found.sha[:10]} ({found.how}).",
            result_sha=found.sha,
        )
        return
    result = tree.cherry_pick(pick.sha)
    if result.already_applied:
        pick_transition(
            pick_id=pick.pk,
            to=PickState.PICKED,
            actor=None,
            reason="The change was already on the branch (the pick was empty).",
            result_sha=head,
        )
        return
    if not result.applied:
        _conflict(push, pick, result.conflict_files)
        return
    if branch.repository.test_command:
        run = _test(push, pick, tree)
        if run.state != TestRunState.PASSED:
            tree.reset_hard(head)
            _tests_failed(push, pick, run)
            return
    git.branch_advance(path, branch.name, result.sha, head)
    pick_transition(
        pick_id=pick.pk,
        to=PickState.PICKED,
        actor=None,
        reason=f"Cherry-picked as {result.sha[:10]}.",
        result_sha=result.sha,
    )


def _conflict(push: Push, pick: Pick, files: tuple[str, ...]) -> None:
    listed = ", ".join(files) or "(git named no file)"
    with transaction.atomic():
        pick_transition(
            pick_id=pick.pk,
            to=PickState.CONFLICT,
            actor=None,
            reason=f"Did not apply on {push.branch.name}: conflicts in {listed}.",
            conflict_files=list(files),
        )
        notify(
            engineer=pick.requestor,
            kind=NotificationKind.CONFLICT,
            text=(
                f"Pick #{pick.pk} ({pick.short_sha} {pick.title}) did not apply on "
                f"{push.branch.name}: conflicts in {listed}. The branch is untouched. Next step: "
                f"prepare a change for {push.branch.name} (or pick its prerequisites first) "
                "and request that."
            ),
            pick=pick,
            push=push,
        )


def _tests_failed(push: Push, pick: Pick, run: TestRun) -> None:
    with transaction.atomic():
        pick_transition(
            pick_id=pick.pk,
            to=PickState.TESTS_FAILED,
            actor=None,
            reason=f"Tests {run.get_state_display().lower()} (test run #{run.pk}); taken back off.",
        )
        notify(
            engineer=pick.requestor,
            kind=NotificationKind.TESTS_FAILED,
            text=(
                f"Pick #{pick.pk} ({pick.short_sha} {pick.title}) broke the tests on "
                f"{push.branch.name} (test run #{run.pk}) and was taken back off. The branch is "
                "as it was before it."
            ),
            pick=pick,
            push=push,
        )
        karma_suggest(pick=pick, what=f"broke the tests on {push.branch.name} (run #{run.pk})")


def _test(push: Push, pick: Pick | None, tree: git.Worktree) -> TestRun:
    repository = push.branch.repository
    run = TestRun.objects.create(
        push=push, pick=pick, command=repository.test_command, started_at=timezone.now()
    )
    try:
        result = tree.run(repository.test_command, timeout=repository.test_timeout_seconds)
    except ValueError as error:  # an unparsable command line
        state, code, output = TestRunState.ERROR, None, f"Cannot run the test command: {error}"
    else:
        code, output = result.exit_code, result.output
        if result.timed_out:
            state = TestRunState.TIMED_OUT
            output += f"\n[timed out after {repository.test_timeout_seconds} s]"
        else:
            state = TestRunState.PASSED if code == 0 else TestRunState.FAILED
    TestRun.objects.filter(pk=run.pk).update(
        state=state, exit_code=code, log=output[-LOG_LIMIT:], finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run


# --- tag, push, deploy, ship --------------------------------------------------------------


def _tag(push: Push) -> None:
    path = clone_path(push.branch.repository)
    head = git.branch_head(path, push.branch.name)
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
    head = git.branch_head(path, branch.name)
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


def _require_release_engineer(actor: Engineer | None) -> None:
    # No actor: an operator at the command line or the beat schedule.
    if actor is not None and not actor.is_release_engineer:
        raise Forbidden("Only release engineers can start a push.")


def push_start_now(*, branch: ReleaseBranch, actor: Engineer | None = None) -> Push:
    """A release engineer's "push now": the branch's next push, queued now; or a new one."""
    _require_release_engineer(actor)
    if branch.state == BranchState.CLOSED:
        raise Conflict(f"{branch.name} is closed: the train moved on.", code="branch-closed")
    now = timezone.now()
    push = (
        Push.objects.filter(branch=branch, state__in=(PushState.SCHEDULED, PushState.CONFIRMING))
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


def push_request_run(*, push_id: int, actor: Engineer | None = None) -> Push:
    """Queue a push to run (or resume) now, in the background; refused when it has finished."""
    _require_release_engineer(actor)
    push = Push.objects.select_related("branch").filter(pk=push_id).first()
    if push is None:
        raise NotFound(f"There is no push #{push_id}.")
    if push.state in PUSH_FINISHED_STATES:
        raise Conflict(
            f"Push {push.label} of {push.branch.name} is {push.get_state_display().lower()}: "
            "there is nothing to run.",
            code="push-finished",
        )
    from pushes.tasks import push_run as push_run_task

    push_run_task.delay_on_commit(push.pk)
    return push


def push_retry(*, push_id: int) -> Push:
    """Send a failed push round again from where it failed (tagged: from the remote push)."""
    push = Push.objects.select_related("branch").get(pk=push_id)
    if push.state != PushState.FAILED:
        raise Conflict(f"Push {push.label} is {push.get_state_display().lower()}, not failed.")
    resume = PushState.PUSHING if push.tag else PushState.MERGING
    Push.objects.filter(pk=push.pk, state=PushState.FAILED).update(
        state=resume, error="", finished_at=None
    )
    return push_run(push_id=push.pk)


__all__ = [
    "push_next",
    "push_rehearse",
    "push_request_run",
    "push_retry",
    "push_run",
    "push_start_now",
    "push_summary",
]
