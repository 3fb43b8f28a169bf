"""Git for Releasebot: the one module that runs git (through GitPython).

Each repository Releasebot manages has a *bare* clone on disk. Trunk is read from
``refs/remotes/origin/<trunk>``; release branches are local ``refs/heads/release/...`` refs that
Releasebot owns and pushes. Work that needs files (cherry-picks, test runs) happens in a detached
worktree in a scratch folder, and a branch moves only by compare-and-swap, so a conflict or a
crash never leaves a branch half-changed.

The functions are pure and path-based: no Django, no state between calls. Every ``Repo`` is
closed on the way out, because GitPython keeps ``git cat-file`` processes alive until it is.
Nothing goes through a shell, names are validated, and user text is kept where git cannot read
it as an option.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, BinaryIO, cast

from git import Repo
from git.cmd import Git
from git.exc import GitCommandNotFound, InvalidGitRepositoryError, NoSuchPathError

logger = logging.getLogger(__name__)

LOCAL_TIMEOUT = 600.0  # a local command on a 100,000-commit repository, with room to spare
NETWORK_TIMEOUT = 1800.0  # clone, fetch or push of a large repository over a slow link
OUTPUT_LIMIT = 200_000  # bytes of a test run's output kept: the end, where failures are
KILL_GRACE = 2.0  # seconds a timed-out command gets between SIGTERM and SIGKILL

# A remote asking for credentials must fail rather than wait for a human who is not there.
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
CLONE_CONFIG = {
    "remote.origin.fetch": "+refs/heads/*:refs/remotes/origin/*",
    "user.name": "Releasebot",
    "user.email": "releasebot@localhost",
    "core.logallrefupdates": "true",  # a reflog of every branch move, for post-mortems
    "fetch.writecommitgraph": "true",  # each fetch that brings commits adds a small graph layer
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHA = re.compile(r"[0-9a-fA-F]{4,64}")
_TRANSPORT_HELPER = re.compile(r"[A-Za-z0-9+.-]+::")  # "ext::sh -c ..." runs commands
_URL_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
_EMPTY_PICK = "previous cherry-pick is now empty"
_LOG_FORMAT = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%cI%x00%B"  # with -z: 7 fields, NUL after each


def _redact(text: str) -> str:
    """Hide the user:token part of URLs: remote URLs may carry credentials."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


class GitError(Exception):
    """A git command failed, or was refused before it ran."""

    def __init__(
        self,
        message: str,
        *,
        command: Sequence[str] = (),
        status: int | None = None,
        stderr: str = "",
    ) -> None:
        self.message = _redact(message)
        self.command = tuple(_redact(str(part)) for part in command)
        self.status = status
        self.stderr = _redact(stderr)
        super().__init__(self.message)

    def __str__(self) -> str:
        text = self.message if self.status is None else f"{self.message} (exit {self.status})"
        detail = "; ".join(line.strip() for line in self.stderr.splitlines() if line.strip())
        return f"{text}: {detail[:500]}" if detail else text


class BranchMoved(GitError):
    """A compare-and-swap found the branch somewhere other than the expected old sha."""


class InvalidName(GitError, ValueError):
    """A branch, tag, sha, revision or URL that Releasebot refuses to hand to git."""


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author_name: str
    author_email: str
    authored_at: datetime
    committed_at: datetime
    title: str
    message: str
    parents: tuple[str, ...]


@dataclass(frozen=True)
class DiffStat:
    lines_added: int
    lines_deleted: int
    files_changed: int
    files: tuple[str, ...]
    binary_files: tuple[str, ...]


@dataclass(frozen=True)
class PickResult:
    """``applied`` with the new HEAD ``sha``; or the conflicting files; or nothing left to pick."""

    applied: bool
    sha: str | None
    conflict_files: tuple[str, ...] = ()
    already_applied: bool = False


@dataclass(frozen=True)
class Containment:
    how: str  # "ancestry" | "trailer" | "patch-id"
    sha: str  # the commit on the branch that carries the change


@dataclass(frozen=True)
class CommandResult:
    exit_code: int | None  # None when the command timed out and was killed
    output: str
    duration: float
    timed_out: bool


# --- running git --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Done:
    status: int
    out: bytes
    err: str

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "replace")


def _argv(args: Sequence[str]) -> list[str]:
    return [Git.GIT_PYTHON_GIT_EXECUTABLE or "git", *args]


