"""History for pushes.git: one commit's details and diff stat, trunk's first-parent history
streamed oldest first (and what each merge brought beside it), the trunk commits touching some
files, and how a branch already carries a commit (by ancestry, a ``-x`` trailer, or patch-id).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, cast

from git.cmd import Git

from pushes.git.refs import _branch_ref, _commit, _is_ancestor, _resolve, _rev, _sha, trunk_ref
from pushes.git.run import GitError, InvalidName, _exec, _open, _stream

_LOG_FORMAT = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%cI%x00%B"  # with -z: 7 fields, NUL after each


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
class Containment:
    how: str  # "ancestry" | "trailer" | "patch-id"
    sha: str  # the commit on the branch that carries the change


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


def merged_commits(path: Path, merge: str) -> list[CommitInfo]:
    """The commits a merge brought to trunk beside its first parent, oldest first: what is
    reachable from the merge but not from its first parent, the merge itself left out."""
    target = _sha(merge)
    args = ["log", "--reverse", "--topo-order", "-z", f"--format={_LOG_FORMAT}"]
    found = list(_log_stream(Path(path), [*args, "--end-of-options", f"{target}^1..{target}"]))
    return [info for info in found if info.sha != target]


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


def _patch_ids(git: Git, revs: Sequence[str], *, walk: bool = True) -> list[tuple[str, str]]:
    """(patch-id, commit) for the commits ``revs`` name: ``git log -p | git patch-id``; with
    ``walk=False`` just the commits named (``--no-walk``), not what they reach."""
    log_args = ["log", "-p", "--format=commit %H", "--diff-merges=first-parent", "--no-color"]
    if not walk:
        log_args.append("--no-walk=unsorted")
    log = _stream(git, [*log_args, "--no-ext-diff", "--end-of-options", *revs])
    with tempfile.TemporaryFile() as patches:
        for chunk in log:
            patches.write(chunk)
        patches.seek(0)
        out = _exec(git, ["patch-id", "--stable"], istream=cast(BinaryIO, patches)).text
    return [(patch_id, commit) for patch_id, commit in (line.split() for line in out.splitlines())]


def find_in_branch(path: Path, sha: str, branch: str, base: str) -> Containment | None:
    """How the local ``branch`` already carries commit ``sha``, if it does (``find_in_ref``)."""
    return find_in_ref(path, sha, _branch_ref(branch), base)


def find_in_ref(path: Path, sha: str, ref: str, base: str) -> Containment | None:
    """How the branch at ``ref`` (local, or origin's ``refs/remotes/origin/...``) already
    carries commit ``sha``, if it does.

    By ancestry; else by a ``-x`` trailer on a commit in ``base..ref``; else by a commit
    there with the same patch-id (a pick made without ``-x``). A pick whose context changed has
    another patch-id and is not found.
    """
    branch = ref.removeprefix("refs/heads/")
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
