"""The demo's train in git: three weekly branches cut where trunk was at each Sunday's cut, and
their past pushes made for real: cherry-picks in a worktree, tags, branches moved by
compare-and-swap. The outcome of every pick and push is planned here for the database.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pushes import cadence, git
from pushes.choices import BranchState, PickState, PushKind, PushState, TestRunState
from pushes.demo.history import DemoCommit
from pushes.demo.people import AUTHORS
from pushes.demo.plan import (
    BOT,
    REL,
    BranchPlan,
    PickPlan,
    PushPlan,
    TestPlan,
    TrainPlan,
    failing_log,
    passing_log,
    reason_for,
    timeline,
)
from pushes.models import Repository

PUSH_WINDOW = dt.timedelta(minutes=20)  # a push due this recently is left to the real worker
WEEKS = 3
# Outcomes the story needs, by (branch index, daily push index): who asks, and what happens.
ROLES = {
    (0, 0): ("ship", "carol"),
    (0, 1): ("tests-failed", "carol"),
    (0, 2): ("reverted", "carol"),
    (1, 3): ("tests-failed", "kenji"),
}
# What the push runner records when the remote refuses: the picks stay picked, the tag stays
# local, and "retry" on the push's page sends it round again from the remote push.
PUSH_ERROR = (
    "Pushing failed: git push failed (exit 1): error: cannot lock ref 'refs/heads/{branch}': "
    "Unable to create '{remote}/refs/heads/{branch}.lock': File exists.; "
    "error: failed to push some refs to '{remote}'"
)
APPROVALS = ["", "", "", "Small and reviewed.", "Fixes a live bug; approved.", "Has a test."]
KIND_WEIGHTS = {"fix": 10, "follow-up": 2, "feature": 2, "refactor": 0.5, "docs": 0.5}


@contextmanager
def git_clock(at: dt.datetime) -> Iterator[None]:
    """Make git date the commits and tags it writes `at`, so the demo's history reads true."""
    old = os.environ.get("GIT_COMMITTER_DATE")
    os.environ["GIT_COMMITTER_DATE"] = at.isoformat()
    try:
        yield
    finally:
        if old is None:
            del os.environ["GIT_COMMITTER_DATE"]
        else:
            os.environ["GIT_COMMITTER_DATE"] = old


def _pushes(repository: Repository, name: str, cut: dt.datetime) -> list[PushPlan]:
    """The week's pushes, numbered exactly as `push_schedule` numbers them."""
    moments = [(PushKind.WEEKLY, cadence.ship_moment(repository, cut))]
    moments += [(PushKind.DAILY, m) for m in cadence.daily_push_moments(repository, cut)]
    moments.sort(key=lambda item: item[1])
    per_day: dict[dt.date, int] = {}
    pushes = []
    for kind, moment in moments:
        per_day[moment.date()] = per_day.get(moment.date(), 0) + 1
        pushes.append(PushPlan(name, kind, moment.date(), per_day[moment.date()], moment))
    return pushes


def train_branches(
    repository: Repository, commits: list[DemoCommit], now: dt.datetime
) -> list[BranchPlan]:
    """Two weeks back and this week: each branch based on trunk's head at its Sunday cut."""
    this_cut = cadence.last_cut_slot(repository, now)
    branches = []
    for weeks_back in range(WEEKS - 1, -1, -1):
        day = this_cut.date() - dt.timedelta(days=7 * weeks_back)
        cut = cadence.local_moment(repository, day, repository.cut_time)
        base = [c for c in commits if c.at <= cut][-1]
        name = cadence.branch_name_for(repository, cut)
        pushes = _pushes(repository, name, cut)
        state = BranchState.CLOSED if weeks_back else BranchState.STABILISING
        if not weeks_back and pushes[0].scheduled_at + PUSH_WINDOW <= now:
            state = BranchState.SHIPPED
        branches.append(BranchPlan(name, cut, base, state, pushes, head=base.sha))
    return branches


