"""Reads of push karma, and the one question pushes asks: may this engineer request a pick?"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from karma.models import MAX_STARS, Karma, KarmaEvent

# How every channel ends the karma refusal; the pushes app adds the names of the people to see.
TALK_TO_RELEASE_ENGINEERING = "Talk to release engineering to get back on track."


@dataclass(frozen=True)
class PickGate:
    allowed: bool
    stars: int
    threshold: int = 0

    def reason(self, whose: str = "Your") -> str:
        """Why picks are refused, of `whose` karma ("Your", "carol's"); "" when allowed."""
        if self.allowed:
            return ""
        return (
            f"{whose} push karma is {self.stars} of {MAX_STARS} stars; picks are refused at "
            f"{self.threshold} or fewer."
        )

    def said(self, whose: str = "Your") -> str:
        """The whole refusal, of `whose` karma, ending with whom to see; "" when allowed."""
        return f"{self.reason(whose)} {TALK_TO_RELEASE_ENGINEERING}" if not self.allowed else ""

    @property
    def message(self) -> str:
        """The refusal as said to the engineer themselves."""
        return self.said()


def karma_whose(*, username: str, own: bool) -> str:
    """Whose karma a sentence is about: "Your" to its owner, "carol's" to anyone else."""
    return "Your" if own else f"{username}'s"


def karma_stars(*, user_id: int) -> int:
    row = Karma.objects.filter(user_id=user_id).values_list("stars", flat=True).first()
    return MAX_STARS if row is None else row


def karma_stars_many(*, user_ids: Iterable[int]) -> dict[int, int]:
    """Stars for many users in one query; users without a row have the starting five."""
    ids = set(user_ids)
    found = dict(Karma.objects.filter(user_id__in=ids).values_list("user_id", "stars"))
    return {user_id: found.get(user_id, MAX_STARS) for user_id in ids}


def karma_may_request(*, user_id: int) -> PickGate:
    """At or below the threshold, release engineering stops taking someone's picks."""
    stars = karma_stars(user_id=user_id)
    threshold = settings.KARMA_PICK_THRESHOLD
    return PickGate(allowed=stars > threshold, stars=stars, threshold=threshold)


def karma_history(*, user_id: int, limit: int = 50) -> list[KarmaEvent]:
    return list(
        KarmaEvent.objects.filter(user_id=user_id)
        .select_related("actor")
        .order_by("-at", "-pk")[:limit]
    )
