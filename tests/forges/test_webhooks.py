"""Webhooks in: every delivery proves itself (GitHub's signature, GitLab's token), is recorded
under its id, and a push to trunk indexes its commits at once. Refusals answer in the API's
error shape and change nothing."""

from __future__ import annotations

import json

import pytest

from common.models import OutboxMessage
from forges.models import Delivery, PickAsk, PullRequest
from pushes.models import Revision
from tests.api import assert_error
from tests.forges.conftest import (
    SECRET_ENV,
    connect,
    github_delivery,
    gitlab_delivery,
    labeled,
    run_queued,
    sign,
)
from tests.forges.payloads import payload

pytestmark = pytest.mark.django_db


def _push(remote, ref="refs/heads/main") -> dict:
    body = payload("github", "push")
    body["ref"], body["after"] = ref, remote.tip
    return body


def test_a_signed_push_to_trunk_indexes_its_new_commits_at_once(
    client, github, repository, remote, branch
):
    connect(repository, github)
    sha = remote.commit({"src/new.py": "NEW = 1\n"}, "Land a new thing")
    assert not Revision.objects.filter(sha=sha).exists()

    response = github_delivery(client, "push", _push(remote))

    assert response.status_code == 202, response.json()
    assert response.json()["outcome"] == "trunk sync of main queued"
    assert run_queued() == ["pushes.tasks.trunk_sync"]
    assert Revision.objects.get(sha=sha).title == "Land a new thing"


def test_a_push_to_another_branch_is_recorded_and_ignored(client, github, repository, remote):
    connect(repository, github)
    response = github_delivery(client, "push", _push(remote, "refs/heads/feature"))
    assert response.status_code == 200
    assert response.json()["outcome"].startswith("ignored: a push to refs/heads/feature")
    assert not OutboxMessage.objects.exists()
    assert Delivery.objects.get().event == "push"


def test_ping_answers_pong(client, github, repository):
    connect(repository, github)
    response = github_delivery(client, "ping", payload("github", "ping"))
    assert response.status_code == 200
    assert response.json()["outcome"].startswith("pong")


@pytest.mark.parametrize(
    ("signature", "code"),
    [
        (False, "unsigned"),
        ("sha256=" + "0" * 64, "bad-signature"),
        (sign(b"another body"), "bad-signature"),
        (sign(b"x", secret="not the secret"), "bad-signature"),
        ("sha1=abc", "bad-signature"),
    ],
)
def test_an_unsigned_or_forged_delivery_is_refused_and_changes_nothing(
    client, github, repository, remote, signature, code
):
    connect(repository, github)
    response = github_delivery(client, "push", _push(remote), signature=signature)
    assert_error(response, 401, code)
    assert not Delivery.objects.exists() and not OutboxMessage.objects.exists()


def test_a_forged_label_asks_for_nothing(client, github, repository, landed):
    connect(repository, github)
    body = labeled(landed["fix"])
    response = github_delivery(client, "pull_request", body, signature=sign(b"{}"))
    assert_error(response, 401, "bad-signature")
    assert not PullRequest.objects.exists() and not PickAsk.objects.exists()


def test_a_repository_without_a_secret_refuses_every_delivery(
    client, github, repository, remote, monkeypatch
):
    connect(repository, github)
    monkeypatch.delenv(SECRET_ENV)
    body = assert_error(github_delivery(client, "push", _push(remote)), 403, "no-webhook-secret")
    assert "Shop has no webhook secret set" in body["message"]


def test_a_delivery_for_a_project_no_repository_names_is_a_404(client, github, repository, remote):
    connect(repository, github)
    body = _push(remote)
    body["repository"]["full_name"] = "acme/other"
    assert_error(github_delivery(client, "push", body), 404, "unknown-repository")


@pytest.mark.parametrize(
    ("raw", "headers", "status", "code"),
    [
        (b"not json", {"HTTP_X_GITHUB_EVENT": "push", "HTTP_X_GITHUB_DELIVERY": "1"}, 400,
         "bad-payload"),
        (b"{}", {"HTTP_X_GITHUB_DELIVERY": "1"}, 400, "bad-delivery"),
        (b"{}", {"HTTP_X_GITHUB_EVENT": "push"}, 400, "bad-delivery"),
        (b"[]", {"HTTP_X_GITHUB_EVENT": "push", "HTTP_X_GITHUB_DELIVERY": "1"}, 400,
         "bad-payload"),
    ],
)  # fmt: skip
def test_a_malformed_delivery_gets_a_clear_error(client, github, raw, headers, status, code):
    response = client.post("/hooks/github/", raw, content_type="application/json", **headers)
    assert_error(response, status, code)


