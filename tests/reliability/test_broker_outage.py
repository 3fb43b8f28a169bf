"""Redis stopped in the middle of opening a push's confirmations, then started again (empty, as
after a crash without persistence): after the reconciler's tick every requestor has exactly one
confirmation request, in the inbox and in chat.

The test runs its own redis-server on a free port (the machine's Redis is shared), and only in
the PostgreSQL + Redis mode: on the filesystem broker there is no broker to stop."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F

from pushes import tasks
from pushes.choices import NotificationKind, PickState, PushState
from pushes.models import Notification
from tests.redis_server import redis_server
from tests.reliability.conftest import worker
from tests.workers import test_database_url as database_url
from tests.workers import wait_for

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"),
        reason="a broker outage needs the Redis broker (REDIS_URL); the filesystem broker has "
        "no server to stop",
    ),
    pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed"),
]


@pytest.mark.django_db(transaction=True)
def test_redis_crashing_while_confirmations_open_asks_each_requestor_exactly_once(
    train_of, tmp_path
):
    import psycopg

    assert connection.vendor == "postgresql"
    train = train_of(
        picks=3, state=PickState.APPROVED, push_state=PushState.SCHEDULED,
        scheduled_in=dt.timedelta(minutes=20), tests=False,
    )  # fmt: skip
    confirms = Notification.objects.filter(kind=NotificationKind.CONFIRM, push=train.push)
    deliveries = Path(settings.DATA_DIR) / "deliveries"
    delivered = lambda: deliveries.read_text().split() if deliveries.exists() else []  # noqa: E731
    env = {"DJANGO_SETTINGS_MODULE": "tests.reliability.worker_settings"}  # a recording notifier
    with redis_server(tmp_path) as server, worker(broker_url=server.url, env=env) as process:
        # Hold the worker inside the confirmations transaction: one of the picks it asks is
        # locked, so it waits to lock them, the push already claimed.
        blocker = psycopg.connect(database_url())
        watcher = psycopg.connect(database_url(), autocommit=True)
        blocker.execute("SELECT 1 FROM pushes_pick WHERE id = %s FOR UPDATE", [train.picks[0]])
        tasks.train_tick.delay()
        sql = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        wait_for(lambda: watcher.execute(sql).fetchone()[0], what="the confirmations")
        watcher.close()
        server.crash()  # Redis dies half-way: the push claimed, the requests about to be made
        blocker.close()  # the transaction goes on and commits with the broker gone
        # The three notices are queued in one chunk after the commit: one failure names them.
        wait_for(
            lambda: "could not queue delivery of notices" in process.log,
            what=f"the worker to find the broker gone; log:\n{process.log}",
        )
        assert confirms.count() == 3 and not delivered()  # in the inbox, not in chat
        ids = ", ".join(str(pk) for pk in confirms.order_by("pk").values_list("pk", flat=True))
        assert f"could not queue delivery of notices {ids};" in process.log

        server.start()  # empty, as after a crash without persistence: the tick is gone too
        wait_for(
            lambda: process.log.count("Connected to redis") >= 2, timeout=60,
            what=f"the worker to reconnect; log:\n{process.log}",
        )  # fmt: skip
        # A minute later, the next tick (sent early here; the notices aged a minute to match).
        confirms.update(created_at=F("created_at") - dt.timedelta(minutes=2))
        for _ in range(2):  # twice: the second tick finds nothing more to do
            tasks.train_tick.delay()
            wait_for(lambda: len(delivered()) == 3, what=f"the deliveries; log:\n{process.log}")
        ticks = process.log.count("Task pushes.tasks.train_tick")
        tasks.train_tick.delay()
        wait_for(
            lambda: process.log.count("Task pushes.tasks.train_tick") >= ticks + 2,
            what="a third tick to run",
        )
    assert train.refresh().state == PushState.CONFIRMING
    assert sorted(confirms.values_list("pick_id", flat=True)) == sorted(train.picks)
    assert sorted(delivered()) == sorted(str(pk) for pk in confirms.values_list("pk", flat=True))
    assert not confirms.filter(delivered_at__isnull=True).exists()
    assert set(train.pick_states()) == {PickState.AWAITING_CONFIRMATION}
