"""The weekly cut and the trunk index, on real repositories."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import time_machine

from pushes import git, services
from pushes.choices import BranchState, NotificationKind, PickState, PushKind, PushState
from pushes.models import Notification, Pick, PickEvent, Push, ReleaseBranch, Revision
from pushes.tasks import train_tick
from tests.conftest import make_engineer
from tests.repos import git as run_git

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
SUNDAY_CUT = dt.datetime(2026, 11, 22, 18, 0, tzinfo=LA)


def test_trunk_sync_indexes_every_trunk_commit_in_order_with_its_review_link(repository, remote):
    assert services.trunk_sync(repository=repository) == 5
    commits = list(Revision.objects.filter(repository=repository).order_by("position"))
    assert [c.sha for c in commits] == list(reversed(remote.log()))
    assert [c.position for c in commits] == [0, 1, 2, 3, 4]
    assert commits[0].title == "Add module 1"
    assert commits[0].review_url == "https://github.com/acme/app/pull/101"
    assert commits[1].review_url == "https://phabricator.example.com/D102"
    assert commits[0].author_email == "alice@example.com"


def test_trunk_sync_twice_adds_only_new_commits(repository, remote):
    services.trunk_sync(repository=repository)
    assert services.trunk_sync(repository=repository) == 0
    new = remote.commit({"src/new.py": "X = 1\n"}, "Add new")
    assert services.trunk_sync(repository=repository) == 1
    latest = Revision.objects.get(repository=repository, sha=new)
    assert latest.position == 5
    repository.refresh_from_db()
    assert repository.trunk_indexed_sha == new


def test_a_cut_makes_the_release_branch_and_latest_at_trunks_head_on_the_remote(repository, remote):
    branch = services.branch_cut(repository=repository, at=SUNDAY_CUT)
    head = remote.head()
    assert branch.name == "release/2026-11-22"
    assert (branch.base_sha, branch.base_position, branch.state) == (
        head,
        4,
        BranchState.STABILISING,
    )
    assert remote.head("refs/heads/release/2026-11-22") == head
    assert remote.head("refs/heads/latest") == head


def test_a_cut_schedules_the_weekly_ship_and_the_daily_pushes(repository):
    branch = services.branch_cut(repository=repository, at=SUNDAY_CUT)
    pushes = list(branch.pushes.order_by("scheduled_at"))
    assert [
        (p.kind, p.scheduled_at.astimezone(LA).strftime("%a %H:%M"), p.number) for p in pushes
    ] == [
        (PushKind.WEEKLY, "Tue 11:00", 1),
        (PushKind.DAILY, "Wed 11:00", 1),
        (PushKind.DAILY, "Wed 16:00", 2),
        (PushKind.DAILY, "Thu 11:00", 1),
        (PushKind.DAILY, "Thu 16:00", 2),
        (PushKind.DAILY, "Fri 11:00", 1),
        (PushKind.DAILY, "Fri 16:00", 2),
    ]


def test_cutting_twice_changes_nothing(repository, remote):
    first = services.branch_cut(repository=repository, at=SUNDAY_CUT)
    remote.commit({"src/late.py": "LATE = 1\n"}, "Landed after the cut")
    second = services.branch_cut(repository=repository, at=SUNDAY_CUT)
    assert second.pk == first.pk
    assert ReleaseBranch.objects.count() == 1
    assert Push.objects.count() == 7
    assert remote.head("refs/heads/release/2026-11-22") == first.base_sha


def test_a_branch_left_in_git_by_a_crashed_cut_is_adopted_not_moved(repository, remote):
    path = services.clone_path(repository)
    services.trunk_sync(repository=repository)
    old_head = remote.head()
    git.branch_create(path, "release/2026-11-22", old_head)  # the crash: git done, no row
    remote.commit({"src/late.py": "LATE = 1\n"}, "Landed after the crash")
    branch = services.branch_cut(repository=repository, at=SUNDAY_CUT)
    assert branch.base_sha == old_head
    assert remote.head("refs/heads/release/2026-11-22") == old_head


def test_next_weeks_cut_closes_the_previous_branch_and_moves_latest(repository, remote):
    first = services.branch_cut(repository=repository, at=SUNDAY_CUT)
    remote.commit({"src/next.py": "NEXT = 1\n"}, "Next week's work")
    second = services.branch_cut(repository=repository, at=SUNDAY_CUT + dt.timedelta(days=7))
    first.refresh_from_db()
    assert first.state == BranchState.CLOSED
    assert second.name == "release/2026-11-29"
    assert remote.head("refs/heads/latest") == remote.head() == second.base_sha
    tags = run_git(remote.bare, "for-each-ref", "--format=%(refname)", "refs/heads/release")
    assert tags.split() == ["refs/heads/release/2026-11-22", "refs/heads/release/2026-11-29"]


def test_the_beat_tick_cuts_only_when_the_cut_is_due(repository):
    with time_machine.travel(SUNDAY_CUT - dt.timedelta(minutes=1), tick=False):
        train_tick()
    assert not ReleaseBranch.objects.exists()
    with time_machine.travel(SUNDAY_CUT + dt.timedelta(seconds=30), tick=False):
        train_tick()
        train_tick()
    assert list(ReleaseBranch.objects.values_list("name", flat=True)) == ["release/2026-11-22"]


def test_a_cut_missed_by_more_than_a_day_is_left_to_a_person(repository):
    with time_machine.travel(SUNDAY_CUT + dt.timedelta(days=2), tick=False):
        train_tick()
    assert not ReleaseBranch.objects.exists()


def test_a_stale_copy_of_the_repository_saved_over_does_not_make_the_index_repeat(
    repository, remote
):
    stale = type(repository).objects.get(pk=repository.pk)  # loaded before the sync
    services.trunk_sync(repository=repository)
    stale.test_command = "make check"  # an admin form saved after the sync
    stale.save()
    remote.commit({"src/after.py": "A = 1\n"}, "After the save")
    assert services.trunk_sync(repository=repository) == 1
    assert Revision.objects.filter(repository=repository).count() == 6


def test_the_next_cut_expires_picks_left_open_on_the_closed_branch(repository, remote, alice):
    from pushes.models import Notification, Pick

    first = services.branch_cut(repository=repository, at=SUNDAY_CUT)
    fix = remote.commit({"src/module1.py": "VALUE = 100\n"}, "Fix")
    services.trunk_sync(repository=repository)
    pick = Pick.objects.create(
        branch=first, sha=fix, title="Fix", author_name="A", author_email="a@x",
        requestor=alice, reason="r", state="approved",
    )  # fmt: skip
    services.branch_cut(repository=repository, at=SUNDAY_CUT + dt.timedelta(days=7))
    pick.refresh_from_db()
    assert pick.state == "expired"
    assert "release/2026-11-29 was cut from trunk" in pick.events.last().reason
    assert Notification.objects.filter(engineer=alice, kind="expired").exists()


def test_opening_confirmations_asks_each_waiting_requestor_once_and_records_each_move(
    remote, repository, rel, alice, bob, branch, landed, monday
):
    dave = make_engineer("dave")
    other = remote.commit({"src/other.py": "OTHER = 1\n"}, "Other fix", author="rel")
    services.trunk_sync(repository=repository)
    picks = {}
    for name, who, sha in [
        ("approved", alice, landed["fix"]),
        ("deferred", bob, landed["feature"]),
        ("asked", rel, landed["second"]),
        ("confirmed", dave, other),
    ]:
        pick = services.pick_request(requestor=who, revision=sha, reason="Needed").pick
        picks[name] = services.pick_approve(pick_id=pick.pk, actor=rel)
    push = picks["approved"].push
    assert {p.push_id for p in picks.values()} == {push.pk}
    # A pick rolled into this push, one asked already (a skipped push moved it), one confirmed.
    for name, state in [
        ("deferred", PickState.DEFERRED),
        ("asked", PickState.AWAITING_CONFIRMATION),
        ("confirmed", PickState.CONFIRMED),
    ]:
        Pick.objects.filter(pk=picks[name].pk).update(state=state)
    before = PickEvent.objects.order_by("pk").last().pk

    monday.move_to(dt.datetime(2026, 11, 24, 10, 30, 5, tzinfo=LA))
    assert services.push_confirmations_open(push_id=push.pk).state == PushState.CONFIRMING

    states = dict(Pick.objects.filter(push=push).values_list("pk", "state"))
    assert states == {
        picks["approved"].pk: PickState.AWAITING_CONFIRMATION,
        picks["deferred"].pk: PickState.AWAITING_CONFIRMATION,
        picks["asked"].pk: PickState.AWAITING_CONFIRMATION,
        picks["confirmed"].pk: PickState.CONFIRMED,
    }
    # The events pick_transition writes for each move: the bot's, no reason, in order.
    events = PickEvent.objects.filter(pk__gt=before).order_by("at", "pk")
    moves = [(e.pick_id, e.from_state, e.to_state, e.actor_id, e.reason) for e in events]
    assert sorted(moves) == sorted(
        [
            (picks["approved"].pk, "approved", "awaiting-confirmation", None, ""),
            (picks["deferred"].pk, "deferred", "approved", None, ""),
            (picks["deferred"].pk, "approved", "awaiting-confirmation", None, ""),
        ]
    )
    deferred = [m[1:3] for m in moves if m[0] == picks["deferred"].pk]
    assert deferred == [("deferred", "approved"), ("approved", "awaiting-confirmation")]
    asks = Notification.objects.filter(kind=NotificationKind.CONFIRM, push=push)
    assert sorted(asks.values_list("pick_id", "engineer_id")) == sorted(
        [(picks[n].pk, picks[n].requestor_id) for n in ("approved", "deferred", "asked")]
    )
    fix = picks["approved"]
    assert asks.get(pick=fix).text == (
        f"Are you online to support pick #{fix.pk} ({fix.short_sha} Fix module 1) in push "
        "2026-11-24.1 of release/2026-11-22 at Tue 24 Nov 11:00 PST? Confirm, or it rolls to "
        "the next push."
    )

    # Run again (a tick delivered twice): nothing more is asked or recorded.
    services.push_confirmations_open(push_id=push.pk)
    assert PickEvent.objects.filter(pk__gt=before).count() == 3
    assert asks.count() == 3
