"""Origin's release branches are the truth; this keeps Releasebot in step with them.

`branch_index` records every commit origin's branch has beyond its cut (BranchCommit), whoever
pushed it: Releasebot's picks, picks pushed by hand with or without ``-x``, reverts, other hand
commits; and which pushed tag first carried each. Status answers and request checks read it.

`branch_reconcile` brings the local branch Releasebot pushes from in line with origin's before
a push works on it: it takes origin's hand commits (fast-forward), keeps the picks a failed push
recorded but never pushed, and where both happened rebuilds those picks on origin's branch, so a
push whose branch moved applies its picks on the new head instead of failing.

Both run under the repository's lock, after a fetch.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from pushes import git
from pushes.choices import BranchState, NotificationKind, PickState
from pushes.models import BranchCommit, Pick, PickEvent, Push, ReleaseBranch, Repository
from pushes.services.notifications import notify
from pushes.services.transitions import pick_transition

log = logging.getLogger(__name__)

PATCH_ID_CANDIDATES = 200  # trunk commits touching the same files, compared by patch-id
How = BranchCommit.How


# --- the index ------------------------------------------------------------------------------


def branches_index(*, repository: Repository, path: Path) -> None:
    """Index every open branch of the repository from origin, as fetched."""
    open_branches = ReleaseBranch.objects.filter(repository=repository).exclude(
        state=BranchState.CLOSED
    )
    for branch in open_branches.select_related("repository"):
        branch_index(branch=branch, path=path)


def branch_index(*, branch: ReleaseBranch, path: Path) -> int:
    """Record the commits origin's branch got since it was last indexed. Returns how many.

    A branch origin rewrote (its old head no longer on it) is indexed again from the cut.
    """
    remote = git.remote_tip(path, branch.name)
    if remote is None or remote == branch.remote_head:
        return 0
    since = branch.remote_head
    if since and not git.is_ancestor(path, since, remote):
        log.warning("origin rewrote %s; indexing it again from the cut", branch.name)
        BranchCommit.objects.filter(branch=branch).delete()
        since = ""
    infos = git.branch_log(path, since or branch.base_sha, remote)
    top = BranchCommit.objects.filter(branch=branch).aggregate(top=Max("position"))["top"] or 0
    rows = _classified(branch, path, infos, remote)
    for n, row in enumerate(rows, start=top + 1):
        row.position = n
    with transaction.atomic():
        BranchCommit.objects.bulk_create(rows, ignore_conflicts=True)
        ReleaseBranch.objects.filter(pk=branch.pk).update(remote_head=remote)
        branch.remote_head = remote
        branch_commits_shipped(branch=branch)
    return len(rows)


def _classified(
    branch: ReleaseBranch, path: Path, infos: list[git.BranchCommitInfo], head: str
) -> list[BranchCommit]:
    by_result = dict(
        Pick.objects.filter(branch=branch).exclude(result_sha="").values_list("result_sha", "pk")
    )
    rows, unmatched = [], []
    for info in infos:
        sha = info.commit.sha
        row = BranchCommit(branch=branch, sha=sha, position=0, title=info.commit.title[:500])
        if sha in by_result:
            row.how, row.pick_id = How.PICK, by_result[sha]
            row.revision = info.picked_from
        elif info.reverts:
            row.how, row.reverts = How.REVERT, info.reverts
        elif info.picked_from:
            row.how, row.revision = How.TRAILER, info.picked_from
        else:
            row.how = How.OTHER
            unmatched.append(row)
        rows.append(row)
    if unmatched:
        _match_by_patch_id(branch, path, unmatched, head)
    return rows


def _match_by_patch_id(
    branch: ReleaseBranch, path: Path, rows: list[BranchCommit], head: str
) -> None:
    """Hand picks made without ``-x``: the trunk commit after the cut with the same change."""
    trunk = git.rev_parse(path, git.trunk_ref(branch.repository.trunk_branch))
    if trunk is None:
        return
    for row in rows:
        files = git.files_of(path, row.sha)
        candidates = git.candidates_touching(path, branch.base_sha, trunk, files)
        ids = git.patch_ids(path, [row.sha, *candidates[:PATCH_ID_CANDIDATES]])
        own = ids.get(row.sha)
        match = next((c for c in candidates if own and ids.get(c) == own), None)
        if match:
            row.how, row.revision = How.PATCH_ID, match


def branch_commits_shipped(*, branch: ReleaseBranch) -> None:
    """Mark what each pushed tag of the branch first carried: every indexed commit up to the
    commit its push's tag points at."""
    pushed = (
        Push.objects.filter(branch=branch, pushed_at__isnull=False)
        .exclude(head_sha="")
        .order_by("pushed_at", "pk")
    )
    positions = dict(BranchCommit.objects.filter(branch=branch).values_list("sha", "position"))
    for push in pushed:
        top = positions.get(push.head_sha)
        if top is not None:
            BranchCommit.objects.filter(
                branch=branch, position__lte=top, shipped_with__isnull=True
            ).update(shipped_with=push)


