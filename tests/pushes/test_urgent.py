"""An urgent pick: approved, it goes to a push started for it now, its requestor is asked to
confirm at once, and it still never ships unconfirmed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from chat.commands import answer
from pushes import services
from pushes.choices import NotificationKind, PickState, PushState
from pushes.models import Notification, Pick, Push, PushEvent
from tests.api import client_for
from tests.pushes.conftest import MONDAY


@pytest.fixture
def urgent(alice, branch, landed):
    """Alice's urgent pick of the fix, as requested on Monday at 10:00."""
    result = services.pick_request(
        requestor=alice, revision=landed["fix"], reason="Checkout is down", urgent=True
    )
    return result.pick


def _first(branch) -> Push:
    return branch.pushes.order_by("scheduled_at").first()


def test_an_urgent_pick_approved_gets_a_push_started_now_and_is_asked_at_once(urgent, rel, branch):
    scheduled = _first(branch)
    assert urgent.urgent and urgent.push_id == scheduled.pk  # until approved: the next push

    said = answer(f"approve {urgent.pk}", engineer=rel)

    pick = Pick.objects.select_related("push").get(pk=urgent.pk)
    push = pick.push
    assert push.pk != scheduled.pk
    assert push.state == PushState.CONFIRMING
    lead = dt.timedelta(minutes=branch.repository.confirm_lead_minutes)
    assert MONDAY + lead <= push.scheduled_at < timezone.now() + lead + dt.timedelta(seconds=5)
    assert pick.state == PickState.AWAITING_CONFIRMATION
    ask = Notification.objects.get(pick=pick, kind=NotificationKind.CONFIRM)
    assert f"push {push.label}" in ask.text
    assert Notification.objects.filter(pick=pick, kind=NotificationKind.APPROVED).exists()
    story = PushEvent.objects.filter(push=push).values_list("reason", flat=True)
    assert f"Started now for urgent pick #{pick.pk}, approved by rel." in story
    assert not said.refused
    assert said.text.startswith(
        f"Pick #{pick.pk} ({pick.short_sha} Fix module 1) was approved for push {push.label} "
        "(Mon 23 Nov 10:30 PST), started for it because it is urgent.\n"
    )
    assert said.text.endswith("alice is asked to confirm now: it ships only once confirmed.")
    assert Push.objects.get(pk=scheduled.pk).state == PushState.SCHEDULED  # left as it was


def test_unconfirmed_by_its_slot_the_urgent_pick_is_left_out(urgent, rel, monday, remote):
    services.pick_approve(pick_id=urgent.pk, actor=rel)
    push = Pick.objects.get(pk=urgent.pk).push
    monday.move_to(push.scheduled_at + dt.timedelta(seconds=5))

    ran = services.push_run(push_id=push.pk)

    pick = Pick.objects.get(pk=urgent.pk)
    assert ran.state == PushState.DONE
    assert pick.state == PickState.DEFERRED and pick.rolls == 1 and pick.push_id != push.pk
    assert remote.read("release/2026-11-22", "src/module1.py") != "VALUE = 100\n"


def test_confirmed_the_urgent_pick_ships_in_the_push_started_for_it(
    urgent, rel, alice, monday, remote
):
    services.pick_approve(pick_id=urgent.pk, actor=rel)
    assert not answer("confirm", engineer=alice).refused
    push = Pick.objects.get(pk=urgent.pk).push
    monday.move_to(push.scheduled_at + dt.timedelta(seconds=5))

    ran = services.push_run(push_id=push.pk)

    pick = Pick.objects.get(pk=urgent.pk)
    assert ran.state == PushState.DONE
    assert pick.state == PickState.SHIPPED
    assert remote.read("release/2026-11-22", "src/module1.py") == "VALUE = 100\n"


