"""The weekly cut: trunk's head becomes the new release branch, `latest` moves to it, and the
week's pushes are scheduled."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from pushes import cadence, git
from pushes.choices import (
    PICK_WAITING_STATES,
    BranchState,
    NotificationKind,
    PickState,
    PushKind,
    PushState,
)
from pushes.locks import repository_lock
from pushes.models import Pick, Push, ReleaseBranch, Repository, Revision
from pushes.services.notifications import notify
from pushes.services.repositories import clone_path, trunk_index
from pushes.services.transitions import pick_transition

log = logging.getLogger(__name__)

LATEST = "latest"
# A cut missed by more than this (the workers were down) is left to a person: `cut_branch --now`.
CUT_CATCH_UP = dt.timedelta(hours=24)


def branch_cut(*, repository: Repository, at: dt.datetime | None = None) -> ReleaseBranch:
    """Cut trunk's head as the release branch dated by `at`, move `latest`, push both.

    Safe to run twice: a branch already cut under that name is returned as it is, and a branch
    that exists in git but not yet in the database (a crash in between) is adopted as cut.
    """
    at = at or timezone.now()
    name = cadence.branch_name_for(repository, at)
    existing = ReleaseBranch.objects.filter(repository=repository, name=name).first()
    if existing:
        return existing
    path = clone_path(repository)
    path.parent.mkdir(parents=True, exist_ok=True)
    with repository_lock(repository.slug):
        git.sync(path, repository.remote_url)
        trunk_index(repository, path)
        head = git.branch_head(path, name) or git.rev_parse(
            path, git.trunk_ref(repository.trunk_branch)
        )
        if head is None:
            raise git.GitError(f"trunk branch {repository.trunk_branch!r} not found")
        git.branch_create(path, name, head)
        git.branch_move(path, LATEST, head)
        git.push(path, [f"refs/heads/{name}", f"+refs/heads/{LATEST}"])
    position = (
        Revision.objects.filter(repository=repository, sha=head)
        .values_list("position", flat=True)
        .first()
    )
    with transaction.atomic():
        branch, created = ReleaseBranch.objects.get_or_create(
            repository=repository,
            name=name,
            defaults={"cut_at": at, "base_sha": head, "base_position": position},
        )
        if created:
            _close_left_behind(branch)
            push_schedule(branch=branch)
            _expire_left_behind(branch)
    log.info("cut %s of %s at %s", name, repository.slug, head[:10])
    return branch


def _close_left_behind(branch: ReleaseBranch) -> None:
    """Close the older branches, but the newest `keep_branches` of those still open: they are
    deployed somewhere, so they keep taking picks (their state is left as it is)."""
    older = (
        ReleaseBranch.objects.filter(repository=branch.repository)
        .exclude(pk=branch.pk)
        .exclude(state=BranchState.CLOSED)
    )
    kept = older.order_by("-cut_at", "-pk")[: branch.repository.keep_branches]
    older.exclude(pk__in=list(kept.values_list("pk", flat=True))).update(state=BranchState.CLOSED)


def _expire_left_behind(branch: ReleaseBranch) -> None:
    """Picks still open on the branches the cut closed: their revisions rode the new cut."""
    left = Pick.objects.filter(
        branch__repository=branch.repository,
        branch__state=BranchState.CLOSED,
        state__in=PICK_WAITING_STATES,
    ).select_related("requestor__user")
    for pick in left:
        reason = f"The train moved on: {branch.name} was cut from trunk with this revision in it."
        pick_transition(pick_id=pick.pk, to=PickState.EXPIRED, actor=None, reason=reason)
        notify(
            engineer=pick.requestor,
            kind=NotificationKind.EXPIRED,
            text=f"Pick #{pick.pk} ({pick.short_sha}) expired: {reason}",
            pick=pick,
        )


def push_schedule(*, branch: ReleaseBranch) -> list[Push]:
    """Create the week's pushes of a branch: the weekly ship, then the daily pushes.

    Numbers count pushes within a day; existing rows are kept, so it is safe to run twice.
    """
    repository = branch.repository
    moments = [(PushKind.WEEKLY, cadence.ship_moment(repository, branch.cut_at))]
    moments += [(PushKind.DAILY, m) for m in cadence.daily_push_moments(repository, branch.cut_at)]
    moments.sort(key=lambda item: item[1])
    pushes = []
    per_day: dict[dt.date, int] = {}
    for kind, moment in moments:
        day = moment.date()
        per_day[day] = per_day.get(day, 0) + 1
        push, _ = Push.objects.get_or_create(
            branch=branch,
            day=day,
            number=per_day[day],
            defaults={"kind": kind, "scheduled_at": moment, "state": PushState.SCHEDULED},
        )
        pushes.append(push)
    return pushes


def branch_cut_due(
    *, now: dt.datetime | None = None, repositories: QuerySet[Repository] | None = None
) -> list[ReleaseBranch]:
    """Cut every active repository whose weekly cut is due and not yet made."""
    now = now or timezone.now()
    if repositories is None:
        repositories = Repository.objects.filter(is_active=True)
    cut = []
    for repository in repositories:
        slot = cadence.last_cut_slot(repository, now)
        if now - slot > CUT_CATCH_UP:
            continue
        name = cadence.branch_name_for(repository, slot)
        if ReleaseBranch.objects.filter(repository=repository, name=name).exists():
            continue
        try:
            cut.append(branch_cut(repository=repository, at=slot))
        except Exception:
            # One broken repository must not stop the others' cuts; the next tick retries.
            log.exception("cut of %s failed", repository.slug)
    return cut
