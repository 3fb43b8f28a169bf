"""A conflict handed over to a person: a branch on origin with the cherry-pick made as far as
git could, its conflict markers committed, for the author to resolve and push."""

from __future__ import annotations

from pathlib import Path

from pushes.git.refs import _resolve, _sha, branch_move, push, remote_branch_head
from pushes.git.run import GitError, _exec, _open
from pushes.git.worktrees import _EMPTY_PICK, worktree


def handover_branch(
    path: Path, *, name: str, base: str, sha: str, message: str, scratch_dir: Path | None = None
) -> str:
    """Origin's branch `name`: `base` (a release branch's tip) plus `git cherry-pick -x sha`,
    committed with the conflicts git left, as markers in the files, under `message` (which
    should end with the `(cherry picked from commit ...)` trailer, so that once resolved and
    merged the branch is known to carry the pick). Returns the branch's head.

    Safe to run twice: when origin has the branch already (a person may be working on it), it
    is left as it is."""
    existing = remote_branch_head(path, name)
    if existing:
        return existing
    with worktree(path, base, scratch_dir) as tree, _open(tree.path) as git:
        args = ["rev-list", "--parents", "-n", "1", "--end-of-options", _sha(sha)]
        target, *parents = _exec(git, args).text.split()
        mainline = ["-m", "1"] if len(parents) > 1 else []
        done = _exec(git, ["cherry-pick", "-x", "--no-commit", *mainline, target], ok=None)
        if done.status and (_EMPTY_PICK in done.err or _EMPTY_PICK in done.text):
            raise GitError(f"{sha[:10]} has nothing left to pick onto {base[:10]}")
        _exec(git, ["add", "--all"])
        _exec(git, ["commit", "--no-verify", "--allow-empty", "--quiet", "-m", message])
        head = _resolve(git, "HEAD")
    if head is None:
        raise GitError(f"the hand-over of {sha[:10]} made no commit")
    branch_move(path, name, head)
    push(path, [f"refs/heads/{name}"])
    return head
