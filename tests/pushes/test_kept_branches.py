"""Older release branches a repository keeps open after a cut (`keep_branches`), because they
are still deployed somewhere: they take picks, one request may name several branches, and a
push started by hand carries their picks to origin's older branch. On a real repository."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from pushes import selectors, services
from pushes.choices import BranchState, PickState, PushState
from pushes.models import Pick, Push
from pushes.selectors.risk_rows import train_branches
from tests.api import assert_error, client_for
from tests.conftest import tasks_queued
from tests.pushes.conftest import MONDAY, SUNDAY_CUT
from tests.repos import branch_log

WEEK = dt.timedelta(days=7)
OLD, NEW = "release/2026-11-22", "release/2026-11-29"


@pytest.fixture
def next_monday():
    """Monday 10:00 of the second week: the day after the second cut."""
    with time_machine.travel(MONDAY + WEEK, tick=True) as traveller:
        yield traveller


@pytest.fixture
def two_cuts(repository, remote, next_monday):
    """Last week's cut and this week's, keeping `keep` older branches; then a fix lands on
    trunk, in neither branch. Returns the older branch, the current one and the fix."""

    def make(keep: int):
        repository.keep_branches = keep
        repository.save()
        old = services.branch_cut(repository=repository, at=SUNDAY_CUT)
        Push.objects.filter(branch=old).update(state=PushState.DONE)  # its week went by
        remote.commit({"src/next.py": "NEXT = 1\n"}, "Next week's work")
        new = services.branch_cut(repository=repository, at=SUNDAY_CUT + WEEK)
        fix = remote.commit({"src/module1.py": "VALUE = 100\n"}, "Fix module 1", author="alice")
        services.trunk_sync(repository=repository)
        old.refresh_from_db()
        return old, new, fix

    return make


def ask(engineer, sha: str, branch: str | None = None) -> Pick:
    return services.pick_request(
        requestor=engineer, revision=sha, reason="Checkout crashes", branch_name=branch
    ).pick


# --- the cut ------------------------------------------------------------------------------


def test_a_cut_keeps_the_previous_branch_open_when_the_repository_keeps_one(two_cuts, repository):
    old, new, _ = two_cuts(keep=1)
    assert (old.name, old.state) == (OLD, BranchState.STABILISING)  # left as it was
    assert new.name == NEW
    # The current branch is still the newest, on every page that shows "the train".
    assert selectors.branch_current(repository=repository) == new
    assert [train.branch for train in selectors.train_overview()] == [new]
    assert list(train_branches()) == [new.pk]


def test_without_kept_branches_the_cut_closes_the_previous_one_and_refuses_picks_as_today(
    two_cuts, alice
):
    old, _, fix = two_cuts(keep=0)
    assert old.state == BranchState.CLOSED
    with pytest.raises(services.PickRefused) as refused:
        ask(alice, fix, OLD)
    assert refused.value.code == "branch-closed"
    assert not Pick.objects.exists()


def test_the_third_cut_closes_the_oldest_branch_and_expires_only_its_picks(
    two_cuts, repository, remote, alice
):
    old, new, fix = two_cuts(keep=1)
    on_old, on_new = ask(alice, fix, OLD), ask(alice, fix, NEW)
    remote.commit({"src/third.py": "THIRD = 1\n"}, "The week after's work")
    third = services.branch_cut(repository=repository, at=SUNDAY_CUT + 2 * WEEK)
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.state, new.state) == (BranchState.CLOSED, BranchState.STABILISING)
    assert selectors.branch_current(repository=repository) == third
    on_old.refresh_from_db()
    on_new.refresh_from_db()
    assert (on_old.state, on_new.state) == (PickState.EXPIRED, PickState.REQUESTED)


# --- a pick on the older branch, and the push that carries it -----------------------------


def test_a_pick_on_the_kept_branch_reaches_origins_older_branch_through_a_push_now(
    two_cuts, remote, alice, rel, next_monday
):
    old, new, fix = two_cuts(keep=1)
    pick = ask(alice, fix, OLD)
    assert (pick.branch, pick.push) == (old, None)  # that branch's week is over
    by_hand = (
        f"a push of {OLD} that release engineering starts (the train moved on to {NEW}, so "
        "none is scheduled)"
    )
    assert selectors.pick_next_step(pick) == (
        f"requested, waiting for release engineering to approve it; it waits for {by_hand}"
    )
    pick = services.pick_approve(pick_id=pick.pk, actor=rel)
    assert (pick.state, pick.push, selectors.pick_next_step(pick)) == (
        PickState.APPROVED,
        None,
        f"approved; it waits for {by_hand}",
    )

    # "Push now" sets a push up for the pick and asks first: run now, it would carry nothing.
    with pytest.raises(services.PushEarly) as question:
        services.branch_push_now(branch_id=old.pk, actor=rel)
    push = Push.objects.get(branch=old, state=PushState.SCHEDULED)
    assert question.value.message.startswith(
        f"Push {push.label} was set up for the picks of {OLD} that waited for no push"
    )
    assert question.value.details == {"confirmed": [], "not_confirmed": [], "not_asked": [pick.pk]}
    assert Pick.objects.get(pk=pick.pk).push == push

    services.train_advance()  # the tick asks alice to confirm
    pick.refresh_from_db()
    assert pick.state == PickState.AWAITING_CONFIRMATION
    assert selectors.pick_next_step(pick).endswith(f"or it rolls to {by_hand}")
    services.pick_confirm(pick_id=pick.pk, actor=alice)

    next_monday.move_to(push.scheduled_at + dt.timedelta(minutes=1))  # its slot
    assert push.pk in services.train_advance().due
    push = services.push_run(push_id=push.pk)
    assert push.state == PushState.DONE
    pick.refresh_from_db()
    assert (pick.state, pick.shipped_with) == (PickState.SHIPPED, push)
    on_old = branch_log(remote.bare, OLD, old.base_sha)
    assert len(on_old) == 1 and on_old[0].startswith("Fix module 1")
    assert f"(cherry picked from commit {fix})" in on_old[0]
    assert remote.head(NEW) == new.base_sha  # the current branch is untouched


def test_a_kept_branchs_pick_does_not_hide_the_request_button_of_the_current_branch(
    two_cuts, alice
):
    _, _, fix = two_cuts(keep=1)
    ask(alice, fix, OLD)
    assert selectors.revision_pickable(selectors.revision_status(query=fix))
    ask(alice, fix, NEW)
    assert not selectors.revision_pickable(selectors.revision_status(query=fix))


# --- one request, several branches ----------------------------------------------------------


def test_one_request_to_two_branches_makes_two_picks_each_with_its_own_state(two_cuts, alice, rel):
    old, new, fix = two_cuts(keep=1)
    answers = services.pick_request_branches(
        requestor=alice, revision=fix, reason="Checkout crashes", branch_names=[OLD, NEW, OLD]
    )
    assert [(a.branch_name, a.refusal) for a in answers] == [(OLD, None), (NEW, None)]
    on_old, on_new = (a.result.pick for a in answers)
    assert (on_old.branch, on_new.branch) == (old, new)
    assert on_old.push is None and on_new.push == new.pushes.order_by("scheduled_at").first()

    services.pick_approve(pick_id=on_new.pk, actor=rel)
    services.pick_reject(pick_id=on_old.pk, actor=rel, reason="Not deployed there any more")
    states = dict(Pick.objects.values_list("branch__name", "state"))
    assert states == {OLD: PickState.REJECTED, NEW: PickState.APPROVED}


def test_a_refusal_on_one_branch_leaves_the_others_their_picks(two_cuts, alice):
    _, _, fix = two_cuts(keep=1)
    theirs = ask(alice, fix, NEW)
    answers = services.pick_request_branches(
        requestor=alice,
        revision=fix,
        reason="Checkout crashes",
        branch_names=[NEW, "release/nope", f" {OLD} "],
    )
    assert [a.branch_name for a in answers] == [NEW, "release/nope", OLD]
    assert [a.refusal.code if a.refusal else None for a in answers] == [
        "already-requested",
        "unknown-branch",
        None,
    ]
    assert answers[0].refusal.details == {"pick": theirs.pk}
    assert answers[2].result.pick.branch.name == OLD
    assert Pick.objects.count() == 2


def test_no_branch_named_means_the_current_branch_only(two_cuts, alice):
    _, new, fix = two_cuts(keep=1)
    answers = services.pick_request_branches(
        requestor=alice, revision=fix, reason="Checkout crashes", branch_names=[]
    )
    assert [(a.branch_name, a.result.pick.branch) for a in answers] == [(NEW, new)]


# --- the API --------------------------------------------------------------------------------


def test_the_api_takes_branches_and_answers_each_pick_and_each_refusal(two_cuts, alice):
    _, _, fix = two_cuts(keep=1)
    client = client_for(alice)
    single = client.post(
        "/api/picks/", {"revision": fix[:7], "reason": "Crash", "branch": NEW}, format="json"
    )
    assert single.status_code == 201 and single.json()["branch_name"] == NEW  # as today
    assert single["Location"] == f"/api/picks/{single.json()['id']}/"

    response = client.post(
        "/api/picks/",
        {"revision": fix[:7], "reason": "Crash", "branches": [OLD, NEW]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [(p["branch_name"], p["state"], p["push"]) for p in body["picks"]] == [
        (OLD, "requested", None)
    ]
    assert body["picks"][0]["dry_run"]["applies"] is True
    assert body["refused"] == [
        {
            "branch": NEW,
            "error": "already-requested",
            "message": f"{fix[:10]} is already requested for {NEW} as pick "
            f"#{single.json()['id']} (requested, by alice).",
        }
    ]
    detail = client.get(f"/api/picks/{body['picks'][0]['id']}/").json()
    assert detail["next_step"].endswith(f"(the train moved on to {NEW}, so none is scheduled)")


def test_the_api_answers_the_first_refusal_when_no_branch_took_the_pick(two_cuts, carol):
    _, _, fix = two_cuts(keep=1)
    response = client_for(carol).post(
        "/api/picks/", {"revision": fix, "reason": "r", "branches": [OLD, NEW]}, format="json"
    )
    assert_error(response, 400, "karma")
    assert not Pick.objects.exists()


def test_the_api_refuses_branch_and_branches_together(two_cuts, alice):
    _, _, fix = two_cuts(keep=1)
    response = client_for(alice).post(
        "/api/picks/",
        {"revision": fix, "reason": "r", "branch": NEW, "branches": [OLD]},
        format="json",
    )
    body = assert_error(response, 400, "invalid")
    assert body["message"] == "branches: Give branch or branches, not both."
    assert body["details"] == {"branches": ["Give branch or branches, not both."]}
    assert not Pick.objects.exists()


def test_push_now_over_the_api_sets_up_a_push_for_the_kept_branchs_picks(
    two_cuts, alice, rel, django_capture_on_commit_callbacks
):
    old, _, fix = two_cuts(keep=1)
    pick = ask(alice, fix, OLD)
    services.pick_approve(pick_id=pick.pk, actor=rel)
    with django_capture_on_commit_callbacks() as queued:
        response = client_for(rel).post(f"/api/branches/{old.pk}/push-now/")
    body = assert_error(response, 409, "push-early")
    assert body["details"]["not_asked"] == [pick.pk]
    assert tasks_queued(queued) == []  # nothing runs now: it runs at its slot, after alice is asked
    listed = client_for(rel).get(f"/api/pushes/?branch={old.pk}&state=scheduled").json()
    assert [p["id"] for p in listed["results"]] == [Pick.objects.get(pk=pick.pk).push_id]
