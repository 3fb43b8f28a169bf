"""Who may do what: every role against every API operation and every page, one cell each.

The roles are in tests/security/world.py. Each cell asserts the status (with the API's one error
shape for a refusal, and a redirect to the login page for a visitor), and compares the database
before and after: a refused call changes nothing, an allowed move changes what it should. Tasks
a call queues are seen as on-commit callbacks (nothing reaches a broker).

Two more tests keep the matrix complete: every operation of the OpenAPI schema and every URL of
the project (the Django admin aside, which has its own rows here and its own tests) must have a
row, so a new endpoint cannot go in without someone deciding who may call it.
"""

from __future__ import annotations

import pytest
import yaml
from django.contrib.messages import constants, get_messages
from django.test import Client
from django.urls import get_resolver, resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from chat.models import ConsoleMessage
from tests.api import assert_error
from tests.security.matrix import API_ROWS, PAGE_ROWS, Row, fill, sample, shape, walk
from tests.security.world import (
    ANONYMOUS,
    BARE,
    OTHER,
    OWNER,
    RELEASE,
    ROLES,
    SIGNED_IN,
    USERNAMES,
    db_state,
    on_world_fixture,  # noqa: F401
    tasks_queued,
    world_fixture,  # noqa: F401
)

# --- running a cell -----------------------------------------------------------------------


def _call(client, row: Row, world, role: str, capture):
    values = {**world.values(), "username": USERNAMES.get(role, "alice")}
    if role == ANONYMOUS:
        values["username"] = "nobody"
    data = fill(row.data, values)
    extra = {"HTTP_HX_REQUEST": "true"} if row.htmx else {}
    with capture(execute=False) as queued:
        if row.method == "GET":
            response = client.get(row.path(world), **extra)
        elif isinstance(client, APIClient):
            send = getattr(client, row.method.lower())  # POST, or PATCH
            response = send(row.path(world), data, format="json")
        else:
            response = client.post(row.path(world), data, **extra)
    return response, tasks_queued(queued)


def _expected_status(row: Row, role: str, *, api_row: bool) -> int:
    if role in row.status:
        return row.status[role]
    if role in row.allowed:
        return row.ok
    if role == ANONYMOUS and not row.public:
        return 401 if api_row else 302
    if api_row or role in row.guarded:
        return 403
    return row.ok  # refused by the service and told in a flash, back where the button was


def _cells(rows: list[Row]):
    return [
        pytest.param(row, role, id=f"{row.method}-{row.key}-{role}")
        for row in rows
        for role in ROLES
    ]


def _errors_flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level == constants.ERROR]


@pytest.mark.parametrize(("row", "role"), _cells(API_ROWS))
def test_api(row: Row, role: str, on_world, django_capture_on_commit_callbacks):
    client = APIClient()
    if role != ANONYMOUS:
        client.credentials(HTTP_AUTHORIZATION=f"Token {on_world.tokens[role]}")
    before = db_state()
    response, queued = _call(client, row, on_world, role, django_capture_on_commit_callbacks)
    expected = _expected_status(row, role, api_row=True)
    changed = db_state() != before

    if expected < 400:
        assert response.status_code == expected, response.content[:500]
        assert changed == (role in row.changes), "the database changed" if changed else "no change"
        assert queued == (["pushes.tasks.push_run"] if row.queues else [])
        return
    if role == ANONYMOUS and expected == 401:
        if "json" in response["Content-Type"]:
            assert_error(response, 401, "not-authenticated")
        else:  # the schema answers in its own format (YAML), in the same shape
            body = yaml.safe_load(response.content)
            assert (response.status_code, body["error"]) == (401, "not-authenticated")
        assert response["WWW-Authenticate"].startswith("Token")
    elif role == BARE and expected == 403:
        assert_error(response, 403, "not-an-engineer")
    elif expected == 403:
        assert_error(response, 403, row.code)
    else:
        assert response.status_code == expected, response.content[:500]
        assert set(response.json()) <= {"error", "message", "details"}
    assert not changed, "a refused call changed the database"
    assert queued == []


