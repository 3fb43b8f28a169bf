"""The remote's release branch for pushes.git: where origin's branch is (after a fetch), how the
local branch Releasebot pushes from relates to it, and what each commit on it beyond the cut
carries (a ``-x`` trailer, a revert of another commit, or a change whose patch-id a trunk
commit shares).

The remote is the truth: people push hotfixes to release branches by hand. These functions let
Releasebot see those commits, build on them, and index them for status questions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pushes.git.history import _LOG_FORMAT, CommitInfo, _log_stream, _patch_ids
from pushes.git.refs import _branch_ref, _is_ancestor, _resolve, _sha
from pushes.git.run import GitError, InvalidName, _exec, _open

_PICKED_FROM = re.compile(r"\(cherry picked from commit ([0-9a-f]{40})\)")
_REVERTS = re.compile(r"This reverts commit ([0-9a-f]{40})")


def remote_ref(branch: str) -> str:
    """The remote-tracking ref a fetch keeps origin's ``branch`` in."""
    return "refs/remotes/origin/" + _branch_ref(branch).removeprefix("refs/heads/")


def remote_tip(path: Path, branch: str) -> str | None:
    """Where origin's ``branch`` was at the last fetch, or None if origin has no such branch."""
    with _open(path) as git:
        return _resolve(git, remote_ref(branch))


@dataclass(frozen=True)
class Relation:
    """How the local branch stands to origin's: the same, ahead (only local commits), behind
    (origin has commits the local branch lacks), or both (diverged)."""

    local: str
    remote: str
    ahead: bool
    behind: bool


def relation(path: Path, local: str, remote: str) -> Relation:
    with _open(path) as git:
        local, remote = _sha(local), _sha(remote)
        if local == remote:
            return Relation(local, remote, ahead=False, behind=False)
        return Relation(
            local,
            remote,
            ahead=not _is_ancestor(git, local, remote),
            behind=not _is_ancestor(git, remote, local),
        )


def commits_between(path: Path, base: str, head: str) -> list[str]:
    """The commits ``head`` has and ``base`` has not, oldest first (``git rev-list``)."""
    with _open(path) as git:
        args = ["rev-list", "--reverse", "--topo-order", "--end-of-options"]
        return _exec(git, [*args, f"{_sha(base)}..{_sha(head)}"]).text.split()


@dataclass(frozen=True)
class BranchCommitInfo:
    """A commit on a release branch beyond its cut, and what its message says it carries."""

    commit: CommitInfo
    picked_from: str  # the trunk commit a -x trailer names, or ""
    reverts: str  # the commit a revert's message names, or ""


def branch_log(path: Path, base: str, head: str) -> list[BranchCommitInfo]:
    """The branch's first-parent commits in ``base..head``, oldest first, with their trailers."""
    span = f"{_sha(base)}..{_sha(head)}"
    args = ["log", "--first-parent", "--reverse", "-z", f"--format={_LOG_FORMAT}"]
    found = []
    for info in _log_stream(Path(path), [*args, "--end-of-options", span]):
        picked = _PICKED_FROM.findall(info.message)
        reverted = _REVERTS.search(info.message)
        found.append(
            BranchCommitInfo(
                commit=info,
                picked_from=picked[-1] if picked else "",
                reverts=reverted.group(1) if reverted else "",
            )
        )
    return found


def patch_ids(path: Path, shas: Sequence[str]) -> dict[str, str]:
    """Each commit's stable patch-id (an empty change has none), in one ``git log --no-walk``
    piped to one ``git patch-id``."""
    if not shas:
        return {}
    with _open(path) as git:
        found = _patch_ids(git, [_sha(sha) for sha in shas], walk=False)
    return {commit: patch_id for patch_id, commit in found}


def candidates_touching(path: Path, base: str, trunk: str, files: Iterable[str]) -> list[str]:
    """Trunk commits after ``base`` (any parent line) touching ``files``: the only ones a hand
    pick of a change to those files can be the same change as."""
    paths = list(files)
    if not paths:
        return []
    if any(not p or "\0" in p for p in paths):
        raise InvalidName(f"refusing paths {paths!r}")
    span = f"{_sha(base)}..{_sha(trunk)}"
    args = ["--literal-pathspecs", "log", "--no-merges", "--format=%H", "--end-of-options"]
    with _open(path) as git:
        return _exec(git, [*args, span, "--", *paths]).text.split()


def files_of(path: Path, sha: str) -> list[str]:
    """The files a commit changes against its first parent."""
    with _open(path) as git:
        args = ["diff-tree", "--no-commit-id", "--name-only", "-r", "-z", "-m", "--first-parent"]
        out = _exec(git, [*args, "--end-of-options", _sha(sha)]).text
    return [name for name in out.split("\0") if name]


def tag_delete(path: Path, name: str) -> None:
    """Delete a local tag (one made for a push that must be tagged again); no error if none."""
    if not name.startswith("push/"):
        raise InvalidName(f"refusing to delete tag {name!r}")
    with _open(path) as git:
        done = _exec(git, ["tag", "--delete", "--end-of-options", name], ok=None)
    if done.status and "not found" not in done.err:
        raise GitError(f"could not delete tag {name}", status=done.status, stderr=done.err)
