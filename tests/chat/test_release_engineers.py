"""Release engineering in chat: approve, reject, defer, unlike and push now are the moves
registry's verbs. Each does what the web and the API do, and refuses with the API's words."""

from __future__ import annotations

import pytest

from chat.commands import answer
from karma.models import KarmaEvent
from karma.selectors import karma_stars
from pushes import services
from pushes.choices import PickState, PushState
from pushes.models import Notification, Pick, PickEvent, Push
from tests.api import client_for
from tests.chat.said import ok, refused
from tests.security.world import tasks_queued

VERBS = {
    "approve": "approve PICK|REV [REASON]",
    "defer": "defer PICK|REV [REASON]",
    "reject": "reject PICK|REV REASON",
    "unlike": "unlike USER REASON",
    "push now": "push now [BRANCH|REPOSITORY] [early]",
}


@pytest.fixture
def picks(alice, branch, landed):
    """Two of alice's picks of the same kind: one moved in chat, one through the API."""
    return [
        services.pick_request(requestor=alice, revision=landed[name], reason="Crash").pick
        for name in ("fix", "feature")
    ]


def _outcome(pick: Pick) -> tuple:
    """What a move changed on a pick, as anyone would see it."""
    pick.refresh_from_db()
    last = pick.events.order_by("-at", "-pk")[0]
    notices = sorted(Notification.objects.filter(pick=pick).values_list("kind", flat=True))
    return pick.state, pick.push_id, last.to_state, last.actor, last.reason, notices


# --- help ---------------------------------------------------------------------------------


def test_help_lists_release_engineers_verbs_to_them_and_not_to_others(rel, alice):
    for_rel, for_alice = answer("help", engineer=rel).text, answer("help", engineer=alice).text
    for usage in VERBS.values():
        assert f"• {usage}: Release engineers: " in for_rel
        assert usage not in for_alice
    for usage in ("withdraw PICK|REV [REASON]", "confirm [PICK]", "push: the next push"):
        assert usage in for_alice and usage in for_rel
    assert ok("help push now", rel).startswith("push now [BRANCH|REPOSITORY] [early]: ")


def test_a_typo_suggests_only_what_the_person_may_use(rel, alice):
    assert refused("aprove 12", rel).startswith("I don't know `aprove`. Did you mean `approve`?")
    assert "approve" not in refused("aprove 12", alice)


# --- each verb as a release engineer, against the API doing the same ------------------------


@pytest.mark.parametrize(
    ("verb", "body"),
    [
        ("approve", {}),
        ("approve", {"reason": "Small and reviewed"}),
        ("defer", {"reason": "Tomorrow's push"}),
        ("reject", {"reason": "Too large for a pick"}),
    ],
)
def test_a_pick_verb_changes_what_the_api_changes(verb, body, rel, picks):
    in_chat, by_api = picks
    said = ok(f"{verb} {in_chat.pk} {body.get('reason', '')}".strip(), rel)
    assert client_for(rel).post(f"/api/picks/{by_api.pk}/{verb}/", body).status_code == 200
    chat_outcome, api_outcome = _outcome(in_chat), _outcome(by_api)
    assert chat_outcome[0] == {"approve": "approved", "defer": "deferred"}.get(verb, "rejected")
    assert chat_outcome[2:] == api_outcome[2:]
    assert chat_outcome[3] == rel
    assert said.startswith(f"Pick #{in_chat.pk} (")


def test_approve_says_which_push_and_that_the_requestor_confirms_first(rel, picks):
    pick = picks[0]
    said = ok(f"approve {pick.sha[:9]}", rel)  # by revision: anyone's pick, for rel
    pick.refresh_from_db()
    assert pick.state == PickState.APPROVED
    assert said == (
        f"Pick #{pick.pk} ({pick.short_sha} Fix module 1) was approved for push "
        f"{pick.push.label} (Tue 24 Nov 11:00 PST).\n"
        "alice is asked to confirm before the push: it ships only once confirmed."
    )


