"""Faults around a push, each followed by the same check that git and the database agree:
the remote unreachable at push time, a test command that hangs past its timeout, and the
database failing in the middle of a transition (PostgreSQL: the connection is terminated by
the server; SQLite: a trigger aborts the write)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, connections

from pushes import services
from pushes.choices import NotificationKind, PickState, PushState, TestRunState
from pushes.models import Notification, Pick, PickEvent, TestRun
from tests.reliability.faults import pid_alive
from tests.reliability.invariants import assert_consistent, ref
from tests.workers import test_database_url as database_url
from tests.workers import wait_for

# --- the remote -------------------------------------------------------------------------------


def run_in_thread(target: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    """Run ``target`` in a thread with its own database connection; collect what it raises."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


@pytest.mark.django_db(transaction=True)
def test_a_remote_gone_at_push_time_fails_the_push_cleanly_and_a_retry_finishes_it(train_of, rel):
    train = train_of(clone_hooks=True)
    train.control.hold("tag")  # merged and tagged locally; stop before the remote push
    thread, errors = run_in_thread(lambda: services.push_run(push_id=train.push.pk))
    train.control.wait("tag")
    away = train.remote.bare.with_name("unreachable.git")
    train.remote.bare.rename(away)  # the remote is gone (a network partition, a dead host)
    train.control.release()
    thread.join(60)
    assert not errors
    push = train.refresh()
    assert push.state == PushState.FAILED
    assert push.error.startswith("Pushing failed: git push failed")
    notice = Notification.objects.get(engineer=rel, kind=NotificationKind.PUSH_FAILED, push=push)
    assert f"Push {push.label} of {train.branch.name} failed" in notice.text
    assert train.pick_states() == [PickState.PICKED] * 3  # on the clone's branch, not shipped
    assert_consistent(train.branch, away)

    away.rename(train.remote.bare)
    assert ref(train.remote.bare, f"refs/heads/{train.branch.name}") == train.branch.base_sha
    push = services.push_retry(push_id=push.pk)
    assert (push.state, push.error) == (PushState.DONE, "")
    assert train.pick_states() == [PickState.SHIPPED] * 3
    assert_consistent(train.branch, train.remote.bare)


@pytest.mark.django_db(transaction=True)
def test_a_remote_gone_when_the_push_starts_fails_it_before_any_pick(train_of, rel):
    train = train_of()
    shutil.rmtree(train.remote.bare)
    push = services.push_run(push_id=train.push.pk)
    assert push.state == PushState.FAILED
    assert push.error.startswith("Merging failed: git fetch failed")
    assert Notification.objects.filter(kind=NotificationKind.PUSH_FAILED, push=push).exists()
    assert train.pick_states() == [PickState.CONFIRMED] * 3  # untouched: still going out
    assert not TestRun.objects.filter(push=push).exists()


# --- a hanging test command -----------------------------------------------------------------

HANG = """\
echo $$ > "$1/hang.pid"
trap '' TERM
sleep 60 &
echo $! > "$1/child.pid"
wait
"""


@pytest.mark.django_db(transaction=True)
def test_a_test_command_hanging_past_its_timeout_is_killed_with_its_children(train_of, alice):
    train = train_of(picks=2)
    script = train.control.folder / "hang.sh"
    script.write_text(HANG)
    train.repository.test_command = f"sh {script} {train.control.quoted}"
    train.repository.test_timeout_seconds = 1
    train.repository.save()

    push = services.push_run(push_id=train.push.pk)

    assert (push.state, push.error) == (PushState.DONE, "")
    assert train.pick_states() == [PickState.TESTS_FAILED] * 2
    runs = TestRun.objects.filter(push=push)
    assert [run.state for run in runs] == [TestRunState.TIMED_OUT] * 2
    assert all("timed out after 1 s" in run.log for run in runs)
    assert all(run.duration.total_seconds() < 10 for run in runs)  # 1 s, then TERM, then KILL
    for name in ("hang.pid", "child.pid"):  # it ignored SIGTERM; SIGKILL took the whole group
        pid = int((train.control.folder / name).read_text())
        assert not pid_alive(pid)
    told = Notification.objects.filter(kind=NotificationKind.TESTS_FAILED, engineer=alice)
    assert told.count() == 1
    assert ref(train.remote.bare, f"refs/heads/{train.branch.name}") == train.branch.base_sha
    assert_consistent(train.branch, train.remote.bare)


# --- the database failing mid-transition ----------------------------------------------------


