"""Worktrees for pushes.git: a detached checkout of the managed clone in a scratch folder, for
picks, dry runs and test runs, removed however the block ends; each names the process that
made it, so the worktree of a process that died is reaped at the next sync.

Git does not let two processes add or remove worktrees of one clone at once (a half-made entry
under worktrees/ makes the other fail: "failed to read worktrees/worktree2/commondir"), so those
steps, short ones, take the clone's worktree lock; what runs inside a worktree does not.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shlex
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from git.cmd import Git

from pushes.git.refs import _commit, _resolve, _sha, branch_head
from pushes.git.run import CommandResult, GitError, _exec, _open, run_command

logger = logging.getLogger("pushes.git")  # the package's name, as its log lines always showed

_EMPTY_PICK = "previous cherry-pick is now empty"


@dataclass(frozen=True)
class PickResult:
    """``applied`` with the new HEAD ``sha``; or the conflicting files; or nothing left to pick."""

    applied: bool
    sha: str | None
    conflict_files: tuple[str, ...] = ()
    already_applied: bool = False


# --- worktrees ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Worktree:
    """A detached checkout of the managed clone, for picks and test runs."""

    path: Path

    def head(self) -> str:
        with _open(self.path) as git:
            head = _resolve(git, "HEAD")
        if head is None:
            raise GitError(f"worktree {self.path} has no HEAD")
        return head

    def cherry_pick(self, sha: str) -> PickResult:
        """``git cherry-pick -x`` one commit; a conflict or an empty pick is undone.

        ``already_applied`` means git found nothing left to apply: the change is already here
        (or the commit was empty).
        """
        with _open(self.path) as git:
            args = ["rev-list", "--parents", "-n", "1", "--end-of-options", _sha(sha)]
            target, *parents = _exec(git, args).text.split()
            # A merge is picked as its diff against trunk's side, the first parent.
            mainline = ["-m", "1"] if len(parents) > 1 else []
            done = _exec(git, ["cherry-pick", "-x", *mainline, target], ok=None)
            if done.status == 0:
                return PickResult(applied=True, sha=_resolve(git, "HEAD"))
            if _EMPTY_PICK in done.err or _EMPTY_PICK in done.text:
                _exec(git, ["cherry-pick", "--abort"], ok=None)
                return PickResult(applied=False, sha=None, already_applied=True)
            unmerged = ["diff", "--name-only", "-z", "--diff-filter=U"]
            conflicts = tuple(f for f in _exec(git, unmerged).text.split("\0") if f)
            _exec(git, ["cherry-pick", "--abort"], ok=None)
        if conflicts:
            return PickResult(applied=False, sha=None, conflict_files=conflicts)
        raise GitError("git cherry-pick failed", status=done.status, stderr=done.err)

    def reset_hard(self, sha: str) -> None:
        """Move this worktree's HEAD back (take a pick off); the branch does not move."""
        with _open(self.path) as git:
            _exec(git, ["reset", "--hard", "--quiet", _commit(git, sha)])

    def run(
        self,
        command: str,
        timeout: float,
        env: dict[str, str] | None = None,
        pass_env: Sequence[str] = (),
        on_output: Callable[[str], None] | None = None,
    ) -> CommandResult:
        """Run ``command`` (split like a shell would, but no shell) in this worktree.

        It gets a clean environment (``run.command_env``): PATH, HOME, locale, TZ, the
        variables named in ``pass_env``, then ``env``. The command gets its own process group,
        and the whole group is killed when it times out or finishes, so no stray child lives on.
        """
        return run_command(shlex.split(command), self.path, timeout, env, pass_env, on_output)


