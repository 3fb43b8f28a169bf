"""The deploy lock on the pages: the banner on the train, repository and pick pages, and the
Freeze and Unfreeze forms for release engineers, their outcome told in a flash."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from pushes import services
from pushes.models import FreezeWindow
from pushes.selectors.freezes import repository_freeze_now
from pushes.services.freezes import NO_FREEZE_REASON, ONLY_RELEASE_ENGINEERS

BANNER = "Frozen by rel since Mon 10:00 PST: Incident 42"
FREEZE = reverse("repository-freeze", args=["shop"])
UNFREEZE = reverse("repository-unfreeze", args=["shop"])


def signed_in(engineer) -> Client:
    client = Client()
    client.force_login(engineer.user)
    return client


def flashed(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def alices_pick(alice, landed):
    return services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash fix").pick


def test_rel_freezes_from_the_repository_page_and_sees_the_banner(rel, repository, branch):
    client = signed_in(rel)
    page = text(client.get(reverse("repository", args=["shop"])))
    assert f'action="{FREEZE}"' in page and UNFREEZE not in page

    response = client.post(FREEZE, {"reason": "Incident 42", "next": "/repositories/shop/"})

    assert (response.status_code, response["Location"]) == (302, "/repositories/shop/")
    page = client.get(response["Location"])
    assert flashed(page) == [
        "Shop is frozen until a release engineer unfreezes it (Incident 42): no picks and no "
        "pushes. The requestors of its open picks are told."
    ]
    assert BANNER in text(page)
    assert f'action="{UNFREEZE}"' in text(page) and FREEZE not in text(page)
    assert repository_freeze_now(repository=repository).created_by == rel


def test_the_train_and_pick_pages_show_the_banner_to_everyone(
    rel, alice, repository, branch, alices_pick
):
    services.repository_freeze(repository=repository, actor=rel, reason="Incident 42")
    client = signed_in(alice)
    for url in (
        reverse("home"),
        reverse("repository", args=["shop"]),
        alices_pick.get_absolute_url(),
    ):
        page = text(client.get(url))
        assert BANNER in page, url
        assert FREEZE not in page and UNFREEZE not in page, url  # the forms are rel's
    home = text(signed_in(rel).get(reverse("home")))
    assert f'action="{UNFREEZE}"' in home
    assert UNFREEZE not in text(signed_in(rel).get(alices_pick.get_absolute_url()))


def test_rel_unfreezes_from_the_train_page(rel, repository, branch):
    services.repository_freeze(repository=repository, actor=rel, reason="Incident 42")
    client = signed_in(rel)

    response = client.post(UNFREEZE, {"reason": "All clear", "next": "/"})

    assert response["Location"] == "/"
    page = client.get("/")
    assert flashed(page) == [
        "Shop is unfrozen: picks and pushes go on. The requestors of its open picks are told."
    ]
    assert "Frozen by" not in text(page)
    assert f'action="{FREEZE}"' in text(page)


@pytest.mark.parametrize(
    ("who", "url", "reason", "status", "message"),
    [
        ("alice", FREEZE, "Mine now", 403, ONLY_RELEASE_ENGINEERS),
        ("alice", UNFREEZE, "", 403, ONLY_RELEASE_ENGINEERS),
        ("rel", FREEZE, " ", 400, NO_FREEZE_REASON),
        ("rel", UNFREEZE, "", 409, "Shop is not frozen."),
    ],
)
def test_a_refusal_is_a_page_in_the_services_words_and_changes_nothing(
    rel, alice, repository, branch, who, url, reason, status, message
):
    engineer = {"rel": rel, "alice": alice}[who]

    response = signed_in(engineer).post(url, {"reason": reason})

    assert response.status_code == status
    assert message in text(response)
    assert not FreezeWindow.objects.exists()


def test_freezing_twice_says_who_froze_it_and_why(rel, repository, branch):
    client = signed_in(rel)
    client.post(FREEZE, {"reason": "Incident 42"})

    response = client.post(FREEZE, {"reason": "Again"})

    assert response.status_code == 409
    assert (
        "Shop is already frozen by rel until a release engineer unfreezes it: Incident 42."
        in text(response)
    )
    assert FreezeWindow.objects.count() == 1


def test_the_buttons_take_only_a_post(rel, repository):
    assert signed_in(rel).get(FREEZE).status_code == 405
    assert Client().post(FREEZE, {"reason": "r"})["Location"].startswith("/login/?next=")
    assert signed_in(rel).post("/repositories/nope/freeze/", {"reason": "r"}).status_code == 404