def fail_inside(
    target: Callable[[], object], *, lock: tuple[str, int], waits_on: tuple[str, ...], trigger: str
) -> BaseException:
    """Run ``target`` and make the database fail it half-way through a transaction.

    PostgreSQL: the test locks row ``lock`` (table, id); when ``target``'s connection waits on
    it (in a statement starting with one of ``waits_on``; any statement when it is empty) the
    server terminates that connection. SQLite: ``trigger`` (a CREATE TRIGGER that aborts)
    stands in for the failure. Returns what ``target`` raised.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(trigger)
        try:
            target()
        except DatabaseError as error:
            return error
        finally:
            with connection.cursor() as cursor:
                cursor.execute("DROP TRIGGER reliability_fault")
        raise AssertionError("the trigger did not fire")
    import psycopg

    table, row = lock
    blocker = psycopg.connect(database_url())
    watcher = psycopg.connect(database_url(), autocommit=True)
    blocker.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [row])
    thread, errors = run_in_thread(target)
    try:
        sql = (
            "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )

        def blocked() -> int | None:
            waiting = watcher.execute(sql).fetchall()
            found = [pid for pid, query in waiting if not waits_on or query.startswith(waits_on)]
            return found[0] if found else None

        pid = wait_for(blocked, interval=0.01, what=f"a connection waiting in {waits_on}")
        watcher.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        blocker.close()
        watcher.close()
        thread.join(60)
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.django_db(transaction=True)
def test_the_database_failing_in_the_middle_of_a_confirmation_applies_none_of_it(train_of, alice):
    train = train_of(picks=1, state=PickState.AWAITING_CONFIRMATION)
    pick_id = train.picks[0]
    services.pick_ask_confirmation(pick=Pick.objects.get(pk=pick_id))  # a notice to answer

    # The pick row is updated, its event written (actor: alice), then the transaction fails:
    # PostgreSQL checks the event's foreign key to alice (locked by the test) at COMMIT, and
    # the connection dies there; SQLite's trigger refuses the event.
    error = fail_inside(
        lambda: services.pick_confirm(pick_id=pick_id, actor=alice),
        lock=("pushes_engineer", alice.pk),
        waits_on=("COMMIT",),
        trigger=(
            "CREATE TRIGGER reliability_fault BEFORE INSERT ON pushes_pickevent "
            f"WHEN NEW.actor_id = {alice.pk} BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
        ),
    )
    assert isinstance(error, DatabaseError)
    pick = Pick.objects.get(pk=pick_id)
    assert (pick.state, pick.confirmed_at) == (PickState.AWAITING_CONFIRMATION, None)
    assert not PickEvent.objects.filter(pick_id=pick_id, to_state=PickState.CONFIRMED).exists()
    assert not Notification.objects.filter(pick_id=pick_id, answered_at__isnull=False).exists()

    services.pick_confirm(pick_id=pick_id, actor=alice)  # the retry
    assert Pick.objects.get(pk=pick_id).state == PickState.CONFIRMED
    assert PickEvent.objects.filter(pick_id=pick_id, to_state=PickState.CONFIRMED).count() == 1
    assert Notification.objects.get(pick_id=pick_id, kind="confirm").answered_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_database_failing_as_a_merged_pick_is_recorded_leaves_the_branch_as_it_was(
    train_of,
):
    train = train_of(picks=2, tests=False)
    first = train.picks[0]
    error = fail_inside(
        lambda: services.push_run(push_id=train.push.pk),
        # Recording the pick waits on its row (whatever statement records it): the branch has
        # not moved yet, and must not, since the record failed.
        lock=("pushes_pick", first),
        waits_on=(),
        trigger=(
            "CREATE TRIGGER reliability_fault BEFORE UPDATE OF state ON pushes_pick "
            f"WHEN NEW.id = {first} AND NEW.state = 'picked' "
            "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
        ),
    )
    assert isinstance(error, DatabaseError)
    # Nothing reaches the branch that is not recorded: git and the database agree.
    assert train.refresh().state == PushState.MERGING
    assert train.pick_states() == [PickState.CONFIRMED] * 2
    clone_log = branch_messages(train.clone, train.branch.name, train.branch.base_sha)
    assert f"(cherry picked from commit {train.shas[0]})" not in clone_log

    push = services.push_run(push_id=train.push.pk)  # the reconciler's rerun
    assert (push.state, push.error) == (PushState.DONE, "")
    assert train.pick_states() == [PickState.SHIPPED] * 2
    picked = PickEvent.objects.get(pick_id=first, to_state=PickState.PICKED)
    assert picked.reason.startswith("Cherry-picked as")
    assert_consistent(train.branch, train.remote.bare)


@pytest.mark.django_db(transaction=True)
def test_the_database_failing_while_a_push_ships_ships_nothing_until_the_rerun(train_of, alice):
    train = train_of(picks=2, tests=False, deploy=True)
    # _ship marks each pick shipped and tells its requestor, in one transaction; it fails at
    # the notice to alice (SQLite) or at its COMMIT (PostgreSQL, foreign keys checked there).
    error = fail_inside(
        lambda: services.push_run(push_id=train.push.pk),
        lock=("pushes_engineer", alice.pk),
        waits_on=("COMMIT",),
        trigger=(
            "CREATE TRIGGER reliability_fault BEFORE INSERT ON pushes_notification "
            f"WHEN NEW.engineer_id = {alice.pk} AND NEW.kind = 'shipped' "
            "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
        ),
    )
    assert isinstance(error, DatabaseError)
    push = train.refresh()
    assert push.state == PushState.DEPLOYING
    assert train.pick_states() == [PickState.PICKED] * 2  # not one of them half-shipped
    assert not Notification.objects.filter(kind=NotificationKind.SHIPPED).exists()
    assert not PickEvent.objects.filter(to_state=PickState.SHIPPED).exists()

    push = services.push_run(push_id=push.pk)
    assert (push.state, push.error) == (PushState.DONE, "")
    assert train.pick_states() == [PickState.SHIPPED] * 2
    assert_consistent(train.branch, train.remote.bare)
    # The deploy hook ran before the failure and finished: its claim keeps the rerun from
    # calling it again (common.effects), and the push ships with its answer.
    assert train.control.deploys() == [
        f"{push.tag} {push.head_sha} releasebot-push-{push.pk}-deploy"
    ]


def branch_messages(repo: Path, branch: str, base: str) -> list[str]:
    from tests.repos import git

    out = git(repo, "log", "--format=%B", f"{base}..refs/heads/{branch}")
    return [line for line in out.splitlines() if line.startswith("(cherry picked")]
