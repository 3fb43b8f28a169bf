"""Push karma over the API and on the engineer's page, as release engineers and engineers use
them: stars, history with who and why, unlike and restore, and who may press them."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from karma.models import KarmaEvent
from karma.selectors import karma_stars
from karma.services import karma_unlike
from pushes.choices import PickState
from pushes.models import Pick, Push, ReleaseBranch, Repository
from tests.api import assert_error
from tests.api import client_for as api
from tests.conftest import make_engineer

# The karma API is included by the project's urls; this module's urlconf includes it too, so
# the tests run whether or not that line is there yet.
urlpatterns = [
    path("api/karma/", include("karma.api.urls")),
    path("", include("releasebot.urls")),
]
pytestmark = pytest.mark.urls(__name__)


def text(response) -> str:
    return response.content.decode()


def flashed(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- the API ------------------------------------------------------------------------------


def test_anyone_on_the_train_lists_engineers_fewest_stars_first(alice, bob, carol, rel):
    body = api(alice).get("/api/karma/").json()
    assert [(e["username"], e["stars"]) for e in body["results"]] == [
        ("carol", 2),
        ("alice", 5),
        ("bob", 5),
        ("rel", 5),
    ]
    assert body["results"][0]["name"] == "Carol"
    below = api(alice).get("/api/karma/", {"below": 3}).json()
    assert [e["username"] for e in below["results"]] == ["carol"]
    assert_error(api(alice).get("/api/karma/", {"below": "many"}), 400, "invalid")


def test_one_engineer_has_stars_the_gate_and_history_with_who_and_why(alice, carol, rel):
    body = api(alice).get("/api/karma/carol/").json()
    assert (body["username"], body["stars"], body["max_stars"]) == ("carol", 2, 5)
    assert body["may_request"] is False and "Talk to release engineering" in body["message"]
    assert [(e["change"], e["delta"], e["stars_after"], e["actor"]) for e in body["history"]] == [
        ("unlike", -1, 2, "rel"),
        ("unlike", -1, 3, "rel"),
        ("unlike", -1, 4, "rel"),
    ]
    assert body["history"][0]["reason"] == "Reverted on push 3"
    assert_error(api(alice).get("/api/karma/nobody/"), 404, "not-found")


def test_a_release_engineer_unlikes_and_restores_over_the_api(alice, rel):
    client = api(rel)
    response = client.post("/api/karma/alice/unlike/", {"reason": "Broke search"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["stars"] == 4
    assert response.json()["history"][0] == {
        **response.json()["history"][0],
        "change": "unlike",
        "actor": "rel",
        "reason": "Broke search",
    }
    restored = client.post(
        "/api/karma/alice/restore/", {"reason": "Talked it through", "stars": 1}, format="json"
    )
    assert restored.json()["stars"] == 5 and restored.json()["history"][0]["delta"] == 1


def test_the_api_refuses_without_a_reason_unknown_fields_and_beyond_five(alice, rel):
    client = api(rel)
    body = assert_error(client.post("/api/karma/alice/unlike/", {}, format="json"), 400, "invalid")
    assert body["message"] == "reason: A reason is required."
    unknown = client.post("/api/karma/alice/unlike/", {"reason": "x", "star": 2}, format="json")
    assert "star" in assert_error(unknown, 400, "invalid")["details"]
    full = client.post("/api/karma/alice/restore/", {"reason": "More"}, format="json")
    assert assert_error(full, 400, "refused")["message"] == (
        "Nothing to change: the engineer has all 5 stars already."
    )
    assert_error(
        client.post("/api/karma/alice/restore/", {"reason": "x", "stars": 9}, format="json"),
        400,
        "invalid",
    )
    assert karma_stars(user_id=alice.user_id) == 5 and not KarmaEvent.objects.exists()


def test_only_release_engineers_may_unlike_or_restore_over_the_api(alice, bob):
    for url in ("/api/karma/bob/unlike/", "/api/karma/bob/restore/"):
        body = assert_error(api(alice).post(url, {"reason": "x"}, format="json"), 403, "forbidden")
        assert "Only release engineers" in body["message"]
    assert_error(APIClient().get("/api/karma/"), 401, "not-authenticated")
    assert karma_stars(user_id=bob.user_id) == 5


def test_the_karma_api_is_in_the_schema_and_the_schema_validates(settings, tmp_path):
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--urlconf", __name__, "--file", str(out)
    )
    schema = out.read_text()
    for operation in ("karma_list", "karma_retrieve", "karma_unlike", "karma_restore"):
        assert f"operationId: {operation}" in schema


# --- the engineer's page ------------------------------------------------------------------


@pytest.fixture
def branch(db):
    """A release branch as the database knows it: the engineer's page never asks git."""
    repository = Repository.objects.create(slug="shop", name="Shop", remote_url="/nowhere")
    return ReleaseBranch.objects.create(
        repository=repository, name="release/x", cut_at=timezone.now(), base_sha="0" * 40
    )


