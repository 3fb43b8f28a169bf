"""What the forges' work left undone, found every minute: asks a worker never handled (the
broker lost them, the worker died half-way) and pull requests whose write-back failed or that
changed since it was written (a pick moved by a bulk step no event told us of)."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Q
from django.utils import timezone

from forges.choices import AskState
from forges.models import PickAsk, PullRequest

PENDING_AFTER = dt.timedelta(minutes=1)  # a queued ask that was never handled
HANDLING_AFTER = dt.timedelta(minutes=10)  # a worker that claimed one and died


def forge_work_due(*, now: dt.datetime | None = None) -> tuple[list[int], list[int]]:
    """The asks to handle and the pull requests to write back now."""
    now = now or timezone.now()
    PickAsk.objects.filter(state=AskState.HANDLING, updated_at__lt=now - HANDLING_AFTER).update(
        state=AskState.PENDING, updated_at=now - PENDING_AFTER
    )
    asks = list(
        PickAsk.objects.filter(
            state=AskState.PENDING, updated_at__lte=now - PENDING_AFTER
        ).values_list("pk", flat=True)[:500]
    )
    changed = Q(picks__pick__updated_at__gt=F("written_at")) | Q(
        written_at__isnull=True, asks__isnull=False
    )
    due = Q(write_after__isnull=True) | Q(write_after__lte=now)
    pull_requests = list(
        PullRequest.objects.filter(due)
        .filter(changed | ~Q(write_error=""))
        .values_list("pk", flat=True)
        .distinct()[:500]
    )
    return asks, pull_requests
