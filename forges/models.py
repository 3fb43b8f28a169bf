"""What arrived from GitHub and GitLab, and what Releasebot wrote back there.

A `Delivery` is one webhook delivery, kept with its id and its body's digest so that a
redelivery changes nothing and a replay is refused. A `PullRequest` is Releasebot's index of a
pull or merge request people asked picks on; its `PickAsk`s are the asks (a label, a comment),
and `PullRequestPick` links each pick made to the request it came from, with the hand-over branch
of a conflict. The forge is the truth: every fact here was read from it or written to it.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from forges.choices import AskSource, AskState, Forge
from pushes.models import Pick, Repository


class Delivery(models.Model):
    """One webhook delivery that was handled: its forge's id for it, the body's SHA-256 and
    what it did."""

    forge = models.CharField(max_length=16, choices=Forge.choices)
    delivery_id = models.CharField(max_length=100)
    event = models.CharField(max_length=64)
    digest = models.CharField(max_length=64, help_text="SHA-256 of the body, in hex.")
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="deliveries")
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=500)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["forge", "delivery_id"], name="delivery_unique_id"),
        ]
        indexes = [models.Index(fields=["digest"], name="delivery_digest")]

    def __str__(self) -> str:
        return f"{self.get_forge_display()} {self.event} {self.delivery_id}"


class PullRequest(models.Model):
    """A GitHub pull request or GitLab merge request that picks were asked for on."""

    repository = models.ForeignKey(
        Repository, on_delete=models.CASCADE, related_name="pull_requests"
    )
    number = models.PositiveIntegerField(help_text="The pull request's number (GitLab's iid).")
    title = models.CharField(max_length=500, blank=True)
    url = models.CharField(max_length=500, blank=True)
    author_login = models.CharField(max_length=100, blank=True)
    merged = models.BooleanField(default=False)
    merge_sha = models.CharField(
        max_length=40, blank=True, help_text="The commit its merge made on trunk."
    )
    comment_id = models.CharField(
        max_length=40, blank=True, help_text="Releasebot's comment on it, updated in place."
    )
    written_digest = models.CharField(max_length=64, blank=True)
    written_labels = models.JSONField(default=list, blank=True)
    written_at = models.DateTimeField(null=True, blank=True)
    write_error = models.CharField(max_length=500, blank=True)
    write_attempts = models.PositiveIntegerField(default=0)
    write_after = models.DateTimeField(
        null=True, blank=True, help_text="After a failed write-back: when to try again."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "number"], name="pull_request_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.repository.slug}#{self.number} {self.title}"

    @property
    def forge(self) -> str:
        return self.repository.review_tool


class PickAsk(models.Model):
    """One ask for picks on a pull request: a label or a `/rb pick` comment, with the branches
    it names (none: the current branch) and, once handled, each branch's refusal."""

    pull_request = models.ForeignKey(PullRequest, on_delete=models.CASCADE, related_name="asks")
    source = models.CharField(max_length=16, choices=AskSource.choices)
    key = models.CharField(
        max_length=200, help_text="The label, or the comment's id: one ask per label or comment."
    )
    asked_by = models.CharField(max_length=100, blank=True, help_text="The forge login.")
    branches = models.JSONField(default=list, blank=True)
    reason = models.TextField()
    state = models.CharField(max_length=16, choices=AskState.choices, default=AskState.WAITING)
    refusals = models.JSONField(
        default=list, blank=True, help_text="[{branch, error, message}] of the branches refused."
    )
    error = models.CharField(
        max_length=500, blank=True, help_text="Why it could not be handled yet (the forge down)."
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["pull_request", "source", "key"], name="pick_ask_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pull_request} ({self.get_source_display().lower()} {self.key})"


class PullRequestPick(models.Model):
    """A pick made for a pull request, and the hand-over of its conflict, if it had one."""

    pull_request = models.ForeignKey(PullRequest, on_delete=models.CASCADE, related_name="picks")
    pick = models.OneToOneField(Pick, on_delete=models.CASCADE, related_name="pull_request_link")
    handover_branch = models.CharField(max_length=200, blank=True)
    handover_url = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["pick_id"]

    def __str__(self) -> str:
        return f"{self.pull_request} -> pick #{self.pick_id}"
