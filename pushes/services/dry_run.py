"""Would a pick apply on its branch now? The dry run a request is answered with: a cherry-pick
in a scratch worktree of the branch as it will be pushed, and on a conflict the files and the
trunk commits that likely need to come first."""

from __future__ import annotations

from dataclasses import dataclass, field

from pushes import git
from pushes.models import ReleaseBranch, Revision
from pushes.services.repositories import clone_path, scratch_dir


@dataclass(frozen=True)
class DryRun:
    applies: bool
    conflict_files: tuple[str, ...] = ()
    prerequisites: list[dict[str, str]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.applies:
            return "It applies cleanly on the branch now."
        text = f"It does not apply cleanly now: conflicts in {', '.join(self.conflict_files)}."
        if self.prerequisites:
            shas = ", ".join(f"{p['sha'][:10]} ({p['title'][:50]})" for p in self.prerequisites)
            text += f" Trunk commits not on the branch touched those files: {shas}."
        return text


def pick_dry_run(*, branch: ReleaseBranch, sha: str) -> DryRun:
    """Would the pick apply on the branch now? If not: the files, and likely prerequisites."""
    path = clone_path(branch.repository)
    result = git.dry_run_pick(path, branch.name, sha, scratch_dir=scratch_dir(), at=_newest(branch))
    if result.applied or result.already_applied:
        return DryRun(applies=True)
    shas = git.commits_touching(path, branch.base_sha, f"{sha}^", result.conflict_files)
    titles = dict(
        Revision.objects.filter(repository=branch.repository, sha__in=shas[:20]).values_list(
            "sha", "title"
        )
    )
    prerequisites = [{"sha": s, "title": titles.get(s, "")} for s in shas[:20]]
    return DryRun(applies=False, conflict_files=result.conflict_files, prerequisites=prerequisites)


def _newest(branch: ReleaseBranch) -> str | None:
    """The branch as it will be pushed: this host's when it holds all of origin's (picks not
    pushed yet), else origin's (another host pushed since this clone's branch last moved)."""
    path = clone_path(branch.repository)
    local, remote = git.branch_head(path, branch.name), git.remote_tip(path, branch.name)
    if local is None or remote is None:
        return local or remote
    return local if not git.relation(path, local, remote).behind else remote