@pytest.fixture
def carols_picks(carol, branch):
    push = Push.objects.create(
        branch=branch, day=timezone.now().date(), number=1, scheduled_at=timezone.now()
    )
    common = {
        "branch": branch,
        "requestor": carol,
        "author_name": "Carol",
        "author_email": "carol@example.com",
        "reason": "Needed",
    }
    return [
        Pick.objects.create(
            **common,
            push=push,
            sha="a" * 40,
            title="Big and argued",
            lines_added=500,
            files_changed=4,
            review_comments=15,
            state=PickState.REQUESTED,
        ),
        Pick.objects.create(**common, sha="b" * 40, title="Shipped fix", state=PickState.SHIPPED),
    ]


def test_the_page_shows_stars_karma_history_and_picks_with_risk(client, alice, carol, carols_picks):
    client.force_login(alice.user)
    page = text(client.get(reverse("engineer", args=["carol"])))
    assert 'title="2 of 5 stars"' in page and "2 of 5" in page
    assert "Picks refused." in page and "Talk to release engineering" in page
    assert "Reverted on push 3" in page and 'href="/engineers/rel/"' in page
    assert "Big and argued" in page and "Shipped fix" in page
    assert 'data-risk="high"' in page and "large and controversial" in page
    assert 'class="hot"' in page and 'data-state="shipped"' in page
    assert reverse("engineer-unlike", args=["carol"]) not in page  # alice cannot


def test_rel_unlikes_from_the_page_with_a_reason_and_sees_it_in_the_history(client, rel, alice):
    client.force_login(rel.user)
    page = text(client.get(reverse("engineer", args=["alice"])))
    assert f'action="{reverse("engineer-unlike", args=["alice"])}"' in page
    assert "csrfmiddlewaretoken" in page

    response = client.post(
        reverse("engineer-unlike", args=["alice"]), {"reason": "Broke checkout"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("engineer", args=["alice"])
    assert flashed(response) == ["Took a star off alice: 4 of 5 now."]
    assert "Broke checkout" in text(response)
    event = KarmaEvent.objects.get()
    assert (event.user, event.actor, event.delta) == (alice.user, rel.user, -1)


def test_an_unlike_without_a_reason_shows_the_services_message(client, rel, alice):
    client.force_login(rel.user)
    response = client.post(reverse("engineer-unlike", args=["alice"]), {"reason": " "}, follow=True)
    assert flashed(response) == ["A reason is required."]
    assert karma_stars(user_id=alice.user_id) == 5


def test_rel_restores_stars_and_the_picks_are_taken_again(client, rel, carol):
    client.force_login(rel.user)
    url = reverse("engineer-restore", args=["carol"])
    response = client.post(url, {"reason": "Talked it through", "stars": 2}, follow=True)
    assert flashed(response) == ["Gave carol 2 stars back: 4 of 5 now."]
    assert "Picks refused." not in text(response)
    again = client.post(url, {"reason": "More", "stars": 1}, follow=True)
    assert flashed(again) == ["Gave carol 1 star back: 5 of 5 now."]
    full = client.post(url, {"reason": "Even more"}, follow=True)
    assert flashed(full) == ["Nothing to change: the engineer has all 5 stars already."]


def test_an_unlike_to_two_stars_says_picks_are_now_refused(client, rel, alice):
    karma_unlike(user_id=alice.user_id, actor_id=rel.user_id, reason="One")
    karma_unlike(user_id=alice.user_id, actor_id=rel.user_id, reason="Two")
    client.force_login(rel.user)
    response = client.post(reverse("engineer-unlike", args=["alice"]), {"reason": "Three"})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert flashed(page) == [
        "Took a star off alice: 2 of 5 now. Their picks are refused until stars are restored."
    ]


def test_engineers_cannot_unlike_or_restore_by_forging_a_post(client, alice, bob):
    client.force_login(alice.user)
    for name in ("engineer-unlike", "engineer-restore"):
        response = client.post(reverse(name, args=["bob"]), {"reason": "Because"})
        assert response.status_code == 403
        assert "Only release engineers can unlike or restore push karma" in text(response)
    assert karma_stars(user_id=bob.user_id) == 5
    assert client.get(reverse("engineer-unlike", args=["bob"])).status_code == 405


def test_a_karma_post_without_the_csrf_token_is_refused(rel, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rel.user)
    response = client.post(reverse("engineer-unlike", args=["alice"]), {"reason": "x"})
    assert response.status_code == 403
    assert karma_stars(user_id=alice.user_id) == 5


def test_the_page_takes_the_same_queries_however_many_picks_and_changes(client, rel, branch):
    client.force_login(rel.user)
    dave = make_engineer("dave")
    url = reverse("engineer", args=["dave"])

    def add(picks: int, changes: int) -> None:
        start = Pick.objects.count()
        for i in range(start, start + picks):
            Pick.objects.create(
                branch=branch,
                requestor=dave,
                sha=f"{i:040x}",
                title=f"Change {i}",
                author_name="Dave",
                author_email="dave@example.com",
                reason="Needed",
                state=PickState.SHIPPED,
                review_comments=i % 9,
            )
        for i in range(changes):
            karma_unlike(user_id=dave.user_id, actor_id=rel.user_id, reason=f"Change {i}")
            from karma.services import karma_restore

            karma_restore(user_id=dave.user_id, actor_id=rel.user_id, reason=f"Back {i}")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    add(2, 1)
    few = queries()
    add(40, 10)
    page = text(client.get(url))
    assert len(re.findall(r'data-state="shipped"', page)) == 42
    assert queries() == few <= 12
