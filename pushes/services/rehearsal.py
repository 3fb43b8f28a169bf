"""Rehearsing a push before it runs: its approved picks applied in a scratch worktree, so a
requestor whose pick is predicted to conflict hears it while they can still act."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from pushes import git
from pushes.choices import NotificationKind, PickState
from pushes.models import Pick, Push
from pushes.services.notifications import notify
from pushes.services.repositories import clone_path, scratch_dir


def push_rehearse(*, push_id: int) -> list[Pick]:
    """Apply the push's approved picks in push order in a scratch worktree, and tell the
    requestors whose pick is predicted to conflict while they can still act. Returns those."""
    push = Push.objects.select_related("branch__repository").get(pk=push_id)
    branch = push.branch
    path = clone_path(branch.repository)
    picks = list(
        push.picks.filter(
            state__in=(PickState.APPROVED, PickState.AWAITING_CONFIRMATION, PickState.CONFIRMED)
        )
        .select_related("requestor__user", "branch")
        .order_by("trunk_position", "pk")
    )
    now = timezone.now()
    conflicting = []
    head = git.branch_tip(path, branch.name)
    with git.worktree(path, head, scratch_dir=scratch_dir()) as tree:
        for pick in picks:
            before = tree.head()
            result = tree.cherry_pick(pick.sha)
            files = (
                [] if (result.applied or result.already_applied) else list(result.conflict_files)
            )
            if not result.applied and not result.already_applied:
                tree.reset_hard(before)
            with transaction.atomic():
                Pick.objects.filter(pk=pick.pk).update(predicted_conflicts=files, checked_at=now)
                if files and files != pick.predicted_conflicts:
                    conflicting.append(pick)
                    notify(
                        engineer=pick.requestor,
                        kind=NotificationKind.PREDICTED_CONFLICT,
                        text=(
                            f"Heads-up: in a rehearsal of push {push.label}, pick #{pick.pk} "
                            f"({pick.short_sha}) conflicts in {', '.join(files)}. Fix it now "
                            f"(prepare a change for {branch.name}, or withdraw), or it will be "
                            "marked conflicting at the push."
                        ),
                        pick=pick,
                        push=push,
                    )
    Push.objects.filter(pk=push.pk).update(rehearsed_at=now)
    return conflicting
