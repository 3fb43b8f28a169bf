"""Who may read and change push karma, for every adapter: the API here and the web pages.

Karma knows people only as users. The role lives on the user's engineer record, which the
pushes app adds; it is read here through the user (`user.engineer`), never by importing pushes,
so the dependency keeps pointing pushes -> karma.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from rest_framework.permissions import BasePermission, IsAuthenticated

from karma.models import KarmaEvent
from karma.services import karma_restore, karma_unlike
from releasebot.errors import Forbidden

ONLY_RELEASE_ENGINEERS = (
    "Only release engineers can unlike or restore push karma: ask one of them if you think "
    "someone's stars should change."
)


def karma_may_change(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Only release engineers press "unlike" and "restore"."""
    engineer = getattr(user, "engineer", None) if user.is_authenticated else None
    return bool(engineer is not None and engineer.is_release_engineer)


def karma_change_as(
    user: AbstractBaseUser | AnonymousUser,
    *,
    target_id: int,
    change: str,
    reason: str,
    stars: int = 1,
    pick_id: int | None = None,
) -> KarmaEvent:
    """Unlike or restore on behalf of the signed-in `user`: the role check every channel
    shares, then the karma service with the user as the actor. Refusals are DomainErrors."""
    if not karma_may_change(user):
        raise Forbidden(ONLY_RELEASE_ENGINEERS)
    if change == "unlike":
        return karma_unlike(user_id=target_id, actor_id=user.pk, reason=reason, pick_id=pick_id)
    if change == "restore":
        return karma_restore(user_id=target_id, actor_id=user.pk, reason=reason, stars=stars)
    raise ValueError(f"Unknown karma change {change!r}")


class IsEngineer(BasePermission):
    """A login without an engineer record has no place on the train."""

    message = "Your account is not set up as an engineer: ask an admin."
    code = "not-an-engineer"

    def has_permission(self, request, view) -> bool:
        return hasattr(request.user, "engineer")


class MayChangeKarma(BasePermission):
    message = ONLY_RELEASE_ENGINEERS
    code = "forbidden"

    def has_permission(self, request, view) -> bool:
        return karma_may_change(request.user)


ENGINEERS = [IsAuthenticated, IsEngineer]
KARMA_CHANGERS = [IsAuthenticated, IsEngineer, MayChangeKarma]
