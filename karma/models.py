"""Push karma: up to five stars per engineer, and every change to them with who and why.

Karma knows people only as users; it knows nothing of pushes or picks beyond an id.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from karma.choices import KarmaChange

MAX_STARS = 5


class Karma(models.Model):
    """An engineer's current stars. A missing row means the starting five."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="karma"
    )
    stars = models.PositiveSmallIntegerField(default=MAX_STARS)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "karma"
        constraints = [
            models.CheckConstraint(
                condition=Q(stars__gte=0) & Q(stars__lte=MAX_STARS), name="karma_stars_in_range"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.stars}/{MAX_STARS}"


class KarmaEvent(models.Model):
    """One unlike or restore: who changed whose stars, by how much, why, and the result."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="karma_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="karma_given",
    )
    change = models.CharField(max_length=16, choices=KarmaChange.choices)
    delta = models.SmallIntegerField()
    stars_after = models.PositiveSmallIntegerField()
    reason = models.TextField()
    pick_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The pick that prompted it, if any."
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(delta=0), name="karma_event_changes_stars"),
            models.CheckConstraint(
                condition=Q(stars_after__lte=MAX_STARS), name="karma_event_stars_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.change} {self.user} ({self.delta:+d}): {self.reason}"