def test_a_token_is_only_for_its_own_password(on_world):
    """The token endpoint's allowed cells post each role's own password; a wrong one is a 400
    in the error shape, and gives nothing away about whether the account exists."""
    client = APIClient()
    wrong = client.post("/api/auth/token/", {"username": "alice", "password": "bob"})
    missing = client.post("/api/auth/token/", {"username": "nobody", "password": "nobody"})
    assert_error(wrong, 400, "invalid")
    assert_error(missing, 400, "invalid")
    assert wrong.json()["message"] == missing.json()["message"]
    right = client.post("/api/auth/token/", {"username": "alice", "password": "alice"})
    assert right.json() == {"token": on_world.tokens[OWNER]}


@pytest.mark.parametrize(("row", "role"), _cells(PAGE_ROWS))
def test_page(row: Row, role: str, on_world, settings, django_capture_on_commit_callbacks):
    if row.key == "slack-events":
        settings.SLACK_BOT_TOKEN, settings.SLACK_SIGNING_SECRET = "xoxb-matrix", "matrix-secret"
    client = Client()
    if role != ANONYMOUS:
        client.force_login(on_world.user(role))
    before = db_state()
    response, queued = _call(client, row, on_world, role, django_capture_on_commit_callbacks)
    expected = _expected_status(row, role, api_row=False)
    changed = db_state() != before

    assert response.status_code == expected, response.content[:300]
    if expected == 302 and (role == ANONYMOUS or row.key.startswith("admin:")):
        login = "/admin/login/" if row.key.startswith("admin:") else "/login/"
        if not (row.public and row.key == "logout"):
            assert response["Location"].startswith(f"{login}?next="), response["Location"]
    allowed = role in row.allowed
    assert changed == (allowed and role in row.changes), (
        "the database changed" if changed else "nothing changed"
    )
    assert queued == (["pushes.tasks.push_run"] if allowed and row.queues else [])
    if row.method == "POST" and role in SIGNED_IN and expected == 302 and row.key != "chat":
        # A button's outcome is told in a flash: an error exactly when it was refused.
        assert bool(_errors_flashed(response)) == (not allowed), _errors_flashed(response)
    if row.key == "chat" and row.method == "POST" and role in SIGNED_IN:
        said = ConsoleMessage.objects.latest("created_at", "pk")  # kept per person (chat)
        assert said.refused == (not allowed), said.answer


# --- the matrix is complete ---------------------------------------------------------------


def test_every_api_operation_of_the_schema_has_a_row():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        op["operationId"]: (method.upper(), shape(path))
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
    }
    rows = {row.key: (row.method, shape(row.url)) for row in API_ROWS if row.key in operations}
    assert operations == rows
    assert len(operations) >= 28  # the schema was read, not an empty one


def test_every_url_of_the_project_has_a_row():
    """Each URL is an API operation of the schema (tested above) or a page row here; the
    Django admin is its own (two rows here, tests/test_pages_and_admin.py for every model)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    in_schema = {resolve(sample(path)).view_name for path in schema["paths"]}
    covered = in_schema | {row.key.split("#")[0] for row in [*PAGE_ROWS, *API_ROWS]}
    urls = [(route, name) for route, name in walk(get_resolver()) if not name.startswith("admin:")]
    missing = sorted(f"{name} ({route})" for route, name in urls if name not in covered)
    assert missing == [], "add these to the matrix: " + ", ".join(missing)
    assert len(urls) > 40


# --- what the matrix's statuses do not show -----------------------------------------------


def test_an_engineer_reads_only_their_own_inbox(on_world):
    """The inbox answers every engineer, with their own notices: alice's "approved" is hers."""
    theirs = {}
    for role in (OWNER, OTHER, RELEASE):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {on_world.tokens[role]}")
        theirs[role] = [notice["text"] for notice in client.get("/api/inbox/").json()["results"]]
    assert any("was approved" in text for text in theirs[OWNER])
    assert theirs[OTHER] == theirs[RELEASE] == []
    page = Client()
    page.force_login(on_world.user(OTHER))
    assert "was approved" not in page.get("/inbox/").content.decode()


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_a_button_goes_back_only_to_a_page_of_this_site(target, on_world):
    client = Client()
    client.force_login(on_world.user(OWNER))
    pick = on_world.requested.pk
    response = client.post(f"/picks/{pick}/withdraw/", {"next": target})
    assert (response.status_code, response["Location"]) == (302, f"/picks/{pick}/")
