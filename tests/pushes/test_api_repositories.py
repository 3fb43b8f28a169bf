"""A repository in the API as release engineers change it: its freeze (POST .../freeze/ and
.../unfreeze/) and every setting (PATCH), refused to anyone else in the one error shape."""

from __future__ import annotations

import datetime as dt

import pytest

from pushes.api.repositories import RepositorySettingsSerializer
from pushes.models import FreezeWindow, Notification, Repository
from pushes.services.freezes import NO_FREEZE_REASON, ONLY_RELEASE_ENGINEERS
from pushes.services.repository_settings import ONLY_RELEASE_ENGINEERS as ONLY_RE_SETTINGS
from pushes.services.repository_settings import SETTINGS
from tests.api import assert_error, client_for
from tests.repos import git

URL = "/api/repositories/shop/"


def settings_of(repository: Repository) -> dict[str, object]:
    repository.refresh_from_db()
    return {name: getattr(repository, name) for name in SETTINGS}


# --- freeze and unfreeze ------------------------------------------------------------------


def test_rel_freezes_and_unfreezes_a_repository(rel, alice, repository, branch):
    client = client_for(rel)
    assert client.get(URL).json()["frozen"] is None

    response = client.post(f"{URL}freeze/", {"reason": "Incident 42"}, format="json")

    assert response.status_code == 200, response.json()
    frozen = response.json()["frozen"]
    assert (frozen["reason"], frozen["by"], frozen["until"]) == ("Incident 42", "rel", None)
    since = dt.datetime.fromisoformat(frozen["since"])
    assert since == FreezeWindow.objects.get().starts_at
    assert client_for(alice).get(URL).json()["frozen"] == frozen
    assert client_for(alice).get("/api/repositories/").json()["results"][0]["frozen"] == frozen

    response = client.post(f"{URL}unfreeze/", {"reason": "All clear"}, format="json")

    assert (response.status_code, response.json()["frozen"]) == (200, None)
    assert FreezeWindow.objects.get().lifted_by == rel


def test_a_window_planned_in_the_admin_shows_its_end(alice, repository, monday):
    ends = dt.datetime(2026, 11, 27, 18, 0, tzinfo=dt.UTC)
    FreezeWindow.objects.create(
        repository=repository, starts_at=ends - dt.timedelta(days=400), ends_at=ends, reason="Hol"
    )
    frozen = client_for(alice).get(URL).json()["frozen"]
    assert (frozen["by"], dt.datetime.fromisoformat(frozen["until"])) == (None, ends)


def test_only_release_engineers_freeze_and_nothing_changes_for_anyone_else(alice, repository):
    for body in ({"reason": "Mine now"}, {}, {"nonsense": 1}):
        response = client_for(alice).post(f"{URL}freeze/", body, format="json")
        assert assert_error(response, 403, "forbidden")["message"] == ONLY_RELEASE_ENGINEERS
    assert_error(client_for(alice).post(f"{URL}unfreeze/", {}, format="json"), 403, "forbidden")
    assert not FreezeWindow.objects.exists()


def test_freeze_refusals_are_in_the_error_shape_and_change_nothing(rel, alice, repository, branch):
    client = client_for(rel)
    body = assert_error(client.post(f"{URL}freeze/", {}, format="json"), 400, "no-reason")
    assert body["message"] == NO_FREEZE_REASON
    assert_error(client.post(f"{URL}freeze/", {"reason": "  "}, format="json"), 400, "no-reason")
    long = client.post(f"{URL}freeze/", {"reason": "x" * 201}, format="json")
    assert assert_error(long, 400, "invalid")["details"]["reason"]
    unknown = client.post(f"{URL}freeze/", {"reason": "r", "until": "never"}, format="json")
    assert "until" in assert_error(unknown, 400, "invalid")["details"]
    assert_error(client.post(f"{URL}unfreeze/", {}, format="json"), 409, "not-frozen")
    assert_error(client.post("/api/repositories/nope/freeze/", {"reason": "r"}), 404, "not-found")
    assert not FreezeWindow.objects.exists()

    client.post(f"{URL}freeze/", {"reason": "Incident 42"}, format="json")
    again = assert_error(
        client.post(f"{URL}freeze/", {"reason": "Again"}, format="json"), 409, "already-frozen"
    )
    assert again["message"] == (
        "Shop is already frozen by rel until a release engineer unfreezes it: Incident 42."
    )
    assert FreezeWindow.objects.count() == 1


def test_the_requestors_are_told_through_the_api_as_everywhere(rel, alice, repository, landed):
    client_for(alice).post(
        "/api/picks/", {"revision": landed["fix"], "reason": "Crash"}, format="json"
    )
    Notification.objects.all().delete()

    client_for(rel).post(f"{URL}freeze/", {"reason": "Incident 42"}, format="json")

    (notice,) = client_for(alice).get("/api/inbox/").json()["results"]
    assert notice["text"].startswith(
        "Shop is frozen by rel until a release engineer unfreezes it (Incident 42): your pick #"
    )


# --- settings -----------------------------------------------------------------------------


def test_every_setting_of_the_model_is_editable_but_where_it_lives(db):
    model_fields = {field.name for field in Repository._meta.concrete_fields}
    kept = {"id", "slug", "remote_url", "trunk_indexed_sha", "trunk_synced_at"}
    assert set(SETTINGS) == model_fields - kept
    assert set(RepositorySettingsSerializer().fields) == set(SETTINGS)


