"""The one signal of the forges: a pick that came from a pull request moved, so its comment
and labels are brought up to date (queued in the move's own transaction, sent once it
commits). Bulk moves send no signal; the sweep finds those within a minute."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from common.queue import enqueue
from forges.models import PullRequestPick
from pushes.models import PickEvent


@receiver(post_save, sender=PickEvent, dispatch_uid="forges.pick_moved")
def pick_moved(sender: type, instance: PickEvent, created: bool, **kwargs: object) -> None:
    if not created:
        return
    link = PullRequestPick.objects.filter(pick_id=instance.pick_id).values_list(
        "pull_request_id", flat=True
    )
    for pull_request_id in link:
        enqueue("forges.tasks.pull_request_writeback", pull_request_id)