def test_a_body_past_the_upload_limit_is_refused_before_it_is_read(
    client, github, repository, settings
):
    connect(repository, github)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {**payload("github", "ping"), "padding": "x" * 2000}
    assert_error(github_delivery(client, "ping", body), 413, "too-large")
    assert not Delivery.objects.exists()


def test_a_pull_request_number_no_forge_makes_is_refused(client, github, repository, landed):
    connect(repository, github)
    body = labeled(landed["fix"], number=2**40)
    assert_error(github_delivery(client, "pull_request", body), 400, "bad-payload")
    assert not PullRequest.objects.exists()


def test_a_get_is_not_a_delivery(client):
    assert client.get("/hooks/github/").status_code == 405


def test_a_redelivery_changes_nothing_and_answers_as_the_first_time(
    client, github, repository, landed
):
    connect(repository, github)
    body = labeled(landed["fix"])
    first = github_delivery(client, "pull_request", body, delivery_id="d-1")
    assert first.status_code == 202
    queued = OutboxMessage.objects.count()

    again = github_delivery(client, "pull_request", body, delivery_id="d-1")

    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    assert OutboxMessage.objects.count() == queued
    assert PickAsk.objects.count() == 1 and Delivery.objects.count() == 1


def test_a_replayed_body_under_a_new_id_is_refused(client, github, repository, landed):
    connect(repository, github)
    body = labeled(landed["fix"])
    github_delivery(client, "pull_request", body, delivery_id="d-1")
    queued = OutboxMessage.objects.count()

    replay = github_delivery(client, "pull_request", body, delivery_id="d-2")

    assert_error(replay, 409, "replayed")
    assert OutboxMessage.objects.count() == queued and Delivery.objects.count() == 1


def test_the_same_id_with_another_body_is_refused(client, github, repository, landed, remote):
    connect(repository, github)
    github_delivery(client, "push", _push(remote), delivery_id="d-1")
    assert_error(github_delivery(client, "ping", payload("github", "ping"), delivery_id="d-1"),
                 409, "replayed")  # fmt: skip


# --- GitLab -------------------------------------------------------------------------------


def _gitlab_push(remote) -> dict:
    body = payload("gitlab", "push")
    body["ref"], body["after"], body["checkout_sha"] = "refs/heads/main", remote.tip, remote.tip
    return body


def test_a_gitlab_push_with_the_right_token_indexes_trunk(
    client, gitlab, repository, remote, branch
):
    connect(repository, gitlab)
    sha = remote.commit({"src/new.py": "NEW = 1\n"}, "Land it on GitLab")
    response = gitlab_delivery(client, _gitlab_push(remote))
    assert response.status_code == 202, response.json()
    run_queued()
    assert Revision.objects.filter(sha=sha).exists()


@pytest.mark.parametrize(("token", "code"), [(None, "unsigned"), ("guess", "bad-signature")])
def test_a_gitlab_delivery_without_the_token_is_refused(
    client, gitlab, repository, remote, token, code
):
    connect(repository, gitlab)
    assert_error(gitlab_delivery(client, _gitlab_push(remote), token=token), 401, code)
    assert not Delivery.objects.exists()


def test_a_gitlab_retry_with_the_same_idempotency_key_changes_nothing(
    client, gitlab, repository, remote
):
    connect(repository, gitlab)
    body = _gitlab_push(remote)
    assert gitlab_delivery(client, body, delivery_id="k-1").status_code == 202
    again = gitlab_delivery(client, body, delivery_id="k-1")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert OutboxMessage.objects.count() == 1


def test_the_webhook_answers_name_no_secret(client, github, repository, remote):
    connect(repository, github)
    for response in (
        github_delivery(client, "push", _push(remote), signature="sha256=" + "1" * 64),
        github_delivery(client, "push", _push(remote)),
    ):
        assert "whsec" not in json.dumps(response.json())
