"""The signals of the forges: a pick that came from a pull request moved, so its comment
and labels are brought up to date (queued in the move's own transaction, sent once it
commits). A bulk move that sends `picks_moved` is handled in one query; other bulk moves send
no signal, and the sweep finds those within a minute."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from common.queue import enqueue
from forges.models import PullRequestPick
from pushes.models import PickEvent
from pushes.signals import picks_moved


@receiver(post_save, sender=PickEvent, dispatch_uid="forges.pick_moved")
def pick_moved(sender: type, instance: PickEvent, created: bool, **kwargs: object) -> None:
    if not created:
        return
    link = PullRequestPick.objects.filter(pick_id=instance.pick_id).values_list(
        "pull_request_id", flat=True
    )
    for pull_request_id in link:
        enqueue("forges.tasks.pull_request_writeback", pull_request_id)


@receiver(picks_moved, dispatch_uid="forges.picks_moved")
def picks_moved_many(sender: object, pick_ids: list[int], **kwargs: object) -> None:
    link = (
        PullRequestPick.objects.filter(pick_id__in=pick_ids)
        .values_list("pull_request_id", flat=True)
        .order_by("pull_request_id")
        .distinct()
    )
    for pull_request_id in link:
        enqueue("forges.tasks.pull_request_writeback", pull_request_id)