@contextmanager
def _open(path: Path | str) -> Iterator[Git]:
    """The command runner of the repository at ``path``; the Repo is closed on exit."""
    try:
        repo = Repo(path)
    except (InvalidGitRepositoryError, NoSuchPathError) as exc:
        raise GitError(f"not a git repository: {path}") from exc
    with repo:
        yield repo.git


def _exec(
    git: Git,
    args: Sequence[str],
    *,
    ok: Sequence[int] | None = (0,),
    timeout: float = LOCAL_TIMEOUT,
    istream: BinaryIO | None = None,
) -> _Done:
    """Run one git command; raise GitError unless its status is in ``ok`` (None: any status)."""
    command = _argv(args)
    try:
        result = git.execute(
            command,
            with_extended_output=True,
            with_exceptions=False,
            stdout_as_string=False,
            strip_newline_in_stdout=False,
            kill_after_timeout=timeout,
            env=GIT_ENV,
            istream=istream,
        )
    except GitCommandNotFound as exc:
        raise GitError("git is not installed", command=command) from exc
    status, out, err = cast(tuple[int, bytes, str], result)
    if ok is not None and status not in ok:
        verb = next((arg for arg in args if not arg.startswith("-")), "")
        raise GitError(f"git {verb} failed", command=command, status=status, stderr=err)
    return _Done(status, out or b"", err or "")


def _stream(git: Git, args: Sequence[str]) -> Generator[bytes, None, None]:
    """Yield a git command's stdout in chunks as it is produced; GitError if it fails.

    Closing the iterator early kills git, so an abandoned walk of a huge history costs nothing.
    """
    command = _argv(args)
    handle = git.execute(command, as_process=True, env=GIT_ENV)  # its __del__ would kill git
    process = handle.proc
    assert process is not None and process.stdout is not None and process.stderr is not None
    out, err = process.stdout, process.stderr
    finished = False
    try:
        yield from iter(lambda: os.read(out.fileno(), 65536), b"")
        finished = True
    finally:
        if not finished:
            process.kill()
        stderr = err.read().decode("utf-8", "replace")
        status = process.wait()
        out.close()
        err.close()
    if status != 0:
        raise GitError(f"git {args[0]} failed", command=command, status=status, stderr=stderr)


# --- validation ---------------------------------------------------------------------------


def _sha(sha: str) -> str:
    if not isinstance(sha, str) or not _SHA.fullmatch(sha):
        raise InvalidName(f"not a commit sha: {sha!r}")
    return sha.lower()


def _rev(rev: str) -> str:
    """A revision git cannot mistake for an option."""
    if not isinstance(rev, str) or not rev or rev.startswith("-") or _CONTROL.search(rev):
        raise InvalidName(f"refusing revision {rev!r}")
    return rev


@lru_cache(maxsize=4096)
def _check_ref(ref: str) -> str:
    """Git's own rules for a full ref name, plus no component that looks like an option."""
    parts = ref.split("/")
    if any(part.startswith("-") for part in parts) or parts[-1] == "HEAD" or _CONTROL.search(ref):
        raise InvalidName(f"refusing ref name {ref!r}")
    # The name starts with "refs/", so check-ref-format cannot read it as an option.
    if _exec(Git(), ["check-ref-format", ref], ok=None).status:
        raise InvalidName(f"refusing ref name {ref!r}")
    return ref


def _branch_ref(branch: str) -> str:
    if not isinstance(branch, str):
        raise InvalidName(f"refusing branch name {branch!r}")
    return _check_ref(f"refs/heads/{branch}")


def _check_url(url: str) -> str:
    if not url or url.startswith("-") or _TRANSPORT_HELPER.match(url) or _CONTROL.search(url):
        raise InvalidName(f"refusing remote URL {url!r}")
    return url


def trunk_ref(trunk: str) -> str:
    """The remote-tracking ref trunk is read from: ``refs/remotes/origin/<trunk>``."""
    return "refs/remotes/origin/" + _branch_ref(trunk).removeprefix("refs/heads/")


# --- refs and commits ---------------------------------------------------------------------


def _resolve(git: Git, rev: str) -> str | None:
    args = ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{_rev(rev)}^{{commit}}"]
    done = _exec(git, args, ok=(0, 1))
    return done.text.strip() or None if done.status == 0 else None


def _commit(git: Git, sha: str) -> str:
    """The full sha of an existing commit given in hex; GitError otherwise."""
    full = _resolve(git, _sha(sha))
    if full is None:
        raise GitError(f"no such commit: {sha}")
    return full


