"""The outbox: work to do after a commit, written in the same transaction as the change that
asks for it, and claims on side effects that must happen at most once.

A broker that is down when the change commits delays the work and never loses it: the row stays
unsent until `outbox_relay` (every few seconds, in the worker) hands it to the broker. A row can
be handed over twice (sent, then the process died before it marked it), so every task is safe to
run twice, and a side effect outside Releasebot (a chat message, a deploy hook) is claimed under
its key first (`SideEffect`), so a second run sends nothing.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    """One Celery task to queue: its dotted path and JSON arguments."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    what = models.CharField(max_length=300, blank=True, help_text="How the log names the work.")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="outbox_unsent",
            )
        ]

    def __str__(self) -> str:
        return self.what or self.task


class SideEffect(models.Model):
    """A side effect outside Releasebot, claimed under its key before it happens: a claim that is
    done is never repeated; one taken and never finished (a process died) may be taken again
    after a while, under the same key, which the receiver can use to drop a duplicate."""

    key = models.CharField(max_length=200, unique=True)
    claimed_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.key