def test_reject_without_a_reason_says_why_it_needs_one(rel, picks):
    assert refused(f"reject {picks[0].pk}", rel) == (
        "Say why the pick is rejected: the requestor will read it."
    )
    assert Pick.objects.get(pk=picks[0].pk).state == PickState.REQUESTED


def test_unlike_takes_a_star_off_as_the_page_does(rel, alice):
    assert ok("unlike @alice Pick #12 broke search", rel) == "Took a star off alice: 4 of 5 now."
    event = KarmaEvent.objects.get(user=alice.user)
    assert (event.actor, event.reason, event.delta) == (rel.user, "Pick #12 broke search", -1)
    assert refused("unlike alice", rel) == "A reason is required."
    assert karma_stars(user_id=alice.user_id) == 4


def test_push_now_asks_first_then_push_now_early_queues_the_push(
    rel, alice, branch, landed, django_capture_on_commit_callbacks
):
    first = branch.pushes.order_by("scheduled_at").first()
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    Pick.objects.filter(pk=pick.pk).update(state=PickState.APPROVED, push=first)
    api = client_for(rel).post(f"/api/branches/{branch.pk}/push-now/").json()

    with django_capture_on_commit_callbacks(execute=False) as asked:
        question = refused("push now", rel)
    assert tasks_queued(asked) == []
    assert question == (
        api["message"].removesuffix(" Run it early to go ahead (early=true).")
        + " Send `push now early` to go ahead."
    )
    assert "Not asked to confirm yet: alice" in question
    assert Push.objects.get(pk=first.pk).state == PushState.SCHEDULED

    assert refused("push now shop", rel).endswith("Send `push now shop early` to go ahead.")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        said = ok(f"push now {branch.name} early", rel)
    assert tasks_queued(queued) == ["pushes.tasks.push_run"]
    assert said == f"Push {first.label} of {branch.name} queued: it starts in a moment."


def test_push_now_names_no_branch_it_does_not_know(rel, branch):
    assert refused("push now nowhere", rel) == (
        "I know no release branch or repository nowhere: no repository is on the train."
    )


# --- each verb as an engineer: refused with the API's own message ---------------------------


def test_each_verb_is_refused_to_an_engineer_in_the_apis_words(alice, bob, picks, branch):
    api = client_for(alice)
    pick = picks[0].pk
    cases = [
        (f"approve {pick}", f"/api/picks/{pick}/approve/", {}),
        (f"defer {pick} Later", f"/api/picks/{pick}/defer/", {"reason": "Later"}),
        (f"reject {pick} No", f"/api/picks/{pick}/reject/", {"reason": "No"}),
        ("unlike bob Broke it", "/api/karma/bob/unlike/", {"reason": "Broke it"}),
        ("push now", f"/api/branches/{branch.pk}/push-now/", {}),
        (f"push now {branch.name} early", f"/api/branches/{branch.pk}/push-now/", {"early": True}),
    ]
    for text, url, body in cases:
        response = api.post(url, body, format="json")
        assert response.status_code == 403, (url, response.json())
        assert refused(text, alice) == response.json()["message"], text
    assert Pick.objects.get(pk=pick).state == PickState.REQUESTED
    assert karma_stars(user_id=bob.user_id) == 5
    assert not PickEvent.objects.filter(pick_id=pick).exclude(to_state="requested").exists()
    assert not Notification.objects.filter(pick_id=pick).exists()


# --- the same grammar in Slack ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # Bolt answers in its own threads
def test_rb_approve_in_slack_answers_the_release_engineer(slack, stub, rel, picks):
    pick = picks[0]
    slack.command(f"approve #{pick.pk}", user="UREL")
    reply = stub.calls[-1]
    assert reply.method == "response_url"
    assert reply.body["text"].startswith(f"Pick #{pick.pk} (")
    assert "was approved for push" in reply.body["text"]
    assert Pick.objects.get(pk=pick.pk).state == PickState.APPROVED
