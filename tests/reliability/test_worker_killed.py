"""A real Celery worker SIGKILLed at every phase of a push, then a new worker and the reconciler's
tick: the push resumes and ends done, each pick on the branch exactly once, git and the database
in agreement (invariants.py). The kill points are real slowness, not seams: the test command,
git's reference-transaction hook in the managed clone, the remote's receive hooks and the deploy
hook each wait at a point the test holds (faults.py)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from django.utils import timezone

from pushes import services, tasks
from pushes.choices import NotificationKind, PickState, PushState, TestRunState
from pushes.models import Notification, Pick, PickEvent, Push, TestRun
from tests.reliability.conftest import Train, worker
from tests.reliability.invariants import assert_consistent, ref
from tests.workers import test_database_url as database_url
from tests.workers import wait_for, worker_process

# kill point -> (the faults.py point to hold, the push's state the kill leaves)
POINTS = {
    "tests-of-pick-1": ("test-{0}", PushState.MERGING),
    "tests-of-pick-2": ("test-{1}", PushState.MERGING),
    "branch-moved-for-pick-2-after-it-was-recorded": ("branch-2", PushState.MERGING),
    "tests-of-pick-3": ("test-{2}", PushState.MERGING),
    "tag-written-database-not-told": ("tag", PushState.TAGGING),
    "remote-push-before-the-remote-accepted-it": ("pre-receive", PushState.PUSHING),
    "remote-push-after-the-remote-accepted-it": ("post-receive", PushState.PUSHING),
    "deploy-hook-running": ("deploy", PushState.DEPLOYING),
}


def kill_at(train: Train, point: str) -> None:
    """Run the push in a worker, hold it at ``point`` and SIGKILL the worker there."""
    train.control.hold(point)
    with worker_process() as process:
        tasks.train_tick.delay()
        train.control.wait(point)
        process.kill()
    train.control.release()  # a test command or deploy hook outlives the worker: let it end


def resume(train: Train) -> Push:
    """A new worker and the reconciler's tick; wait for the push to finish."""
    with worker() as process:
        tasks.train_tick.delay()
        wait_for(
            lambda: train.refresh().state in (PushState.DONE, PushState.FAILED),
            timeout=90,
            what=f"the resumed push to finish; worker log:\n{process.log}",
        )
    return train.refresh()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", list(POINTS))
def test_a_push_killed_at_each_phase_resumes_and_git_agrees_with_the_database(train_of, where):
    template, left_in = POINTS[where]
    train = train_of(clone_hooks=True, remote_hooks=True, deploy=True)
    point = template.format(*train.shas)

    kill_at(train, point)
    assert train.refresh().state == left_in
    if point == "post-receive":  # the remote has the push; the database does not know
        assert ref(train.remote.bare, f"refs/heads/{train.branch.name}") != train.branch.base_sha

    push = resume(train)
    assert (push.state, push.error) == (PushState.DONE, "")
    assert train.pick_states() == [PickState.SHIPPED] * 3
    assert_consistent(train.branch, train.remote.bare)

    tested = train.control.log()
    for n, sha in enumerate(train.shas):
        runs = TestRun.objects.filter(pick_id=train.picks[n])
        if point == f"test-{sha}":  # killed under test: tried again once, after "interrupted"
            assert tested.count(point) == 2
            assert sorted(runs.values_list("state", flat=True)) == [
                TestRunState.ERROR, TestRunState.PASSED,
            ]  # fmt: skip
            assert "Interrupted" in runs.get(state=TestRunState.ERROR).log
        else:
            assert tested.count(f"test-{sha}") == 1
            assert list(runs.values_list("state", flat=True)) == [TestRunState.PASSED]
    if point == "branch-2":  # pick 2 was recorded before the branch moved: nothing to redo
        event = PickEvent.objects.get(pick_id=train.picks[1], to_state=PickState.PICKED)
        assert event.reason.startswith("Cherry-picked as")
    # The deploy hook is claimed before it is called: killed while it ran, it is called again
    # under the same idempotency key, so the hook can drop the second call; every other phase
    # (killed before it, or after it finished) calls it exactly once.
    deploys = train.control.deploys()
    called = f"{push.tag} {push.head_sha} releasebot-push-{push.pk}-deploy"
    assert deploys == [called] * (2 if point == "deploy" else 1)
    shipped = Notification.objects.filter(kind=NotificationKind.SHIPPED, push=push)
    assert sorted(shipped.values_list("pick_id", flat=True)) == sorted(train.picks)


