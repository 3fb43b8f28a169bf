"""Writes of push karma: unlike and restore, each one transaction recorded with who and why."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from common.errors import DomainError, Forbidden
from karma.choices import KarmaChange
from karma.models import MAX_STARS, Karma, KarmaEvent


class KarmaError(DomainError):
    """A karma change that cannot be made; its message is shown as is on every channel."""


ONLY_RELEASE_ENGINEERS = (
    "Only release engineers can unlike or restore push karma: ask one of them if you think "
    "someone's stars should change."
)


def karma_may_change(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Only release engineers press "unlike" and "restore".

    Karma knows people only as users. The role lives on the user's engineer record, which the
    pushes app adds; it is read through the user (`user.engineer`), never by importing pushes,
    so the dependency keeps pointing pushes -> karma.
    """
    engineer = getattr(user, "engineer", None) if user.is_authenticated else None
    return bool(engineer is not None and engineer.is_release_engineer)


def karma_change(
    *,
    actor: AbstractBaseUser | AnonymousUser,
    user_id: int,
    change: str,
    reason: str,
    stars: int = 1,
    pick_id: int | None = None,
) -> KarmaEvent:
    """Unlike or restore on behalf of `actor`, the signed-in user: the role check every channel
    shares, then the change with the actor recorded. Refusals are DomainErrors."""
    if not karma_may_change(actor):
        raise Forbidden(ONLY_RELEASE_ENGINEERS)
    if change == KarmaChange.UNLIKE:
        return karma_unlike(user_id=user_id, actor_id=actor.pk, reason=reason, pick_id=pick_id)
    if change == KarmaChange.RESTORE:
        return karma_restore(user_id=user_id, actor_id=actor.pk, reason=reason, stars=stars)
    raise ValueError(f"Unknown karma change {change!r}")


def _change(
    *, user_id: int, actor_id: int | None, delta: int, change: str, reason: str, pick_id=None
) -> KarmaEvent:
    reason = reason.strip()
    if not reason:
        raise KarmaError("A reason is required.")
    with transaction.atomic():
        Karma.objects.get_or_create(user_id=user_id)
        karma = Karma.objects.select_for_update().get(user_id=user_id)
        stars = max(0, min(MAX_STARS, karma.stars + delta))
        if stars == karma.stars:
            edge = "no stars left" if delta < 0 else f"all {MAX_STARS} stars already"
            raise KarmaError(f"Nothing to change: the engineer has {edge}.")
        event = KarmaEvent.objects.create(
            user_id=user_id,
            actor_id=actor_id,
            change=change,
            delta=stars - karma.stars,
            stars_after=stars,
            reason=reason,
            pick_id=pick_id,
            at=timezone.now(),
        )
        karma.stars = stars
        karma.save(update_fields=["stars", "updated_at"])
    return event


def karma_unlike(
    *, user_id: int, actor_id: int | None, reason: str, pick_id: int | None = None
) -> KarmaEvent:
    """Take one star off an engineer's push karma."""
    return _change(
        user_id=user_id,
        actor_id=actor_id,
        delta=-1,
        change=KarmaChange.UNLIKE,
        reason=reason,
        pick_id=pick_id,
    )


def karma_restore(*, user_id: int, actor_id: int | None, reason: str, stars: int = 1) -> KarmaEvent:
    """Give stars back after the talk with release engineering."""
    if stars < 1:
        raise KarmaError("Restore at least one star.")
    return _change(
        user_id=user_id,
        actor_id=actor_id,
        delta=stars,
        change=KarmaChange.RESTORE,
        reason=reason,
    )
