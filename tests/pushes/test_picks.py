"""Requesting a pick: every check at request time, and every move afterwards."""

from __future__ import annotations

import datetime as dt

import pytest

from common.errors import Conflict, Forbidden
from pushes import services
from pushes.choices import BranchState, FridayPolicy, PickState, ReviewStatus
from pushes.models import FreezeWindow, Notification, Pick, PickEvent, Revision
from tests.pushes.conftest import MONDAY
from tests.repos import git as run_git


def refused(code: str, **kwargs):
    with pytest.raises(services.PickRefused) as caught:
        services.pick_request(**kwargs)
    assert caught.value.code == code, caught.value.message
    assert not Pick.objects.exists() or code == "already-requested"
    return caught.value.message


def test_a_clean_pick_is_stored_with_its_risk_data_and_first_event(alice, branch, landed):
    result = services.pick_request(requestor=alice, revision=landed["fix"][:8], reason="Crash fix")
    pick = result.pick
    assert result.dry_run.applies
    assert (pick.sha, pick.state, pick.branch, pick.title) == (
        landed["fix"],
        PickState.REQUESTED,
        branch,
        "Fix module 1",
    )
    assert (pick.lines_added, pick.lines_deleted, pick.files_changed) == (1, 1, 1)
    assert pick.push.kind == "weekly"  # Monday: the next push is Tuesday's ship
    assert pick.review_status == ReviewStatus.NONE
    event = pick.events.get()
    assert (event.actor, event.to_state, event.reason) == (alice, PickState.REQUESTED, "Crash fix")


def test_text_that_is_not_a_sha_is_refused(alice, branch, landed):
    message = refused("bad-revision", requestor=alice, revision="fix-the-bug", reason="r")
    assert "'fix-the-bug' is not a revision" in message
    refused("bad-revision", requestor=alice, revision=landed["fix"][:6], reason="r")
    refused("bad-revision", requestor=alice, revision="", reason="r")


def test_a_sha_no_commit_has_is_refused(alice, branch, landed):
    message = refused("unknown-revision", requestor=alice, revision="deadbeef12", reason="r")
    assert message == "No commit matches deadbeef12."


def test_an_ambiguous_prefix_lists_the_candidates(alice, repository, branch, landed):
    for n, sha in enumerate(["abcdef1" + "0" * 33, "abcdef1" + "1" * 33], start=100):
        Revision.objects.create(
            repository=repository, sha=sha, position=n, author_name="A", author_email="a@x",
            committed_at=MONDAY, title=f"Candidate {n}",
        )  # fmt: skip
    message = refused("ambiguous-revision", requestor=alice, revision="abcdef1", reason="r")
    assert "matches 2 commits" in message
    assert "abcdef1000 Candidate 100" in message and "abcdef1111 Candidate 101" in message


def test_a_commit_that_is_not_on_trunk_is_refused(alice, remote, repository, branch):
    side = run_git(
        remote.bare, "commit-tree", "-p", remote.head(), "-m", "Side", f"{remote.head()}^{{tree}}"
    ).strip()
    run_git(remote.bare, "update-ref", "refs/heads/side", side)
    message = refused("not-on-trunk", requestor=alice, revision=side, reason="r")
    assert "is not on main of Shop" in message


def test_a_commit_from_before_the_cut_is_already_in_the_branch(alice, remote, branch):
    message = refused("already-in-branch", requestor=alice, revision=remote.log()[1], reason="r")
    assert "landed on trunk before the cut" in message


def test_a_second_request_for_the_same_revision_answers_with_the_first(alice, bob, landed, branch):
    first = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    message = refused("already-requested", requestor=bob, revision=landed["fix"], reason="Me too")
    assert f"as pick #{first.pk} (requested, by alice)" in message
    assert Pick.objects.count() == 1


def test_a_requestor_at_two_stars_is_told_to_talk_to_release_engineering(carol, landed, branch):
    message = refused("karma", requestor=carol, revision=landed["fix"], reason="r")
    assert "2 of 5 stars" in message and "Talk to release engineering" in message


def test_a_request_without_a_reason_is_refused(alice, landed, branch):
    refused("no-reason", requestor=alice, revision=landed["fix"], reason="   ")


def test_a_closed_branch_takes_no_picks(alice, landed, branch):
    branch.state = BranchState.CLOSED
    branch.save()
    refused("no-branch", requestor=alice, revision=landed["fix"], reason="r")
    message = refused(
        "branch-closed",
        requestor=alice,
        revision=landed["fix"],
        reason="r",
        branch_name=branch.name,
    )
    assert "is closed" in message


def test_a_frozen_repository_takes_no_picks(alice, repository, landed, branch):
    FreezeWindow.objects.create(
        repository=repository, starts_at=MONDAY - dt.timedelta(hours=1),
        ends_at=MONDAY + dt.timedelta(days=1), reason="Thanksgiving",
    )  # fmt: skip
    assert "(Thanksgiving)" in refused(
        "branch-closed", requestor=alice, revision=landed["fix"], reason="r"
    )


def test_friday_no_push_takes_no_picks_on_friday(alice, repository, landed, branch, monday):
    repository.friday_policy = FridayPolicy.NO_PUSH
    repository.save()
    monday.move_to(MONDAY + dt.timedelta(days=4))
    assert "Fridays" in refused(
        "branch-closed", requestor=alice, revision=landed["fix"], reason="r"
    )


