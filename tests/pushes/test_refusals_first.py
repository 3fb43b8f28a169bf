"""A refusal before the effort: whoever may not request a pick is told why, and whom to see, when
the form opens, in the API's `GET /api/me/` and in chat, in the same words as a refused request;
a request sent anyway is refused the same way and stores nothing."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from karma.services import karma_unlike
from pushes import services
from pushes.choices import Role
from pushes.models import FreezeWindow, Pick
from pushes.selectors.whom import whom_to_see
from tests.api import assert_error, client_for
from tests.chat.said import ok, refused
from tests.conftest import make_engineer

SUBMIT = re.compile(r"<button[^>]*type=\"submit\"[^>]*>Request the pick</button>")


def words(response) -> str:
    """A page's text as a person reads it: no tags, entities decoded, spaces collapsed."""
    body = re.sub(r"<(script|style)[\s\S]*?</\1>", " ", response.content.decode())
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split()).replace(" .", ".")


def refusal_box(response) -> str:
    """The refusal above the form, as HTML: what stands between the heading and the form."""
    page = response.content.decode()
    start, form = page.find('id="refused-first"'), page.index(f'action="{reverse("pick-new")}"')
    assert start != -1, "no refusal above the form"
    assert start < form, "the refusal comes after the form"
    return page[start:form]


def signed_in(engineer) -> Client:
    client = Client()
    client.force_login(engineer.user)
    return client


def service_refusal(engineer, revision: str, **extra) -> services.PickRefused:
    with pytest.raises(services.PickRefused) as caught:
        services.pick_request(requestor=engineer, revision=revision, reason="Checkout", **extra)
    return caught.value


@pytest.fixture
def dana(db):
    """A second release engineer, with a full name."""
    return make_engineer("dana", role=Role.RELEASE_ENGINEER, last_name="Whitfield")


@pytest.fixture
def shop(repository, branch, dana):
    """Shop on the train, with its release channel set."""
    repository.chat_channel = "shop-releases"
    repository.save()
    return repository


# --- karma at the threshold ---------------------------------------------------------------


def test_carol_reads_why_when_the_form_opens_with_whom_to_see(carol, rel, shop, landed):
    response = signed_in(carol).get(reverse("pick-new"))
    assert response.status_code == 200
    box = refusal_box(response)
    said = " ".join(html.unescape(re.sub(r"<[^>]+>", "", box)).split())
    assert "You cannot request a pick right now" in said
    assert "Your push karma is 2 of 5 stars; picks are refused at 2 or fewer." in said
    assert "Talk to release engineering to get back on track:" in said
    assert "Dana Whitfield (dana) or rel (release engineers), or ask in #shop-releases." in said
    # Each release engineer links to their page.
    assert f'href="{reverse("engineer", args=["dana"])}"' in box
    assert f'href="{reverse("engineer", args=["rel"])}"' in box
    # Nothing to fill in: the fields and the button are disabled.
    assert "disabled" in SUBMIT.search(response.content.decode()).group(0)
    assert re.search(r"<fieldset[^>]*\bdisabled\b", response.content.decode())


def test_a_request_sent_anyway_is_refused_in_the_same_words_and_stores_nothing(
    carol, rel, shop, landed
):
    client = signed_in(carol)
    before = words(client.get(reverse("pick-new")))
    expected = service_refusal(carol, landed["fix"]).message
    assert expected in before

    response = client.post(
        reverse("pick-new"), {"revision": landed["fix"], "reason": "Checkout crashes"}
    )

    assert response.status_code == 400
    assert words(response).count(expected) == 1  # said once, above the form
    assert not Pick.objects.exists()


def test_the_api_answers_before_and_at_the_request_with_the_same_refusal(carol, rel, shop, landed):
    api = client_for(carol)
    me = api.get("/api/me/")
    assert me.status_code == 200
    body = me.json()
    assert (body["username"], body["stars"], body["may_request"]) == ("carol", 2, False)
    assert body["refusal"]["error"] == "karma"
    assert body["refusal"]["details"]["talk_to"] == ["dana", "rel"]
    assert body["refusal"]["details"]["channels"] == ["#shop-releases"]

    sent = api.post("/api/picks/", {"revision": landed["fix"], "reason": "r"}, format="json")

    refusal = assert_error(sent, 400, "karma")
    assert refusal == body["refusal"]
    assert not Pick.objects.exists()


