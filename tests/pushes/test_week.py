"""A whole week of the train on a real repository with frozen time, then git is asked what
happened: cut Sunday, ship Tuesday, two pushes a day Wednesday to Friday."""

from __future__ import annotations

import datetime as dt
import sys

import pytest
import time_machine

from karma.selectors import karma_stars
from pushes import selectors, services, tasks
from pushes.choices import PickState, PushState
from pushes.models import Notification, Pick, Push, ReleaseBranch
from releasebot.celery import app
from tests.pushes.conftest import LA, SUNDAY_CUT
from tests.repos import git

TEST_SCRIPT = """\
import pathlib, sys
broken = [p for p in pathlib.Path("src").glob("*.py") if "BROKEN" in p.read_text()]
print("checked", len(list(pathlib.Path("src").glob("*.py"))), "files")
sys.exit(1 if broken else 0)
"""


@pytest.fixture
def eager():
    """Run what the tick queues inline, so the week can be stepped through in one process.
    (A real worker runs pushes in test_push_crash.py.)"""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def at(traveller, moment: dt.datetime) -> None:
    traveller.move_to(moment)
    tasks.train_tick()


def push_at(branch: ReleaseBranch, day: int, hour: int) -> Push:
    return branch.pushes.get(scheduled_at=dt.datetime(2026, 11, day, hour, 0, tzinfo=LA))


def walk_to(traveller, push: Push, *, start: int = -30) -> None:
    """T-30 (confirmations), T-10 (reminders), T (the merge)."""
    for minutes in (start, -10, 0):
        at(traveller, push.scheduled_at + dt.timedelta(minutes=minutes, seconds=5))


