"""People: an engineer's change failure rate (of the picks they shipped, the share reverted),
the engineers' table at /engineers/ and GET /api/engineers/, and the rate where a requestor's
name is shown.

Picks are real: requested on a real repository through the services, approved, confirmed and
moved on by the state machine (`pick_transition`), as a push and a revert move them.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from common.errors import DomainError
from karma.services import karma_unlike
from pushes import services
from pushes.choices import PickState
from pushes.models import Engineer, Pick
from pushes.selectors.people import (
    ChangeFailure,
    engineer_change_failure,
    engineers_overview,
)
from tests.api import assert_error, client_for


def _ship(pick: Pick, *, rel: Engineer, revert: bool = False) -> None:
    """Approve, confirm, pick and ship it, as a push does; then revert it if asked."""
    services.pick_approve(pick_id=pick.pk, actor=rel)
    services.pick_confirm(pick_id=pick.pk, actor=pick.requestor)
    for state in (PickState.PICKED, PickState.SHIPPED):
        services.pick_transition(pick_id=pick.pk, to=state, actor=None)
    if revert:
        services.pick_transition(
            pick_id=pick.pk, to=PickState.REVERTED, actor=rel, reason="Broke checkout"
        )


@pytest.fixture
def team(rel, alice, bob, carol, remote, repository, branch) -> dict[str, Engineer]:
    """alice: three picks shipped (one reverted since) and one waiting; bob: one shipped, one
    star taken; carol (two stars) and rel: no picks."""
    shas = [
        remote.commit({f"src/fix{n}.py": f"N = {n}\n"}, f"Fix {n}", author="alice")
        for n in range(5)
    ]
    services.trunk_sync(repository=repository)

    def ask(who: Engineer, sha: str) -> Pick:
        return services.pick_request(requestor=who, revision=sha, reason="Crash").pick

    _ship(ask(alice, shas[0]), rel=rel, revert=True)
    _ship(ask(alice, shas[1]), rel=rel)
    _ship(ask(alice, shas[2]), rel=rel)
    ask(alice, shas[3])
    _ship(ask(bob, shas[4]), rel=rel)
    karma_unlike(user_id=bob.user_id, actor_id=rel.user_id, reason="Late for push 1")
    return {"alice": alice, "bob": bob, "carol": carol, "rel": rel}


def usernames(rows) -> list[str]:
    return [row.username for row in rows]


# --- the change failure rate --------------------------------------------------------------


def test_the_rate_is_the_share_of_shipped_picks_that_were_reverted(team):
    alice = engineer_change_failure(engineer=team["alice"])
    assert (alice.shipped, alice.reverted, alice.rate) == (3, 1, pytest.approx(1 / 3))
    assert alice.text == "1 of 3 shipped picks reverted (33%)"
    bob = engineer_change_failure(engineer=team["bob"])
    assert (bob.rate, bob.text) == (0, "0 of 1 shipped pick reverted (0%)")


def test_someone_who_shipped_nothing_has_no_rate_rather_than_a_perfect_one(team):
    carol = engineer_change_failure(engineer=team["carol"])
    assert (carol.shipped, carol.reverted, carol.rate) == (0, 0, None)
    assert carol.text == "No shipped picks yet"


def test_the_rate_reads_as_a_whole_percent_and_a_sliver_is_not_rounded_to_nothing():
    assert ChangeFailure(shipped=12, reverted=1).text == "1 of 12 shipped picks reverted (8%)"
    assert ChangeFailure(shipped=300, reverted=1).percent == "<1%"
    assert ChangeFailure(shipped=2, reverted=2).percent == "100%"


# --- the engineers' table -----------------------------------------------------------------


def test_every_engineer_is_counted_in_a_few_queries(team, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        rows = {row.username: row for row in engineers_overview(order="name")}
    assert sorted(rows) == ["alice", "bob", "carol", "rel"]
    alice, bob, carol = rows["alice"], rows["bob"], rows["carol"]
    assert (alice.stars, alice.picks, alice.open) == (5, 4, 1)
    assert (alice.change_failure.shipped, alice.change_failure.reverted) == (3, 1)
    assert alice.last_pick == Pick.objects.filter(requestor=team["alice"]).latest("created_at")
    assert (bob.stars, bob.picks, bob.open, bob.change_failure.rate) == (4, 1, 0, 0)
    assert (carol.stars, carol.picks, carol.last_pick, carol.change_failure.rate) == (
        2,
        0,
        None,
        None,
    )


def test_it_sorts_by_each_column_either_way_with_no_value_last(team):
    assert usernames(engineers_overview(order="name")) == ["alice", "bob", "carol", "rel"]
    assert usernames(engineers_overview(order="-name")) == ["rel", "carol", "bob", "alice"]
    assert usernames(engineers_overview(order="stars")) == ["carol", "bob", "alice", "rel"]
    assert usernames(engineers_overview(order="-picks")) == ["alice", "bob", "carol", "rel"]
    # Nobody shipped: no rate, last whichever way it is sorted (ties by username).
    assert usernames(engineers_overview(order="-failure_rate")) == ["alice", "bob", "carol", "rel"]
    assert usernames(engineers_overview(order="failure_rate")) == ["bob", "alice", "carol", "rel"]
    assert usernames(engineers_overview(order="-last_pick")) == ["bob", "alice", "carol", "rel"]


def test_a_sort_that_is_no_column_is_refused(team):
    with pytest.raises(DomainError) as refused:
        engineers_overview(order="height")
    assert refused.value.code == "bad-sort"
    assert "name, stars, picks" in refused.value.message


# --- the page -----------------------------------------------------------------------------


def test_the_page_lists_everyone_with_links_and_says_which_column_is_sorted(client, team):
    client.force_login(team["bob"].user)
    page = client.get(reverse("engineers"), {"sort": "-failure_rate"})
    html = page.content.decode()
    assert page.status_code == 200
    assert [row.username for row in page.context["rows"]] == ["alice", "bob", "carol", "rel"]
    assert re.search(r'aria-sort="descending"><a href="\?sort=failure_rate"', html)
    assert html.count("aria-sort=") == 1
    assert 'href="?sort=name"' in html and 'href="?sort=-stars"' in html
    assert f'href="{reverse("engineer", args=["alice"])}"' in html
    assert 'title="1 of 3 shipped picks reverted (33%)">33%</td>' in html
    assert f'href="{reverse("engineers")}" class="active">Engineers</a>' in html


def test_the_page_ignores_a_sort_it_does_not_know_for_the_default(client, team):
    client.force_login(team["bob"].user)
    page = client.get(reverse("engineers"), {"sort": "height"})
    assert page.status_code == 200
    assert [row.username for row in page.context["rows"]] == ["alice", "bob", "carol", "rel"]
    assert 'aria-sort="ascending"><a href="?sort=-name"' in page.content.decode()


def test_an_engineer_page_and_a_pick_page_show_the_requestors_rate(client, team):
    client.force_login(team["bob"].user)
    mine = client.get(reverse("engineer", args=["alice"])).content.decode()
    assert "1 of 3 shipped picks reverted (33%)." in mine
    pick = Pick.objects.filter(requestor=team["alice"], state=PickState.REQUESTED).get()
    page = client.get(pick.get_absolute_url()).content.decode()
    requestor = page.split("<dt>Requestor</dt>")[1].split("</dd>")[0]  # beside the name
    assert ">alice</a>" in requestor
    assert "1 of 3 shipped picks reverted (33%)</div>" in requestor
    nobody = client.get(reverse("engineer", args=["carol"])).content.decode()
    assert "No shipped picks yet." in nobody


# --- the API ------------------------------------------------------------------------------


def test_the_api_gives_the_same_rows_sorted_the_same_way(team):
    body = client_for(team["bob"]).get("/api/engineers/", {"sort": "-failure_rate"}).json()
    assert body["count"] == 4
    alice, bob, carol, rel = body["results"]
    assert {key: alice[key] for key in alice if key != "last_pick_at"} == {
        "username": "alice",
        "name": "Alice",
        "role": "engineer",
        "stars": 5,
        "picks": 4,
        "open": 1,
        "shipped": 3,
        "reverted": 1,
        "failure_rate": pytest.approx(1 / 3),
        "last_pick": Pick.objects.filter(requestor=team["alice"]).latest("created_at").pk,
    }
    assert alice["last_pick_at"].endswith("Z")
    assert (bob["failure_rate"], carol["failure_rate"], carol["last_pick"]) == (0, None, None)
    assert (rel["username"], rel["role"]) == ("rel", "release-engineer")


def test_the_api_refuses_a_sort_it_does_not_know(team):
    client = client_for(team["bob"])
    body = assert_error(client.get("/api/engineers/", {"sort": "-height"}), 400, "invalid")
    assert body["message"].startswith('sort: "-height" is not a sort: give one of name, stars')
    first = client.get("/api/engineers/", {"sort": "-stars", "limit": 1}).json()["results"]
    assert [row["username"] for row in first] == ["alice"]  # five stars, as rel: by username
