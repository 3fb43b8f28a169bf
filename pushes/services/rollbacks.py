"""Rolling a push back: the previous push's tag deployed again through the deploy hook,
recorded as a Rollback of its own (the push's story is not rewritten), counted as a failed change
and as an outage from the push's deploy to the rollback's in the delivery metrics."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from common.effects import side_effect_claim, side_effect_done
from common.errors import Conflict, DomainError, NotFound
from pushes import moves
from pushes.choices import NotificationKind, PushState, Role
from pushes.models import Engineer, Push, Rollback
from pushes.services.deploy import deploy_hook_call
from pushes.services.notifications import notify
from pushes.services.transitions import PickRefused


def push_rollback(*, push_id: int, actor: Engineer, reason: str) -> Push:
    """Deploy the push before `push_id` again (release engineers, with a reason)."""
    reason = (reason or "").strip()
    with transaction.atomic():
        push = (
            Push.objects.select_for_update(of=("self",))
            .select_related("branch__repository")
            .filter(pk=push_id)
            .first()
        )
        if push is None:
            raise NotFound(f"There is no push #{push_id}.")
        moves.move_check(moves.ROLLBACK, push, actor)
        if not reason:
            raise PickRefused(moves.ROLLBACK.reason_hint, code="no-reason")
        previous = _previous(push)
        if previous is None:  # move_check found one: it cannot be gone within the lock
            raise Conflict(f"Push {push.label} has no push before it.", code="no-previous-push")
        hook = push.branch.repository.deploy_hook.strip()
        rollback = Rollback.objects.create(
            push=push, to_push=previous, actor=actor, at=timezone.now(), reason=reason
        )
    error = _redeploy(rollback, hook)
    with transaction.atomic():
        Rollback.objects.filter(pk=rollback.pk).update(
            deployed=not error, outcome=error or "deployed", at=timezone.now()
        )
        _tell(push, previous, actor, reason, error)
    if error:
        raise Conflict(
            f"The deploy hook did not take {previous.tag}: {error}. The rollback is recorded as "
            "not deployed; try again or roll back by hand.",
            code="rollback-failed",
        )
    return push


def rollback_refusal(push: Push) -> DomainError | None:
    """What a rollback needs of a push that went out (asked by the moves registry, so a push
    that cannot be rolled back is not offered the move): a push before it to deploy again, and
    a deploy hook to deploy it with."""
    repository = push.branch.repository
    if _previous(push) is None:
        return Conflict(
            f"No push of {repository.name} went out before {push.label}: there is nothing to "
            "roll back to.",
            code="no-previous-push",
        )
    if not repository.deploy_hook.strip():
        return Conflict(
            f"{repository.name} has no deploy hook, so Releasebot cannot deploy the push before "
            f"{push.label} again: roll back by hand.",
            code="no-deploy-hook",
        )
    return None


def _previous(push: Push) -> Push | None:
    """The push that went out before this one, on any branch of the repository: what ran in
    production before it."""
    if push.pushed_at is None:
        return None
    return (
        Push.objects.filter(
            branch__repository=push.branch.repository,
            state=PushState.DONE,
            pushed_at__lt=push.pushed_at,
        )
        .exclude(pk=push.pk)
        .exclude(tag="")
        .select_related("branch__repository")
        .order_by("-pushed_at", "-pk")
        .first()
    )


def _redeploy(rollback: Rollback, hook: str) -> str:
    """The hook called once per rollback (its key claimed first): a rerun sends nothing."""
    key = f"rollback-{rollback.pk}"
    if not side_effect_claim(key):
        return ""
    error = deploy_hook_call(hook, rollback.to_push, key=key)
    side_effect_done(key, outcome=error or "deployed")
    return error


def _tell(push: Push, previous: Push, actor: Engineer, reason: str, error: str) -> None:
    what = "was rolled back" if not error else "could not be rolled back"
    text = f"Push {push.label} of {push.branch.name} {what} by {actor}: {reason}. " + (
        f"{previous.tag} is deployed again." if not error else f"The deploy hook: {error}"
    )
    people = {p.requestor_id: p.requestor for p in push.shipped_picks.select_related("requestor")}
    for engineer in Engineer.objects.filter(role=Role.RELEASE_ENGINEER):
        people.setdefault(engineer.pk, engineer)
    for engineer in people.values():
        notify(engineer=engineer, kind=NotificationKind.PUSH_FAILED, text=text, push=push)