class TrainWalk:
    """Runs the past pushes of each branch in git and plans every pick of the train."""

    def __init__(
        self, clone: Path, remote: str, commits: list[DemoCommit], now: dt.datetime, scratch: Path
    ):
        self.clone, self.remote, self.commits = clone, remote, commits
        self.now, self.scratch = now, scratch
        self.max_rolls: int = Repository._meta.get_field("max_rolls").get_default()
        self.rng = random.Random(7)
        self.used: dict[str, set[str]] = {}
        self.applied: dict[str, set[str]] = {}
        self.plan = TrainPlan(branches=[])
        self.failed_push: PushPlan | None = None
        self.conflicts = 0

    def modules(self, branch: BranchPlan) -> int:
        """How many modules `run_tests.py` checks on `branch` (as cut; picks rarely add one)."""
        paths = {p for c in self.commits[: branch.base.position + 1] for p in c.files}
        return sum(p.endswith(".py") and p.startswith(("app/", "tests/")) for p in paths)

    def past(self, branch: BranchPlan) -> list[PushPlan]:
        return [p for p in branch.pushes if p.scheduled_at + PUSH_WINDOW <= self.now]

    def run(self, branches: list[BranchPlan]) -> TrainPlan:
        self.plan.branches = branches
        for branch in branches:
            git.branch_create(self.clone, branch.name, branch.base.sha)
        dailies = [p for b in branches for p in self.past(b) if p.is_daily]
        self.failed_push = dailies[-1] if dailies else None
        for index, branch in enumerate(branches):
            self._walk(index, branch)
        return self.plan

    def requestor(self, commit: DemoCommit) -> str:
        author = commit.author.username
        if author != "carol" and self.rng.random() < 0.75:
            return author
        team = [p.username for p in AUTHORS if commit.area in p.areas and p.username != "carol"]
        return self.rng.choice([u for u in team if u != author] or ["alice", "bob"])

    def pool(self, branch: BranchPlan, before: dt.datetime) -> list[DemoCommit]:
        """Trunk commits the branch lacks, landed before `before`, not yet asked for."""
        used = self.used.setdefault(branch.name, set())
        return [
            c
            for c in self.commits
            if c.position > branch.base.position and c.at < before and c.sha not in used
        ]

    def clean(self, branch: BranchPlan, commits: list[DemoCommit]) -> list[DemoCommit]:
        """Those no trunk commit missing from the branch touched the files of: they apply."""
        applied = self.applied.setdefault(branch.name, set())
        between = self.commits[branch.base.position + 1 :]
        return [
            c
            for c in commits
            if not any(
                o.sha not in applied and o.files.keys() & c.files.keys()
                for o in between[: c.position - branch.base.position - 1]
            )
        ]

    def take(
        self, branch: BranchPlan, commit: DemoCommit, requestor: str | None = None
    ) -> PickPlan:
        self.used.setdefault(branch.name, set()).add(commit.sha)
        pick = PickPlan(
            branch.name, commit, requestor or self.requestor(commit), reason_for(self.rng, commit)
        )
        self.plan.picks.append(pick)
        return pick

    def _choose(self, index: int, daily: int, branch: BranchPlan, push: PushPlan) -> list[tuple]:
        rng = self.rng
        pool = self.pool(branch, push.scheduled_at - dt.timedelta(minutes=150))
        chosen: list[tuple[DemoCommit, str, str | None]] = []
        role = ROLES.get((index, daily))
        if role:
            mine = [c for c in pool if c.kind == "fix" and c.author.username == role[1]]
            area = [c for c in pool if c.kind == "fix" and c.area in _areas(role[1])]
            mine, area = self.clean(branch, mine), self.clean(branch, area)
            fixes = self.clean(branch, [c for c in pool if c.kind == "fix"])
            options = mine or area or fixes or self.clean(branch, pool) or pool
            if options:
                commit = rng.choice(options)
                chosen.append((commit, role[0], role[1]))
                pool.remove(commit)
        if not self.conflicts:
            # A follow-up whose original the branch lacks cannot apply: the demo's conflict.
            lacking = {c.position for c in pool}
            follow = [c for c in pool if c.follows in lacking and c.follows > branch.base.position]
            if follow:
                commit = rng.choice(follow)
                original = next(c for c in pool if c.position == commit.follows)
                pool.remove(commit)
                pool.remove(original)
                chosen.append((commit, "conflict", None))
        # The current week's large change is kept for the risk dashboard's open picks.
        weights = dict(KIND_WEIGHTS, big=0 if branch is self.plan.branches[-1] else 0.3)
        pool = [c for c in pool if weights.get(c.kind, 1)]
        for _ in range(min(len(pool), rng.randint(2, 5) - len(chosen) // 2)):
            commit = rng.choices(pool, [weights.get(c.kind, 1) for c in pool])[0]
            pool.remove(commit)
            chosen.append((commit, "ship", None))
        return sorted(chosen, key=lambda item: item[0].position)

    def ask(self, pick: PickPlan, cut: dt.datetime, push: PushPlan) -> None:
        """Requested, approved, asked to confirm and confirmed, before `push`."""
        rng = self.rng
        ask = push.scheduled_at - dt.timedelta(minutes=30)
        start = max(pick.commit.at, cut) + dt.timedelta(minutes=rng.randint(5, 40))
        requested, approved = timeline(rng, start, ask - dt.timedelta(minutes=15), 2)
        pick.move(requested, PickState.REQUESTED, pick.requestor, pick.reason)
        pick.move(approved, PickState.APPROVED, REL, rng.choice(APPROVALS))
        pick.move(ask, PickState.AWAITING_CONFIRMATION, BOT)
        pick.move(
            ask + dt.timedelta(minutes=rng.randint(1, 25)), PickState.CONFIRMED, pick.requestor
        )
        pick.push = push

    def _walk(self, index: int, branch: BranchPlan) -> None:
        past = self.past(branch)
        if not past:
            return
        with git.worktree(self.clone, branch.base.sha, self.scratch) as tree:
            daily = 0
            for push in past:
                chosen = self._choose(index, daily, branch, push) if push.is_daily else []
                daily += push.is_daily
                self._push(branch, push, tree, chosen)

    def _push(self, branch: BranchPlan, push: PushPlan, tree: git.Worktree, chosen: list) -> None:
        started = push.scheduled_at + dt.timedelta(seconds=self.rng.randint(20, 90))
        push.started_at = started
        old = branch.head
        head, clock, reverts = self._merge(branch, push, tree, chosen, started)
        self._finish(branch, push, old, head, clock, reverts)

    def _merge(
        self,
        branch: BranchPlan,
        push: PushPlan,
        tree: git.Worktree,
        chosen: list,
        clock: dt.datetime,
    ) -> tuple[str, dt.datetime, list[PickPlan]]:
        """Each chosen pick onto the branch, as a push would: conflicts and test failures off."""
        rng = self.rng
        head = branch.head
        reverts: list[PickPlan] = []
        for commit, role, requestor in chosen:
            pick = self.take(branch, commit, requestor)
            self.ask(pick, branch.cut_at, push)
            clock += dt.timedelta(seconds=rng.randint(4, 12))
            with git_clock(clock):
                result = tree.cherry_pick(commit.sha)
            if not result.applied:
                self._not_applied(branch, pick, role, result.conflict_files, clock)
                continue
            started, clock = clock, clock + dt.timedelta(seconds=rng.randint(35, 80))
            if role == "tests-failed":
                tree.reset_hard(head)
                log = failing_log(commit, self.modules(branch))
                pick.test = TestPlan(started, clock, TestRunState.FAILED, 1, log)
                reason = "Tests failed (test run #{run}); taken back off."  # numbered when saved
                pick.move(clock, PickState.TESTS_FAILED, BOT, reason)
                continue
            head = pick.result_sha = result.sha or ""
            self.applied.setdefault(branch.name, set()).add(commit.sha)
            pick.test = TestPlan(started, clock, log=passing_log(self.modules(branch)))
            pick.move(clock, PickState.PICKED, BOT, f"Cherry-picked as {head[:10]}.")
            if role == "reverted":
                reverts.append(pick)
        return head, clock, reverts

    def _not_applied(
        self,
        branch: BranchPlan,
        pick: PickPlan,
        role: str,
        files: tuple[str, ...],
        clock: dt.datetime,
    ) -> None:
        if files and (role == "conflict" or not self.conflicts):
            self.conflicts += 1
            pick.conflict_files = list(files)
            reason = f"Did not apply on {branch.name}: conflicts in {', '.join(files)}."
            pick.move(clock, PickState.CONFLICT, BOT, reason)
        else:  # a second conflict, or already on the branch: the demo drops it
            self.plan.picks.remove(pick)

    def _finish(
        self,
        branch: BranchPlan,
        push: PushPlan,
        old: str,
        head: str,
        clock: dt.datetime,
        reverts: list[PickPlan],
    ) -> None:
        """Tag, push (or fail to), ship, and the reverts some picks get later."""
        rng = self.rng
        if not push.is_daily:  # the weekly ship tests the whole branch
            finished = clock + dt.timedelta(seconds=rng.randint(70, 140))
            push.test = TestPlan(clock, finished, log=passing_log(self.modules(branch)))
            clock = push.test.finished_at
        if push is self.failed_push:
            # The remote keeps the branch as it was before this push: push it now, not later.
            git.push(self.clone, [f"refs/heads/{branch.name}"])
            self.plan.unpushed.append(branch.name)
        if head != old:
            git.branch_advance(self.clone, branch.name, head, old)
        branch.head = head
        push.tag, push.head_sha = f"push/{branch.name}/{push.label}", head
        clock = push.tagged_at = clock + dt.timedelta(seconds=2)  # after the last test run
        with git_clock(clock):
            message = f"Releasebot push {push.label} of {branch.name}"
            git.tag_create(self.clone, push.tag, head, message)
        push.finished_at = clock + dt.timedelta(seconds=rng.randint(20, 60))
        if push is self.failed_push:
            push.state = PushState.FAILED
            push.error = PUSH_ERROR.format(branch=branch.name, remote=self.remote)
            return
        self.plan.tags.append(push.tag)
        push.pushed_at = push.finished_at
        push.finished_at += dt.timedelta(seconds=rng.randint(40, 90))  # the deploy
        push.state = PushState.DONE
        for pick in self.plan.picks:
            if pick.push is push and pick.state == PickState.PICKED:
                pick.move(push.finished_at, PickState.SHIPPED, BOT, f"In {push.tag}.")
        for pick in reverts:
            at = min(push.finished_at + dt.timedelta(hours=5), self.now - dt.timedelta(minutes=5))
            reason = (
                f"Reverted: {pick.commit.area} errors tripled after {push.label}; "
                "the fix goes back through trunk."
            )
            pick.move(at, PickState.REVERTED, REL, reason)


def _areas(username: str) -> tuple[str, ...]:
    return next((p.areas for p in AUTHORS if p.username == username), ())
