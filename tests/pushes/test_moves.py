"""The moves registry decides, and every service agrees with what it offers.

For every move, every state and every kind of person, a button or verb is offered exactly when
the service would make the move: the registry is the one place the rule lives.
"""

from __future__ import annotations

from html import unescape

import pytest
from django.db import transaction
from django.urls import reverse

from chat.commands import answer
from common.errors import DomainError, Forbidden
from pushes import moves, services
from pushes.choices import PickState, PushState
from pushes.models import Pick, Push
from pushes.moves import Channel, IllegalTransition, Reason, Target
from tests.api import client_for
from tests.security.world import tasks_queued


def test_every_move_names_a_service_that_exists_and_no_final_state():
    assert moves.registry_problems() == []


def _outcome(move: moves.Move, obj_id: int, actor) -> str:
    """Make the move in a transaction that is rolled back: "made", or the refusal's kind."""
    kwargs = {f"{move.target}_id": obj_id, "actor": actor}
    if move.reason != Reason.NONE:
        kwargs["reason"] = "Because it must"
    if move.asks_first:
        kwargs["early"] = True  # a move that asks first is offered, and made once answered
    try:
        with transaction.atomic():
            move.service_function(**kwargs)
            transaction.set_rollback(True)
    except Forbidden:
        return "forbidden"
    except (IllegalTransition, DomainError) as refused:
        if refused.status == 409:
            return "wrong state"
        raise
    return "made"


@pytest.mark.parametrize("state", PickState.values)
def test_a_pick_move_is_offered_exactly_when_its_service_makes_it(
    state, alice, bob, rel, branch, landed
):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    Pick.objects.filter(pk=pick.pk).update(state=state, backup=bob)
    people = {"requestor": alice, "backup": bob, "release engineer": rel}
    for move in moves.moves_of(Target.PICK):
        for who, actor in people.items():
            current = Pick.objects.select_related("requestor__user", "backup__user").get(pk=pick.pk)
            offered = moves.move_offered(move, current, actor)
            outcome = _outcome(move, pick.pk, actor)
            if outcome == "made" and state in move.already:
                outcome = "made already: answered as done, nothing changed"
            assert offered == (outcome == "made"), (move.name, state, who, outcome)


@pytest.mark.parametrize("state", PushState.values)
def test_a_push_move_is_offered_exactly_when_its_service_makes_it(state, alice, rel, branch):
    push = branch.pushes.order_by("scheduled_at").first()
    Push.objects.filter(pk=push.pk).update(state=state)
    for move in moves.moves_of(Target.PUSH):
        for actor in (alice, rel):
            current = Push.objects.select_related("branch__repository").get(pk=push.pk)
            offered = moves.move_offered(move, current, actor)
            assert offered == (_outcome(move, push.pk, actor) == "made"), (move.name, state)


def test_the_pages_offer_what_the_registry_offers(client, alice, rel, branch, landed):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    client.force_login(rel.user)
    page = client.get(pick.get_absolute_url()).content.decode()
    offered = moves.moves_offered(pick, rel, Channel.PAGE)
    assert [m.name for m in offered] == ["approve", "defer", "withdraw", "reject"]
    for move in moves.moves_of(Target.PICK, Channel.PAGE):
        url = reverse(move.url_name, args=[pick.pk])
        assert (f'action="{url}"' in page) == (move in offered), move.name


# --- the worked example: "retry" is one registry entry, one service, and this test -----------


def _failed(branch) -> Push:
    push = branch.pushes.order_by("scheduled_at").first()
    Push.objects.filter(pk=push.pk).update(state=PushState.FAILED, error="Pushing failed: down")
    return push


