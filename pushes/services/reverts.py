"""Reverting a shipped pick: `git revert` of its commit on origin's release branch, made between
pushes (a push of the branch running meanwhile is waited for, never raced), carried to
production by the branch's next push; the requestor told, karma suggested to release
engineering, the change failure rate counting it.

Git goes first and the database follows: a revert git made whose record failed is found on the
branch again (by git's own "This reverts commit <sha>." line) and not made twice."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from common.errors import Conflict, DomainError
from pushes import git, moves
from pushes.choices import BranchState, NotificationKind, PickState
from pushes.locks import LockTimeout, repository_lock
from pushes.models import Engineer, Pick
from pushes.selectors import what_next
from pushes.services.notifications import karma_suggest, notify
from pushes.services.picks import GitUnavailable
from pushes.services.repositories import clone_path, scratch_dir
from pushes.services.transitions import PickRefused, pick_for_move, pick_transition


def pick_revert(*, pick_id: int, actor: Engineer, reason: str) -> Pick:
    """Revert a shipped pick on its branch (release engineers, with a reason)."""
    with transaction.atomic():
        pick = pick_for_move(moves.REVERT, pick_id=pick_id, actor=actor)
    reason = (reason or "").strip()
    if not reason:
        raise PickRefused(moves.REVERT.reason_hint, code="no-reason")
    reverted = _revert_on_origin(pick, actor, reason)
    with transaction.atomic():
        pick = pick_transition(
            pick_id=pick_id,
            to=PickState.REVERTED,
            actor=actor,
            reason=reason,
            revert_sha=reverted.sha,
        )
        carried = _carried_by(pick)
        notify(
            engineer=pick.requestor,
            kind=NotificationKind.REVERTED,
            text=f"Pick #{pick.pk} ({pick.short_sha} {pick.title}) was reverted by {actor}: "
            f"{reason}. The revert {reverted.sha[:10]} is on {pick.branch.name}; {carried}.",
            pick=pick,
        )
        karma_suggest(pick=pick, what=f"was reverted after it shipped ({reason})")
    return pick


def revert_refusal(pick: Pick) -> DomainError | None:
    """What a revert needs of a shipped pick besides its state (asked by the moves registry,
    so a pick that cannot be reverted is not offered the move): an open branch, and the
    commit the pick made on it."""
    if pick.branch.state == BranchState.CLOSED:
        return Conflict(
            f"{pick.branch.name} is closed: the train moved on and its next cut took the change "
            "from trunk. Revert it on trunk.",
            code="branch-closed",
        )
    if not pick.result_sha:
        return Conflict(
            f"Pick #{pick.pk} has no commit recorded on {pick.branch.name} to revert.",
            code="nothing-to-revert",
        )
    return None


def _revert_on_origin(pick: Pick, actor: Engineer, reason: str) -> git.Reverted:
    branch, repository = pick.branch, pick.branch.repository
    path = clone_path(repository)
    message = (
        f'Revert "{pick.title}"\n\n{git.revert_marker(pick.result_sha)}\n\n'
        f"Reverted for pick #{pick.pk} by {actor}: {reason}"
    )
    try:
        with (
            repository_lock(f"{repository.slug}.push-{branch.pk}", timeout=0),
            repository_lock(repository.slug),
        ):
            git.sync(path, repository.remote_url)
            tip = git.remote_tip(path, branch.name)
            local = git.branch_head(path, branch.name)
            if tip is None:
                raise git.GitError(f"origin has no branch {branch.name}")
            if local and local != tip and not git.is_ancestor(path, local, tip):
                raise Conflict(
                    f"{branch.name} has picks made here and not pushed yet (a push that "
                    "stopped half-way): finish or retry that push first, then revert.",
                    code="branch-unpushed",
                )
            return git.branch_revert(
                path,
                branch=branch.name,
                tip=tip,
                base=branch.base_sha,
                sha=pick.result_sha,
                message=message,
                scratch_dir=scratch_dir(),
            )
    except LockTimeout:
        raise Conflict(
            f"A push of {branch.name} is running: revert the pick once it has finished.",
            code="push-busy",
        ) from None
    except git.RevertConflict as conflict:
        raise Conflict(
            f"Reverting {pick.result_sha[:10]} conflicts with later changes on {branch.name} "
            f"(in {', '.join(conflict.files) or 'some files'}): revert it by hand on the branch "
            f"(git revert {pick.result_sha[:10]}), then mark the pick reverted.",
            code="revert-conflict",
            details={"files": list(conflict.files)},
        ) from None
    except git.GitError as error:
        raise GitUnavailable(
            f"Git could not revert it just now ({error.message[:200]}); nothing was changed. "
            "Try again in a minute."
        ) from error


def _carried_by(pick: Pick) -> str:
    push, text = what_next(branch=pick.branch, after=timezone.now())
    if push is not None:
        return f"the next push carries it: {text}"
    return f"no push of {pick.branch.name} is left to carry it: release engineering starts one"
