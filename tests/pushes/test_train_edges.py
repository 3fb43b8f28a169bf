"""The edges of a week, as the issue saw them: a push run early, "not this time" on the week's
last push, a retry, the train after its last push, and risk kept as it was decided.

Each test failed on the code before the fix; `test_origin_truth.py` has the failed-push and
pushed-by-hand cases and `tests/reliability/test_moves_during_push.py` the moves made while a
push runs.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from chat.commands import answer
from karma.services import karma_unlike
from pushes import services
from pushes.choices import NotificationKind, PickState, PushState
from pushes.models import Notification, Pick, Push, PushEvent
from pushes.selectors import delivery, window
from tests.api import assert_error, client_for
from tests.pushes.conftest import LA


def _pick(alice, sha: str, *, state: str | None = None, push: Push | None = None) -> Pick:
    pick = services.pick_request(requestor=alice, revision=sha, reason="Checkout crashes").pick
    fields: dict = {}
    if state:
        fields["state"] = state
    if push:
        fields["push"] = push
    if fields:
        Pick.objects.filter(pk=pick.pk).update(**fields)
        pick.refresh_from_db()
    return pick


def _pushes(branch) -> list[Push]:
    return list(branch.pushes.order_by("scheduled_at"))


# --- 2. "Run now" before the slot asks first and punishes nobody --------------------------------


def test_run_now_before_the_slot_asks_first_and_carries_only_confirmed_picks(
    rel, alice, bob, branch, landed
):
    first, second = _pushes(branch)[:2]
    never_asked = _pick(alice, landed["fix"], state=PickState.APPROVED, push=first)
    confirmed = _pick(bob, landed["feature"], state=PickState.CONFIRMED, push=first)
    undecided = _pick(alice, landed["second"], push=first)

    question = assert_error(client_for(rel).post(f"/api/pushes/{first.pk}/run/"), 409, "push-early")
    assert "Not asked to confirm yet: alice" in question["message"]
    assert question["details"] == {
        "confirmed": [confirmed.pk],
        "not_confirmed": [],
        "not_asked": [never_asked.pk],
    }
    assert (
        client_for(rel)
        .post(f"/api/pushes/{first.pk}/run/", {"early": True}, format="json")
        .status_code
        == 202
    )
    pushed = services.push_run(push_id=first.pk)  # what the queued task does

    assert pushed.state == PushState.DONE
    assert pushed.started_at < pushed.scheduled_at
    assert Pick.objects.get(pk=confirmed.pk).state == PickState.SHIPPED
    kept = Pick.objects.get(pk=never_asked.pk)
    assert (kept.state, kept.rolls, kept.push_id) == (PickState.APPROVED, 0, second.pk)
    moved = Pick.objects.get(pk=undecided.pk)
    assert (moved.state, moved.push_id) == (PickState.REQUESTED, second.pk)
    told = Notification.objects.filter(pick=never_asked, kind=NotificationKind.CARRIED).get()
    assert "ran before its slot" in told.text and "Nothing is counted against you" in told.text
    assert not Notification.objects.filter(kind=NotificationKind.ROLLED).exists()


def test_the_push_page_asks_before_running_early(client, rel, alice, branch, landed):
    first = _pushes(branch)[0]
    _pick(alice, landed["fix"], state=PickState.APPROVED, push=first)
    client.force_login(rel.user)
    asked = client.post(reverse("push-run", args=[first.pk]))
    page = asked.content.decode()
    assert asked.status_code == 200 and "Run it before its slot?" in page
    assert "Not asked to confirm yet: alice" in page
    assert Push.objects.get(pk=first.pk).state == PushState.SCHEDULED  # nothing queued


# --- 3. "Not this time" on the week's last push says what happens, and it happens ----------


def test_not_this_time_on_the_last_push_waits_for_the_next_cut_and_says_so(
    rel, alice, branch, landed
):
    last = _pushes(branch)[-1]
    pick = _pick(alice, landed["fix"], push=last)
    services.pick_approve(pick_id=pick.pk, actor=rel)
    Pick.objects.filter(pk=pick.pk).update(push=last)
    services.push_confirmations_open(push_id=last.pk)
    ask = Notification.objects.get(pick=pick, kind=NotificationKind.CONFIRM)
    assert "or it rolls to the next weekly cut (Sun 29 Nov 18:00 PST)" in ask.text

    reply = answer(f"decline {pick.pk} On a plane", engineer=alice)
    assert not reply.refused
    assert "the next weekly cut (Sun 29 Nov 18:00 PST)" in reply.text
    pick.refresh_from_db()
    assert (pick.state, pick.push, pick.rolls) == (PickState.DEFERRED, None, 1)
    rolled = Notification.objects.get(pick=pick, kind=NotificationKind.ROLLED)
    assert "the next weekly cut" in rolled.text
    assert "waits for the next weekly cut" in services_next_step(pick)


def test_im_here_waits_for_a_push_to_confirm_for_on_every_channel(
    client, rel, alice, branch, landed
):
    """After the week's last push an approved pick waits for the cut: "I'm here" would promise
    support for a push that does not exist, so it is not offered and refused the same way on
    the API, in chat and on the page, changing nothing. (The model test found a confirmed pick
    with no push, told "be online for its push".)"""
    for push in _pushes(branch):
        Push.objects.filter(pk=push.pk).update(state=PushState.DONE)
    pick = _pick(alice, landed["fix"], state=PickState.APPROVED)
    assert pick.push is None

    refused = assert_error(
        client_for(alice).post(f"/api/picks/{pick.pk}/confirm/"), 409, "no-push-yet"
    )
    assert refused["message"].startswith(f"Pick #{pick.pk} waits for no push yet")
    reply = answer(f"confirm {pick.pk}", engineer=alice)
    assert reply.refused and "waits for no push yet" in reply.text
    client.force_login(alice.user)
    page = client.get(reverse("pick", args=[pick.pk])).content.decode()
    assert "I&#x27;m here" not in page and "I'm here" not in page
    posted = client.post(reverse("pick-confirm", args=[pick.pk]), follow=True)
    assert "waits for no push yet" in posted.content.decode()
    pick.refresh_from_db()
    assert (pick.state, pick.push) == (PickState.APPROVED, None)
    assert not pick.events.filter(to_state=PickState.CONFIRMED).exists()
    assert "waits for the next weekly cut" in services_next_step(pick)


def services_next_step(pick: Pick) -> str:
    from pushes.selectors import pick_next_step

    return pick_next_step(Pick.objects.select_related("branch__repository", "push").get(pk=pick.pk))


# --- 5. A retry adds to the push's story; the metrics keep the failure ----------------------


def test_a_failed_push_retried_from_the_api_keeps_its_failure_in_the_metrics(
    rel, alice, remote, repository, branch, landed, tmp_path
):
    push = _pushes(branch)[0]
    _pick(alice, landed["fix"], state=PickState.CONFIRMED, push=push)
    away = tmp_path / "away.git"
    remote.bare.rename(away)  # origin is down when the push gets to it
    assert services.push_run(push_id=push.pk).state == PushState.FAILED
    away.rename(remote.bare)

    assert client_for(rel).post(f"/api/pushes/{push.pk}/retry/").status_code == 202
    done = services.push_run(push_id=push.pk)
    assert (done.state, done.error) == (PushState.DONE, "")

    story = list(PushEvent.objects.filter(push=push).values_list("to_state", "actor"))
    assert (PushState.FAILED, None) in story
    retried = PushEvent.objects.get(push=push, actor=rel)
    assert retried.from_state == PushState.FAILED and "Retried by rel" in retried.reason
    assert story[-1] == (PushState.DONE, None)
    week = window.window_for(repository=repository, weeks=1, now=done.finished_at)
    assert delivery.change_failure_rate(repository=repository, window=week).failed == 1
    outages = delivery.time_to_restore(repository=repository, window=week).outages
    assert [o.restored_at is not None for o in outages] == [True]


# --- 6. After the week's last push, the train says what comes next --------------------------


def test_after_the_last_push_the_train_names_the_next_cut_and_early_pushes_stay_listed(
    client, rel, alice, branch, landed, monday
):
    pushes = _pushes(branch)
    early = pushes[1]
    Push.objects.filter(pk=early.pk).update(
        state=PushState.DONE, started_at=LA_MONDAY_1030, finished_at=LA_MONDAY_1030
    )
    Push.objects.filter(pk__in=[p.pk for p in pushes if p.pk != early.pk]).update(
        state=PushState.SKIPPED
    )
    client.force_login(alice.user)
    page = client.get("/").content.decode()
    assert "none left on this branch" in page
    assert "Next cut Sun 29 Nov 18:00 PST" in page
    assert early.get_absolute_url() in page  # run before its slot, still among recent pushes

    pick = _pick(alice, landed["fix"])
    assert pick.push is None
    shown = client.get(pick.get_absolute_url()).content.decode()
    assert "waits for the next weekly cut (Sun 29 Nov 18:00 PST)" in shown


LA_MONDAY_1030 = dt.datetime(2026, 11, 23, 10, 30, tzinfo=LA)


# --- 7. Risk is shown as it stood when the pick was decided --------------------------------


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_a_decided_pick_keeps_the_risk_it_was_decided_with(
    client, rel, alice, branch, landed, decide
):
    pick = _pick(alice, landed["fix"])
    if decide == "approve":
        services.pick_approve(pick_id=pick.pk, actor=rel)
    else:
        services.pick_reject(pick_id=pick.pk, actor=rel, reason="Wait for the train")
    for reason in ("Broke search", "Not online"):
        karma_unlike(user_id=alice.user_id, actor_id=rel.user_id, reason=reason)  # 3 stars

    client.force_login(rel.user)
    page = client.get(pick.get_absolute_url()).content.decode()
    assert "3-star requestor" not in page
    assert "As it stood when release engineering decided, with 5 stars" in page
    engineer = client.get(reverse("engineer", args=["alice"])).content.decode()
    assert "3-star requestor" not in engineer

    fresh = _pick(alice, landed["feature"])  # not decided yet: risk as it stands now
    assert "3-star requestor" in client.get(fresh.get_absolute_url()).content.decode()
