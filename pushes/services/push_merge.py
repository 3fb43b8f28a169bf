"""How a push's picks get onto its branch, exactly once: a push no run has touched merges in
few git processes (``merge_fresh``); a resumed one asks the branch once which picks it carries
already (``merge_resumed``: one pass over its trailers and patch-ids) and merges the rest the
same way; a pick the pass cannot settle, or one that comes out empty or conflicting, gets the
full search of ``merge_one``. A pick that conflicts or breaks the tests stays off the branch
and its requestor is told. The merging phase that calls these is ``_merge`` in
pushes.services.push_run.

Nothing reaches the branch that is not approved and confirmed at the moment it is recorded: a
pick is recorded as picked by one conditional update (confirmed -> picked) *before* the branch
moves to its commit, and the branch moves only if that update went through. A withdraw, reject
or defer made during the push takes the pick out of "confirmed" first, so the record fails, the
branch stays where it was, and the push goes on without it. A crash between the record and the
move leaves a recorded pick whose commit the branch lacks; the resumed run applies it then.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Literal

from django.db import transaction
from django.utils import timezone

from common.redact import redact
from pushes import git
from pushes.choices import NotificationKind, PickState, PushStep, TestRunState
from pushes.models import Pick, PickEvent, Push, ReleaseBranch, TestRun
from pushes.services.notifications import karma_suggest, notify
from pushes.services.pick_records import pick_record_picked, picks_record_picked
from pushes.services.transitions import IllegalTransition, pick_transition

LOG_LIMIT = 100_000  # characters of a test log kept in the database: the end


def push_step(*, push_id: int, step: str, pick: Pick | None = None) -> None:
    """Record what the run does now (applying or testing which pick) for the pages that show
    it live: one small UPDATE, committed at once (the merge runs outside any transaction), so
    readers see it while the step lasts."""
    Push.objects.filter(pk=push_id).update(step=step, step_pick=pick, step_at=timezone.now())


def resuming(push: Push, picks: list[Pick], carried: dict[str, str]) -> bool:
    """Whether an earlier run of this push got anywhere: a pick of it on the branch (every
    pick Releasebot makes carries its `-x` trailer), recorded, or under test."""
    if any(pick.sha in carried for pick in picks):
        return True
    done = (PickState.PICKED, PickState.CONFLICT, PickState.TESTS_FAILED)
    return push.picks.filter(state__in=done).exists() or push.test_runs.exists()


CHUNK = 20  # picks one git process applies in turn, when no tests run between them


def merge_fresh(
    push: Push,
    picks: list[Pick],
    tree: git.Worktree,
    path: Path,
    head: str,
    *,
    parents: dict[str, tuple[str, ...]] | None = None,
) -> None:
    """Merge the picks of a push no run has touched, in few git processes.

    Exactly once without a search per pick: the branch is where this run found it and carries
    none of these picks (`resuming`), so a clean cherry-pick is a pick not yet there, and a
    pick that comes out empty or conflicting gets the full search of `merge_one`, which names
    where it already is. git cherry-picks a chunk of picks at a time in the worktree (one pick
    when tests run after each); then the chunk's picks are recorded in one transaction and the
    branch moves by compare-and-swap to the last recorded one's commit, never past a pick not
    recorded, while git already picks the next chunk. A branch moved under the run hands the
    rest to `merge_one`.
    """
    branch = push.branch
    testing = bool(branch.repository.test_command)
    if parents is None:
        parents = _parents(path, picks)
    queue, size = list(picks), 1 if testing else CHUNK
    tip = head  # the worktree's HEAD, where the next chunk starts
    running: tuple[list[Pick], git.PendingPicks] | None = None

    def go_on(at: str) -> None:
        """git starts on the next chunk at `at` (unless it may hold a pick on the branch)."""
        nonlocal running
        if running is None and queue and not _maybe_on_branch(queue[0], branch, parents):
            running = _start(push, tree, queue, parents, at, size)

    try:
        with git.branch_mover(path, branch.name) as move:
            while queue or running:
                go_on(tip)
                if running is None:  # the next pick may be on the branch: it is asked first
                    head = tip = _merge_careful(push, queue.pop(0), tree, path)
                    continue
                chunk, pending = running
                running = None
                # Without tests, git goes on as soon as a chunk made every commit.
                done = pending.result(then=None if testing else go_on)
                applied = list(zip(chunk, done.commits, strict=False))
                failed = chunk[len(applied) :] if done.stopped else []
                if testing and applied:
                    test = tests_run(push, applied[0][0], tree)
                    if test.state != TestRunState.PASSED:
                        tree.reset_hard(head)
                        _tests_failed(push, applied[0][0], test)
                        continue
                tip = applied[-1][1] if applied and not failed else tip
                if not failed:
                    go_on(tip)
                head, landed = _land(applied, head, move)
                if landed < len(applied):
                    # The branch moved under the run, or the pick left CONFIRMED under it:
                    # from here on the branch is asked before each pick.
                    rest = [p for p, _ in applied[landed:]] + failed
                    _carefully(push, rest, running, queue, tree, path)
                    running = None  # cancelled by _carefully
                    return
                if failed:  # empty or conflicting: it may be on the branch already
                    head = tip = _merge_careful(push, failed[0], tree, path)
                    queue[:0] = failed[1:]
    finally:
        if running:
            running[1].cancel()


def _parents(path: Path, picks: list[Pick]) -> dict[str, tuple[str, ...]]:
    """Each pick's revision's parents, in one git call; none when git does not know one of
    them (then each pick's own search says which)."""
    try:
        return git.commit_parents(path, [pick.sha for pick in picks])
    except git.GitError:
        return {}


def _carefully(
    push: Push,
    rest: list[Pick],
    running: tuple[list[Pick], git.PendingPicks] | None,
    queue: list[Pick],
    tree: git.Worktree,
    path: Path,
) -> None:
    """Stop git's work in progress and merge every pick left, asking the branch before each."""
    if running:
        running[1].cancel()
        rest = rest + running[0]
    for later in rest + queue:
        _merge_careful(push, later, tree, path)


def _land(applied: list[tuple[Pick, str]], head: str, move: git.BranchMover) -> tuple[str, int]:
    """Record the applied picks, then move the branch to the last recorded one's commit: the
    picks up to the first that is no longer confirmed (withdrawn, rejected or deferred during
    the push: left out), in one transaction; none if the branch moved under the run (then the
    recorded picks lack their commits on the branch, and `merge_one` applies them again).
    Returns the branch's head and how many landed."""
    landed = picks_record_picked(applied)
    if not landed:
        return head, 0
    commit = applied[landed - 1][1]
    move.send(commit, head)
    if not _moved(move):
        return head, 0
    return commit, landed


def _start(
    push: Push,
    tree: git.Worktree,
    queue: list[Pick],
    parents: dict,
    tip: str,
    size: int,
) -> tuple[list[Pick], git.PendingPicks]:
    """Take up to `size` picks off the queue (as far as none may be on the branch already)
    and start git on them in the worktree."""
    chunk = [queue.pop(0)]
    while queue and len(chunk) < size and not _maybe_on_branch(queue[0], push.branch, parents):
        chunk.append(queue.pop(0))
    merges = any(len(parents[pick.sha]) > 1 for pick in chunk)
    shas = [pick.sha for pick in chunk]
    pending = git.worktree_picks_start(tree, shas, start=tip, merges=merges)
    try:
        push_step(push_id=push.pk, step=PushStep.APPLYING, pick=chunk[0])  # git runs meanwhile
    except BaseException:
        pending.cancel()  # not handed back: no caller would stop it
        raise
    return chunk, pending


def _moved(move: git.BranchMover) -> bool:
    """Whether the move sent went through; False when the branch was not where it was."""
    try:
        move.confirm()
    except git.BranchMoved:
        return False
    return True


def merge_resumed(push: Push, picks: list[Pick], tree: git.Worktree, path: Path, head: str) -> None:
    """Merge the picks of a push an earlier run got somewhere with (`resuming`), each exactly
    once, asking the branch once for all of them rather than once a pick.

    One pass over the branch since the cut (`git.branch_carries`: its commits, `-x` trailers
    and patch-ids) finds each pick it carries already, as `merge_one` would: such a pick is
    recorded where it is. A pick recorded by the run before whose commit the branch lacks is
    applied again. The branch carries none of the others, which is what `merge_fresh` needs:
    they go through it, in trunk order between those. A pick the search cannot settle (a
    revision from before the cut) gets `merge_one`, as in `merge_fresh`.
    """
    branch = push.branch
    parents = _parents(path, picks)
    asked = [pick.sha for pick in picks if not _maybe_on_branch(pick, branch, parents)]
    found = git.branch_carries(path, branch.base_sha, head, asked)
    fresh: list[Pick] = []
    for pick in picks:
        if pick.state == PickState.CONFIRMED and pick.sha not in found:
            fresh.append(pick)
            continue
        if fresh:
            head, fresh = _merge_fresh_at(push, fresh, tree, path, head, parents), []
        if _maybe_on_branch(pick, branch, parents):
            head = _merge_careful(push, pick, tree, path)
            continue
        state = Pick.objects.filter(pk=pick.pk).values_list("state", flat=True).first()
        if state != pick.state:  # moved by a person during the push: their move stands
            continue
        if tree.head() != head:
            tree.reset_hard(head)
        where = found.get(pick.sha)
        if pick.state == PickState.CONFIRMED and where is not None:
            _record(pick, where.sha, f"Found on the branch as {where.sha[:10]} ({where.how}).")
        else:  # recorded by the run before
            _apply_recorded(push, pick, tree, path, head, found=where)
            head = git.branch_tip(path, branch.name)
    if fresh:
        _merge_fresh_at(push, fresh, tree, path, head, parents)


def _merge_fresh_at(
    push: Push, picks: list[Pick], tree: git.Worktree, path: Path, head: str, parents: dict
) -> str:
    """`merge_fresh` from `head`, the worktree put there first; returns the branch's head."""
    if tree.head() != head:
        tree.reset_hard(head)
    merge_fresh(push, picks, tree, path, head, parents=parents)
    return git.branch_tip(path, push.branch.name)


def _merge_careful(push: Push, pick: Pick, tree: git.Worktree, path: Path) -> str:
    """One pick through `merge_one`; returns where the branch is now, the worktree there."""
    merge_one(push, pick, tree, path)
    return git.branch_tip(path, push.branch.name)


def _maybe_on_branch(pick: Pick, branch: ReleaseBranch, parents: dict) -> bool:
    """A pick the branch may hold without a trailer: a revision from before the cut (asked
    for by sha when the index did not know it), or one git does not know as given."""
    if pick.sha not in parents:
        return True
    position, base = pick.trunk_position, branch.base_position
    return position is None or base is None or position <= base


def merge_one(push: Push, pick: Pick, tree: git.Worktree, path: Path) -> None:
    """One pick, asking the branch first: a pick already there is recorded, not applied again.

    The pick is read again first: a move made during the push (withdraw, reject, defer) counts
    for every pick not recorded yet.
    """
    branch = push.branch
    current = Pick.objects.filter(pk=pick.pk).values_list("state", "result_sha").first()
    if current is None or current[0] not in (PickState.CONFIRMED, PickState.PICKED):
        return
    state, result_sha = current
    head = git.branch_tip(path, branch.name)
    if tree.head() != head:
        tree.reset_hard(head)
    if state == PickState.PICKED:
        _apply_recorded(push, pick, tree, path, head)
        return
    found = git.find_in_branch(path, pick.sha, branch.name, branch.base_sha)
    if found:  # pushed to the branch by hand before this push got to it
        _record(pick, found.sha, f"Found on the branch as {found.sha[:10]} ({found.how}).")
        return
    push_step(push_id=push.pk, step=PushStep.APPLYING, pick=pick)
    result = tree.cherry_pick(pick.sha)
    if result.already_applied:
        _record(pick, head, "The change was already on the branch (the pick was empty).")
        return
    if not result.applied or result.sha is None:
        _unless_moved(_conflict, push, pick, result.conflict_files)
        return
    if branch.repository.test_command:
        run = tests_run(push, pick, tree)
        if run.state != TestRunState.PASSED:
            tree.reset_hard(head)
            _unless_moved(_tests_failed, push, pick, run)
            return
    if not pick_record_picked(pick, result.sha):
        tree.reset_hard(head)  # left CONFIRMED while its tests ran: the branch stays as it was
        return
    git.branch_advance(path, branch.name, result.sha, head)


def _apply_recorded(
    push: Push,
    pick: Pick,
    tree: git.Worktree,
    path: Path,
    head: str,
    *,
    found: git.Containment | None | Literal[False] = False,
) -> None:
    """A pick recorded as picked whose commit the branch does not have: the run before died
    between the record and the branch's move, or the branch moved under it. It was confirmed
    when it was recorded, so it goes on the branch now. `found`: where the branch carries it
    (None: nowhere), when the caller searched already."""
    branch = push.branch
    if found is False:
        found = git.find_in_branch(path, pick.sha, branch.name, branch.base_sha)
    if found:
        _repoint(pick, found.sha, f"On the branch as {found.sha[:10]} ({found.how}).")
        return
    result = tree.cherry_pick(pick.sha)
    if result.applied and result.sha:
        git.branch_advance(path, branch.name, result.sha, head)
        _repoint(pick, result.sha, f"Applied as {result.sha[:10]} (the run before stopped).")
    elif result.already_applied:
        _repoint(pick, head, "The change was already on the branch.")
    else:
        tree.reset_hard(head)
        _conflict(push, pick, result.conflict_files)


def _record(pick: Pick, sha: str, reason: str) -> None:
    """Record as picked a pick the branch already carries, if it is still confirmed."""
    _unless_moved(
        pick_transition,
        pick_id=pick.pk,
        to=PickState.PICKED,
        actor=None,
        reason=reason,
        result_sha=sha,
    )


def _repoint(pick: Pick, sha: str, reason: str) -> None:
    with transaction.atomic():
        Pick.objects.filter(pk=pick.pk).update(result_sha=sha, updated_at=timezone.now())
        PickEvent.objects.create(
            pick_id=pick.pk, at=timezone.now(), from_state=PickState.PICKED,
            to_state=PickState.PICKED, reason=reason,
        )  # fmt: skip


def _unless_moved(write: Callable[..., object], *args: object, **kwargs: object) -> None:
    """A write about a pick the push is working on, unless a person moved the pick meanwhile
    (withdrew, rejected, deferred it): then their move stands and the push leaves it."""
    with suppress(IllegalTransition):
        write(*args, **kwargs)


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


LIVE_LOG_LIMIT = 8_000  # characters of a running test's output shown live: the end


def _live_log(run: TestRun) -> Callable[[str], None]:
    """What the running test has printed so far, stored every few seconds while it runs (only
    when it printed more) for the push's pages; the whole log replaces it when it ends."""
    shown = [""]

    def store(output: str) -> None:
        if len(output) > LIVE_LOG_LIMIT:  # whole lines only: a secret cut in two is not found
            output = output[-LIVE_LOG_LIMIT:].partition("\n")[2]
        text = redact(output)
        if text != shown[0]:
            TestRun.objects.filter(pk=run.pk, state=TestRunState.RUNNING).update(log=text)
            shown[0] = text

    return store


def tests_run(push: Push, pick: Pick | None, tree: git.Worktree) -> TestRun:
    repository = push.branch.repository
    push_step(push_id=push.pk, step=PushStep.TESTING, pick=pick)
    run = TestRun.objects.create(
        push=push, pick=pick, command=repository.test_command, started_at=timezone.now()
    )
    try:
        result = tree.run(
            repository.test_command,
            timeout=repository.test_timeout_seconds,
            pass_env=repository.command_env_names,
            on_output=_live_log(run),
        )
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
        state=state, exit_code=code, log=redact(output)[-LOG_LIMIT:], finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run
