"""The navigation's search box (`/r/?q=...`): a pick by "#70", review numbers as before, and
people by username or name, on a real repository.

The rule: "#70", "pick 70" or "pick #70" is pick 70; with no pick 70, "#70" is review number 70
(and "pick 70" is not found). "D123", "PR 42" and "MR 42" are always review numbers. Anything
that is no revision finds people.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from pushes import services
from pushes.models import Pick, Revision

SEARCH = "/r/"


@pytest.fixture
def searching(client, alice):
    alice.user.last_name = "Liddell"
    alice.user.save()
    client.force_login(alice.user)
    return client


@pytest.fixture
def pick(alice, landed) -> Pick:
    return services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick


def found(client, query: str) -> str:
    response = client.get(SEARCH, {"q": query})
    assert response.status_code == 302, response.content[:300]
    return response["Location"]


# --- picks --------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["#{}", "# {}", "pick {}", "pick #{}", "Pick#{}"])
def test_a_hash_and_a_number_go_to_the_pick(searching, pick, written):
    assert found(searching, written.format(pick.pk)) == reverse("pick", args=[pick.pk])


def test_a_hash_with_no_such_pick_is_the_review_number_as_before(searching, remote, pick):
    first = remote.trunk[0]  # its review is https://github.com/acme/app/pull/101
    assert not Pick.objects.filter(pk=101).exists()
    assert found(searching, "#101") == reverse("revision", args=[first])


def test_a_pick_asked_for_by_name_that_does_not_exist_is_not_found(searching, pick):
    response = searching.get(SEARCH, {"q": "pick 999"})
    assert response.status_code == 404
    assert "There is no pick #999." in response.content.decode()


def test_a_hash_that_is_neither_pick_nor_review_says_both(searching, pick):
    response = searching.get(SEARCH, {"q": "#998"})
    assert response.status_code == 404
    assert "There is no pick #998, and no trunk commit has review number 998." in (
        response.content.decode()
    )


# --- review numbers and revisions ---------------------------------------------------------


@pytest.mark.parametrize("written", ["PR 101", "pr#101", "MR 101"])
def test_a_pull_or_merge_request_number_is_always_a_review_number(
    searching, remote, branch, written
):
    location = found(searching, written)
    assert location == reverse("revision", args=["101"])
    assert searching.get(location).context["revision"].sha == remote.trunk[0]


def test_revisions_are_found_as_before(searching, remote, branch):
    sha = remote.trunk[1]  # its message links Phabricator's D102
    assert found(searching, sha[:9]) == reverse("revision", args=[sha[:9]])
    assert found(searching, "D102") == reverse("revision", args=["D102"])
    review_url = Revision.objects.get(sha=sha).review_url
    assert found(searching, review_url) == reverse("revision", args=[sha])


def test_the_search_page_says_the_rule(searching):
    page = searching.get(SEARCH).content.decode()
    assert "<code>#70</code> (or <code>pick 70</code>) opens pick 70" in page
    assert "D123, PR 42 and MR 42 are always review numbers" in page


# --- people -------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["alice", "ALI", "Liddell", "alice lidd"])
def test_people_are_found_by_username_or_name(searching, alice, bob, query):
    response = searching.get(SEARCH, {"q": query})
    assert response.status_code == 200
    assert response.context["people"] == [alice]
    html = response.content.decode()
    assert "<h2>People</h2>" in html
    assert f'href="{reverse("engineer", args=["alice"])}">Alice Liddell</a>' in html


def test_an_exact_username_comes_first(searching, alice, bob, django_user_model):
    from tests.conftest import make_engineer

    bobby = make_engineer("bobby")
    make_engineer("abob")
    people = searching.get(SEARCH, {"q": "bob"}).context["people"]
    assert [p.username for p in people] == ["bob", "abob", "bobby"]
    assert bobby in people


def test_nothing_found_is_refused_in_words_as_before(searching, alice):
    response = searching.get(SEARCH, {"q": "no such thing"})
    assert response.status_code == 400
    assert "Nothing matches &#x27;no such thing&#x27;" in response.content.decode()
