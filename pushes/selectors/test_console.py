"""Reads behind the test console: the test runs, filtered, newest first, without their logs."""

from __future__ import annotations

from django.db.models import QuerySet

from pushes.models import TestRun


def console_test_runs(
    *, push_id: int | None = None, pick_id: int | None = None, state: str | None = None
) -> QuerySet[TestRun]:
    """Test runs, newest first, without their logs; filtered by push, pick and state."""
    runs = TestRun.objects.defer("log").select_related("push__branch__repository", "pick")
    if push_id is not None:
        runs = runs.filter(push_id=push_id)
    if pick_id is not None:
        runs = runs.filter(pick_id=pick_id)
    if state:
        runs = runs.filter(state=state)
    return runs.order_by("-started_at", "-pk")