def test_rel_changes_settings_with_a_patch_and_the_rest_stay(rel, repository):
    before = settings_of(repository)
    changes = {
        "name": "Shop (web)",
        "cut_weekday": 5,
        "cut_time": "19:30",
        "push_weekdays": [0, 1, 2],
        "push_times": ["09:00", "15:30"],
        "friday_policy": "no-push",
        "max_rolls": 5,
        "test_command": "make test",
        "test_timeout_seconds": 60,
        "deploy_hook": "https://deploy.example.com/hook",
        "command_env": "SENTRY_DSN, NODE_ENV",
        "risk_size_threshold": 300,
        "hot_paths": ["app/checkout/*", "*.sql"],
        "chat_channel": "C0RELEASE",
        "pick_label": "backport",
    }

    response = client_for(rel).patch(URL, changes, format="json")

    assert response.status_code == 200, response.json()
    after = settings_of(repository)
    expected = {**before, **changes, "cut_time": dt.time(19, 30)}
    assert after == expected
    body = response.json()
    assert (body["name"], body["cut_time"], body["hot_paths"], body["chat_channel"]) == (
        "Shop (web)",
        "19:30:00",
        ["app/checkout/*", "*.sql"],
        "C0RELEASE",
    )
    assert (body["deploy_hook"], body["command_env"]) == ("webhook", "SENTRY_DSN, NODE_ENV")


def test_a_plain_http_hook_is_taken_once_allowed_in_the_same_patch(rel, repository):
    hook = {"deploy_hook": "http://deploy.internal/hook"}
    refused = client_for(rel).patch(URL, hook, format="json")
    assert "deploy_hook" in assert_error(refused, 400, "invalid")["details"]
    taken = client_for(rel).patch(URL, {**hook, "deploy_hook_allow_http": True}, format="json")
    assert taken.status_code == 200, taken.json()
    assert settings_of(repository)["deploy_hook"] == "http://deploy.internal/hook"


def test_only_release_engineers_change_settings(alice, repository):
    before = settings_of(repository)
    for body in ({"max_rolls": 9}, {"time_zone": "Mars/Olympus"}, {"remote_url": "/tmp/x"}):
        response = client_for(alice).patch(URL, body, format="json")
        assert assert_error(response, 403, "forbidden")["message"] == ONLY_RE_SETTINGS
    assert settings_of(repository) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"push_times": ["25:00"]}, "push_times"),
        ({"cut_time": "7pm"}, "cut_time"),
        ({"push_weekdays": [7]}, "push_weekdays"),
        ({"push_weekdays": []}, "push_weekdays"),
        ({"push_times": []}, "push_times"),
        ({"command_env": "SECRET_KEY"}, "command_env"),
        ({"command_env": "not a-name"}, "command_env"),
        ({"trunk_branch": "bad..name"}, "trunk_branch"),
        ({"review_token_env": "GITHUB_TOKEN"}, "review_token_env"),
        ({"review_api_url": "http://review.internal/api"}, "review_api_url"),
        ({"pick_label": "a,b"}, "pick_label"),
        ({"max_rolls": -1}, "max_rolls"),
        ({"max_rolls": "3"}, "max_rolls"),
        ({"hot_paths": "app/*"}, "hot_paths"),
        ({"name": ""}, "name"),
    ],
)
def test_a_bad_value_is_refused_per_field_and_nothing_changes(rel, repository, changes, field):
    before = settings_of(repository)

    response = client_for(rel).patch(URL, {"max_rolls": 7, **changes}, format="json")

    body = assert_error(response, 400, "invalid")
    assert field in body["details"], body
    assert settings_of(repository) == before


@pytest.mark.parametrize("field", ["remote_url", "slug", "trunk_synced_at", "colour"])
def test_an_unknown_or_unchangeable_field_is_refused(rel, repository, field):
    before = settings_of(repository)
    response = client_for(rel).patch(URL, {field: "x", "max_rolls": 7}, format="json")
    body = assert_error(response, 400, "invalid")
    assert body["details"] == {field: [body["details"][field][0]]}
    assert body["details"][field][0].startswith("Unknown field: this request takes name, ")
    assert settings_of(repository) == before


def test_an_empty_patch_changes_nothing_and_answers_the_repository(rel, repository):
    response = client_for(rel).patch(URL, {}, format="json")
    assert (response.status_code, response.json()["slug"]) == (200, "shop")


def test_a_patch_to_a_repository_that_does_not_exist_is_a_404(rel, db):
    assert_error(
        client_for(rel).patch("/api/repositories/nope/", {}, format="json"), 404, "not-found"
    )


def test_a_new_trunk_branch_must_be_on_origin(rel, remote, repository, branch):
    before = settings_of(repository)
    missing = client_for(rel).patch(URL, {"trunk_branch": "trunk", "max_rolls": 7}, format="json")
    body = assert_error(missing, 400, "invalid")
    assert body["details"] == {
        "trunk_branch": [
            "Origin has no branch 'trunk': push it first, or name the branch trunk is."
        ]
    }
    assert settings_of(repository) == before

    git(remote.bare, "branch", "trunk", remote.tip)  # pushed since the clone last fetched
    taken = client_for(rel).patch(URL, {"trunk_branch": "trunk"}, format="json")

    assert (taken.status_code, settings_of(repository)["trunk_branch"]) == (200, "trunk")