def _is_ancestor(git: Git, sha: str, ref: str) -> bool:
    done = _exec(git, ["merge-base", "--is-ancestor", "--end-of-options", sha, ref], ok=(0, 1))
    return done.status == 0


def rev_parse(path: Path, rev: str) -> str | None:
    """Full sha of the commit ``rev`` names, or None if there is none."""
    with _open(path) as git:
        return _resolve(git, rev)


def branch_head(path: Path, branch: str) -> str | None:
    """Where the local branch ``refs/heads/<branch>`` points, or None if it does not exist."""
    ref = _branch_ref(branch)
    with _open(path) as git:
        return _resolve(git, ref)


def branch_create(path: Path, branch: str, sha: str) -> None:
    """Create ``branch`` at ``sha`` (a cut); a no-op if it is already there, GitError elsewhere."""
    ref = _branch_ref(branch)
    with _open(path) as git:
        new = _commit(git, sha)
        # An empty old value makes update-ref refuse a ref that already exists.
        done = _exec(git, ["update-ref", "-m", "releasebot: cut", ref, new, ""], ok=None)
        current = _resolve(git, ref) if done.status else new
    if current is None:
        raise GitError(f"could not create {branch}", status=done.status, stderr=done.err)
    if current != new:
        raise GitError(f"branch {branch} already exists at {current}")


def branch_move(path: Path, branch: str, sha: str) -> None:
    """Force ``branch`` to ``sha``, wherever it was (for ``latest``)."""
    ref = _branch_ref(branch)
    with _open(path) as git:
        _exec(git, ["update-ref", "-m", "releasebot: move", ref, _commit(git, sha)])


def branch_advance(path: Path, branch: str, new_sha: str, old_sha: str) -> None:
    """Fast-forward ``branch`` from ``old_sha`` to ``new_sha`` by compare-and-swap.

    Raises BranchMoved if the branch is not at ``old_sha``. A branch already at ``new_sha``
    counts as done, so a task that crashed after the move can safely run again.
    """
    ref = _branch_ref(branch)
    with _open(path) as git:
        new, old = _commit(git, new_sha), _commit(git, old_sha)
        if not _is_ancestor(git, old, new):
            raise GitError(f"{new} does not descend from {old}: not advancing {branch}")
        done = _exec(git, ["update-ref", "-m", "releasebot: advance", ref, new, old], ok=None)
        if done.status == 0:
            return
        current = _resolve(git, ref)
    if current == new:
        return
    if current != old:
        raise BranchMoved(f"branch {branch} is at {current}, not {old}", stderr=done.err)
    raise GitError(f"could not advance {branch}", status=done.status, stderr=done.err)


def is_ancestor(path: Path, sha: str, ref: str) -> bool:
    """Whether commit ``sha`` is reachable from ``ref``; GitError if either is unknown."""
    with _open(path) as git:
        return _is_ancestor(git, _sha(sha), _rev(ref))


# --- history ------------------------------------------------------------------------------


def _commit_info(fields: Sequence[bytes]) -> CommitInfo:
    sha, parents, name, email, authored, committed, message = (
        field.decode("utf-8", "replace") for field in fields
    )
    message = message.rstrip("\n")
    return CommitInfo(
        sha=sha,
        author_name=name,
        author_email=email,
        authored_at=datetime.fromisoformat(authored),
        committed_at=datetime.fromisoformat(committed),
        title=message.split("\n", 1)[0].strip(),
        message=message,
        parents=tuple(parents.split()),
    )


def _parse_log(chunks: Iterable[bytes]) -> Iterator[CommitInfo]:
    """Parse ``git log -z --format=_LOG_FORMAT`` output incrementally, chunk by chunk."""
    fields: list[bytes] = []
    pending = b""
    for chunk in chunks:
        *complete, pending = (pending + chunk).split(b"\0")
        for field in complete:
            fields.append(field)
            if len(fields) == 7:
                yield _commit_info(fields)
                fields = []


def commit_info(path: Path, sha: str) -> CommitInfo:
    """Author, dates, message and parents of one commit."""
    with _open(path) as git:
        args = ["log", "-1", "-z", f"--format={_LOG_FORMAT}", "--end-of-options", _sha(sha)]
        return next(_parse_log([_exec(git, args).out]))


def trunk_commits(path: Path, trunk: str, since: str | None = None) -> Iterator[CommitInfo]:
    """Trunk's first-parent history, oldest first, after ``since`` (exclusive).

    One ``git log`` process streams it, so 100,000 commits never sit in memory at once. Names
    are checked now; git's own errors surface while iterating.
    """
    revs = f"{_rev(since)}..{trunk_ref(trunk)}" if since else trunk_ref(trunk)
    args = ["log", "--first-parent", "--reverse", "-z", f"--format={_LOG_FORMAT}"]
    return _log_stream(Path(path), [*args, "--end-of-options", revs])