def test_a_failed_push_is_retried_from_its_page_the_api_and_nowhere_else(
    client, alice, rel, branch, django_capture_on_commit_callbacks
):
    push = _failed(branch)
    client.force_login(rel.user)
    retry = reverse("push-retry", args=[push.pk])
    assert f'action="{retry}"' in client.get(push.get_absolute_url()).content.decode()
    client.force_login(alice.user)
    assert f'action="{retry}"' not in client.get(push.get_absolute_url()).content.decode()

    refused = client_for(alice).post(f"/api/pushes/{push.pk}/retry/")
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        answered = client_for(rel).post(f"/api/pushes/{push.pk}/retry/")
    assert answered.status_code == 202
    assert tasks_queued(queued) == ["pushes.tasks.push_run"]
    push.refresh_from_db()
    assert push.state == PushState.MERGING

    again = client_for(rel).post(f"/api/pushes/{push.pk}/retry/")
    assert (again.status_code, again.json()["error"]) == (409, "push-not-failed")
    assert services.push_run(push_id=push.pk).state == PushState.DONE


# --- moves not lightly taken back ask first: the registry says which, the pages carry it -----


def test_the_registry_says_which_moves_ask_before_they_are_made():
    asking = {move.name for move in moves.MOVES.values() if move.confirm}
    assert asking == {"withdraw", "reject", "run", "push_now", "unlike"}
    for name in asking:
        question, meaning = moves.MOVES[name].confirm.split("? ", 1)
        assert question and meaning.endswith("."), name  # "Withdraw this pick? It leaves ..."


def _confirms(page: str, action: str) -> str | None:
    """The data-confirm of the form posting to `action`, or None if it asks nothing."""
    tag = page.split(f'action="{action}"', 1)[1].split(">", 1)[0]
    if "data-confirm=" not in tag:
        return None
    return unescape(tag.split('data-confirm="', 1)[1].split('"', 1)[0])


def test_a_pick_page_asks_first_exactly_for_the_moves_the_registry_marks(
    client, alice, rel, branch, landed
):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    client.force_login(rel.user)
    page = client.get(pick.get_absolute_url()).content.decode()
    offered = moves.moves_offered(pick, rel, Channel.PAGE)
    assert {m.name for m in offered} >= {"approve", "withdraw", "reject"}
    for move in offered:
        asked = _confirms(page, reverse(move.url_name, args=[pick.pk]))
        assert asked == (move.confirm or None), move.name


def test_the_push_and_engineer_pages_ask_first_with_the_registry_words(client, rel, bob, branch):
    push = branch.pushes.order_by("scheduled_at").first()
    client.force_login(rel.user)
    page = client.get(push.get_absolute_url()).content.decode()
    assert _confirms(page, reverse("push-run", args=[push.pk])) == moves.RUN.confirm
    page = client.get(reverse("engineer", args=[bob.username])).content.decode()
    unlike = reverse("engineer-unlike", args=[bob.username])
    assert _confirms(page, unlike) == moves.UNLIKE.confirm
    assert _confirms(page, reverse("engineer-restore", args=[bob.username])) is None


def test_the_risk_dashboard_rows_ask_first_for_reject_and_unlike(client, alice, rel, landed):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    client.force_login(rel.user)
    page = client.get(reverse("risk-dashboard")).content.decode()
    row = page.split(f'id="pick-{pick.pk}"', 1)[1].split("</tr>", 1)[0]
    buttons = {
        button.split('value="', 1)[1].split('"', 1)[0]: button
        for button in row.split("<button")[1:]
    }
    assert set(buttons) >= {"approve", "defer", "reject", "unlike"}
    for name, button in buttons.items():
        asked = button.split('data-confirm="', 1)[1].split('"', 1)[0] if "data-" in button else ""
        assert unescape(asked) == moves.MOVES[name].confirm, name


def test_the_api_and_the_bot_make_a_move_that_asks_on_pages_without_asking(alice, branch, landed):
    first = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    answered = client_for(alice).post(f"/api/picks/{first.pk}/withdraw/", {"reason": "No"})
    assert answered.status_code == 200
    second = services.pick_request(requestor=alice, revision=landed["feature"], reason="Go").pick
    reply = answer(f"withdraw #{second.pk}", engineer=alice)
    assert not reply.refused, reply.text
    states = set(Pick.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", flat=True))
    assert states == {PickState.WITHDRAWN}
