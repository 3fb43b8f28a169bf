"""After a fault: do git and the database agree?

`assert_consistent(branch, remote)` asks git (the managed clone and the remote) and the
database the same questions and fails with every disagreement it finds:

- each pick PICKED, SHIPPED or REVERTED is on the branch exactly once, as the commit its row
  names, carrying its ``(cherry picked from commit …)`` trailer; no pick is on it twice;
- the branch holds nothing else after the cut, and no pick in another state is on it;
- each finished push is tagged at its ``head_sha`` in the clone and on the remote; after a
  done push the remote branch is where the clone's is, and a failed one told release engineers;
- the pick's recorded history is one unbroken chain ending in its state, with no move twice;
- nobody was told twice: one confirmation request per pick and push, one "shipped" per pick,
  one summary per push and release engineer;
- nothing is left running: no open test run, no worktree besides the clone, no scratch folder.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

from django.conf import settings

from pushes.choices import NotificationKind, PickState, PushState, Role, TestRunState
from pushes.models import Engineer, Notification, Pick, PickEvent, Push, ReleaseBranch, TestRun
from pushes.services import clone_path
from tests.repos import git, hermetic_env

TRAILER = re.compile(r"^\(cherry picked from commit ([0-9a-f]{40})\)$", re.MULTILINE)
ON_BRANCH = (PickState.PICKED, PickState.SHIPPED, PickState.REVERTED)


def branch_commits(repo: Path, branch: str, base: str) -> list[tuple[str, list[str]]]:
    """(commit, the trunk shas its trailers name) for each commit in base..branch, oldest first."""
    out = git(repo, "log", "--reverse", "-z", "--format=%H%n%B", f"{base}..refs/heads/{branch}")
    commits = []
    for entry in filter(None, (e.strip("\n") for e in out.split("\0"))):
        sha, _, message = entry.partition("\n")
        commits.append((sha, TRAILER.findall(message)))
    return commits


def is_ancestor(repo: Path, sha: str, of: str) -> bool:
    args = ["git", "merge-base", "--is-ancestor", sha, of]
    return subprocess.run(args, cwd=repo, env=hermetic_env(), capture_output=True).returncode == 0


def ref(repo: Path, name: str) -> str | None:
    out = git(repo, "for-each-ref", "--format=%(objectname) %(*objectname)", name).split()
    return out[-1] if out else None  # a tag: the commit it points to


def problems(branch: ReleaseBranch, remote: Path) -> list[str]:
    """Every disagreement between git and the database about ``branch``; empty when none."""
    branch.refresh_from_db()
    clone = clone_path(branch.repository)
    found: list[str] = []
    commits = branch_commits(clone, branch.name, branch.base_sha)
    carried = Counter(sha for _, trailers in commits for sha in trailers)
    for commit, trailers in commits:
        if len(trailers) != 1:
            found.append(f"{commit[:10]} on {branch.name} carries trailers {trailers}")
    for sha, times in carried.items():
        if times > 1:
            found.append(f"{sha[:10]} was picked onto {branch.name} {times} times")
    picks = list(Pick.objects.filter(branch=branch))
    by_sha = {p.sha: p for p in picks if p.state in ON_BRANCH}
    commit_of = {trailers[0]: commit for commit, trailers in commits if len(trailers) == 1}
    for pick in picks:
        on = pick.sha in carried
        if pick.state in ON_BRANCH and not on:
            found.append(f"pick #{pick.pk} is {pick.state}; {pick.short_sha} is not on the branch")
        if pick.state in ON_BRANCH and on and commit_of.get(pick.sha) != pick.result_sha:
            found.append(f"pick #{pick.pk} names {pick.result_sha[:10]} as its commit")
        if pick.state not in ON_BRANCH and on:
            found.append(f"pick #{pick.pk} is {pick.state} but {pick.short_sha} is on the branch")
    for sha in carried:
        if sha not in by_sha:
            found.append(f"{sha[:10]} is on the branch with no picked pick for it")
    found += _push_problems(branch, clone, remote)
    found += _history_problems(picks)
    found += _notice_problems(branch)
    found += _leftovers(branch, clone)
    return found


def _push_problems(branch: ReleaseBranch, clone: Path, remote: Path) -> list[str]:
    found = []
    pushes = list(Push.objects.filter(branch=branch).order_by("scheduled_at", "pk"))
    release_engineers = Engineer.objects.filter(role=Role.RELEASE_ENGINEER).count()
    for push in pushes:
        if push.state == PushState.DONE:
            for repo, where in ((clone, "clone"), (remote, "remote")):
                at = ref(repo, f"refs/tags/{push.tag}")
                if at != push.head_sha:
                    found.append(f"tag {push.tag} is at {at} in the {where}, not {push.head_sha}")
            shipped = push.picks.filter(state__in=(PickState.SHIPPED, PickState.REVERTED))
            for pick in shipped:
                if not is_ancestor(clone, pick.result_sha, push.head_sha):
                    found.append(f"pick #{pick.pk} shipped in {push.tag} but is not in it")
            if push.picks.filter(state=PickState.PICKED).exists():
                found.append(f"push {push.label} is done with picks still only picked")
        if push.state == PushState.FAILED:
            told = Notification.objects.filter(push=push, kind=NotificationKind.PUSH_FAILED)
            if told.count() < release_engineers:
                found.append(f"push {push.label} failed and release engineering was not told")
    done = [p for p in pushes if p.state == PushState.DONE]
    last = pushes[-1] if pushes else None
    if done and last is not None and last.state == PushState.DONE:
        clone_head = ref(clone, f"refs/heads/{branch.name}")
        remote_head = ref(remote, f"refs/heads/{branch.name}")
        if not clone_head == remote_head == last.head_sha:
            found.append(
                f"after push {last.label}: clone at {clone_head}, remote at {remote_head}, "
                f"database at {last.head_sha}"
            )
    return found


def _history_problems(picks: list[Pick]) -> list[str]:
    found = []
    events = PickEvent.objects.filter(pick__in=picks).order_by("at", "pk")
    by_pick: dict[int, list[PickEvent]] = {}
    for event in events:
        by_pick.setdefault(event.pick_id, []).append(event)
    for pick in picks:
        chain = by_pick.get(pick.pk, [])
        for before, after in zip(chain, chain[1:], strict=False):
            if after.from_state != before.to_state:
                found.append(
                    f"pick #{pick.pk} history breaks: {before.to_state} then "
                    f"{after.from_state} -> {after.to_state}"
                )
        if chain and chain[-1].to_state != pick.state:
            found.append(f"pick #{pick.pk} is {pick.state}, its history ends {chain[-1].to_state}")
        # A repoint (picked -> picked: the pick applied again where its commit was lost, on a
        # host that never had it) says where the pick is now; it is not a move.
        moves = Counter(e.to_state for e in chain if e.from_state != e.to_state)
        for state in (PickState.PICKED, PickState.SHIPPED, PickState.CONFIRMED):
            if moves[state] > 1:
                found.append(f"pick #{pick.pk} moved to {state} {moves[state]} times")
    return found


def _notice_problems(branch: ReleaseBranch) -> list[str]:
    found = []
    notices = Notification.objects.filter(pick__branch=branch) | Notification.objects.filter(
        push__branch=branch
    )
    once_per = {
        NotificationKind.CONFIRM: ("engineer_id", "pick_id", "push_id"),
        NotificationKind.SHIPPED: ("engineer_id", "pick_id"),
        NotificationKind.CONFLICT: ("engineer_id", "pick_id"),
        NotificationKind.TESTS_FAILED: ("engineer_id", "pick_id"),
        NotificationKind.PUSH_SUMMARY: ("engineer_id", "push_id"),
        NotificationKind.PUSH_FAILED: ("engineer_id", "push_id"),
    }
    for kind, key in once_per.items():
        counts = Counter(notices.filter(kind=kind).values_list(*key))
        for who, times in counts.items():
            if times > 1:
                to = dict(zip(key, who, strict=True))
                found.append(f"{kind} notice sent {times} times to {to}")
    return found


def _leftovers(branch: ReleaseBranch, clone: Path) -> list[str]:
    found = []
    running = TestRun.objects.filter(push__branch=branch, state=TestRunState.RUNNING)
    if running.exists():
        found.append(f"{running.count()} test runs still marked running")
    listed = git(clone, "worktree", "list", "--porcelain").count("worktree ")
    if listed != 1:
        found.append(f"{listed - 1} worktrees left in the managed clone")
    scratch = Path(settings.DATA_DIR) / "worktrees"
    left = sorted(p.name for p in scratch.iterdir()) if scratch.exists() else []
    if left:
        found.append(f"scratch folders left behind: {left}")
    return found


def assert_consistent(branch: ReleaseBranch, remote: Path) -> None:
    found = problems(branch, remote)
    assert not found, "git and the database disagree:\n- " + "\n- ".join(found)