def test_the_next_push_due_within_the_lead_takes_it_and_asks_everyone_in_it(
    urgent, rel, bob, branch, landed
):
    soon = _first(branch)
    Push.objects.filter(pk=soon.pk).update(scheduled_at=timezone.now() + dt.timedelta(minutes=20))
    other = services.pick_request(requestor=bob, revision=landed["feature"], reason="Fix").pick
    services.pick_approve(pick_id=other.pk, actor=rel)
    assert Pick.objects.get(pk=other.pk).state == PickState.APPROVED  # not asked yet

    said = answer(f"approve {urgent.pk}", engineer=rel)

    pick = Pick.objects.get(pk=urgent.pk)
    assert (pick.push_id, pick.state) == (soon.pk, PickState.AWAITING_CONFIRMATION)
    assert Push.objects.get(pk=soon.pk).state == PushState.CONFIRMING
    assert Pick.objects.get(pk=other.pk).state == PickState.AWAITING_CONFIRMATION
    assert Push.objects.filter(branch=branch).count() == branch.pushes.count()  # none made
    assert "started for it" not in said.text
    assert f"was approved for push {soon.label}" in said.text


def test_a_pick_not_urgent_waits_for_the_next_push_as_before(rel, alice, branch, landed):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    services.pick_approve(pick_id=pick.pk, actor=rel)
    pick.refresh_from_db()
    assert (pick.urgent, pick.state, pick.push_id) == (False, PickState.APPROVED, _first(branch).pk)
    assert not Notification.objects.filter(pick=pick, kind=NotificationKind.CONFIRM).exists()


# --- asking for it: the API, the form, chat -----------------------------------------------


def test_the_api_takes_urgent(alice, branch, landed):
    api = client_for(alice)
    made = api.post(
        "/api/picks/", {"revision": landed["fix"], "reason": "Down", "urgent": True}, format="json"
    )
    assert made.status_code == 201, made.json()
    plain = api.post("/api/picks/", {"revision": landed["feature"], "reason": "Bug"}, format="json")
    assert plain.status_code == 201, plain.json()
    assert Pick.objects.get(pk=made.json()["id"]).urgent is True
    assert Pick.objects.get(pk=plain.json()["id"]).urgent is False
    maybe = {"revision": landed["second"], "reason": "x", "urgent": "maybe"}
    wrong = api.post("/api/picks/", maybe, format="json")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid"


def test_the_form_takes_urgent_and_the_pick_page_shows_it(client, alice, branch, landed):
    client.force_login(alice.user)
    form = client.get(reverse("pick-new")).content.decode()
    assert "Urgent: ship in a push started as soon as it is approved" in form
    assert 'type="checkbox" name="urgent"' in form
    sent = client.post(
        reverse("pick-new"), {"revision": landed["fix"], "reason": "Down", "urgent": "on"}
    )
    pick = Pick.objects.get(sha=landed["fix"])
    assert sent.status_code == 302 and pick.urgent
    page = client.get(pick.get_absolute_url()).content.decode()
    assert '<span class="badge bad" title="Asked for as urgent' in page
    client.post(reverse("pick-new"), {"revision": landed["feature"], "reason": "Bug"})
    plain = Pick.objects.get(sha=landed["feature"])
    assert not plain.urgent
    assert "Asked for as urgent" not in client.get(plain.get_absolute_url()).content.decode()


def test_pick_urgent_in_chat_asks_for_an_urgent_pick(alice, branch, landed):
    reply = answer(f"pick {landed['fix'][:8]} urgent Checkout is down", engineer=alice)
    pick = Pick.objects.get(sha=landed["fix"])
    assert not reply.refused and pick.urgent and pick.reason == "Checkout is down"
    assert "a push is started for it and I ask you to confirm at once" in reply.text
    answer(f"pick {landed['feature'][:8]} urgently needed", engineer=alice)
    assert not Pick.objects.get(sha=landed["feature"]).urgent  # a word of the reason


def test_the_risk_dashboard_marks_it_urgent_and_approving_says_a_push_was_started(
    client, urgent, rel
):
    client.force_login(rel.user)
    page = client.get("/dashboard/risk/").content.decode()
    assert 'title="Asked for as urgent">urgent</span>' in page
    page = client.post(f"/picks/{urgent.pk}/approve/", follow=True).content.decode()
    assert "Its push was started for it because it is urgent" in page