def test_a_week_of_the_train_leaves_git_exactly_as_the_picks_say(
    eager, remote, repository, rel, alice, bob
):
    remote.commit({"run_tests.py": TEST_SCRIPT}, "Add the test runner")
    repository.test_command = f"{sys.executable} run_tests.py"
    repository.save()
    trunk_before = None
    with time_machine.travel(SUNDAY_CUT - dt.timedelta(hours=1), tick=False) as clock:
        at(clock, SUNDAY_CUT + dt.timedelta(seconds=30))
        branch = ReleaseBranch.objects.get()
        assert branch.name == "release/2026-11-22"

        # Monday: work lands on trunk; picks are asked for.
        clock.move_to(dt.datetime(2026, 11, 23, 9, 0, tzinfo=LA))
        fix = remote.commit({"src/module1.py": "VALUE = 100\n"}, "Fix checkout crash")
        feature = remote.commit({"src/feature.py": "ON = True\n"}, "Add feature", author="bob")
        off = remote.commit({"src/feature.py": "ON = False\n"}, "Turn feature off")
        breaker = remote.commit({"src/module2.py": "BROKEN = True\n"}, "Risky refactor")
        late = remote.commit({"src/module3.py": "VALUE = 33\n"}, "Fix search ranking")
        lazy = remote.commit({"src/module4.py": "VALUE = 44\n"}, "Tweak copy", author="bob")
        trunk_before = remote.head()
        services.trunk_sync(repository=repository)

        def request(who, sha, why):
            pick = services.pick_request(requestor=who, revision=sha, reason=why).pick
            services.pick_approve(pick_id=pick.pk, actor=rel)
            return pick.pk

        p_fix = request(alice, fix, "Checkout crashes for 2% of users")

        # Tuesday: the weekly ship carries the whole branch and alice's confirmed fix.
        ship = push_at(branch, 24, 11)
        at(clock, ship.scheduled_at - dt.timedelta(minutes=29))
        services.pick_confirm(pick_id=p_fix, actor=alice)
        walk_to(clock, ship, start=-20)
        ship.refresh_from_db()
        assert ship.state == PushState.DONE, ship.error

        # Tuesday afternoon: requests for Wednesday's first push.
        clock.move_to(dt.datetime(2026, 11, 24, 14, 0, tzinfo=LA))
        p_off = request(bob, off, "Kill switch")  # needs `feature`: conflicts
        p_breaker = request(alice, breaker, "Cleanup")  # breaks the tests
        p_late = request(alice, late, "Ranking bug")  # alice forgets to confirm at first
        p_lazy = request(bob, lazy, "Copy change")  # never confirmed: expires
        wed1 = push_at(branch, 25, 11)
        at(clock, wed1.scheduled_at - dt.timedelta(minutes=29))
        for pk, who in ((p_off, bob), (p_breaker, alice)):
            services.pick_confirm(pick_id=pk, actor=who)
        walk_to(clock, wed1, start=-20)

        # Wednesday afternoon: alice confirms the rolled pick; bob keeps ignoring his.
        wed2 = push_at(branch, 25, 16)
        at(clock, wed2.scheduled_at - dt.timedelta(minutes=29))
        services.pick_confirm(pick_id=p_late, actor=alice)
        walk_to(clock, wed2, start=-20)
        for day, hour in ((26, 11), (26, 16), (27, 11), (27, 16)):
            walk_to(clock, push_at(branch, day, hour))

    picks = {p.pk: p for p in Pick.objects.all()}
    assert picks[p_fix].state == PickState.SHIPPED
    assert picks[p_late].state == PickState.SHIPPED and picks[p_late].rolls == 1
    assert picks[p_off].state == PickState.CONFLICT
    assert picks[p_off].conflict_files == ["src/feature.py"]
    assert picks[p_breaker].state == PickState.TESTS_FAILED
    assert picks[p_lazy].state == PickState.EXPIRED
    assert all(p.state in (PushState.DONE,) for p in branch.pushes.all())

    # Now ask git itself. The remote's branch holds exactly the shipped picks, once each,
    # in trunk order, with their -x trailers; nothing else.
    base = branch.base_sha
    on_branch = git(remote.bare, "rev-list", "--reverse", f"{base}..{branch.name}").split()
    messages = [git(remote.bare, "log", "-1", "--format=%B", c) for c in on_branch]
    assert len(on_branch) == 2
    assert f"(cherry picked from commit {fix})" in messages[0]
    assert f"(cherry picked from commit {late})" in messages[1]
    for sha in (feature, off, breaker, lazy):
        assert not any(sha in m for m in messages)
    assert git(remote.bare, "show", f"{branch.name}:src/module1.py") == "VALUE = 100\n"
    assert git(remote.bare, "show", f"{branch.name}:src/module2.py") == "VALUE = 2\n"
    # Trunk untouched; every push tagged at the head it left, on the remote.
    assert remote.head() == trunk_before
    for push in branch.pushes.all():
        tag = f"push/{branch.name}/{push.day:%Y-%m-%d}.{push.number}"
        assert push.tag == tag
        assert git(remote.bare, "rev-parse", f"{tag}^{{commit}}").strip() == push.head_sha
    assert remote.head(branch.name) == on_branch[-1]
    assert remote.head("latest") == base

    # Everyone was told.
    assert Notification.objects.filter(engineer=alice, kind="shipped").count() == 2
    assert Notification.objects.filter(engineer=bob, kind="conflict").count() == 1
    assert Notification.objects.filter(engineer=alice, kind="tests-failed").count() == 1
    assert Notification.objects.filter(engineer=bob, kind="expired").count() == 1
    assert Notification.objects.filter(engineer=alice, kind="rolled", pick_id=p_late).count() == 1
    assert Notification.objects.filter(engineer=rel, kind="push-summary").count() == 7
    # Release engineering is told to look at alice's karma, which nobody changed by itself.
    suggestion = Notification.objects.get(engineer=rel, kind="karma-suggestion")
    assert f"Pick #{p_breaker} by alice broke the tests" in suggestion.text
    assert karma_stars(user_id=alice.user_id) == 5
    # Reminded at T-10; every push rehearsed before it ran.
    assert Notification.objects.filter(engineer=alice, kind="reminder", pick_id=p_late).exists()
    assert not branch.pushes.filter(rehearsed_at__isnull=True).exists()
    assert picks[p_off].predicted_conflicts == ["src/feature.py"]

    # "Where is my revision?" answers from the index.
    status = selectors.revision_status(query=late[:9])
    assert status.shipped_at == picks[p_late].shipped_at
    assert f"Pick #{p_late} to release/2026-11-22 by alice: shipped in push 2026-11-25.2" in (
        " ".join(status.story)
    )
    before_cut = selectors.revision_status(query=git(remote.bare, "rev-parse", "main~7").strip())
    assert before_cut.cut_into == branch
    assert "shipped with the weekly push Tue 24 Nov 11:00" in " ".join(before_cut.story)
