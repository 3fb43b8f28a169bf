"""Where a repository's managed clone lives, and keeping its trunk index in step with git."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import NamedTuple, cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field, Max
from django.utils import timezone

from pushes import git
from pushes.locks import repository_lock
from pushes.models import Repository, Revision
from pushes.reviews import find_review_link
from pushes.services.branch_index import branches_index
from pushes.statuscache import status_changed

log = logging.getLogger(__name__)

INDEX_BATCH = 5000  # rows a statement (and a transaction) of the trunk index


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
            _delete_all(repository)
            Repository.objects.filter(pk=repository.pk).update(trunk_indexed_sha="")
        since = None
    added = 0
    batch: list[_Row] = []
    position = _next_position(repository)
    for info in git.trunk_commits(path, repository.trunk_branch, since=since):
        batch.append(_row(repository, info, position))
        if len(info.parents) > 1:  # what the merge brought beside trunk shares its position
            batch += [
                _row(repository, side, position, merged_by=info.sha)
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


class _Row(NamedTuple):
    """One Revision row as it is inserted: the fields of `_COLUMNS`, in that order."""

    repository_id: int
    sha: str
    position: int
    author_name: str
    author_email: str
    committed_at: dt.datetime
    title: str
    review_url: str
    merged_by: str


_COLUMNS = [cast(Field, Revision._meta.get_field(name)) for name in _Row._fields]


def _row(repository: Repository, info: git.CommitInfo, position: int, merged_by: str = "") -> _Row:
    link = find_review_link(info.message)
    return _Row(
        repository_id=repository.pk,
        sha=info.sha,
        position=position,
        author_name=info.author_name[:200],
        author_email=info.author_email[:254],
        committed_at=info.committed_at,
        title=info.title[:500],
        review_url=link.url[:500] if link else "",
        merged_by=merged_by,
    )


def _store(repository: Repository, batch: list[_Row]) -> int:
    last = next(r.sha for r in reversed(batch) if not r.merged_by)
    with transaction.atomic():
        _insert(batch)
        Repository.objects.filter(pk=repository.pk).update(trunk_indexed_sha=last)
        status_changed()  # raw SQL sends no signal: kept status answers must go
    return len(batch)


def _insert(rows: list[_Row]) -> None:
    """Insert Revision rows in one statement, a row that is there already left alone (a commit
    a merge brought may be indexed already, merged twice or on the first line itself: it keeps
    its first place on trunk).

    Plain SQL: `bulk_create` builds a model instance and a parameter list per row, which at a
    million commits cost three times the database's own work (docs/PERFORMANCE.md).
    """
    table = connection.ops.quote_name(Revision._meta.db_table)
    names = ", ".join(
        connection.ops.quote_name(field.get_attname_column()[1]) for field in _COLUMNS
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array a column, unnested into rows: a single statement, a few parameters.
            arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in _COLUMNS)
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) "
                "ON CONFLICT DO NOTHING",
                [list(column) for column in zip(*rows, strict=True)],
            )
            return
        adapt = connection.ops.adapt_datetimefield_value
        marks = ", ".join(["%s"] * len(_COLUMNS))
        cursor.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING",
            [tuple(adapt(v) if isinstance(v, dt.datetime) else v for v in row) for row in rows],
        )


def _delete_all(repository: Repository) -> None:
    """Drop the repository's whole trunk index in one statement. `QuerySet.delete()` would
    load every row to send its delete signal: a million rows in memory for a forced push."""
    table = connection.ops.quote_name(Revision._meta.db_table)
    column = connection.ops.quote_name(Revision._meta.get_field("repository").column)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {column} = %s", [repository.pk])
    status_changed()


def _still_on_trunk(path: Path, sha: str, head: str) -> bool:
    # A commit the clone does not have (a re-cloned, rewritten trunk) is as gone as one that
    # is no longer an ancestor: either way the index must be rebuilt.
    return git.rev_parse(path, sha) is not None and git.is_ancestor(path, sha, head)