# --- the local branch, in line with origin's ---------------------------------------------------


def branch_reconcile(*, branch: ReleaseBranch, path: Path, scratch: Path) -> str:
    """Bring the local branch in line with origin's; returns where the local branch is then."""
    remote = git.remote_tip(path, branch.name)
    local = git.branch_head(path, branch.name)
    if remote is None:  # origin lost the branch: the next push gives it back
        return git.branch_tip(path, branch.name)
    if local is None:
        git.branch_create(path, branch.name, remote)
        return remote
    relation = git.relation(path, local, remote)
    if not relation.behind:  # the same, or only picks a failed push left unpushed
        return local
    if not relation.ahead:  # origin has hand commits and nothing of ours is missing
        git.branch_advance(path, branch.name, remote, local)
        return remote
    return _rebuild(branch, path, local, remote, scratch)


def _rebuild(branch: ReleaseBranch, path: Path, local: str, remote: str, scratch: Path) -> str:
    """Origin moved and the local branch has picks origin never got: apply them again, in their
    order, on origin's branch, and record where each is now."""
    ours = git.commits_between(path, remote, local)
    picks = {
        p.result_sha: p
        for p in Pick.objects.filter(branch=branch, result_sha__in=ours).select_related(
            "requestor__user", "branch"
        )
    }
    origin = git.remote_ref(branch.name)
    head = remote
    with git.worktree(path, remote, scratch_dir=scratch) as tree:
        for commit in ours:
            pick = picks.get(commit)
            if pick is None:
                log.warning("%s: %s on the local branch is no pick; left out", branch, commit)
                continue
            found = git.find_in_ref(path, pick.sha, origin, branch.base_sha)
            if found:
                _repoint(pick, found.sha, f"origin already carries it as {found.sha[:10]}.")
                continue
            result = tree.cherry_pick(pick.sha)
            if result.applied and result.sha:
                head = result.sha
                _repoint(pick, head, f"Applied again as {head[:10]}: origin's branch moved.")
            elif result.already_applied:
                _repoint(pick, head, "Origin's branch already has the change.")
            else:
                tree.reset_hard(head)
                _conflict_after_rebuild(pick, result.conflict_files)
    git.branch_replace(path, branch.name, head, local)
    log.info("%s: rebuilt %d local picks on origin's %s", branch, len(ours), remote[:10])
    return head


def _repoint(pick: Pick, sha: str, reason: str) -> None:
    """The pick is on the branch as another commit now: record it, state unchanged."""
    with transaction.atomic():
        Pick.objects.filter(pk=pick.pk).update(result_sha=sha, updated_at=timezone.now())
        PickEvent.objects.create(
            pick=pick, at=timezone.now(), from_state=pick.state, to_state=pick.state, reason=reason
        )


def _conflict_after_rebuild(pick: Pick, files: tuple[str, ...]) -> None:
    listed = ", ".join(files) or "(git named no file)"
    reason = (
        f"No longer applies on {pick.branch.name}: someone pushed to it by hand, and it now "
        f"conflicts in {listed}."
    )
    with transaction.atomic():
        pick_transition(
            pick_id=pick.pk, to=PickState.CONFLICT, actor=None, reason=reason,
            conflict_files=list(files), result_sha="",
        )  # fmt: skip
        notify(
            engineer=pick.requestor,
            kind=NotificationKind.CONFLICT,
            text=f"Pick #{pick.pk} ({pick.short_sha} {pick.title}): {reason} Prepare a change "
            f"for {pick.branch.name} and request that.",
            pick=pick,
        )
