"""Tasks run by a real Celery worker process on the suite's broker."""

from __future__ import annotations

import pytest

from pushes.models import Revision
from pushes.tasks import trunk_sync, trunk_sync_all
from tests.workers import wait_for, worker_process


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_indexes_trunk_and_a_duplicate_delivery_changes_nothing(repository, remote):
    with worker_process() as worker:
        trunk_sync_all.delay()
        wait_for(
            lambda: Revision.objects.filter(repository=repository).count() == 5,
            timeout=60,
            what="the worker to index trunk",
        )
        remote.commit({"src/late.py": "LATE = 1\n"}, "Landed later")
        # The same task delivered twice (at-least-once delivery): indexed once.
        trunk_sync.delay(repository.pk)
        trunk_sync.delay(repository.pk)
        wait_for(
            lambda: worker.log.count("succeeded") >= 4,
            timeout=60,
            what=f"four tasks to finish; worker log:\n{worker.log}",
        )
    positions = list(
        Revision.objects.filter(repository=repository)
        .order_by("position")
        .values_list("position", flat=True)
    )
    assert positions == [0, 1, 2, 3, 4, 5]
