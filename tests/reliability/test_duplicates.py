"""Two pushes of one branch started at once, and the same task delivered twice (at-least-once
delivery: acks_late, a redelivered message, a tick run twice): one push runs at a time, and a
second delivery adds no notice, event, pick, trunk commit or branch commit."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from pushes import services, tasks
from pushes.choices import (
    PUSH_RUNNING_STATES,
    NotificationKind,
    PickState,
    PushKind,
    PushState,
    ReviewStatus,
    ReviewTool,
)
from pushes.models import Notification, Pick, PickEvent, Push, Repository, Revision
from tests.reliability.conftest import worker
from tests.reliability.invariants import assert_consistent
from tests.stubs.review_servers import github_server
from tests.workers import wait_for


def at_once(*targets: Callable[[], object]) -> list[object]:
    """Run each target in its own thread (its own database connection), released together.
    Returns what each returned or raised."""
    barrier = threading.Barrier(len(targets))
    results: list[object] = [None] * len(targets)

    def run(n: int, target: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[n] = target()
        except Exception as error:  # noqa: BLE001 - handed back to the test
            results[n] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_pushes_of_one_branch_started_at_once_run_one_at_a_time(train_of):
    train = train_of()
    first = train.push
    second = Push.objects.create(
        branch=train.branch, day=first.day, number=2, state=PushState.CONFIRMING,
        kind=PushKind.DAILY, scheduled_at=timezone.now() - dt.timedelta(seconds=30),
    )  # fmt: skip
    Pick.objects.filter(pk=train.picks[2]).update(push=second)
    held = f"test-{train.shas[0]}"
    train.control.hold(held)
    with worker() as one:
        tasks.push_run.delay(first.pk)
        train.control.wait(held)  # the first push is merging, its first pick under test
        with worker() as other:
            # A second worker is handed the other push of the branch, and the first one again.
            tasks.push_run.delay(second.pk)
            tasks.push_run.delay(first.pk)
            wait_for(lambda: other.log.count("succeeded") == 2, what=f"both tasks\n{other.log}")
            assert other.log.count("is running; this one waits for it") == 2
        assert Push.objects.get(pk=second.pk).state == PushState.CONFIRMING  # not started
        assert Push.objects.filter(branch=train.branch, state__in=PUSH_RUNNING_STATES).count() == 1
        # Behind the lock, the database refuses a second running push of the branch outright.
        with pytest.raises(IntegrityError), transaction.atomic():
            Push.objects.filter(pk=second.pk).update(state=PushState.MERGING)
        train.control.release()
        wait_for(lambda: train.refresh().state == PushState.DONE, timeout=60, what="push 1")
        tasks.train_tick.delay()  # the reconciler picks up the push that had to wait
        wait_for(
            lambda: Push.objects.get(pk=second.pk).state == PushState.DONE, timeout=60,
            what=f"push 2\n{one.log}",
        )  # fmt: skip
    assert train.pick_states() == [PickState.SHIPPED] * 3
    assert train.control.log().count(held) == 1  # the first pick was tested once, not twice
    assert_consistent(train.branch, train.remote.bare)


@pytest.mark.django_db(transaction=True)
def test_the_same_push_run_twice_at_once_applies_each_pick_once(train_of):
    train = train_of(tests=False)
    results = at_once(*[lambda: services.push_run(push_id=train.push.pk)] * 2)
    finished = [r for r in results if isinstance(r, Push)]
    busy = [r for r in results if isinstance(r, services.PushBusy)]
    assert (len(finished), len(busy)) == (1, 1), results
    assert finished[0].state == PushState.DONE
    assert services.push_run(push_id=train.push.pk).state == PushState.DONE  # a third: no-op
    assert train.pick_states() == [PickState.SHIPPED] * 3
    assert_consistent(train.branch, train.remote.bare)


@pytest.mark.django_db(transaction=True)
def test_the_tick_run_twice_at_once_asks_for_each_confirmation_once(train_of):
    train = train_of(
        picks=4, state=PickState.APPROVED, push_state=PushState.SCHEDULED,
        scheduled_in=dt.timedelta(minutes=20), tests=False,
    )  # fmt: skip
    results = at_once(services.train_advance, services.train_advance)
    assert not [r for r in results if isinstance(r, Exception)], results
    results = at_once(*[lambda: services.push_confirmations_open(push_id=train.push.pk)] * 2)
    assert not [r for r in results if isinstance(r, Exception)], results
    confirms = Notification.objects.filter(kind=NotificationKind.CONFIRM, push=train.push)
    assert sorted(confirms.values_list("pick_id", flat=True)) == sorted(train.picks)
    asked = PickEvent.objects.filter(to_state=PickState.AWAITING_CONFIRMATION)
    assert asked.count() == 4
    assert train.refresh().state == PushState.CONFIRMING


@pytest.mark.django_db(transaction=True)
def test_trunk_sync_twice_at_once_indexes_each_commit_once(train_of):
    train = train_of(picks=1, tests=False)
    before = Revision.objects.count()
    for n in range(30):
        train.remote.commit({f"src/late{n}.py": f"LATE = {n}\n"}, f"Landed later {n}")
    repository = train.repository
    results = at_once(*[lambda: services.trunk_sync(repository=repository)] * 2)
    assert sorted(results) == [0, 30], results  # one indexed them, the other found them done
    positions = list(Revision.objects.order_by("position").values_list("position", flat=True))
    assert positions == list(range(before + 30))
    assert Revision.objects.values("sha").distinct().count() == before + 30


@pytest.mark.django_db(transaction=True)
def test_a_review_fetch_delivered_twice_at_once_counts_once(train_of, monkeypatch):
    token = "ghp_R3l3as3b0tT0k3nF0rT3st1ngOnly0000"
    train = train_of(picks=1, tests=False)
    pick = Pick.objects.get(pk=train.picks[0])
    variable = "RELEASEBOT_REVIEW_TOKEN_RELIABILITY"
    env = {variable: token, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    with github_server(token) as stub, worker(concurrency=2, env=env) as process:
        Pick.objects.filter(pk=pick.pk).update(
            review_url=f"{stub.url}/acme/app/pull/7", review_status=ReviewStatus.PENDING
        )  # a pull request on the configured (local, plain-HTTP) tool
        Repository.objects.filter(pk=train.repository.pk).update(
            review_tool=ReviewTool.GITHUB, review_api_url=stub.url, review_allow_http=True,
            review_token_env=variable,
        )  # fmt: skip
        tasks.pick_review_fetch.delay(pick.pk)
        tasks.pick_review_fetch.delay(pick.pk)
        wait_for(lambda: process.log.count("succeeded") == 2, what=f"both\n{process.log}")
    row = Pick.objects.filter(pk=pick.pk).values("review_status", "review_comments").get()
    assert row == {"review_status": ReviewStatus.KNOWN, "review_comments": 8}  # not 16
    assert not Notification.objects.filter(pick=pick).exists()
