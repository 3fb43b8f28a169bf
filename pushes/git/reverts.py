"""A shipped commit reverted on origin's release branch: `git revert` in a worktree at origin's
tip, pushed to origin as the branch's next commit, for the next push to tag and deploy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pushes.git.refs import _resolve, _sha, branch_move, push
from pushes.git.run import GitError, _exec, _open
from pushes.git.worktrees import worktree


class RevertConflict(GitError):
    """Later commits on the branch changed the same lines: git cannot revert it by itself."""

    def __init__(self, sha: str, files: tuple[str, ...]) -> None:
        super().__init__(f"reverting {sha[:10]} conflicts in {', '.join(files) or 'some files'}")
        self.files = files


@dataclass(frozen=True)
class Reverted:
    sha: str  # the revert commit on origin's branch
    made: bool  # False: origin's branch had it already (a run before this one made it)


def revert_marker(sha: str) -> str:
    """The line git's own revert message carries, and ours does: how a revert is found again."""
    return f"This reverts commit {sha}."


def branch_revert(
    path: Path, *, branch: str, tip: str, base: str, sha: str, message: str,
    scratch_dir: Path | None = None,
) -> Reverted:  # fmt: skip
    """Revert `sha` on origin's `branch`, whose tip (freshly fetched) is `tip` and whose cut is
    `base`. `message` is the commit's message; it must hold `revert_marker(sha)`. Safe to run
    twice: a revert of `sha` already on the branch since the cut is returned, not made again.

    Origin takes the new commit only on top of `tip` (a plain push, never forced): had someone
    pushed to the branch meanwhile, git refuses and nothing changed."""
    if revert_marker(sha) not in message:
        raise ValueError("the revert's message must name the commit it reverts")
    with _open(path) as git:
        found = _exec(
            git,
            ["log", "--format=%H", "--fixed-strings", f"--grep={revert_marker(sha)}",
             f"{_sha(base)}..{_sha(tip)}"],
        ).text.split()  # fmt: skip
    if found:
        return Reverted(found[0], made=False)
    with worktree(path, tip, scratch_dir) as tree, _open(tree.path) as git:
        parents = _exec(git, ["rev-list", "--parents", "-n", "1", _sha(sha)]).text.split()[1:]
        mainline = ["-m", "1"] if len(parents) > 1 else []
        done = _exec(git, ["revert", "--no-commit", *mainline, _sha(sha)], ok=None)
        if done.status:
            unmerged = ["diff", "--name-only", "-z", "--diff-filter=U"]
            files = tuple(f for f in _exec(git, unmerged).text.split("\0") if f)
            _exec(git, ["revert", "--abort"], ok=None)
            raise RevertConflict(sha, files)
        _exec(git, ["commit", "--no-verify", "--allow-empty", "--quiet", "-m", message])
        head = _resolve(git, "HEAD")
    if head is None:
        raise GitError(f"the revert of {sha[:10]} made no commit")
    branch_move(path, branch, head)
    push(path, [f"refs/heads/{branch}"])
    return Reverted(head, made=True)
