"""A push's merge loop for pushes.git, in few git processes: the ``-x`` trailers and parents
of many commits in one git call each, ``git cherry-pick -x`` of several commits in one process
that runs while the caller works (``worktree_picks_start``, ``PendingPicks``), and
compare-and-swap branch moves through one long-lived ``git update-ref --stdin``
(``branch_mover``).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from git.cmd import Git

from pushes.git.history import Containment, _patch_ids
from pushes.git.refs import _branch_ref, _resolve, _sha, branch_advance, branch_head
from pushes.git.run import (
    GIT_ENV,
    LOCAL_TIMEOUT,
    BranchMoved,
    GitError,
    InvalidName,
    _argv,
    _exec,
    _open,
)
from pushes.git.worktrees import Worktree

# --- a push's merge loop, in few git processes ----------------------------------------------
# A push of 300 picks must cost about what 300 `git cherry-pick -x` in a shell cost. Each git
# process costs a few milliseconds, about a quarter of a pick, so the loop starts one per pick
# (the cherry-pick itself); the rest is asked once per push or kept in one long-lived process.

_PICKED_FROM = re.compile(r"\(cherry picked from commit ([0-9a-f]{40}|[0-9a-f]{64})\)")
_FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def branch_picks(path: Path, base: str, head: str) -> dict[str, str]:
    """The commits the ``-x`` trailers in ``base..head`` name, each with the newest commit on
    the branch that carries it: the trailer half of ``find_in_branch`` for a whole push, in
    one ``git log``."""
    span = f"{_sha(base)}..{_sha(head)}"
    with _open(path) as git:
        fields = _exec(git, ["log", "-z", "--format=%H%x00%B", "--end-of-options", span]).text
    parts = fields.split("\0")
    carried: dict[str, str] = {}
    for commit, message in zip(parts[0::2], parts[1::2], strict=False):
        for picked in _PICKED_FROM.findall(message):
            carried.setdefault(picked, commit.strip())
    return carried


def branch_carries(path: Path, base: str, head: str, shas: Sequence[str]) -> dict[str, Containment]:
    """How the branch at ``head`` already carries each of ``shas`` (commits after its cut
    ``base``), for those it does: ``find_in_ref`` for many commits in one pass over
    ``base..head`` rather than one search each. By ancestry (the commit is in ``base..head``),
    else by the newest commit there whose ``-x`` trailer names it, else by the newest commit
    there with its stable patch-id (an empty change has none). Four git processes at most,
    whatever the number of commits: a ``git log`` of the trailers, and ``git log -p`` piped
    to ``git patch-id`` for the branch and for the commits not found otherwise."""
    targets = [_sha(sha) for sha in shas]
    span = f"{_sha(base)}..{_sha(head)}"
    found: dict[str, Containment] = {}
    with _open(path) as git:
        fields = _exec(git, ["log", "-z", "--format=%H%x00%B", "--end-of-options", span]).text
        parts = fields.split("\0")
        on_branch = {commit.strip() for commit in parts[0::2]} - {""}
        carried: dict[str, str] = {}
        for commit, message in zip(parts[0::2], parts[1::2], strict=False):
            for picked in _PICKED_FROM.findall(message):
                carried.setdefault(picked, commit.strip())
        for target in targets:
            if target in on_branch:
                found[target] = Containment("ancestry", target)
            elif target in carried:
                found[target] = Containment("trailer", carried[target])
        rest = [target for target in targets if target not in found]
        if not (rest and on_branch):
            return found
        carriers: dict[str, str] = {}
        for patch_id, carrier in _patch_ids(git, [span]):  # newest first, as `git log` lists
            carriers.setdefault(patch_id, carrier)
        if not carriers:
            return found
        for patch_id, target in _patch_ids(git, rest, walk=False):
            if patch_id in carriers:
                found.setdefault(target, Containment("patch-id", carriers[patch_id]))
    return found


def commit_parents(path: Path, shas: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Each commit's parents, for many commits in one ``git rev-list``; keys are full shas."""
    if not shas:
        return {}
    names = "".join(f"{_sha(sha)}\n" for sha in shas).encode()
    with _open(path) as git, tempfile.TemporaryFile() as listed:
        listed.write(names)
        listed.seek(0)
        args = ["rev-list", "--no-walk=unsorted", "--parents", "--stdin"]
        out = _exec(git, args, istream=cast(BinaryIO, listed)).text
    parents = {}
    for line in out.splitlines():
        commit, *rest = line.split()
        parents[commit] = tuple(rest)
    return parents


