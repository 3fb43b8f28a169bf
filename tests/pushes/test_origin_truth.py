"""Origin is the truth: what people push to a release branch by hand, a failed push's picks, a
branch that moves under a push, and commits that reached trunk inside a merge.

Each test failed on the code before the fix.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError

from chat.commands import answer
from pushes import services
from pushes.choices import PickState, PushState
from pushes.models import BranchCommit, Pick, Push, Revision
from tests.api import assert_error, client_for
from tests.repos import git
from tests.stops import push_stops_before, push_stops_cleared


def _pushes(branch) -> list[Push]:
    return list(branch.pushes.order_by("scheduled_at"))


def _confirmed(alice, sha: str, push: Push) -> Pick:
    pick = services.pick_request(requestor=alice, revision=sha, reason="Checkout crashes").pick
    Pick.objects.filter(pk=pick.pk).update(state=PickState.CONFIRMED, push=push)
    pick.refresh_from_db()
    return pick


def _status(alice, sha: str) -> dict:
    response = client_for(alice).get(f"/api/revisions/{sha}/")
    assert response.status_code == 200, response.content
    return response.json()


def _in_tag(remote, tag: str, sha: str) -> bool:
    return sha in git(remote.bare, "rev-list", f"refs/tags/{tag}").split()


def _tagged_at(remote, tag: str) -> str:
    return git(remote.bare, "rev-parse", f"refs/tags/{tag}^{{commit}}").strip()


@pytest.fixture
def origin_refuses(remote):
    """`with origin_refuses():` origin answers fetches but refuses every push inside the block
    (its pre-receive hook says no), so a push fails at the push to origin."""
    from contextlib import contextmanager

    @contextmanager
    def refusing():
        hook = remote.bare / "hooks" / "pre-receive"
        hook.parent.mkdir(exist_ok=True)
        hook.write_text("#!/bin/sh\necho 'origin is read-only for maintenance' >&2\nexit 1\n")
        hook.chmod(0o755)
        try:
            yield
        finally:
            hook.unlink()

    return refusing


# --- 4. A failed push's picks ship with the next push, and every channel says so -------------


def test_a_failed_push_picks_ship_with_the_next_push_and_status_says_so(
    alice, remote, repository, branch, landed, origin_refuses
):
    first, second = _pushes(branch)[:2]
    late = _confirmed(alice, landed["fix"], first)
    with origin_refuses():
        assert services.push_run(push_id=first.pk).state == PushState.FAILED
    late.refresh_from_db()
    assert late.state == PickState.PICKED
    mine = answer("mine", engineer=alice).text
    assert f"push {first.label} did not get it out" in mine
    assert f"it ships with push {second.label}" in mine

    _confirmed(alice, landed["feature"], second)
    done = services.push_run(push_id=second.pk)
    assert done.state == PushState.DONE
    late.refresh_from_db()
    assert (late.state, late.shipped_with_id) == (PickState.SHIPPED, second.pk)
    assert _in_tag(remote, done.tag, late.result_sha)
    status = _status(alice, landed["fix"])
    assert status["picks"][0]["shipped_with_label"] == second.label
    assert f"with push {second.label}" in " ".join(status["story"])
    assert "not yet" not in " ".join(status["story"])


# --- 8. Commits pushed to the release branch by hand ---------------------------------------


def test_a_hand_pick_with_x_is_seen_by_status_and_the_request_check(
    alice, remote, repository, branch, landed, tmp_path
):
    remote.hand_pick(branch.name, tmp_path / "work", landed["fix"], x=True)
    services.trunk_sync(repository=repository)

    status = _status(alice, landed["fix"])
    assert [(c["branch"], c["how"]) for c in status["on_branches"]] == [(branch.name, "trailer")]
    assert f"On {branch.name} by hand as" in " ".join(status["story"])
    refused = assert_error(
        client_for(alice).post("/api/picks/", {"revision": landed["fix"], "reason": "Crash"}),
        400,
        "already-in-branch",
    )
    assert "pushed to the branch by hand" in refused["message"]


def test_a_hand_pick_without_x_is_recognised_by_its_change(
    alice, remote, repository, branch, landed, tmp_path
):
    remote.hand_pick(branch.name, tmp_path / "work", landed["feature"], x=False)
    services.trunk_sync(repository=repository)
    status = _status(alice, landed["feature"])
    assert [c["how"] for c in status["on_branches"]] == ["patch-id"]
    assert BranchCommit.objects.get(revision=landed["feature"]).how == "patch-id"


def test_a_push_after_a_hotfix_by_hand_builds_on_it_instead_of_failing(
    alice, remote, repository, branch, landed, tmp_path
):
    push = _pushes(branch)[0]
    hotfix = remote.hand_commit(
        branch.name, tmp_path / "work", "src/hotfix.py", "HOT = 1\n", "Hotfix by hand"
    )
    pick = _confirmed(alice, landed["fix"], push)
    done = services.push_run(push_id=push.pk)
    assert (done.state, done.error) == (PushState.DONE, "")
    branch_log = remote.log(f"refs/heads/{branch.name}")
    assert hotfix in branch_log and done.head_sha == branch_log[0]
    pick.refresh_from_db()
    assert pick.state == PickState.SHIPPED and _in_tag(remote, done.tag, pick.result_sha)
    hand = BranchCommit.objects.get(sha=hotfix)
    assert (hand.how, hand.shipped_with_id) == ("other", push.pk)


def test_unpushed_picks_of_a_failed_push_are_rebuilt_on_a_branch_moved_by_hand(
    alice, bob, remote, repository, branch, landed, tmp_path, origin_refuses
):
    first, second = _pushes(branch)[:2]
    late = _confirmed(alice, landed["fix"], first)
    with origin_refuses():
        services.push_run(push_id=first.pk)
    late.refresh_from_db()
    local = late.result_sha
    hotfix = remote.hand_commit(
        branch.name, tmp_path / "work", "src/hotfix.py", "HOT = 1\n", "Hotfix by hand"
    )
    _confirmed(bob, landed["feature"], second)
    done = services.push_run(push_id=second.pk)
    assert (done.state, done.error) == (PushState.DONE, "")
    late.refresh_from_db()
    assert late.state == PickState.SHIPPED and late.result_sha != local
    assert late.events.filter(reason__startswith="Applied again as").exists()
    pushed = remote.log(f"refs/heads/{branch.name}")
    assert hotfix in pushed and late.result_sha in pushed and local not in pushed


def test_a_revert_by_hand_shows_in_status(alice, remote, repository, branch, landed, tmp_path):
    push = _pushes(branch)[0]
    pick = _confirmed(alice, landed["fix"], push)
    services.push_run(push_id=push.pk)
    pick.refresh_from_db()
    remote.by_hand(branch.name, tmp_path / "work", ("revert", "--no-edit", pick.result_sha))
    services.trunk_sync(repository=repository)
    status = _status(alice, landed["fix"])
    assert [r["reverts"] for r in status["reverts"]] == [pick.result_sha]
    assert f"Reverted on {branch.name}" in " ".join(status["story"])


def test_a_commit_that_reached_trunk_inside_a_merge_has_a_status_and_can_be_picked(
    alice, remote, repository, branch
):
    merge = remote.merge({"src/merged.py": "M = 1\n"}, "Merge the feature")
    side = git(remote.bare, "rev-parse", f"{merge}^2").strip()
    services.trunk_sync(repository=repository)
    indexed = Revision.objects.get(sha=side)
    assert indexed.merged_by == merge
    assert indexed.position == Revision.objects.get(sha=merge).position
    status = _status(alice, side)
    assert status["commit"]["sha"] == side
    created = client_for(alice).post("/api/picks/", {"revision": side, "reason": "Needed"})
    assert created.status_code == 201, created.content


def test_the_commit_a_merge_brought_is_on_the_branch_once_the_merge_is_picked(
    alice, remote, repository, branch
):
    merge = remote.merge({"src/merged.py": "M = 1\n"}, "Merge the feature")
    side = git(remote.bare, "rev-parse", f"{merge}^2").strip()
    services.trunk_sync(repository=repository)
    push = _pushes(branch)[0]
    _confirmed(alice, merge, push)
    assert services.push_run(push_id=push.pk).state == PushState.DONE
    status = _status(alice, side)  # found by the differential check: it said "not in any branch"
    assert [c["how"] for c in status["on_branches"]] == ["pick"]
    assert status["shipped_at"] is not None
    assert "Not in any release branch" not in " ".join(status["story"])


def test_hand_commits_shipped_by_a_push_whose_tag_carries_them(
    alice, remote, repository, branch, tmp_path
):
    hotfix = remote.hand_commit(
        branch.name, tmp_path / "work", "src/hotfix.py", "HOT = 1\n", "Hotfix by hand"
    )
    services.trunk_sync(repository=repository)  # indexed before the push: the branch won't move
    push = _pushes(branch)[0]
    done = services.push_run(push_id=push.pk)  # nothing to pick: the tag is of origin's head
    assert done.head_sha == hotfix
    assert BranchCommit.objects.get(sha=hotfix).shipped_with_id == push.pk


def test_a_push_stopped_after_origin_got_it_is_not_merged_again_when_origin_moves(
    alice, remote, repository, branch, landed, tmp_path
):
    """The run pushed branch and tag (at once) and stopped before recording it; someone then
    pushed a hotfix by hand. The resumed run must see the push is out, not merge again and
    tag again (origin refuses a moved tag: the push failed, its picks "not shipped" though
    origin's tag carries them). Found by the model test."""
    push = _pushes(branch)[0]
    pick = _confirmed(alice, landed["fix"], push)
    push_stops_before(PushState.DEPLOYING)
    try:
        with pytest.raises(DatabaseError):
            services.push_run(push_id=push.pk)
    finally:
        push_stops_cleared()
    push.refresh_from_db()
    assert push.state == PushState.PUSHING and _in_tag(remote, push.tag, push.head_sha)
    hotfix = remote.hand_commit(
        branch.name, tmp_path / "work", "src/hotfix.py", "HOT = 1\n", "Hotfix by hand"
    )

    done = services.push_run(push_id=push.pk)  # the tick resumes it

    assert (done.state, done.error) == (PushState.DONE, "")
    assert done.head_sha == push.head_sha
    assert (
        git(remote.bare, "rev-parse", f"refs/tags/{done.tag}^{{commit}}").strip() == push.head_sha
    )
    assert done.events.filter(reason__contains="was on origin already").exists()
    assert not done.events.filter(to_state=PushState.MERGING, from_state=PushState.PUSHING)
    pick.refresh_from_db()
    assert (pick.state, pick.shipped_with_id) == (PickState.SHIPPED, push.pk)
    assert hotfix in remote.log(f"refs/heads/{branch.name}")


def test_a_push_tag_left_by_an_earlier_attempt_is_moved_when_origin_never_got_it(
    alice, remote, repository, branch, landed, tmp_path, origin_refuses
):
    """Origin refused the push (its tag stays in Releasebot's clone only); a hotfix by hand
    then moved origin's branch, and the push merges again on it (as a run resumed on a host
    whose clone lacks its work does). Tagging the new head moves the old local tag: not a
    failure "tag already exists"."""
    push = _pushes(branch)[0]
    pick = _confirmed(alice, landed["fix"], push)
    with origin_refuses():
        failed = services.push_run(push_id=push.pk)
    assert failed.state == PushState.FAILED and failed.tag
    remote.hand_commit(branch.name, tmp_path / "work", "src/hotfix.py", "HOT = 1\n", "Hotfix")
    Push.objects.filter(pk=push.pk).update(state=PushState.MERGING, tag="", head_sha="")

    done = services.push_run(push_id=push.pk)

    assert (done.state, done.error) == (PushState.DONE, "")
    assert done.head_sha != failed.head_sha
    assert (
        git(remote.bare, "rev-parse", f"refs/tags/{done.tag}^{{commit}}").strip() == done.head_sha
    )
    pick.refresh_from_db()
    assert pick.state == PickState.SHIPPED


def test_a_pick_found_on_the_branch_in_a_pushed_tag_is_shipped_even_when_its_push_fails(
    alice, bob, remote, repository, branch, landed, tmp_path, origin_refuses
):
    """Someone cherry-picked the change by hand; a push went out with it; then the pick's own
    push found it on the branch, recorded it, and failed. The pick is out (in the first push's
    tag), so it reads shipped with that push, not "picked, not shipped yet". Found by the model
    test."""
    first, second = _pushes(branch)[:2]
    pick = _confirmed(alice, landed["fix"], second)  # asked for before the hand pick
    by_hand = remote.hand_pick(branch.name, tmp_path / "work", landed["fix"], x=True)
    services.trunk_sync(repository=repository)
    _confirmed(bob, landed["feature"], first)
    assert services.push_run(push_id=first.pk).state == PushState.DONE

    with origin_refuses():
        assert services.push_run(push_id=second.pk).state == PushState.FAILED

    pick.refresh_from_db()
    assert (pick.state, pick.result_sha, pick.shipped_with_id) == (
        PickState.SHIPPED,
        by_hand,
        first.pk,
    )
    assert _in_tag(remote, Push.objects.get(pk=first.pk).tag, by_hand)
    assert pick.events.filter(reason__startswith="Already in").exists()
