"""CSRF: every URL of the project refuses a POST from a signed-in browser without the token and
changes nothing; every form and htmx button works with the token its page hands out.

Django's test client skips CSRF checks unless asked: every client here is built with
`enforce_csrf_checks=True`. Pages get the token from the forms (`csrfmiddlewaretoken`) and htmx
from base.html's `hx-headers` (`X-CSRFToken`), and both are read from a rendered page here.
The API takes a token (no CSRF: no cookie rides along) or the session (CSRF enforced, by DRF's
SessionAuthentication).
"""

from __future__ import annotations

import html
import json
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import get_resolver, resolve
from django.utils.module_loading import import_string
from rest_framework.authentication import SessionAuthentication
from rest_framework.test import APIClient

from pushes.choices import PickState
from pushes.models import Pick
from tests.security.matrix import API_ROWS, PAGE_ROWS, Row, fill, sample, walk
from tests.security.world import (
    ADMIN,
    ANONYMOUS,
    BARE,
    OTHER,
    OWNER,
    RELEASE,
    USERNAMES,
    db_state,
    on_world_fixture,  # noqa: F401
    tasks_queued,
    world_fixture,  # noqa: F401
)

# Deliberately without CSRF, and why.
EXEMPT = {
    "slack-events": "Slack signs every request; Bolt checks the signature and its age",
    "hook-github": "GitHub signs every delivery (X-Hub-Signature-256, checked against the body)",
    "hook-gitlab": "GitLab sends the repository's secret token with every delivery",
    "api:pushes.api.views.not_found": "changes nothing: any other address under /api/ is a 404",
}


def _view_name(row: Row) -> str:
    return resolve(sample(row.url).split("?")[0]).view_name


def _one_row_per_url() -> dict[str, Row]:
    """A row (its URL, and its form data for a POST) for every URL of the project."""
    rows: dict[str, Row] = {}
    for row in sorted([*PAGE_ROWS, *API_ROWS], key=lambda r: r.method != "POST"):
        if not row.key.startswith("admin:"):
            rows.setdefault(_view_name(row), row)
    return rows


ROWS_BY_URL = _one_row_per_url()


def test_every_url_of_the_project_is_posted_to_below():
    names = {name for _, name in walk(get_resolver()) if not name.startswith("admin:")}
    assert names - set(ROWS_BY_URL) == set()
    assert set(EXEMPT) <= names


def _enforcing(role: str, world, client_class=Client) -> Client:
    client = client_class(enforce_csrf_checks=True)
    if role != ANONYMOUS:
        client.force_login(world.user(role))
    return client


def _form_token(page) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert found is not None, "no CSRF token in the page's form"
    return found[1]


def _htmx_token(page) -> str:
    found = re.search(r"hx-headers='([^']+)'", page.content.decode())
    assert found is not None, "no hx-headers on the page"
    headers = found[1]
    return json.loads(html.unescape(headers))["X-CSRFToken"]


def _post(client, row: Row, world, role: str, **extra):
    values = {**world.values(), "username": USERNAMES.get(role, "nobody")}
    data = fill(row.data or {}, values)
    path = fill(row.url, values).split("?")[0]
    if isinstance(client, APIClient):
        return client.post(path, data, format="json", **extra)
    return client.post(path, data, **extra)


@pytest.mark.parametrize("name", sorted(ROWS_BY_URL))
def test_a_post_without_the_token_is_refused_and_changes_nothing(
    name, on_world, settings, django_capture_on_commit_callbacks
):
    """As a signed-in release engineer (the role that may do the most), on every URL."""
    settings.SLACK_BOT_TOKEN, settings.SLACK_SIGNING_SECRET = "xoxb-csrf", "csrf-secret"
    row = ROWS_BY_URL[name]
    client = _enforcing(RELEASE, on_world)
    before = db_state()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = _post(client, row, on_world, RELEASE)
    assert db_state() == before
    assert tasks_queued(queued) == []
    if name in EXEMPT:  # refused by its own check (a webhook: no forge headers, a 400)
        assert response.status_code in (400, 401, 404), response.content[:200]
        return
    assert response.status_code == 403, response.content[:300]
    if "json" in response["Content-Type"]:  # the API, in its error shape
        assert response.json()["message"].startswith("CSRF Failed"), response.json()
    elif name.startswith("api"):  # the schema (YAML) and Swagger UI (a bare 403; else 405)
        assert b"CSRF Failed" in response.content or response.content == b"403 Forbidden"
    else:
        assert b"CSRF verification failed" in response.content
    assert "_auth_user_id" in client.session  # logout too was refused: still signed in


def _page_posts() -> list:
    cells = []
    for row in PAGE_ROWS:
        if row.method != "POST" or _view_name(row) in EXEMPT:
            continue
        # The role the button is for; a button nobody can press in this world (a revert: no
        # pick shipped) is pressed by a release engineer, whose refusal is told in a flash.
        may = row.changes or row.allowed or {RELEASE}
        role = next(role for role in (OWNER, RELEASE, ADMIN, OTHER, BARE) if role in may)
        cells.append(pytest.param(row, role, id=f"{row.key}-as-{role}"))
    return cells


