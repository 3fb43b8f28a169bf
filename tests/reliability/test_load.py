"""Load at the service layer: 300 requestors confirming at the same moment, each from its own
thread and database connection, through `services.pick_confirm`; and "where is my revision?"
asked from 50 threads at once. (HTTP load is measured separately.)"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, connections
from django.utils import timezone

from pushes import selectors, services
from pushes.choices import NotificationKind, PickState, PushKind, PushState
from pushes.models import Engineer, Notification, Pick, PickEvent, Push, ReleaseBranch, Repository

CONFIRMATIONS = 300
# PostgreSQL here allows 100 connections, shared with other test runs: 300 threads start at
# once and at most this many hold a connection at a time, as a pool of web workers would.
POSTGRES_CONNECTIONS = 40

T = TypeVar("T")


def in_threads(
    targets: Sequence[Callable[[], T]], limit: int
) -> tuple[list[T | Exception | None], float]:
    """Start every target at once in its own thread; at most ``limit`` use the database at a
    time. Returns what each returned or raised (None: still running after the wait), and the
    wall time."""
    barrier = threading.Barrier(len(targets) + 1)
    gate = threading.BoundedSemaphore(limit)
    results: list[T | Exception | None] = [None] * len(targets)

    def run(n: int) -> None:
        barrier.wait()
        with gate:
            try:
                results[n] = targets[n]()
            except Exception as error:  # noqa: BLE001 - handed back to the test
                results[n] = error
            finally:
                connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(targets))]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    barrier.wait()
    for thread in threads:
        thread.join(300)
    return results, time.monotonic() - started


def many_awaiting(count: int) -> tuple[Push, list[Pick], list[Engineer]]:
    """``count`` engineers, each with one pick awaiting confirmation in one push."""
    repository = Repository.objects.create(slug="load", name="Load", remote_url="/nowhere")
    now = timezone.now()
    branch = ReleaseBranch.objects.create(
        repository=repository, name="release/load", cut_at=now, base_sha="a" * 40
    )
    push = Push.objects.create(
        branch=branch, day=now.date(), number=1, state=PushState.CONFIRMING,
        kind=PushKind.DAILY, scheduled_at=now + dt.timedelta(minutes=20),
    )  # fmt: skip
    password = make_password("x")
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"engineer{n}", password=password) for n in range(count)
    )
    engineers = Engineer.objects.bulk_create(
        Engineer(user=user, email=f"{user.username}@example.com") for user in users
    )
    picks = Pick.objects.bulk_create(
        Pick(
            branch=branch, push=push, sha=f"{n + 1:040x}", trunk_position=n, title=f"Fix {n}",
            author_name="A", author_email="a@example.com", requestor=engineer, reason="Load",
            state=PickState.AWAITING_CONFIRMATION,
        )
        for n, engineer in enumerate(engineers)
    )  # fmt: skip
    Notification.objects.bulk_create(
        Notification(
            engineer=engineer, kind=NotificationKind.CONFIRM, text="Are you online?", pick=pick,
            push=push, created_at=now,
        )
        for pick, engineer in zip(picks, engineers, strict=True)
    )  # fmt: skip
    return push, picks, engineers


@pytest.mark.slow  # 10-30 s: 300 engineers, then 600 confirmations
@pytest.mark.django_db(transaction=True)
def test_300_simultaneous_confirmations_are_all_recorded_exactly_once():
    push, picks, engineers = many_awaiting(CONFIRMATIONS)
    limit = POSTGRES_CONNECTIONS if connection.vendor == "postgresql" else CONFIRMATIONS

    def confirm(pick: Pick, engineer: Engineer) -> Callable[[], Pick]:
        return lambda: services.pick_confirm(pick_id=pick.pk, actor=engineer)

    targets = [confirm(p, e) for p, e in zip(picks, engineers, strict=True)]
    results, took = in_threads(targets, limit)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:5]
    print(f"\n{CONFIRMATIONS} confirmations, {limit} at a time, {connection.vendor}: {took:.2f} s")

    assert Pick.objects.filter(push=push, state=PickState.CONFIRMED).count() == CONFIRMATIONS
    confirmed = PickEvent.objects.filter(to_state=PickState.CONFIRMED)
    assert confirmed.count() == CONFIRMATIONS
    assert confirmed.values("pick").distinct().count() == CONFIRMATIONS
    assert sorted(confirmed.values_list("actor_id", flat=True)) == sorted(e.pk for e in engineers)
    asked = Notification.objects.filter(kind=NotificationKind.CONFIRM, push=push)
    assert not asked.filter(answered_at__isnull=True).exists()

    # Everyone presses "I'm here" again at once: nothing changes, nothing fails.
    results, _ = in_threads(targets, limit)
    assert not [r for r in results if isinstance(r, Exception)]
    assert confirmed.count() == CONFIRMATIONS


@pytest.mark.django_db(transaction=True)
def test_where_is_my_revision_asked_from_50_threads_at_once_answers_each_the_same(train_of, alice):
    train = train_of(tests=False)
    services.push_run(push_id=train.push.pk)
    trunk = list(train.repository.revisions.order_by("position").values_list("sha", flat=True))
    expected = {sha: selectors.revision_status(query=sha[:10]).story for sha in trunk}
    queries = [trunk[n % len(trunk)] for n in range(500)]  # 50 threads x 10 questions

    def ask(chunk: list[str]) -> Callable[[], list[tuple[str, list[str]]]]:
        return lambda: [(sha, selectors.revision_status(query=sha[:10]).story) for sha in chunk]

    results, took = in_threads([ask(queries[n::50]) for n in range(50)], 50)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:5]
    answers = [answer for chunk in results for answer in chunk]
    assert len(answers) == 500
    assert all(story == expected[sha] for sha, story in answers)
    shipped = [s for s in train.shas if "shipped in push" in " ".join(expected[s])]
    assert shipped == train.shas
    print(f"\n500 status questions from 50 threads, {connection.vendor}: {took:.2f} s")


@pytest.mark.django_db(transaction=True)
def test_sixteen_pick_requests_at_once_are_all_answered(train_of, alice, bob, settings):
    """Issue 15: sixteen requests at once answered 503 `git-unavailable` in bursts (worktrees
    made without a lock). Each request dry-runs its pick in a worktree of the one clone; every
    one must be answered, with a pick stored and no error."""
    train = train_of(picks=0, tests=False)
    shas = [
        train.remote.commit({f"src/many{n}.py": f"MANY = {n}\n"}, f"Change {n}") for n in range(16)
    ]
    services.trunk_sync(repository=train.repository)
    people = [alice, bob]

    def ask(n: int) -> Callable[[], Pick]:
        return lambda: (
            services.pick_request(
                requestor=people[n % 2], revision=shas[n], reason="It cannot wait"
            ).pick
        )

    results, took = in_threads([ask(n) for n in range(16)], 16)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    assert Pick.objects.filter(sha__in=shas).count() == 16
    print(f"\n16 pick requests at once, {connection.vendor}: {took:.2f} s")