def test_a_pick_that_would_conflict_names_the_files_and_the_prerequisite(alice, landed, branch):
    result = services.pick_request(requestor=alice, revision=landed["second"], reason="Kill switch")
    assert not result.dry_run.applies
    assert result.dry_run.conflict_files == ("src/feature.py",)
    assert [p["sha"] for p in result.dry_run.prerequisites] == [landed["feature"]]
    assert "src/feature.py" in result.dry_run.summary and "Add feature" in result.dry_run.summary
    assert result.pick.predicted_conflicts == ["src/feature.py"]


def test_only_release_engineers_approve(alice, rel, landed, branch):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="r").pick
    with pytest.raises(Forbidden):
        services.pick_approve(pick_id=pick.pk, actor=alice)
    approved = services.pick_approve(pick_id=pick.pk, actor=rel)
    assert approved.state == PickState.APPROVED
    assert Notification.objects.filter(engineer=alice, kind="approved").count() == 1


def test_an_illegal_move_is_refused_and_changes_nothing(alice, rel, landed, branch):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="r").pick
    services.pick_reject(pick_id=pick.pk, actor=rel, reason="Too risky this week")
    with pytest.raises(services.IllegalTransition, match="is rejected: it cannot be approved"):
        services.pick_approve(pick_id=pick.pk, actor=rel)
    pick.refresh_from_db()
    assert pick.state == PickState.REJECTED
    assert PickEvent.objects.filter(pick=pick).count() == 2


def test_a_rejection_needs_a_reason_the_requestor_reads(alice, rel, landed, branch):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="r").pick
    with pytest.raises(services.PickRefused, match="Say why"):
        services.pick_reject(pick_id=pick.pk, actor=rel, reason="")
    services.pick_reject(pick_id=pick.pk, actor=rel, reason="Wait for the train")
    assert "rejected: Wait for the train" in Notification.objects.get(kind="rejected").text


def test_only_the_requestor_or_their_backup_confirms(alice, bob, rel, landed, branch):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="r").pick
    services.pick_approve(pick_id=pick.pk, actor=rel)
    with pytest.raises(Forbidden, match="Only alice can confirm"):
        services.pick_confirm(pick_id=pick.pk, actor=bob)
    Pick.objects.filter(pk=pick.pk).update(backup=bob)
    assert services.pick_confirm(pick_id=pick.pk, actor=bob).state == PickState.CONFIRMED
    # A second press changes nothing.
    assert services.pick_confirm(pick_id=pick.pk, actor=alice).state == PickState.CONFIRMED
    assert pick.events.filter(to_state=PickState.CONFIRMED).count() == 1


def test_declining_rolls_the_pick_to_the_next_push(alice, rel, landed, branch):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="r").pick
    services.pick_approve(pick_id=pick.pk, actor=rel)
    first_push = pick.push
    declined = services.pick_decline(pick_id=pick.pk, actor=alice)
    assert declined.state == PickState.DEFERRED
    assert declined.rolls == 1
    assert declined.push.scheduled_at > first_push.scheduled_at
    assert "rolls to push" in Notification.objects.get(kind="rolled").text


def test_a_shipped_pick_with_no_commit_recorded_cannot_be_reverted(alice, rel, landed, branch):
    """Reverting is a git revert of the pick's commit (tests/pushes/test_desk_reverts.py); a
    pick whose commit was never recorded is refused, not marked."""
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="r").pick
    Pick.objects.filter(pk=pick.pk).update(state=PickState.SHIPPED)
    with pytest.raises(Forbidden):
        services.pick_revert(pick_id=pick.pk, actor=alice, reason="Oops")
    with pytest.raises(Conflict) as refused:
        services.pick_revert(pick_id=pick.pk, actor=rel, reason="Broke payments in prod")
    assert refused.value.code == "nothing-to-revert"
    assert Pick.objects.get(pk=pick.pk).state == PickState.SHIPPED


# --- many hosts: each answers from its own clone ------------------------------------------


def test_a_host_without_a_clone_answers_a_pick_from_a_clone_it_makes(
    alice, branch, landed, settings, tmp_path
):
    settings.DATA_DIR = tmp_path / "web-host-2"  # another web host: the database, no clone
    result = services.pick_request(requestor=alice, revision=landed["fix"], reason="Needed")
    assert (result.pick.state, result.dry_run.applies) == (PickState.REQUESTED, True)
    assert services.clone_path(branch.repository).joinpath("HEAD").is_file()


def test_a_host_whose_clone_is_behind_fetches_the_commit_another_host_indexed(
    alice, remote, repository, branch, settings, tmp_path
):
    here = settings.DATA_DIR
    settings.DATA_DIR = tmp_path / "web-host-2"
    services.repository_fetch(repository=repository)  # its clone, as of now
    settings.DATA_DIR = here
    sha = remote.commit({"src/late.py": "LATE = 1\n"}, "Land late")
    services.trunk_sync(repository=repository)  # indexed by the first host only
    settings.DATA_DIR = tmp_path / "web-host-2"
    result = services.pick_request(requestor=alice, revision=sha, reason="Needed")
    assert (result.pick.sha, result.pick.files_changed) == (sha, 1)
