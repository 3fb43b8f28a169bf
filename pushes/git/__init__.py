"""Git for Releasebot: the one package that runs git (through GitPython).

Each repository Releasebot manages has a *bare* clone on disk. Trunk is read from
``refs/remotes/origin/<trunk>``; release branches are local ``refs/heads/release/...`` refs that
Releasebot owns and pushes. Work that needs files (cherry-picks, test runs) happens in a detached
worktree in a scratch folder, and a branch moves only by compare-and-swap, so a conflict or a
crash never leaves a branch half-changed.

The functions are pure and path-based: no Django, no state between calls. Every ``Repo`` is
closed on the way out, because GitPython keeps ``git cat-file`` processes alive until it is.
Nothing goes through a shell, names are validated, and user text is kept where git cannot read
it as an option.

The package's modules, each depending only on those before it: ``run`` (running git and other
commands, errors, timeouts), ``refs`` (names, refs, tags, the push to origin), ``history``
(commits, diffs, containment), ``worktrees``, ``clone`` (sync of the managed clone),
``handover`` (a conflict handed to a person), ``reverts`` (a shipped commit undone), ``picks``
(a push's merge loop) and ``branches`` (origin's release branch and what is on it). Callers use
the names re-exported here: ``git.branch_head``.
"""

from __future__ import annotations

from pushes.git.branches import (
    BranchCommitInfo,
    Relation,
    branch_log,
    candidates_touching,
    commits_between,
    files_of,
    patch_ids,
    relation,
    remote_ref,
    remote_tip,
    tag_delete,
)
from pushes.git.clone import CLONE_CONFIG, commit_graph_write, sync
from pushes.git.handover import handover_branch
from pushes.git.history import (
    CommitInfo,
    Containment,
    DiffStat,
    commit_info,
    commits_touching,
    diff_stat,
    find_in_branch,
    find_in_ref,
    merged_commits,
    trunk_commits,
)
from pushes.git.picks import (
    BranchMover,
    PendingPicks,
    PicksResult,
    branch_carries,
    branch_mover,
    branch_picks,
    commit_parents,
    worktree_picks_start,
)
from pushes.git.refs import (
    branch_advance,
    branch_create,
    branch_head,
    branch_move,
    branch_replace,
    branch_tip,
    is_ancestor,
    push,
    remote_branch_head,
    remote_tag,
    rev_parse,
    tag_create,
    trunk_ref,
)
from pushes.git.reverts import RevertConflict, Reverted, branch_revert, revert_marker
from pushes.git.run import (
    GIT_ENV,
    KILL_GRACE,
    LOCAL_TIMEOUT,
    NETWORK_TIMEOUT,
    OUTPUT_LIMIT,
    BranchMoved,
    CommandResult,
    GitError,
    InvalidName,
    run_command,
)
from pushes.git.worktrees import PickResult, Worktree, dry_run_pick, worktree

__all__ = [
    "BranchCommitInfo",
    "Relation",
    "branch_log",
    "candidates_touching",
    "commits_between",
    "files_of",
    "merged_commits",
    "patch_ids",
    "relation",
    "remote_ref",
    "remote_tip",
    "tag_delete",
    "CLONE_CONFIG",
    "GIT_ENV",
    "KILL_GRACE",
    "LOCAL_TIMEOUT",
    "NETWORK_TIMEOUT",
    "OUTPUT_LIMIT",
    "BranchMover",
    "BranchMoved",
    "CommandResult",
    "CommitInfo",
    "Containment",
    "DiffStat",
    "GitError",
    "InvalidName",
    "PendingPicks",
    "PickResult",
    "RevertConflict",
    "Reverted",
    "PicksResult",
    "Worktree",
    "branch_advance",
    "branch_create",
    "branch_head",
    "branch_tip",
    "branch_move",
    "branch_replace",
    "branch_revert",
    "branch_carries",
    "branch_mover",
    "branch_picks",
    "commit_graph_write",
    "commit_info",
    "commit_parents",
    "commits_touching",
    "diff_stat",
    "dry_run_pick",
    "find_in_branch",
    "find_in_ref",
    "handover_branch",
    "is_ancestor",
    "push",
    "remote_branch_head",
    "remote_tag",
    "rev_parse",
    "revert_marker",
    "run_command",
    "sync",
    "tag_create",
    "trunk_commits",
    "trunk_ref",
    "worktree",
    "worktree_picks_start",
]
