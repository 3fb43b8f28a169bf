"""The train of one repository: its release branches, what the remote branch holds, and the
pushes with their stories."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.urls import reverse

from pushes.choices import (
    PUSH_RUNNING_STATES,
    BranchState,
    PushKind,
    PushState,
    PushStep,
)
from pushes.models.repositories import Engineer, Repository, picks_rank_again, sha_validator
from pushes.statuscache import StatusQuerySet


class ReleaseBranch(models.Model):
    """The branch of one weekly cut: trunk's head at cut time, stabilised, shipped, then closed."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="branches")
    name = models.CharField(max_length=200)
    cut_at = models.DateTimeField()
    base_sha = models.CharField(max_length=40, validators=[sha_validator])
    base_position = models.PositiveIntegerField(
        null=True, blank=True, help_text="Trunk position of the base commit."
    )
    state = models.CharField(
        max_length=16, choices=BranchState.choices, default=BranchState.STABILISING
    )
    remote_head = models.CharField(
        max_length=40, blank=True, help_text="The remote branch's head when it was last indexed."
    )

    objects = StatusQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "release branches"
        ordering = ["repository", "-cut_at"]
        get_latest_by = "cut_at"
        constraints = [
            models.UniqueConstraint(fields=["repository", "name"], name="branch_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("branch", args=[self.pk])

    @property
    def takes_picks(self) -> bool:
        return self.state != BranchState.CLOSED


class PushQuerySet(StatusQuerySet):
    """A push's time is an input of its picks' risk (Friday, close to the push): moved in bulk,
    their risk ranks are computed again (pushes.services.risk_index)."""

    def update(self, **kwargs) -> int:
        if "scheduled_at" in kwargs:
            picks_rank_again(push_id__in=self.values("pk"))
        return super().update(**kwargs)


class Push(models.Model):
    """One push of a branch: the weekly ship or a daily push carrying confirmed picks."""

    branch = models.ForeignKey(ReleaseBranch, on_delete=models.CASCADE, related_name="pushes")
    kind = models.CharField(max_length=16, choices=PushKind.choices, default=PushKind.DAILY)
    day = models.DateField(help_text="The day of the push in the repository's time zone.")
    number = models.PositiveSmallIntegerField(help_text="1 for the first push of the day.")
    scheduled_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=PushState.choices, default=PushState.SCHEDULED)
    tag = models.CharField(max_length=200, blank=True)
    head_sha = models.CharField(max_length=40, blank=True, help_text="The branch after the push.")
    reminded_at = models.DateTimeField(null=True, blank=True)
    rehearsed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    pushed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the remote took the branch and the tag."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # What the run does now, written as it goes so that its pages show it live.
    step = models.CharField(
        max_length=16,
        choices=PushStep.choices,
        blank=True,
        help_text="Queued to run, or while merging: what the run is doing now.",
    )
    step_pick = models.ForeignKey(
        "pushes.Pick",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The pick being applied or tested.",
    )
    step_at = models.DateTimeField(null=True, blank=True, help_text="When the step began.")

    objects = PushQuerySet.as_manager()

    class Meta:
        ordering = ["-scheduled_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "day", "number"], name="push_unique_number_in_day"
            ),
            models.UniqueConstraint(
                fields=["branch"],
                condition=Q(state__in=PUSH_RUNNING_STATES),
                name="push_one_running_per_branch",
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="push_number_positive"),
        ]
        indexes = [models.Index(fields=["state", "scheduled_at"], name="push_due")]

    def __str__(self) -> str:
        return f"{self.branch.name} {self.day:%Y-%m-%d}.{self.number}"

    def save(self, *args, update_fields=None, **kwargs) -> None:
        """Saved with its time (or whole): its picks' risk ranks are computed again."""
        again = not self._state.adding and (
            update_fields is None or "scheduled_at" in update_fields
        )
        super().save(*args, update_fields=update_fields, **kwargs)
        if again:
            picks_rank_again(push_id=self.pk)

    def get_absolute_url(self) -> str:
        return reverse("push", args=[self.pk])

    @property
    def label(self) -> str:
        return f"{self.day:%Y-%m-%d}.{self.number}"

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class PushEvent(models.Model):
    """One step of a push's story: started, failed (and why), retried by whom, pushed, done.

    Only ever added to: a retry adds to the story, so a failure a retry later fixed still
    counts in the delivery metrics.
    """

    push = models.ForeignKey(Push, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        Engineer, on_delete=models.SET_NULL, null=True, blank=True, help_text="Empty: the bot."
    )
    at = models.DateTimeField()
    from_state = models.CharField(max_length=16, choices=PushState.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=PushState.choices)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["to_state", "at"], name="push_event_state_at")]

    def __str__(self) -> str:
        return f"{self.push_id}: {self.from_state or '-'} -> {self.to_state}"


class Rollback(models.Model):
    """A push's deploy undone: the previous push's tag deployed again through the deploy hook.
    Its own record, so the push's story stays as it was and the time to restore counts it."""

    push = models.ForeignKey(Push, on_delete=models.CASCADE, related_name="rollbacks")
    to_push = models.ForeignKey(
        Push,
        on_delete=models.CASCADE,
        related_name="redeploys",
        help_text="The push whose tag was deployed again.",
    )
    actor = models.ForeignKey(Engineer, on_delete=models.SET_NULL, null=True, blank=True)
    at = models.DateTimeField()
    reason = models.TextField()
    deployed = models.BooleanField(default=False, help_text="The hook took the redeploy.")
    outcome = models.TextField(blank=True, help_text="What the deploy hook answered.")

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.push_id} -> {self.to_push_id}"


class BranchCommit(models.Model):
    """One commit the remote release branch has beyond its cut, as git says: a Releasebot pick,
    a pick someone pushed by hand (with or without -x), a revert, or another hand commit.

    The remote is the truth: this is its index, refreshed on every trunk sync and before every
    push, so status and the request checks see what people pushed by hand.
    """

    class How(models.TextChoices):
        PICK = "pick", "Picked by Releasebot"
        TRAILER = "trailer", "Picked by hand with -x"
        PATCH_ID = "patch-id", "Picked by hand (same change)"
        REVERT = "revert", "A revert"
        OTHER = "other", "A commit made on the branch"

    branch = models.ForeignKey(ReleaseBranch, on_delete=models.CASCADE, related_name="commits")
    sha = models.CharField(max_length=40, validators=[sha_validator])
    position = models.PositiveIntegerField(help_text="1 for the first commit after the cut.")
    title = models.CharField(max_length=500)
    how = models.CharField(max_length=16, choices=How.choices)
    revision = models.CharField(
        max_length=40, blank=True, help_text="The trunk revision it carries, if any."
    )
    reverts = models.CharField(
        max_length=40, blank=True, help_text="The commit it reverts (a revert's own message)."
    )
    pick = models.ForeignKey(
        "pushes.Pick",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="branch_commits",
    )
    shipped_with = models.ForeignKey(
        Push,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shipped_commits",
        help_text="The push whose pushed tag first carried it.",
    )

    objects = StatusQuerySet.as_manager()

    class Meta:
        ordering = ["branch", "position"]
        constraints = [
            models.UniqueConstraint(fields=["branch", "sha"], name="branch_commit_unique_sha"),
        ]
        indexes = [models.Index(fields=["revision"], name="branch_commit_revision")]

    def __str__(self) -> str:
        return f"{self.sha[:10]} {self.title}"

    @property
    def short_sha(self) -> str:
        return self.sha[:10]