def test_chat_refuses_with_the_same_words_and_karma_names_whom_to_see(carol, rel, shop, landed):
    expected = service_refusal(carol, landed["fix"]).message
    assert refused(f"pick {landed['fix'][:10]} Checkout crashes", carol) == expected
    karma = ok("karma", carol)
    assert "Picks are refused at this level." in karma
    assert "Dana Whitfield (dana) or rel (release engineers), or ask in #shop-releases" in karma
    assert not Pick.objects.exists()


def test_an_engineer_with_stars_gets_an_open_form(alice, rel, shop, landed):
    response = signed_in(alice).get(reverse("pick-new"))
    page = response.content.decode()
    assert 'id="refused-first"' not in page
    assert "disabled" not in SUBMIT.search(page).group(0)
    assert client_for(alice).get("/api/me/").json()["may_request"] is True


def test_with_nobody_in_the_role_the_refusal_names_the_admins_who_can_give_it(repository, branch):
    erin = make_engineer("erin")
    for _ in range(3):
        karma_unlike(user_id=erin.user_id, actor_id=None, reason="Broke search")
    get_user_model().objects.create_user(username="ops", password="ops", is_staff=True)

    message = whom_to_see(repository=repository).text()
    response = signed_in(erin).get(reverse("pick-new"))

    assert message == (
        "Talk to release engineering: nobody has the release engineer role yet; ask an admin "
        "(ops) to give it to someone."
    )
    assert message.removeprefix("Talk to release engineering") in words(response)


# --- a frozen repository ------------------------------------------------------------------


@pytest.fixture
def frozen(shop, rel):
    now = timezone.now()
    return FreezeWindow.objects.create(
        repository=shop,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(days=2),
        reason="Thanksgiving",
        created_by=rel,
    )


def test_a_frozen_repository_is_said_before_typing_and_at_the_request(alice, frozen, landed):
    client = signed_in(alice)
    response = client.get(reverse("pick-new"))
    box = " ".join(html.unescape(re.sub(r"<[^>]+>", "", refusal_box(response))).split())
    assert "Shop is frozen" in box and "(Thanksgiving): no picks and no pushes." in box
    assert "disabled" in SUBMIT.search(response.content.decode()).group(0)

    expected = service_refusal(alice, landed["fix"]).message
    assert expected in box
    posted = client.post(reverse("pick-new"), {"revision": landed["fix"], "reason": "r"})
    assert posted.status_code == 400 and words(posted).count(expected) == 1

    me = client_for(alice).get("/api/me/").json()
    assert me["may_request"] is False
    assert (me["refusal"]["error"], me["refusal"]["message"]) == ("branch-closed", expected)
    assert me["repositories"] == [
        {"slug": "shop", "name": "Shop", "may_request": False, "refusal": me["refusal"]}
    ]
    assert refused(f"pick {landed['fix'][:10]} Checkout crashes", alice) == expected
    assert not Pick.objects.exists()


# --- whose karma the engineer page speaks of ----------------------------------------------


def test_a_release_engineer_reads_carols_karma_as_hers(carol, rel, shop):
    response = signed_in(rel).get(reverse("engineer", args=["carol"]))
    said = words(response)
    assert "Picks refused. carol's push karma is 2 of 5 stars" in said
    assert "Your push karma" not in said
    assert "Dana Whitfield (dana) or rel (release engineers)" in said


def test_carol_reads_her_own_karma_as_hers(carol, rel, shop):
    said = words(signed_in(carol).get(reverse("engineer", args=["carol"])))
    assert "Picks refused. Your push karma is 2 of 5 stars" in said
    assert "carol's push karma" not in said


def test_the_karma_api_speaks_of_carols_karma_to_others_and_of_yours_to_her(carol, rel):
    assert (
        client_for(rel)
        .get("/api/karma/carol/")
        .json()["message"]
        .startswith("carol's push karma is 2 of 5 stars")
    )
    assert (
        client_for(carol)
        .get("/api/karma/carol/")
        .json()["message"]
        .startswith("Your push karma is 2 of 5 stars")
    )