@contextmanager
def worktree(path: Path, ref: str, scratch_dir: Path | None = None) -> Iterator[Worktree]:
    """A detached worktree at ``ref``, removed on exit however the block ends."""
    if scratch_dir is not None:
        Path(scratch_dir).mkdir(parents=True, exist_ok=True)
    holder = Path(tempfile.mkdtemp(prefix="releasebot-", dir=scratch_dir))
    checkout = holder / "worktree"
    (holder / _OWNER).write_text(_owner(os.getpid()))
    try:
        with _open(path) as git:
            sha = _resolve(git, ref)
            if sha is None:
                raise GitError(f"no such commit: {ref}")
            with worktrees_lock(path):
                _exec(git, ["worktree", "add", "--detach", "--quiet", "--", str(checkout), sha])
        yield Worktree(checkout)
    finally:
        _worktree_remove(Path(path), checkout, holder)


@contextmanager
def worktrees_lock(path: Path) -> Iterator[None]:
    """The clone's lock on adding and removing worktrees: a file lock, since a clone is one
    host's (each host keeps its own). Held for one git command at a time."""
    with open(Path(path) / "releasebot-worktrees.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# A worktree's holder folder names the process that made it, so a worktree left by a process
# that died (a SIGKILLed worker: no `finally` ran) can be told from one still in use.
_OWNER = "owner"


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of process ``pid`` from /proc, or None when it has no entry."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return fields[0], fields[19]  # fields 3 and 22 of proc(5): state, starttime


def _owner(pid: int) -> str:
    """``host pid start``: the start time tells a live process from a later one with its pid."""
    stat = _proc_stat(pid)
    return f"{socket.gethostname()} {pid} {stat[1] if stat else ''}"


def _owner_gone(holder: Path) -> bool:
    """Whether the process that made the worktree in ``holder`` has died; False when unsure."""
    try:
        host, pid, start = (holder / _OWNER).read_text().split(" ")
    except (OSError, ValueError):
        return False  # not ours, or made before owners were written
    if host != socket.gethostname():
        return False  # another machine or container sharing the folder: not ours to judge
    if not start:  # no /proc here: all we can ask is whether the pid exists
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        return False
    stat = _proc_stat(int(pid))
    # Gone; a zombie (killed with its parent, never reaped); or its pid now another process's.
    return stat is None or stat[0] in ("Z", "X") or stat[1] != start


def _worktrees_reap(git: Git, path: Path) -> None:
    """Remove the worktrees of processes that died; ``worktree prune`` only forgets missing
    folders, and a killed run's folder is still there, a full checkout each time."""
    with worktrees_lock(path):
        _worktrees_reap_locked(git)


def _worktrees_reap_locked(git: Git) -> None:
    listed = _exec(git, ["worktree", "list", "--porcelain", "-z"]).text.split("\0")
    paths = [Path(line[len("worktree ") :]) for line in listed if line.startswith("worktree ")]
    for checkout in paths[1:]:  # the first is the clone itself
        if _owner_gone(checkout.parent):
            logger.warning("removing worktree %s: the process that made it died", checkout)
            _exec(git, ["worktree", "remove", "--force", "--force", "--", str(checkout)], ok=None)
            shutil.rmtree(checkout.parent, ignore_errors=True)
    _exec(git, ["worktree", "prune"])


def _worktree_remove(path: Path, checkout: Path, holder: Path) -> None:
    # Best effort: a failure here must not hide the exception that ended the block.
    try:
        with _open(path) as git, worktrees_lock(path):
            args = ["worktree", "remove", "--force", "--force", "--", str(checkout)]
            removed = checkout.exists() and _exec(git, args, ok=None).status == 0
            shutil.rmtree(holder, ignore_errors=True)
            if not removed:  # git still lists it: forget the folder we just deleted
                _exec(git, ["worktree", "prune"])
    except GitError:
        logger.exception("could not remove worktree %s", checkout)


def dry_run_pick(
    path: Path, branch: str, sha: str, scratch_dir: Path | None = None, *, at: str | None = None
) -> PickResult:
    """Whether ``sha`` would pick cleanly onto ``branch`` (at commit ``at`` when given, such as
    origin's tip of it); the branch never moves."""
    head = at or branch_head(path, branch)
    if head is None:
        raise GitError(f"no such branch: {branch}")
    with worktree(path, head, scratch_dir) as tree:
        return tree.cherry_pick(sha)