@pytest.mark.parametrize(("row", "role"), _page_posts())
def test_every_form_and_button_works_with_the_token_of_its_page(
    row, role, on_world, django_capture_on_commit_callbacks
):
    client = _enforcing(role, on_world)
    home = client.get("/")  # sets the CSRF cookie, which a forged cross-site post carries too
    assert "csrftoken" in client.cookies
    before = db_state()
    htmx = {"HTTP_HX_REQUEST": "true"} if row.htmx else {}
    with django_capture_on_commit_callbacks(execute=False) as queued:
        forged = _post(client, row, on_world, role, **htmx)
    assert (forged.status_code, db_state(), tasks_queued(queued)) == (403, before, [])

    values = {**on_world.values(), "username": USERNAMES[role]}
    data = fill(row.data or {}, values)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        if row.htmx:
            response = client.post(
                fill(row.url, values), data, HTTP_X_CSRFTOKEN=_htmx_token(home), **htmx
            )
        else:
            data["csrfmiddlewaretoken"] = _form_token(home)
            response = client.post(fill(row.url, values), data)
    assert response.status_code == row.ok, response.content[:300]
    assert (db_state() != before) == (role in row.changes)
    assert tasks_queued(queued) == (["pushes.tasks.push_run"] if row.queues else [])


def test_the_chat_console_says_a_line_over_htmx_with_the_header(on_world):
    client = _enforcing(OWNER, on_world)
    token = _htmx_token(client.get("/chat/"))
    htmx = {"HTTP_HX_REQUEST": "true"}
    assert client.post("/chat/", {"text": "help"}, **htmx).status_code == 403
    answered = client.post("/chat/", {"text": "help"}, HTTP_X_CSRFTOKEN=token, **htmx)
    assert answered.status_code == 200
    assert "mine" in answered.content.decode()


def test_logging_in_needs_the_token_of_the_login_page(on_world):
    client = _enforcing(ANONYMOUS, on_world)
    credentials = {"username": "alice", "password": "alice"}
    assert client.post("/login/", credentials).status_code == 403
    assert "_auth_user_id" not in client.session
    token = _form_token(client.get("/login/"))
    response = client.post("/login/", {**credentials, "csrfmiddlewaretoken": token})
    assert (response.status_code, response["Location"]) == (302, "/")
    assert client.session["_auth_user_id"] == str(on_world.user(OWNER).pk)


def test_the_django_admin_checks_the_token_too(on_world):
    client = _enforcing(ADMIN, on_world)
    added = {"name": "Forged", "slug": "forged", "remote_url": "/tmp/forged.git"}
    assert client.post("/admin/pushes/repository/add/", added).status_code == 403
    assert client.post("/admin/logout/").status_code == 403
    assert "_auth_user_id" in client.session
    token = _form_token(client.get("/admin/"))
    assert client.post("/admin/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert "_auth_user_id" not in client.session


# --- the API: token without CSRF, session with it ------------------------------------------


def test_the_api_takes_a_session_and_a_token():
    classes = [import_string(path) for path in django_settings.REST_FRAMEWORK[
        "DEFAULT_AUTHENTICATION_CLASSES"
    ]]  # fmt: skip
    assert any(issubclass(cls, SessionAuthentication) for cls in classes)
    assert "rest_framework.authentication.BasicAuthentication" not in [
        f"{cls.__module__}.{cls.__name__}" for cls in classes
    ]


def _approve(client: APIClient, world, **extra):
    return client.post(f"/api/picks/{world.requested.pk}/approve/", {}, format="json", **extra)


def test_the_api_with_a_session_needs_the_csrf_token(on_world):
    client = _enforcing(RELEASE, on_world, APIClient)
    refused = _approve(client, on_world)
    assert refused.status_code == 403
    assert refused.json()["message"].startswith("CSRF Failed")
    assert Pick.objects.get(pk=on_world.requested.pk).state == PickState.REQUESTED
    token = _htmx_token(client.get("/"))  # what a page's script would send
    approved = _approve(client, on_world, HTTP_X_CSRFTOKEN=token)
    assert approved.status_code == 200, approved.content
    assert Pick.objects.get(pk=on_world.requested.pk).state == PickState.APPROVED


def test_the_api_with_a_token_needs_no_csrf_token(on_world):
    client = APIClient(enforce_csrf_checks=True)
    approved = _approve(client, on_world, HTTP_AUTHORIZATION=f"Token {on_world.tokens[RELEASE]}")
    assert approved.status_code == 200, approved.content
    assert Pick.objects.get(pk=on_world.requested.pk).state == PickState.APPROVED


def test_a_token_is_had_for_a_password_without_a_session_or_csrf(on_world):
    client = APIClient(enforce_csrf_checks=True)
    response = client.post("/api/auth/token/", {"username": "root", "password": "root"})
    assert response.json() == {"token": on_world.tokens[BARE]}
