"""A repository's GitHub or GitLab setup in the API: every engineer reads it (secrets named,
never shown), release engineers change it, a bad value changes nothing."""

from __future__ import annotations

import pytest

from pushes.models import Repository
from tests.api import assert_error, client_for
from tests.forges.conftest import SECRET, SECRET_ENV, TOKEN, connect

pytestmark = pytest.mark.django_db
URL = "/api/repositories/shop/forge/"


def test_an_engineer_reads_the_setup_and_whether_its_secrets_are_there(alice, repository, github):
    connect(repository, github)
    body = client_for(alice).get(URL).json()
    assert body["forge_project"] == "acme/app" and body["pick_label"] == "pick"
    assert body["webhook_secret_env"] == SECRET_ENV
    assert body["health"] == {"webhook_secret_set": True, "api_callable": True, "token_set": True}
    assert body["webhook_urls"]["github"] == "http://127.0.0.1:8000/hooks/github/"
    assert SECRET not in str(body) and TOKEN not in str(body)


def test_a_release_engineer_changes_it(rel, repository):
    changes = {
        "review_tool": "gitlab",
        "review_api_url": "https://gitlab.example.com/api/v4",
        "forge_project": "acme/platform/app",
        "webhook_secret_env": "RELEASEBOT_WEBHOOK_SECRET_APP",
        "pick_label": "backport",
        "keep_branches": 1,
    }
    response = client_for(rel).patch(URL, changes, format="json")
    assert response.status_code == 200, response.json()
    saved = Repository.objects.get(pk=repository.pk)
    assert {name: getattr(saved, name) for name in changes} == changes


def test_an_engineer_may_not_change_it(alice, repository):
    response = client_for(alice).patch(URL, {"pick_label": "mine"}, format="json")
    assert_error(response, 403, "forbidden")
    assert Repository.objects.get(pk=repository.pk).pick_label == "pick"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"webhook_secret_env": "SECRET_KEY"}, "webhook_secret_env"),
        ({"review_token_env": "HOME"}, "review_token_env"),
        ({"pick_label": "a,b"}, "pick_label"),
        ({"review_api_url": "http://gitlab.internal/api/v4"}, "review_api_url"),
        ({"pick_label": "ok", "forge_project": "x", "slug": "other"}, "slug"),
    ],
)
def test_a_bad_value_is_refused_and_changes_nothing(rel, repository, changes, field):
    before = Repository.objects.filter(pk=repository.pk).values().get()
    body = assert_error(client_for(rel).patch(URL, changes, format="json"), 400, "invalid")
    assert field in body["details"]
    assert Repository.objects.filter(pk=repository.pk).values().get() == before


def test_an_unknown_repository_is_a_404(rel):
    assert_error(client_for(rel).get("/api/repositories/nope/forge/"), 404, "not-found")


def test_the_schema_lists_the_endpoint(alice):
    schema = client_for(alice).get("/api/schema/", {"format": "json"}).json()
    operations = schema["paths"]["/api/repositories/{slug}/forge/"]
    assert set(operations) >= {"get", "patch"}
