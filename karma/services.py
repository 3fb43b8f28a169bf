"""Writes of push karma: unlike and restore, each one transaction recorded with who and why."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from karma.choices import KarmaChange
from karma.models import MAX_STARS, Karma, KarmaEvent
from releasebot.errors import DomainError


class KarmaError(DomainError):
    """A karma change that cannot be made; its message is shown as is on every channel."""


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