def _log_stream(path: Path, args: Sequence[str]) -> Iterator[CommitInfo]:
    with _open(path) as git:
        stream = _stream(git, args)
        try:
            yield from _parse_log(stream)
        finally:
            stream.close()  # stops git at once if the caller stops early


def diff_stat(path: Path, sha: str) -> DiffStat:
    """Lines and files a commit changes against its first parent (renames count once)."""
    args = ["show", "--numstat", "-z", "-M", "--format=", "--diff-merges=first-parent"]
    with _open(path) as git:
        out = _exec(git, [*args, "--no-color", "--end-of-options", _sha(sha)]).out
    added = deleted = 0
    files: list[str] = []
    binary: list[str] = []
    parts = iter(out.split(b"\0"))
    for part in parts:
        head = part.lstrip(b"\n")
        if not head:
            continue
        plus, minus, name = head.split(b"\t", 2)
        if not name:  # a rename or copy: "added\tdeleted\t\0source\0destination"
            next(parts)
            name = next(parts)
        file = name.decode("utf-8", "replace")
        files.append(file)
        if plus == b"-":  # git shows "-" for the line counts of a binary file
            binary.append(file)
        else:
            added, deleted = added + int(plus), deleted + int(minus)
    return DiffStat(added, deleted, len(files), tuple(files), tuple(binary))


def commits_touching(path: Path, since: str, until: str, files: Iterable[str]) -> list[str]:
    """Trunk commits in ``since..until`` touching any of ``files``, newest first.

    These are the likely prerequisites of a pick that conflicts on those files.
    """
    paths = list(files)
    if not paths:
        return []
    if any(not isinstance(p, str) or not p or "\0" in p for p in paths):
        raise InvalidName(f"refusing paths {paths!r}")
    span = f"{_rev(since)}..{_rev(until)}"
    # Literal pathspecs: a file named ":(glob)*" is a file, not a pattern.
    args = ["--literal-pathspecs", "log", "--first-parent", "--format=%H", "--end-of-options"]
    with _open(path) as git:
        return _exec(git, [*args, span, "--", *paths]).text.split()


def _patch_ids(git: Git, revs: Sequence[str]) -> list[tuple[str, str]]:
    """(patch-id, commit) for the commits ``revs`` name: ``git log -p | git patch-id``."""
    log_args = ["log", "-p", "--format=commit %H", "--diff-merges=first-parent", "--no-color"]
    log = _stream(git, [*log_args, "--no-ext-diff", "--end-of-options", *revs])
    with tempfile.TemporaryFile() as patches:
        for chunk in log:
            patches.write(chunk)
        patches.seek(0)
        out = _exec(git, ["patch-id", "--stable"], istream=cast(BinaryIO, patches)).text
    return [(patch_id, commit) for patch_id, commit in (line.split() for line in out.splitlines())]


def find_in_branch(path: Path, sha: str, branch: str, base: str) -> Containment | None:
    """How ``branch`` already carries commit ``sha``, if it does.

    By ancestry; else by a ``-x`` trailer on a commit in ``base..branch``; else by a commit
    there with the same patch-id (a pick made without ``-x``). A pick whose context changed has
    another patch-id and is not found.
    """
    ref = _branch_ref(branch)
    with _open(path) as git:
        target = _commit(git, sha)
        head = _resolve(git, ref)
        if head is None:
            raise GitError(f"no such branch: {branch}")
        if _is_ancestor(git, target, head):
            return Containment("ancestry", target)
        span = f"{_rev(base)}..{head}"
        grep = f"--grep=(cherry picked from commit {target})"
        args = ["log", "--format=%H", "--fixed-strings", grep, "--end-of-options", span]
        carriers = _exec(git, args).text.split()
        if carriers:
            return Containment("trailer", carriers[0])
        wanted = {patch_id for patch_id, _ in _patch_ids(git, [f"{target}^!"])}
        if not wanted:  # an empty change has no patch-id to look for
            return None
        for patch_id, carrier in _patch_ids(git, [span]):
            if patch_id in wanted:
                return Containment("patch-id", carrier)
    return None


# --- sync ---------------------------------------------------------------------------------


