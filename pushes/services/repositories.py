"""Where a repository's managed clone lives, and keeping its trunk index in step with git."""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from pushes import git
from pushes.locks import repository_lock
from pushes.models import Repository, Revision
from pushes.reviews import find_review_link
from pushes.services.branch_index import branches_index

log = logging.getLogger(__name__)

INDEX_BATCH = 2000


def clone_path(repository: Repository) -> Path:
    return settings.DATA_DIR / "repos" / f"{repository.slug}.git"


def scratch_dir() -> Path:
    path = settings.DATA_DIR / "worktrees"
    path.mkdir(parents=True, exist_ok=True)
    return path


def repository_fetch(*, repository: Repository) -> Path:
    """Clone or fetch the repository's managed clone; returns its path. Takes the repo lock."""
    path = clone_path(repository)
    path.parent.mkdir(parents=True, exist_ok=True)
    with repository_lock(repository.slug):
        git.sync(path, repository.remote_url)
    return path


def clone_ready(*, repository: Repository, having: tuple[str, ...] = ()) -> Path:
    """This host's clone, fetched first when it has none yet or lacks a commit of `having`
    (another host indexed it): any host answers from its own clone, the database saying what
    exists."""
    path = clone_path(repository)
    if not (path / "HEAD").is_file() or any(git.rev_parse(path, sha) is None for sha in having):
        repository_fetch(repository=repository)
    return path


def trunk_sync(*, repository: Repository) -> int:
    """Fetch trunk and index the commits not indexed yet. Returns how many were added.

    Safe to run twice: the index itself says where it stopped (its last position), so a rerun
    resumes there; the repository lock keeps two syncs from interleaving.
    """
    path = clone_path(repository)
    path.parent.mkdir(parents=True, exist_ok=True)
    with repository_lock(repository.slug):
        git.sync(path, repository.remote_url)
        added = trunk_index(repository, path)
        branches_index(repository=repository, path=path)
    Repository.objects.filter(pk=repository.pk).update(trunk_synced_at=timezone.now())
    repository.refresh_from_db(fields=["trunk_indexed_sha", "trunk_synced_at"])
    return added


def trunk_index(repository: Repository, path: Path) -> int:
    """Index trunk commits after the last indexed one. The caller holds the repository lock."""
    head = git.rev_parse(path, git.trunk_ref(repository.trunk_branch))
    if head is None:
        raise git.GitError(f"trunk branch {repository.trunk_branch!r} not found on the remote")
    # The index, not a separate marker, says where it stopped: a marker saved from a stale
    # copy of the row (an admin form, say) would make the next sync index commits twice.
    last = (
        Revision.objects.filter(repository=repository, merged_by="")
        .order_by("-position")
        .values_list("sha", flat=True)
        .first()
    )
    since = last or None
    if since and not _still_on_trunk(path, since, head):
        # Trunk was rewritten (a force-push): the old index no longer describes it.
        log.warning("trunk of %s was rewritten; reindexing", repository.slug)
        with transaction.atomic():
            Revision.objects.filter(repository=repository).delete()
            Repository.objects.filter(pk=repository.pk).update(trunk_indexed_sha="")
        since = None
    added = 0
    batch: list[Revision] = []
    next_position = _next_position(repository)
    position = next_position
    for info in git.trunk_commits(path, repository.trunk_branch, since=since):
        batch.append(_trunk_commit(repository, info, position))
        if len(info.parents) > 1:  # what the merge brought beside trunk shares its position
            batch += [
                _trunk_commit(repository, side, position, merged_by=info.sha)
                for side in git.merged_commits(path, info.sha)
            ]
        position += 1
        if len(batch) >= INDEX_BATCH:
            added += _store(repository, batch)
            batch = []
    if batch:
        added += _store(repository, batch)
    return added


def _next_position(repository: Repository) -> int:
    top = Revision.objects.filter(repository=repository, merged_by="").aggregate(
        top=Max("position")
    )["top"]
    return 0 if top is None else top + 1


def _trunk_commit(
    repository: Repository, info: git.CommitInfo, position: int, merged_by: str = ""
) -> Revision:
    link = find_review_link(info.message)
    return Revision(
        merged_by=merged_by,
        repository=repository,
        sha=info.sha,
        position=position,
        author_name=info.author_name[:200],
        author_email=info.author_email[:254],
        committed_at=info.committed_at,
        title=info.title[:500],
        review_url=link.url[:500] if link else "",
    )


def _store(repository: Repository, batch: list[Revision]) -> int:
    # A commit a merge brought may be indexed already (merged twice, or the first line itself):
    # it keeps its first place on trunk.
    last = next(r.sha for r in reversed(batch) if not r.merged_by)
    with transaction.atomic():
        Revision.objects.bulk_create(batch, ignore_conflicts=True)
        Repository.objects.filter(pk=repository.pk).update(trunk_indexed_sha=last)
    return len(batch)


def _still_on_trunk(path: Path, sha: str, head: str) -> bool:
    # A commit the clone does not have (a re-cloned, rewritten trunk) is as gone as one that
    # is no longer an ancestor: either way the index must be rebuilt.
    return git.rev_parse(path, sha) is not None and git.is_ancestor(path, sha, head)
