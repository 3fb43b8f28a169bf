"""Picks, their histories and test runs, and the notices people get."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.urls import reverse

from pushes.choices import (
    PICK_ACTIVE_STATES,
    PICK_OPEN_STATES,
    NotificationKind,
    PickState,
    ReviewStatus,
    TestRunState,
)
from pushes.models.repositories import Engineer, sha_validator
from pushes.models.train import Push, ReleaseBranch
from pushes.statuscache import StatusQuerySet


class Pick(models.Model):
    """A request to cherry-pick one trunk revision onto a release branch, and how it fared."""

    branch = models.ForeignKey(ReleaseBranch, on_delete=models.CASCADE, related_name="picks")
    push = models.ForeignKey(
        Push, on_delete=models.SET_NULL, null=True, blank=True, related_name="picks"
    )
    sha = models.CharField("revision", max_length=40, validators=[sha_validator])
    trunk_position = models.PositiveIntegerField(null=True, blank=True)
    title = models.CharField(max_length=500)
    author_name = models.CharField(max_length=200)
    author_email = models.CharField(max_length=254)
    review_url = models.CharField(max_length=500, blank=True)
    requestor = models.ForeignKey(Engineer, on_delete=models.PROTECT, related_name="picks")
    backup = models.ForeignKey(
        Engineer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="backed_picks",
        help_text="May confirm in the requestor's place.",
    )
    reason = models.TextField()
    state = models.CharField(max_length=32, choices=PickState.choices, default=PickState.REQUESTED)
    lines_added = models.PositiveIntegerField(default=0)
    lines_deleted = models.PositiveIntegerField(default=0)
    files_changed = models.PositiveIntegerField(default=0)
    paths = models.JSONField(default=list, blank=True, help_text="The files the change touches.")
    review_comments = models.PositiveIntegerField(null=True, blank=True)
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.NONE
    )
    rolls = models.PositiveSmallIntegerField(
        default=0, help_text="Pushes this pick rolled past unconfirmed."
    )
    conflict_files = models.JSONField(default=list, blank=True)
    predicted_conflicts = models.JSONField(
        default=list, blank=True, help_text="Files the last dry run or rehearsal conflicted on."
    )
    prerequisites = models.JSONField(
        default=list,
        blank=True,
        help_text="Trunk commits not on the branch that touched the conflicting files.",
    )
    checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last dry run or rehearsal ran."
    )
    result_sha = models.CharField(
        max_length=40, blank=True, help_text="The commit the pick made on the branch."
    )
    revert_sha = models.CharField(
        max_length=40, blank=True, help_text="The commit that reverted it on the branch."
    )
    urgent = models.BooleanField(
        default=False,
        help_text="Asked for as urgent: once approved it goes to a push started now, its "
        "requestor still confirming first.",
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    shipped_with = models.ForeignKey(
        Push,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shipped_picks",
        help_text="The push whose pushed tag first carried it (not always the push it was "
        "picked in: a failed push's picks ship with the next one).",
    )
    decided_risk = models.JSONField(
        null=True,
        blank=True,
        help_text="Its risk as it stood when release engineering decided (level, reasons, "
        "stars): shown from then on, never recomputed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StatusQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "sha"],
                condition=Q(state__in=PICK_ACTIVE_STATES),
                name="pick_one_active_per_revision",
            ),
        ]
        indexes = [
            models.Index(fields=["sha"], name="pick_sha"),
            models.Index(fields=["state", "branch"], name="pick_state_branch"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.sha[:10]} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("pick", args=[self.pk])

    @property
    def short_sha(self) -> str:
        return self.sha[:10]

    @property
    def is_open(self) -> bool:
        return self.state in PICK_OPEN_STATES

    @property
    def size(self) -> int:
        """Releeph's size scale: lines touched plus 30 per file."""
        return self.lines_added + self.lines_deleted + 30 * self.files_changed


class PickEvent(models.Model):
    """One transition of a pick: who moved it, when, from which state to which, and why."""

    pick = models.ForeignKey(Pick, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        Engineer, on_delete=models.SET_NULL, null=True, blank=True, help_text="Empty: the bot."
    )
    at = models.DateTimeField()
    from_state = models.CharField(max_length=32, choices=PickState.choices, blank=True)
    to_state = models.CharField(max_length=32, choices=PickState.choices)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.pick_id}: {self.from_state or '-'} -> {self.to_state}"


class TestRun(models.Model):
    """The repository's test command run after a pick (or over a whole push) and its log."""

    __test__ = False  # a model, not a pytest test class

    push = models.ForeignKey(Push, on_delete=models.CASCADE, related_name="test_runs")
    pick = models.ForeignKey(
        Pick, on_delete=models.SET_NULL, null=True, blank=True, related_name="test_runs"
    )
    command = models.CharField(max_length=1000)
    state = models.CharField(
        max_length=16, choices=TestRunState.choices, default=TestRunState.RUNNING
    )
    exit_code = models.IntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    log = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.command} ({self.state})"

    @property
    def duration(self) -> dt.timedelta | None:
        if self.finished_at:
            return self.finished_at - self.started_at
        return None


class Notification(models.Model):
    """A message to one engineer. The web inbox shows every one; chat delivers them when set up.

    Written in the same transaction as the change it announces, so a change is never announced
    twice or lost; delivery to chat happens after commit and records where it went.
    """

    engineer = models.ForeignKey(Engineer, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    text = models.TextField()
    pick = models.ForeignKey(
        Pick, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    push = models.ForeignKey(
        Push, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(
        null=True, blank=True, help_text="When a confirmation request was answered."
    )
    chat_channel = models.CharField(max_length=64, blank=True)
    chat_ts = models.CharField(max_length=64, blank=True, help_text="Slack message timestamp.")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["engineer", "-created_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return f"{self.engineer}: {self.get_kind_display()}"