# --- confirmations ------------------------------------------------------------------------


@contextmanager
def confirmations_stalled(train: Train) -> Iterator[Callable[[], bool]]:
    """Yield a probe that is true while a worker is inside the transaction that opens the push's
    confirmations, the push claimed and its requestors not yet all asked.

    PostgreSQL: the test locks one of the push's picks, so the worker waits there to lock the
    picks it asks, the push claimed in its open transaction. SQLite locks the whole file, so
    the probe is "some other connection holds the write lock" (the only writer here is that
    transaction: about 30 ms with 100 picks, written in bulk, long enough to be caught in it).
    """
    if connection.vendor == "postgresql":
        import psycopg

        blocker = psycopg.connect(database_url())
        blocker.execute("SELECT 1 FROM pushes_pick WHERE id = %s FOR UPDATE", [train.picks[0]])
        # Its own connection, in autocommit: pg_stat_activity is a snapshot per transaction.
        watcher = psycopg.connect(database_url(), autocommit=True)
        sql = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s"
        )

        def waiting() -> bool:
            row = watcher.execute(sql, ['SELECT "pushes_pick".%']).fetchone()
            assert row is not None  # count(*) always has its row
            return row[0] > 0

        try:
            yield waiting
        finally:
            watcher.close()
            blocker.close()  # rolls back: the dead worker's backend gets its lock and aborts
        return
    probe = sqlite3.connect(connection.settings_dict["NAME"], timeout=0, isolation_level=None)

    def writing() -> bool:
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            return "locked" in str(error)
        probe.execute("ROLLBACK")
        return False

    try:
        yield writing
    finally:
        probe.close()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_it_opens_confirmations_asks_nobody_twice(train_of, alice, bob):
    picks = 3 if connection.vendor == "postgresql" else 100
    train = train_of(
        picks=picks, state=PickState.APPROVED, push_state=PushState.SCHEDULED,
        scheduled_in=dt.timedelta(minutes=20), tests=False,
    )  # fmt: skip
    confirms = Notification.objects.filter(kind=NotificationKind.CONFIRM, push=train.push)
    with worker_process() as process, confirmations_stalled(train) as inside:
        tasks.train_tick.delay()
        wait_for(inside, interval=0.005, timeout=60, what="the confirmations transaction")
        process.kill()
    # Killed mid-transaction: nothing of it is left, not even the picks it had asked already.
    assert train.refresh().state == PushState.SCHEDULED
    assert not confirms.exists()
    assert set(train.pick_states()) == {PickState.APPROVED}

    with worker() as process:
        tasks.train_tick.delay()
        wait_for(lambda: confirms.count() == picks, what="the confirmations, after the tick")
        assert train.refresh().state == PushState.CONFIRMING
        # The two who answer ship; the others roll (no later push: they wait for the next cut).
        for pick_id, who in zip(train.picks[:2], (alice, bob), strict=True):
            services.pick_confirm(pick_id=pick_id, actor=who)
        Push.objects.filter(pk=train.push.pk).update(scheduled_at=timezone.now())
        tasks.train_tick.delay()
        wait_for(lambda: train.refresh().state == PushState.DONE, timeout=90, what="the push")
    assert confirms.count() == picks  # once each, after a kill and two ticks
    assert sorted(confirms.values_list("pick_id", flat=True)) == sorted(train.picks)
    states = train.pick_states()
    assert states == [PickState.SHIPPED] * 2 + [PickState.DEFERRED] * (picks - 2)
    assert not Pick.objects.filter(pk__in=train.picks[2:], push__isnull=False).exists()
    assert_consistent(train.branch, train.remote.bare)