@dataclass(frozen=True)
class PicksResult:
    """What ``worktree_picks_start`` made: a commit for each of the first picks, in order,
    and whether git stopped before the end (a conflict, an empty pick or an error, on the
    pick after the last commit). A stopped sequence is undone in the worktree; its commits
    stay in the repository."""

    commits: tuple[str, ...]
    stopped: bool
    stderr: str = ""


def worktree_picks_start(
    tree: Worktree, shas: Sequence[str], *, start: str, merges: bool = False
) -> PendingPicks:
    """``git cherry-pick -x`` of several commits, in the order given, in one git process, on
    the worktree's HEAD (which is ``start``). Returns at once, so the caller can do other work
    (move the branch, write to its database) while git picks; ``result()`` waits for it.
    ``merges``: some of them are merges, picked as their diff against the first parent."""
    targets = [_sha(sha) for sha in shas]
    if not targets or not all(_FULL_SHA.fullmatch(t) for t in [*targets, _sha(start)]):
        raise InvalidName(f"not full commit shas: {list(shas)!r}, {start!r}")
    mainline = ["-m", "1"] if merges else []
    # English messages, as GitPython asks for: an empty pick is told by git's words.
    env = {**os.environ, **GIT_ENV, "LANGUAGE": "C", "LC_ALL": "C"}
    try:
        process = subprocess.Popen(
            _argv(["cherry-pick", "-x", *mainline, "--end-of-options", *targets]),
            cwd=tree.path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed") from exc
    return PendingPicks(tree, tuple(targets), _sha(start), process)


class PendingPicks:
    """A ``git cherry-pick -x`` of one or more commits running in a worktree."""

    def __init__(
        self, tree: Worktree, shas: tuple[str, ...], start: str, process: subprocess.Popen[bytes]
    ) -> None:
        self.tree, self.shas, self.start, self.process = tree, shas, start, process

    def result(self, *, then: Callable[[str], object] | None = None) -> PicksResult:
        """Wait for git; the commits it made, and whether it stopped (then undone). ``then``
        is called with the worktree's new HEAD once git made every commit, before they are
        listed: the caller may start git on the next picks there meanwhile."""
        try:
            _, err = self.process.communicate(timeout=LOCAL_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            self._undo()
            raise GitError(f"git cherry-pick of {len(self.shas)} commits timed out") from None
        stopped = self.process.returncode != 0
        tip = "HEAD" if stopped else _worktree_head(self.tree.path)
        if then is not None and not stopped:
            then(tip)
        if not stopped and len(self.shas) == 1:
            commits: tuple[str, ...] = (tip,)
        else:
            git = Git(str(self.tree.path))
            span = ["rev-list", "--reverse", "--end-of-options", f"{self.start}..{tip}"]
            commits = tuple(_exec(git, span).text.split())
        if stopped:
            self._undo()
        return PicksResult(commits, stopped, err.decode("utf-8", "replace"))

    def cancel(self) -> None:
        """Let git finish, then undo whatever it did in the worktree (the caller gives these
        picks up; killing git could leave the worktree locked)."""
        with suppress(GitError):
            self.result()
        self._undo()

    def _undo(self) -> None:
        git = Git(str(self.tree.path))
        _exec(git, ["cherry-pick", "--abort"], ok=None)  # nothing to abort: a no-op
        _exec(git, ["reset", "--hard", "--quiet", self.start], ok=None)


def _worktree_head(checkout: Path) -> str:
    """A detached worktree's HEAD from its HEAD file: a linked worktree's ``.git`` names its
    folder in the clone (gitrepository-layout), and a detached HEAD there is the bare sha.
    Anything else (a symbolic HEAD, another ref storage) is asked of git."""
    try:
        gitdir = Path((checkout / ".git").read_text().removeprefix("gitdir:").strip())
        head = (checkout / gitdir / "HEAD").read_text().strip()
    except OSError:
        head = ""
    if _FULL_SHA.fullmatch(head):
        return head
    with _open(checkout) as git:
        resolved = _resolve(git, "HEAD")
    if resolved is None:
        raise GitError(f"worktree {checkout} has no HEAD")
    return resolved


class BranchMover:
    """Compare-and-swap moves of one branch, each its own ref transaction, through one
    long-lived ``git update-ref --stdin`` (``with branch_mover(...) as move: move(new, old)``).

    For a caller that made ``new`` on top of ``old`` itself, so the ancestry check of
    ``branch_advance`` is known to hold. ``send`` asks for a move and ``confirm`` waits for
    git's answer, so the caller can start its next piece of work in between. A branch not at
    ``old`` raises BranchMoved, as ``branch_advance`` does, and ends the process: later moves
    go through ``branch_advance``.
    """

    def __init__(self, path: Path, branch: str) -> None:
        self.path = Path(path)
        self.branch = branch
        self.ref = _branch_ref(branch)
        self.process: subprocess.Popen[str] | None = None
        self.sent: tuple[str, str] | None = None

    def __call__(self, new_sha: str, old_sha: str) -> None:
        self.send(new_sha, old_sha)
        self.confirm()

    def send(self, new_sha: str, old_sha: str) -> None:
        new, old = _sha(new_sha), _sha(old_sha)
        if not (_FULL_SHA.fullmatch(new) and _FULL_SHA.fullmatch(old)):
            raise InvalidName(f"not full commit shas: {new_sha!r}, {old_sha!r}")
        if self.sent is not None:
            raise RuntimeError("confirm the last move before sending another")
        self.sent = (new, old)
        if self.process is not None and self.process.stdin is not None:
            with suppress(OSError):  # git ended: confirm() finds out why
                self.process.stdin.write(f"start\nupdate {self.ref} {new} {old}\ncommit\n")
                self.process.stdin.flush()

    def confirm(self) -> None:
        if self.sent is None:
            raise RuntimeError("no move was sent")
        (new, old), self.sent = self.sent, None
        if self.process is None:
            branch_advance(self.path, self.branch, new, old)
            return
        stdout = self.process.stdout
        assert stdout is not None
        try:
            answer = stdout.readline() + stdout.readline()
        except OSError:
            answer = ""
        if answer == "start: ok\ncommit: ok\n":
            return
        stderr = self.close()
        current = branch_head(self.path, self.branch)
        if current == new:
            return
        if current != old:
            raise BranchMoved(f"branch {self.branch} is at {current}, not {old}", stderr=stderr)
        raise GitError(f"could not advance {self.branch}", stderr=stderr)

    def open(self) -> BranchMover:
        command = _argv(["update-ref", "-m", "releasebot: advance", "--stdin"])
        self.process = subprocess.Popen(
            command,
            cwd=self.path,
            env={**os.environ, **GIT_ENV},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return self

    def close(self) -> str:
        """End the process (nothing is pending between moves); returns what it said on stderr."""
        process, self.process = self.process, None
        if process is None:
            return ""
        try:
            _, stderr = process.communicate(timeout=LOCAL_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
        return stderr or ""


@contextmanager
def branch_mover(path: Path, branch: str) -> Iterator[BranchMover]:
    """A ``BranchMover`` for ``branch``; its git process ends with the block."""
    mover = BranchMover(path, branch).open()
    try:
        yield mover
    finally:
        mover.close()