def _clone(path: Path, remote_url: str) -> None:
    """Bare-clone into a staging folder, then rename: a crash never leaves a half clone."""
    if path.exists() and any(path.iterdir()):
        raise GitError(f"{path} exists and is not a git repository")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        # Config given to clone applies to its own fetch: trunk lands in refs/remotes/origin.
        config = [f"--config={key}={value}" for key, value in CLONE_CONFIG.items()]
        args = ["clone", "--bare", "--quiet", *config, "--", remote_url, str(staging)]
        _exec(Git(str(path.parent)), args, timeout=NETWORK_TIMEOUT)
        if path.exists():
            path.rmdir()
        staging.rename(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _configure(git: Git, remote_url: str) -> None:
    """Write the clone's local config, touching only the keys that differ."""
    listed = _exec(git, ["config", "--local", "--list"]).text.splitlines()
    current: dict[str, list[str]] = {}
    for key, _, value in (line.partition("=") for line in listed):
        current.setdefault(key, []).append(value)
    for key, value in {**CLONE_CONFIG, "remote.origin.url": remote_url}.items():
        if current.get(key) != [value]:
            _exec(git, ["config", "--local", "--replace-all", key, value])


def sync(path: Path, remote_url: str) -> None:
    """Make ``path`` an up-to-date bare clone of ``remote_url``: clone or fetch, then tidy."""
    path = Path(path)
    _check_url(remote_url)
    if not (path / "HEAD").is_file():
        _clone(path, remote_url)  # fetches everything, tags included
        commit_graph_write(path)  # later fetches add their own layer (fetch.writeCommitGraph)
        return
    with _open(path) as git:
        _configure(git, remote_url)
        _worktrees_reap(git)  # worktrees a crash left behind
        # --tags with --prune never prunes tags: push tags not yet on the remote survive.
        args = ["fetch", "--prune", "--tags", "--quiet", "origin"]
        _exec(git, args, timeout=NETWORK_TIMEOUT)


def commit_graph_write(path: Path) -> None:
    """Refresh the commit-graph (a new small layer): ancestry checks drop from ~700 to ~40 ms."""
    with _open(path) as git:
        _exec(git, ["commit-graph", "write", "--reachable", "--split", "--no-progress"])


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

    def run(self, command: str, timeout: float, env: dict[str, str] | None = None) -> CommandResult:
        """Run ``command`` (split like a shell would, but no shell) in this worktree.

        ``env`` is added to the current environment. The command gets its own process group,
        and the whole group is killed when it times out or finishes, so no stray child lives on.
        """
        return run_command(shlex.split(command), self.path, timeout, env)


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
            _exec(git, ["worktree", "add", "--detach", "--quiet", "--", str(checkout), sha])
        yield Worktree(checkout)
    finally:
        _worktree_remove(Path(path), checkout, holder)


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


def _worktrees_reap(git: Git) -> None:
    """Remove the worktrees of processes that died; ``worktree prune`` only forgets missing
    folders, and a killed run's folder is still there, a full checkout each time."""
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
        with _open(path) as git:
            args = ["worktree", "remove", "--force", "--force", "--", str(checkout)]
            removed = checkout.exists() and _exec(git, args, ok=None).status == 0
            shutil.rmtree(holder, ignore_errors=True)
            if not removed:  # git still lists it: forget the folder we just deleted
                _exec(git, ["worktree", "prune"])
    except GitError:
        logger.exception("could not remove worktree %s", checkout)


def dry_run_pick(path: Path, branch: str, sha: str, scratch_dir: Path | None = None) -> PickResult:
    """Whether ``sha`` would pick cleanly onto ``branch``; the branch never moves."""
    head = branch_head(path, branch)
    if head is None:
        raise GitError(f"no such branch: {branch}")
    with worktree(path, head, scratch_dir) as tree:
        return tree.cherry_pick(sha)


# --- running commands ---------------------------------------------------------------------


class _Tail:
    """The last OUTPUT_LIMIT bytes of a stream: a chatty test run must not fill memory."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.dropped = 0
        self.lock = threading.Lock()

    def drain(self, stream: IO[bytes]) -> None:
        for chunk in iter(lambda: os.read(stream.fileno(), 65536), b""):
            with self.lock:
                self.data += chunk
                if len(self.data) > 2 * OUTPUT_LIMIT:
                    self.dropped += len(self.data) - OUTPUT_LIMIT
                    del self.data[:-OUTPUT_LIMIT]

    def text(self) -> str:
        with self.lock:
            kept = bytes(self.data[-OUTPUT_LIMIT:])
            dropped = self.dropped + len(self.data) - len(kept)
        text = kept.decode("utf-8", "replace")
        return f"[... {dropped} bytes of output cut ...]\n{text}" if dropped else text


def _wait_exit(pid: int, deadline: float) -> bool:
    """Wait for ``pid`` to exit without reaping it, so its pid still names its process group."""
    delay = 0.005
    while True:
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): it has exited
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.1)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):  # the whole group is already gone
        os.killpg(pgid, sig)


def run_command(
    argv: Sequence[str], cwd: Path, timeout: float, env: dict[str, str] | None = None
) -> CommandResult:
    """Run ``argv`` in its own process group; kill the group on timeout and when it ends."""
    started = time.monotonic()
    if not argv:
        raise ValueError("empty command")
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:  # like a shell: 127 not found, 126 not runnable
        code = 127 if isinstance(exc, FileNotFoundError) else 126
        output = f"{argv[0]}: {exc.strerror}\n"
        return CommandResult(code, output, time.monotonic() - started, timed_out=False)
    tail = _Tail()
    reader = threading.Thread(target=tail.drain, args=(process.stdout,), daemon=True)
    reader.start()
    timed_out = not _wait_exit(process.pid, started + timeout)
    if timed_out:
        _signal_group(process.pid, signal.SIGTERM)  # a chance to clean up first
        _wait_exit(process.pid, time.monotonic() + KILL_GRACE)
    _signal_group(process.pid, signal.SIGKILL)
    code = process.wait()
    # A grandchild that left the group may still hold the pipe: do not wait for it forever.
    reader.join(KILL_GRACE)
    duration = time.monotonic() - started
    return CommandResult(None if timed_out else code, tail.text(), duration, timed_out)


# --- tags and the remote ------------------------------------------------------------------


def tag_create(path: Path, name: str, sha: str, message: str) -> None:
    """Annotated tag ``name`` at ``sha``; a no-op if it is already there, GitError elsewhere."""
    ref = _check_ref(f"refs/tags/{name}")
    with _open(path) as git:
        target = _commit(git, sha)
        current = _resolve(git, ref)
        if current is None:
            args = ["tag", "--annotate", "-m", message or name, "--end-of-options", name, target]
            done = _exec(git, args, ok=None)
            # Another process may have made it between the two commands: look again.
            current = _resolve(git, ref) if done.status else target
            if current is None:
                raise GitError(f"could not tag {name}", status=done.status, stderr=done.err)
    if current != target:
        raise GitError(f"tag {name} already exists at {current}")


def push(path: Path, refs: list[str]) -> None:
    """Push each ref to the same name on origin, all or nothing.

    A ref prefixed with ``+`` (a branch such as ``+refs/heads/latest``) may move backwards, but
    only if origin still has it where we last fetched it (``--force-with-lease``).
    """
    leases, specs = [], []
    for entry in refs:
        ref = entry.removeprefix("+")
        if not ref.startswith(("refs/heads/", "refs/tags/")):
            raise InvalidName(f"refusing to push {entry!r}")
        _check_ref(ref)
        if entry.startswith("+"):
            if not ref.startswith("refs/heads/"):
                raise InvalidName(f"refusing to force-push {entry!r}")
            leases.append(f"--force-with-lease={ref}")
        specs.append(f"{ref}:{ref}")
    if not specs:
        return
    with _open(path) as git:
        args = ["push", "--atomic", "--quiet", *leases, "origin", *specs]
        _exec(git, args, timeout=NETWORK_TIMEOUT)


def remote_branch_head(path: Path, branch: str) -> str | None:
    """Where origin's ``branch`` points right now (asks the remote), or None."""
    ref = _branch_ref(branch)
    with _open(path) as git:
        args = ["ls-remote", "--heads", "--end-of-options", "origin", ref]
        out = _exec(git, args, timeout=NETWORK_TIMEOUT).text
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        if name == ref:
            return sha
    return None


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

    def result(self) -> PicksResult:
        """Wait for git; the commits it made, and whether it stopped (then undone)."""
        try:
            _, err = self.process.communicate(timeout=LOCAL_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            self._undo()
            raise GitError(f"git cherry-pick of {len(self.shas)} commits timed out") from None
        stopped = self.process.returncode != 0
        if not stopped and len(self.shas) == 1:
            commits: tuple[str, ...] = (_worktree_head(self.tree.path),)
        else:
            git = Git(str(self.tree.path))
            span = ["rev-list", "--reverse", "--end-of-options", f"{self.start}..HEAD"]
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
