"""Revision status answers kept in the cache (pushes/statuscache.py): served again while nothing
changed, dropped by every kind of write that changes what a status shows, never stored from
inside a transaction, and the cache being down costs nothing but speed.

These tests commit (transaction=True): an answer is only ever stored outside a transaction."""

from __future__ import annotations

from contextlib import suppress

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from pushes import services, statuscache
from pushes.choices import PickState
from pushes.models import Pick, Push
from tests.conftest import make_engineer

pytestmark = pytest.mark.django_db(transaction=True)

LOCAL = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(autouse=True)
def cached(settings):
    from django.core.cache import cache

    settings.CACHES = LOCAL
    settings.RELEASEBOT_STATUS_CACHE_SECONDS = 60
    cache.clear()
    statuscache.forget()
    yield
    with suppress(Exception):  # the test may have pointed the cache somewhere unreachable
        cache.clear()


def token_client(engineer) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=engineer.user)}")
    return client


def status(client, rev: str) -> tuple[dict, int]:
    """The answer and how many queries it took."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/revisions/{rev}/")
    assert response.status_code == 200, response.content
    return response.json(), len(queries)


def picks(answer: dict) -> list[tuple[int, str]]:
    return [(pick["id"], pick["state"]) for pick in answer["picks"]]


def test_an_answer_is_served_from_the_cache_until_a_pick_changes(alice, rel, landed):
    client = token_client(alice)
    rev = landed["fix"][:10]
    first, asked = status(client, rev)
    again, cached = status(client, rev)
    assert again == first and picks(first) == []
    # Neither the answer nor the token with its user and engineer asks the database again.
    assert cached == 0 < asked

    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="hotfix").pick
    requested, _ = status(client, rev)
    assert picks(requested) == [(pick.pk, "requested")]

    services.pick_approve(pick_id=pick.pk, actor=rel)  # a transition: save() and an event
    assert picks(status(client, rev)[0]) == [(pick.pk, "approved")]

    Pick.objects.filter(pk=pick.pk).update(state=PickState.CONFIRMED)  # a bulk write
    assert picks(status(client, rev)[0]) == [(pick.pk, "confirmed")]

    push = Pick.objects.get(pk=pick.pk).push
    Push.objects.filter(pk=push.pk).update(number=push.number + 40)  # the label shows
    assert status(client, rev)[0]["picks"][0]["push_label"].endswith(f".{push.number + 40}")

    alice.user.username = "alice2"
    alice.user.save()
    assert status(client, rev)[0]["picks"][0]["requestor"] == "alice2"


def test_a_login_does_not_drop_stored_answers(alice, landed):
    client = token_client(alice)
    rev = landed["feature"][:10]
    status(client, rev)
    alice.user.save(update_fields=["last_login"])
    assert status(client, rev)[1] == 0


def test_new_trunk_commits_drop_stored_answers(alice, remote, repository, landed):
    client = token_client(alice)
    rev = landed["second"][:10]
    before, _ = status(client, rev)
    assert before["story"][0].endswith("Turn feature off")
    remote.commit({"src/other.py": "X = 1\n"}, "Unrelated")
    services.trunk_sync(repository=repository)  # bulk_create of trunk commits
    assert status(client, rev)[1] > 1


def test_no_answer_is_stored_from_inside_a_transaction(alice, landed):
    client = token_client(alice)
    rev = landed["fix"][:10]
    with transaction.atomic():
        Pick.objects.filter(pk=-1).update(state=PickState.SHIPPED)  # writes nothing
        inside, _ = status(client, rev)
    outside, asked = status(client, rev)
    assert outside == inside and asked > 1  # computed again: nothing was stored inside


def test_refusals_are_never_stored(alice, landed):
    client = token_client(alice)
    for _ in range(2):
        assert client.get("/api/revisions/0000000000/").status_code == 404


def test_an_unreachable_cache_only_costs_the_lookup(settings, alice, landed, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing listens
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    client = token_client(alice)
    answer, _ = status(client, landed["fix"][:10])
    assert answer["commit"]["sha"] == landed["fix"]
    assert "cache unreachable" in caplog.text
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="hotfix").pick
    assert picks(status(client, landed["fix"][:10])[0]) == [(pick.pk, "requested")]


def test_a_pick_recorded_as_merged_drops_stored_answers(alice, landed):
    """The merge phase records a pick with its own SQL on PostgreSQL (no queryset sees it)."""
    from pushes.services.pick_records import pick_record_picked

    client = token_client(alice)
    rev = landed["fix"][:10]
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="hotfix").pick
    Pick.objects.filter(pk=pick.pk).update(state=PickState.CONFIRMED)
    assert picks(status(client, rev)[0]) == [(pick.pk, "confirmed")]
    assert pick_record_picked(pick, "f" * 40)
    assert picks(status(client, rev)[0]) == [(pick.pk, "picked")]


def test_a_deleted_token_and_a_deactivated_user_are_refused_at_once(alice, bob, landed):
    rev = landed["fix"][:10]
    client = token_client(alice)
    assert status(client, rev)[1] > 0
    assert status(client, rev)[1] == 0  # the token is kept in memory now
    Token.objects.filter(user=alice.user).delete()
    assert client.get(f"/api/revisions/{rev}/").status_code == 401

    client = token_client(bob)
    status(client, rev)
    assert status(client, rev)[1] == 0
    bob.user.is_active = False
    bob.user.save()
    assert client.get(f"/api/revisions/{rev}/").status_code == 401


def test_a_process_trusts_the_generation_it_read_for_fresh_seconds_only(alice, landed):
    """Another process's change (here: the generation replaced in the cache directly) is seen
    within FRESH seconds."""
    import time

    from django.core.cache import cache

    client = token_client(alice)
    rev = landed["fix"][:10]
    status(client, rev)
    assert status(client, rev)[1] == 0
    cache.set(statuscache._generation_key(), "changed elsewhere", None)
    time.sleep(statuscache.FRESH * 2)
    assert status(client, rev)[1] > 0


def test_an_answer_kept_for_a_query_string_is_not_served_for_a_path_that_spells_it(alice, landed):
    """Answers are kept by what was asked, exactly; a search and a path never share one."""
    client = token_client(alice)
    rev = landed["fix"][:10]
    assert client.get("/api/revisions/", {"q": rev}).status_code == 200
    spelled = client.get(f"/api/revisions/%3Fq%3D{rev}/")  # the path "?q=<rev>"
    assert spelled.status_code == 400, spelled.content


def test_the_lean_path_sends_what_the_api_view_sends_and_leaves_the_rest_to_it(
    alice, landed, monkeypatch
):
    """A kept answer for a kept engineer's token goes out without DRF (pushes/api/revisions.py,
    `revision_status`): the same bytes and headers. Anything else is the view's, refusals too."""
    from pushes.api import revisions

    through_drf = []
    view = revisions._revision_view
    monkeypatch.setattr(
        revisions,
        "_revision_view",
        lambda request, **kw: through_drf.append(1) or view(request, **kw),
    )
    client = token_client(alice)
    url = f"/api/revisions/{landed['fix'][:10]}/"
    first = client.get(url)  # computed by the view, and kept with the token's row
    lean = client.get(url)
    assert len(through_drf) == 1
    assert lean.status_code == first.status_code == 200
    assert lean.content == first.content
    headers = ("Content-Type", "Vary", "Allow", "Content-Length", "X-Frame-Options")
    assert [lean.get(h) for h in headers] == [first.get(h) for h in headers]

    for asked in ({"HTTP_ACCEPT": "text/html"}, {"HTTP_ACCEPT": "application/json; indent=2"}):
        assert client.get(url, **asked).status_code == 200
    assert client.get(url + "?format=json").content == first.content
    assert client.head(url).status_code == 200
    assert len(through_drf) == 5  # each of those went through the view

    # A kept token of someone who is no engineer: the view's own refusal, in its shape.
    guest = make_engineer("guest")
    guest.delete()  # a user, no longer an engineer
    outsider = token_client(guest)
    refusals = [outsider.get(url) for _ in range(2)]  # the second with the token's row kept
    assert [r.status_code for r in refusals] == [403, 403]
    assert refusals[0].json() == refusals[1].json() and "error" in refusals[0].json()
    assert len(through_drf) == 7
