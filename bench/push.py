"""A push of 300 confirmed picks (no test command) beside a plain shell loop of
`git cherry-pick -x` over the same commits, both in this run on copies of the same repository.

Each sample gets a branch of its own cut at the current branch's base, in the managed clone,
and 300 picks of the trunk commits made for it (each changes a different file, so all apply).
The product's figure is the whole `services.push_run` (fetch, worktree, the exactly-once check,
cherry-picks, each pick's record and event, the branch moved, tag, push to the remote, every
pick shipped with its event and notice); its merge phase alone is reported beside it. The
baseline is only the loop, in a plain clone of the remote checked out at the same base. A push
resumed after a crash that left its first pick on the branch is judged against the same loop.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from unittest import mock

from bench.common import Row, branch_with_push, median_p95

BUDGET_RATIO = 1.15  # the whole push (merge, tag, push, ship) against the loop
RESUMED_BUDGET_RATIO = 1.3  # a push resumed after a crash, whole, against the loop
LOOP = 'for c in "$@"; do git cherry-pick -x "$c" >/dev/null || exit 1; done'


def run(data, *, samples: int = 3, profile: Path | None = None) -> tuple[list[Row], dict]:
    """Rows for the report, and the figures behind them (seconds)."""
    shas = data.history.push_shas
    merges, pushes, loops = [], [], []
    for n in range(samples):
        loops.append(shell_loop(data, shas))
        merge, whole = push_once(data, shas, n, profile=profile if n == 0 else None)
        merges.append(merge)
        pushes.append(whole)
    merge, merge_p95 = median_p95(merges)
    loop, _ = median_p95(loops)
    whole, whole_p95 = median_p95(pushes)
    ratio = whole / loop
    picks = len(shas)
    figures = {
        "picks": picks,
        "merge_s": merge,
        "loop_s": loop,
        "push_s": whole,
        "ratio": merge / loop,
        "push_ratio": ratio,
        "merges": merges,
        "loops": loops,
        "pushes": pushes,
    }
    rows = [
        Row(
            name=f"push of {picks} picks, whole `push_run` (merge, tag, push, ship)",
            samples=samples,
            median_ms=whole * 1000,
            p95_ms=whole_p95 * 1000,
            baseline=f"shell loop of `git cherry-pick -x`, {picks} commits",
            baseline_median_ms=loop * 1000,
            budget=f"<= {BUDGET_RATIO} x baseline",
            note="ok" if ratio <= BUDGET_RATIO else "MISSED",
        ),
        Row(
            name=f"push of {picks} picks, merge phase of `push_run` (no test command)",
            samples=samples,
            median_ms=merge * 1000,
            p95_ms=merge_p95 * 1000,
            baseline=f"shell loop of `git cherry-pick -x`, {picks} commits",
            baseline_median_ms=loop * 1000,
            note="(for reference)",
        ),
    ]
    return rows, figures


def run_resumed(data, *, samples: int = 3, profile: Path | None = None) -> list[Row]:
    """Pushes of the same picks, each resumed after a crash that left its first pick on the
    branch and recorded nothing: the branch is asked once (`merge_resumed`) which picks it
    carries, and the rest are merged as a fresh push's. Whole pushes, each beside a loop of
    its own (the machine's load drifts between this and the fresh pushes)."""
    shas = data.history.push_shas
    loops, wholes = [], []
    for n in range(samples):
        loops.append(shell_loop(data, shas))
        push = _crashed(data, shas, f"resumed-{n}")
        wholes.append(_timed_push(push, profile=profile if n == 0 else None)[1])
    whole, whole_p95 = median_p95(wholes)
    loop, _ = median_p95(loops)
    ratio = whole / loop
    return [
        Row(
            name=f"push of {len(shas)} picks resumed after a crash that left its first pick on "
            "the branch, whole `push_run`",
            samples=samples,
            median_ms=whole * 1000,
            p95_ms=whole_p95 * 1000,
            baseline=f"shell loop of `git cherry-pick -x`, {len(shas)} commits",
            baseline_median_ms=loop * 1000,
            budget=f"<= {RESUMED_BUDGET_RATIO} x baseline",
            note="ok" if ratio <= RESUMED_BUDGET_RATIO else "MISSED",
        )
    ]


def _crashed(data, shas: list[str], n: str):
    """A push of `shas` as a run killed after its first pick landed on the branch, before it
    was recorded, leaves it: merging, the first pick's commit on the branch, nothing recorded."""
    from django.utils import timezone

    from pushes import git
    from pushes.choices import PushState
    from pushes.models import Push
    from pushes.services import clone_path

    push = _push(data, shas, n)
    path = clone_path(data.repository)
    base = push.branch.base_sha
    with git.worktree(path, base) as tree:
        first = tree.cherry_pick(shas[0])
    if first.sha is None:
        raise RuntimeError(f"the first pick {shas[0]} did not apply on {base}: {first}")
    git.branch_advance(path, push.branch.name, first.sha, base)
    Push.objects.filter(pk=push.pk).update(state=PushState.MERGING, started_at=timezone.now())
    return push


def shell_loop(data, shas: list[str]) -> float:
    """Seconds of the bash loop in a fresh plain clone at the current branch's base."""
    holder = Path(tempfile.mkdtemp(prefix="loop-", dir=data.root))
    try:
        clone = holder / "clone"
        _git(holder, "clone", "--quiet", "--no-checkout", str(data.remote), str(clone))
        _git(clone, "checkout", "--quiet", "--detach", data.branch.base_sha)
        _git(clone, "config", "user.name", "Loop")
        _git(clone, "config", "user.email", "loop@localhost")
        started = time.perf_counter()
        subprocess.run(["bash", "-c", LOOP, "loop", *shas], cwd=clone, check=True)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def push_once(data, shas: list[str], n: int, *, profile: Path | None = None) -> tuple[float, float]:
    """(merge phase, whole push) seconds of one push of `shas` on a branch of its own."""
    return _timed_push(_push(data, shas, n), profile=profile)


def _timed_push(push, *, profile: Path | None = None) -> tuple[float, float]:
    from django.test.utils import override_settings

    from pushes.choices import PushState
    from pushes.models import Pick

    # The module, not the function `pushes.services` re-exports under the same name.
    push_run_module = importlib.import_module("pushes.services.push_run")
    spent: list[float] = []
    original = push_run_module._merge

    def merge_timed(push) -> None:
        started = time.perf_counter()
        try:
            original(push)
        finally:
            spent.append(time.perf_counter() - started)

    # The merge phase, timed in place for this push and put back after it.
    with (
        mock.patch.object(push_run_module, "_merge", merge_timed),
        override_settings(RELEASEBOT_NOTIFIERS=[]),
    ):
        started = time.perf_counter()
        with _profiled(profile):
            done = push_run_module.push_run(push_id=push.pk)
        whole = time.perf_counter() - started
    states = set(Pick.objects.filter(push=done).values_list("state", flat=True))
    if done.state != PushState.DONE or states != {"shipped"}:
        raise RuntimeError(f"the bench push ended {done.state} {done.error!r} with {states}")
    return spent[0], whole


def _push(data, shas: list[str], n: int | str):
    """A branch of its own at the current branch's base, and a push of `shas`, confirmed."""

    from pushes import git
    from pushes.choices import PickState, PushState
    from pushes.models import Engineer, Pick, Revision
    from pushes.services import clone_path

    name = f"release/bench-push-{n}"
    git.branch_create(clone_path(data.repository), name, data.branch.base_sha)
    push = branch_with_push(data, name, state=PushState.CONFIRMING, due_in_minutes=-1)
    branch = push.branch
    commits = {c.sha: c for c in Revision.objects.filter(repository=data.repository, sha__in=shas)}
    people = list(Engineer.objects.order_by("pk").values_list("pk", flat=True)[: len(shas)])
    Pick.objects.bulk_create(
        [
            Pick(
                branch=branch,
                push=push,
                sha=sha,
                trunk_position=commits[sha].position,
                title=commits[sha].title,
                author_name=commits[sha].author_name,
                author_email=commits[sha].author_email,
                requestor_id=people[i % len(people)],
                reason="Bench",
                state=PickState.CONFIRMED,
                confirmed_at=push.scheduled_at,
            )
            for i, sha in enumerate(shas)
        ]
    )
    return push


@contextlib.contextmanager
def _profiled(out: Path | None):
    if out is None:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(profiler.output_text(unicode=False, color=False, show_all=False))


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args], cwd=cwd, check=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    )
