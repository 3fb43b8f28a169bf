"""The REST API as its users drive it: requests, moves, refusals, status, pushes, the schema."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from common.api import NON_BLANK_TEXT
from pushes import models, services
from pushes.choices import BranchState, PickState, PushState
from pushes.models import Notification, Pick, PickEvent, Push, Revision
from tests.api import assert_error, client_for
from tests.conftest import make_engineer, tasks_queued
from tests.pushes.conftest import MONDAY


def request_pick(client: APIClient, **fields):
    return client.post("/api/picks/", fields, format="json")


def stored() -> tuple[int, int, int]:
    return Pick.objects.count(), PickEvent.objects.count(), Notification.objects.count()


# --- a pick's life over the API -----------------------------------------------------------


def test_alice_requests_a_pick_by_short_sha_with_a_real_token(alice, branch, landed):
    client = APIClient()
    token = client.post("/api/auth/token/", {"username": "alice", "password": "alice"})
    assert token.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")

    response = request_pick(client, revision=landed["fix"][:7], reason="Crash on checkout")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["dry_run"] == {
        "applies": True,
        "conflict_files": [],
        "prerequisites": [],
        "summary": "It applies cleanly on the branch now.",
    }
    assert (body["sha"], body["state"], body["requestor"]) == (landed["fix"], "requested", "alice")
    assert (body["branch_name"], body["repository"], body["requestor_stars"]) == (
        branch.name,
        "shop",
        5,
    )
    assert response["Location"] == f"/api/picks/{body['id']}/"
    detail = client.get(response["Location"]).json()
    assert [(e["actor"], e["from_state"], e["to_state"]) for e in detail["events"]] == [
        ("alice", None, "requested")
    ]


def test_a_conflicting_pick_is_stored_with_its_dry_run_naming_files_and_prerequisites(
    alice, landed, branch
):
    response = request_pick(client_for(alice), revision=landed["second"], reason="Kill switch")
    assert response.status_code == 201
    dry_run = response.json()["dry_run"]
    assert not dry_run["applies"]
    assert dry_run["conflict_files"] == ["src/feature.py"]
    assert dry_run["prerequisites"] == [{"sha": landed["feature"], "title": "Add feature"}]


def test_rel_approves_alice_confirms_and_bob_may_not(alice, bob, rel, landed, branch):
    pick_id = request_pick(client_for(alice), revision=landed["fix"], reason="r").json()["id"]

    assert_error(client_for(alice).post(f"/api/picks/{pick_id}/approve/"), 403, "forbidden")
    approved = client_for(rel).post(f"/api/picks/{pick_id}/approve/", {"reason": "Small"})
    assert approved.status_code == 200
    assert approved.json()["state"] == "approved"

    refused = assert_error(client_for(bob).post(f"/api/picks/{pick_id}/confirm/"), 403, "forbidden")
    assert refused["message"] == f"Only alice can confirm pick #{pick_id}."

    confirmed = client_for(alice).post(f"/api/picks/{pick_id}/confirm/", {}, format="json")
    assert confirmed.status_code == 200
    body = confirmed.json()
    assert body["state"] == "confirmed" and body["confirmed_at"]
    assert [(e["actor"], e["to_state"], e["reason"]) for e in body["events"]] == [
        ("alice", "requested", "r"),
        ("rel", "approved", "Small"),
        ("alice", "confirmed", "Online to support the push."),
    ]


def test_a_rejection_needs_a_reason_and_an_illegal_move_is_a_409(alice, rel, landed, branch):
    pick_id = request_pick(client_for(alice), revision=landed["fix"], reason="r").json()["id"]
    rel_client = client_for(rel)

    for body in ({}, {"reason": "   "}):
        refused = assert_error(
            rel_client.post(f"/api/picks/{pick_id}/reject/", body, format="json"), 400, "invalid"
        )
        assert refused["message"].startswith("reason: Say why the pick is rejected")
    assert Pick.objects.get().state == PickState.REQUESTED

    rejected = rel_client.post(f"/api/picks/{pick_id}/reject/", {"reason": "Wait for the train"})
    assert rejected.json()["state"] == "rejected"
    illegal = assert_error(
        rel_client.post(f"/api/picks/{pick_id}/approve/"), 409, "illegal-transition"
    )
    assert illegal["message"] == f"Pick #{pick_id} is rejected: it cannot be approved now."
    assert illegal["details"] == {"pick": pick_id, "state": "rejected"}
    assert PickEvent.objects.filter(pick_id=pick_id).count() == 2


def test_withdraw_defer_and_decline_answer_with_the_moved_pick(alice, bob, rel, landed, branch):
    alice_client = client_for(alice)
    first = request_pick(alice_client, revision=landed["fix"], reason="r").json()["id"]
    second = request_pick(alice_client, revision=landed["feature"], reason="r").json()["id"]

    assert_error(client_for(bob).post(f"/api/picks/{first}/withdraw/"), 403, "forbidden")
    withdrawn = alice_client.post(f"/api/picks/{first}/withdraw/", {"reason": "Not needed"})
    assert withdrawn.json()["state"] == "withdrawn"

    assert client_for(rel).post(f"/api/picks/{second}/approve/").status_code == 200
    declined = alice_client.post(f"/api/picks/{second}/decline/")
    assert (declined.json()["state"], declined.json()["rolls"]) == ("deferred", 1)
    assert_error(alice_client.post(f"/api/picks/{second}/decline/"), 409, "illegal-transition")
    deferred = client_for(rel).post(f"/api/picks/{second}/defer/", {"reason": "Later"})
    assert_error(deferred, 409, "illegal-transition")  # deferred already


# --- refusals at request time -------------------------------------------------------------


def test_every_request_time_refusal_has_its_code_and_stores_nothing(
    alice, bob, carol, remote, repository, branch, landed
):
    first = request_pick(client_for(bob), revision=landed["feature"], reason="Needed").json()
    fix = landed["fix"]
    cases = [
        ({"revision": "xyz", "reason": "r"}, "bad-revision", "'xyz' is not a revision"),
        ({"revision": "deadbeef12", "reason": "r"}, "unknown-revision", "No commit matches"),
        ({"revision": remote.trunk[1], "reason": "r"}, "already-in-branch", "before the cut"),
        ({"revision": landed["feature"], "reason": "r"}, "already-requested", f"#{first['id']}"),
        ({"revision": fix}, "invalid", "reason: Say why this pick cannot wait"),
        ({"revision": fix, "reason": " "}, "invalid", "reason: Say why"),
        ({"reason": "r"}, "invalid", "revision: This field is required."),
        ({"revision": fix, "reason": "r", "colour": "red"}, "invalid", "colour: Unknown field"),
        ({"revision": fix, "reason": "x" * 2001}, "invalid", "reason: Ensure this field"),
        ({"revision": fix, "reason": "r\x00"}, "invalid", "reason: Null characters"),
        ({"revision": fix, "reason": "r", "backup": "nobody"}, "invalid", "There is no engineer"),
        ({"revision": fix, "reason": "r", "repository": "nope"}, "invalid", "no repository"),
        ({"revision": fix, "reason": "r", "branch": "release/x"}, "unknown-branch", "no release"),
    ]
    before = stored()
    for fields, code, message in cases:
        body = assert_error(request_pick(client_for(alice), **fields), 400, code)
        assert message in body["message"], (fields, body)
        assert stored() == before, fields
    already = request_pick(client_for(alice), revision=landed["feature"], reason="r").json()
    assert already["details"] == {"pick": first["id"]}

    # Two index rows sharing a 7-digit prefix; added last, as git knows neither of them.
    candidates = ["abcdef1" + "0" * 33, "abcdef1" + "1" * 33]
    for n, sha in enumerate(candidates, start=100):
        Revision.objects.create(
            repository=repository, sha=sha, position=n, author_name="A", author_email="a@x",
            committed_at=MONDAY, title=f"Candidate {n}",
        )  # fmt: skip
    ambiguous = assert_error(
        request_pick(client_for(alice), revision="abcdef1", reason="r"), 400, "ambiguous-revision"
    )
    assert "matches 2 commits" in ambiguous["message"]
    assert sorted(ambiguous["details"]["candidates"]) == candidates

    karma = assert_error(request_pick(client_for(carol), revision=fix, reason="r"), 400, "karma")
    assert "2 of 5 stars" in karma["message"]

    raw = [
        (b'{"revision": "abc1234", "reason": "\xff\xfe"}', "parse-error"),
        (b'{"revision": "abc1234", "reason": "\\ud800"}', "invalid"),
        (b'{"revision": "abc1234", "reason": ', "parse-error"),
        (b'["abc1234"]', "invalid"),
    ]
    for data, code in raw:
        response = client_for(alice).post("/api/picks/", data, content_type="application/json")
        assert_error(response, 400, code)

    branch.state = BranchState.CLOSED
    branch.save()
    closed = request_pick(client_for(alice), revision=fix, reason="r", branch=branch.name)
    assert "is closed" in assert_error(closed, 400, "branch-closed")["message"]
    assert_error(request_pick(client_for(alice), revision=fix, reason="r"), 400, "no-branch")
    assert stored() == before


# --- who may call ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/picks/"), ("post", "/api/picks/"), ("get", "/api/revisions/abcdef1/")],
)
def test_anonymous_callers_are_refused_in_the_error_shape(db, method, path):
    response = getattr(APIClient(), method)(path)
    assert_error(response, 401, "not-authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_a_login_without_an_engineer_row_is_told_to_ask_an_admin(db):
    user = get_user_model().objects.create_user(username="dave", password="dave")
    client = APIClient()
    client.force_authenticate(user=user)
    for response in (client.get("/api/picks/"), client.post("/api/pushes/1/run/")):
        body = assert_error(response, 403, "not-an-engineer")
        assert body["message"] == "Your account is not set up as an engineer: ask an admin."


def test_unknown_ids_and_addresses_are_404s_in_the_error_shape(alice):
    client = client_for(alice)
    assert client.get("/api/picks/999/").json() == {
        "error": "not-found",
        "message": "There is no pick #999.",
    }
    assert_error(client.get("/api/picks/abc/"), 404, "not-found")
    assert_error(client.get(f"/api/picks/{10**30}/"), 404, "not-found")
    assert_error(client.post("/api/picks/999/approve/"), 404, "not-found")
    assert_error(client.get("/api/repositories/nope/"), 404, "not-found")
    assert_error(client.get("/api/test-runs/999/"), 404, "not-found")
    slash = assert_error(client.get("/api/picks"), 404, "not-found")
    assert "add the trailing slash" in slash["message"]
    assert_error(client.get("/api/nothing-here/"), 404, "not-found")
    assert_error(APIClient(enforce_csrf_checks=True).post("/api/nothing/"), 404, "not-found")
    assert_error(client.get("/api/revisions/%00abc/"), 400, "invalid")
    assert_error(client.get("/api/picks/?requestor=%00"), 400, "invalid")
    assert_error(client.delete("/api/picks/"), 405, "method-not-allowed")
    assert_error(client.get("/api/picks/?state=lost"), 400, "invalid")


# --- reading ------------------------------------------------------------------------------


def test_revision_status_of_a_shipped_an_unpicked_and_a_cut_commit(
    alice, rel, remote, branch, landed
):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="r").pick
    services.pick_approve(pick_id=pick.pk, actor=rel)
    services.pick_confirm(pick_id=pick.pk, actor=alice)
    for state in (PickState.PICKED, PickState.SHIPPED):
        services.pick_transition(pick_id=pick.pk, to=state, actor=None)
    client = client_for(alice)

    shipped = client.get(f"/api/revisions/{landed['fix'][:10]}/").json()
    assert shipped["commit"]["sha"] == landed["fix"]
    assert shipped["commit"]["title"] == "Fix module 1"
    assert shipped["cut_into"] is None and shipped["shipped_at"]
    assert [(p["id"], p["state"], p["requestor"]) for p in shipped["picks"]] == [
        (pick.pk, "shipped", "alice")
    ]
    assert shipped["picks"][0]["push_label"] == pick.push.label
    assert f"Pick #{pick.pk} to {branch.name} by alice: shipped" in shipped["story"][-1]

    unpicked = client.get(f"/api/revisions/{landed['feature']}/").json()
    assert (unpicked["picks"], unpicked["shipped_at"], unpicked["cut_into"]) == ([], None, None)
    assert unpicked["story"][-1] == "Not in any release branch yet: it rides the next weekly cut."

    url = "https://github.com/acme/app/pull/101"  # the first trunk commit's review
    by_path = client.get(f"/api/revisions/{quote(url, safe='')}/").json()
    by_query = client.get("/api/revisions/", {"q": url}).json()
    by_number = client.get("/api/revisions/101/").json()
    assert by_path == by_query == by_number
    assert by_path["commit"]["sha"] == remote.trunk[0]
    assert by_path["cut_into"] == {"id": branch.pk, "name": branch.name, "state": "stabilising"}

    assert_error(client.get("/api/revisions/not-a-sha/"), 400, "bad-revision")
    assert_error(client.get("/api/revisions/deadbeef12/"), 404, "unknown-revision")
    assert_error(client.get("/api/revisions/"), 400, "invalid")


def test_repositories_never_show_a_secret(alice, repository, monkeypatch):
    monkeypatch.setenv("RELEASEBOT_REVIEW_TOKEN_SHOP", "s3cret-value")
    repository.review_token_env = "RELEASEBOT_REVIEW_TOKEN_SHOP"
    repository.remote_url = "https://bot:s3cret-value@git.example.com/acme/shop.git"
    repository.deploy_hook = "https://deploy.example.com/hook?key=s3cret-value"
    repository.save()

    response = client_for(alice).get("/api/repositories/shop/")

    assert "s3cret" not in response.content.decode()
    body = response.json()
    assert body["review_token_env"] == "RELEASEBOT_REVIEW_TOKEN_SHOP"
    assert body["remote_url"] == "https://git.example.com/acme/shop.git"
    assert body["deploy_hook"] == "webhook"
    assert (body["push_weekdays"], body["push_times"]) == ([2, 3, 4], ["11:00", "16:00"])
    listed = client_for(alice).get("/api/repositories/").json()
    assert [r["slug"] for r in listed["results"]] == ["shop"]


def test_branches_pushes_and_test_runs_are_listed_and_filtered(alice, repository, branch):
    client = client_for(alice)
    branches = client.get("/api/branches/", {"repository": "shop", "state": "stabilising"})
    assert [b["name"] for b in branches.json()["results"]] == [branch.name]
    assert client.get("/api/branches/", {"state": "closed"}).json()["count"] == 0

    pushes = client.get("/api/pushes/", {"branch": branch.pk}).json()
    assert pushes["count"] == branch.pushes.count()
    weekly = branch.pushes.get(kind="weekly")
    run = models.TestRun.objects.create(
        push=weekly, command="make test", state="passed", started_at=MONDAY, log="All green"
    )
    detail = client.get(f"/api/pushes/{weekly.pk}/").json()
    assert (detail["kind"], detail["pick_counts"], detail["picks"]) == ("weekly", {}, [])
    assert [r["id"] for r in detail["test_runs"]] == [run.pk]

    runs = client.get("/api/test-runs/", {"push": weekly.pk, "state": "passed"}).json()
    assert [r["id"] for r in runs["results"]] == [run.pk]
    assert "log" not in runs["results"][0]
    assert client.get(f"/api/test-runs/{run.pk}/").json()["log"] == "All green"


def test_the_inbox_shows_my_notifications_newest_first_and_marks_them_read(
    alice, rel, landed, branch
):
    pick_id = request_pick(client_for(alice), revision=landed["fix"], reason="r").json()["id"]
    client_for(rel).post(f"/api/picks/{pick_id}/approve/")
    client = client_for(alice)

    inbox = client.get("/api/inbox/").json()["results"]
    assert [(n["kind"], n["pick"], n["read_at"]) for n in inbox] == [("approved", pick_id, None)]
    assert client_for(rel).get("/api/inbox/").json()["count"] == 0
    assert_error(client.post("/api/inbox/read/", {"all": True}, format="json"), 400, "invalid")
    assert client.post("/api/inbox/read/").json() == {"marked": 1}
    assert client.get("/api/inbox/").json()["results"][0]["read_at"]


def test_picks_are_filtered_by_state_requestor_mine_and_push(alice, bob, landed, branch):
    mine = request_pick(client_for(alice), revision=landed["fix"], reason="r").json()
    theirs = request_pick(client_for(bob), revision=landed["feature"], reason="r").json()
    client = client_for(alice)

    def ids(**params):
        return [p["id"] for p in client.get("/api/picks/", params).json()["results"]]

    assert ids() == [theirs["id"], mine["id"]]
    assert ids(mine=1) == [mine["id"]]
    assert ids(requestor="bob") == [theirs["id"]]
    assert ids(state="requested", branch=branch.pk, push=mine["push"]) == [
        theirs["id"],
        mine["id"],
    ]
    assert ids(state="approved") == []


# --- pushes -------------------------------------------------------------------------------


def test_only_release_engineers_run_pushes_and_the_run_is_queued(
    alice, rel, branch, django_capture_on_commit_callbacks
):
    push = branch.pushes.order_by("scheduled_at").first()

    refused = assert_error(client_for(alice).post(f"/api/pushes/{push.pk}/run/"), 403, "forbidden")
    assert refused["message"] == "Only release engineers can run pushes."
    assert_error(client_for(alice).post(f"/api/branches/{branch.pk}/push-now/"), 403, "forbidden")

    early = {"early": True}  # the push is due tomorrow: running it now says so
    with django_capture_on_commit_callbacks() as queued:
        response = client_for(rel).post(f"/api/pushes/{push.pk}/run/", early, format="json")
    assert response.status_code == 202
    assert (response.json()["id"], response.json()["state"]) == (push.pk, "scheduled")
    assert len(tasks_queued(queued)) == 1

    with django_capture_on_commit_callbacks() as queued:
        url = f"/api/branches/{branch.pk}/push-now/"
        response = client_for(rel).post(url, early, format="json")
    assert (response.status_code, response.json()["id"]) == (202, push.pk)
    assert len(tasks_queued(queued)) == 1

    with django_capture_on_commit_callbacks() as queued:
        typo = client_for(rel).post(f"/api/pushes/{push.pk}/run/", {"now": 1}, format="json")
    assert (assert_error(typo, 400, "invalid")["message"], queued) == (
        "now: Unknown field: this request takes early.",
        [],
    )
    assert_error(client_for(rel).post("/api/pushes/999/run/"), 404, "not-found")
    Push.objects.filter(pk=push.pk).update(state=PushState.DONE)
    assert_error(client_for(rel).post(f"/api/pushes/{push.pk}/run/"), 409, "push-finished")


# --- the schema, the docs, and queries ----------------------------------------------------


def test_the_schema_validates_without_warnings(db, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert "/api/picks/{id}/approve/" in (tmp_path / "s.yml").read_text()


def test_the_docs_and_the_schema_are_served_to_signed_in_people(client, alice):
    assert client.get("/api/schema/").status_code == 401
    client.force_login(alice.user)
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/schema/").status_code == 200


def _rows(count: int, *, branch, push, backup) -> None:
    """`count` more picks, each by a different requestor, all with the same backup."""
    start = Pick.objects.count()
    for n in range(start, start + count):
        Pick.objects.create(
            branch=branch, push=push, sha=f"{n + 1:040x}", title="T", author_name="A",
            author_email="a@x", requestor=make_engineer(f"eng{n}"), backup=backup, reason="r",
        )  # fmt: skip


def test_lists_take_the_same_number_of_queries_for_3_and_30_rows(alice, bob):
    repository = models.Repository.objects.create(slug="q", name="Q", remote_url="/nowhere")
    cut = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    branch = models.ReleaseBranch.objects.create(
        repository=repository, name="release/2026-11-22", cut_at=cut, base_sha="0" * 40
    )
    push = Push.objects.create(branch=branch, day=cut.date(), number=1, scheduled_at=cut)
    client = client_for(alice)

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured)

    paths = ["/api/picks/", f"/api/pushes/{push.pk}/", "/api/pushes/", "/api/branches/"]
    _rows(3, branch=branch, push=push, backup=bob)
    few = [queries(path) for path in paths]
    _rows(27, branch=branch, push=push, backup=bob)
    assert client.get("/api/picks/").json()["count"] == 30
    assert [queries(path) for path in paths] == few


# --- what schemathesis found (tests/security/test_schemathesis.py) -------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/test-runs/?pick=",
        "/api/test-runs/?push=",
        "/api/picks/?push=",
        "/api/picks/?branch=",
        "/api/pushes/?branch=",
    ],
)
def test_an_id_filter_past_the_largest_id_is_refused_not_a_server_error(alice, path):
    # Was a 500: SQLite cannot compare with an integer past 64 bits (OverflowError).
    client = client_for(alice)
    body = assert_error(client.get(f"{path}{2**64}"), 400, "invalid")
    assert "less than or equal to 9223372036854775807" in body["message"]
    assert client.get(f"{path}{2**63 - 1}").json()["count"] == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/karma/a%00b/"),
        ("post", "/api/karma/a%00b/unlike/"),
        ("get", "/api/repositories/a%00b/"),
        ("get", "/api/picks/1%00/"),
    ],
)
def test_a_nul_in_a_name_or_id_is_a_404_not_a_server_error(rel, method, path):
    # Was a 500 on PostgreSQL, which refuses to compare text that holds a NUL (DataError).
    response = getattr(client_for(rel), method)(path, {"reason": "r"}, format="json")
    assert_error(response, 404, "not-found")


def test_an_address_with_a_newline_in_it_is_a_404_in_the_error_shape(alice):
    # Was Django's HTML page: the catch-all's `.` did not match the newline.
    response = client_for(alice).get("/api/revisions/%0Aabcdef1/")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 404, "not-found")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("offset=null", "offset"),
        ("offset=-1", "offset"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=", "limit"),
    ],
)
def test_a_page_outside_the_documented_range_is_refused(alice, query, field):
    # DRF's pagination served the first page instead, for any of these.
    body = assert_error(client_for(alice).get(f"/api/pushes/?{query}"), 400, "invalid")
    assert list(body["details"]) == [field]


def test_a_page_inside_the_range_is_served(alice, branch):
    page = client_for(alice).get("/api/pushes/?limit=2&offset=1").json()
    assert (page["count"], len(page["results"])) == (branch.pushes.count(), 2)


@pytest.mark.parametrize(
    "path", ["/api/picks/?state=", "/api/picks/?requestor=", "/api/karma/?below="]
)
def test_an_empty_filter_is_refused_as_the_schema_says_not_ignored(alice, path):
    assert_error(client_for(alice).get(path), 400, "invalid")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/picks/{pick}/withdraw/", {"reason": 0}, "reason"),
        ("/api/picks/", {"revision": 1234567, "reason": "r"}, "revision"),
        ("/api/karma/alice/restore/", {"reason": "Talked", "stars": "1"}, "stars"),
        ("/api/karma/alice/restore/", {"reason": "Talked", "stars": True}, "stars"),
    ],
)
def test_a_json_value_of_the_wrong_type_is_refused(alice, rel, landed, branch, path, body, field):
    # DRF alone takes 0 for the text "0", and "1" or true for the number 1.
    pick = request_pick(client_for(alice), revision=landed["fix"], reason="r").json()["id"]
    before = stored()
    response = client_for(rel).post(path.format(pick=pick), body, format="json")
    assert list(assert_error(response, 400, "invalid")["details"]) == [field]
    assert stored() == before


def test_the_schema_says_what_the_api_refuses(db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    token = schema["paths"]["/api/auth/token/"]["post"]["responses"]
    assert set(token) == {"200", "400"}
    assert components["Reject"]["additionalProperties"] is False
    assert components["Reject"]["properties"]["reason"]["pattern"] == NON_BLANK_TEXT
    assert components["Unlike"]["additionalProperties"] is False
    assert components["Repository"]["properties"]["cut_time"].get("format") is None
    offset = next(
        p for p in schema["paths"]["/api/picks/"]["get"]["parameters"] if p["name"] == "offset"
    )
    assert offset["schema"]["minimum"] == 0
    bodies = schema["paths"]["/api/picks/"]["post"]["requestBody"]["content"]
    assert list(bodies) == ["application/json"]
