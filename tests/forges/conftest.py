"""A repository connected to a GitHub (or GitLab) stand-in, its webhook secret, and a way to
deliver the documented payloads signed as the forge signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest
from django.utils.module_loading import import_string

from common.models import OutboxMessage
from pushes.choices import ReviewTool
from tests.forges.payloads import payload
from tests.pushes.conftest import branch, landed, monday  # noqa: F401  (fixtures)
from tests.stubs.forge_servers import Forge

SECRET = "whsec-releasebot-shop-7f3a9c"
TOKEN = "ghp_ForgeStandInToken000000000000000"
SECRET_ENV = "RELEASEBOT_WEBHOOK_SECRET_SHOP"
TOKEN_ENV = "RELEASEBOT_REVIEW_TOKEN_SHOP"


def _forge(monkeypatch, kind: str, project: str):
    """A forge stand-in for `project`, with the secret and the token in the environment."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with Forge(kind, project, TOKEN) as forge:
        yield forge


@pytest.fixture
def github(monkeypatch):
    yield from _forge(monkeypatch, "github", "acme/app")


@pytest.fixture
def gitlab(monkeypatch):
    yield from _forge(monkeypatch, "gitlab", "acme/platform/app")


def connect(repository, forge: Forge, **fields):
    """The repository set up for `forge` as a release engineer would in the admin."""
    repository.review_tool = ReviewTool.GITHUB if forge.kind == "github" else ReviewTool.GITLAB
    repository.review_api_url = forge.api_url
    repository.review_allow_http = True
    repository.review_token_env = TOKEN_ENV
    repository.forge_project = forge.project
    repository.webhook_secret_env = SECRET_ENV
    for name, value in fields.items():
        setattr(repository, name, value)
    repository.full_clean()
    repository.save()
    return repository


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_delivery(client, event: str, body: dict, *, delivery_id=None, signature=None):
    """POST a GitHub delivery as GitHub sends it: JSON, its event, id and signature headers."""
    raw = json.dumps(body).encode()
    headers = {
        "HTTP_X_GITHUB_EVENT": event,
        "HTTP_X_GITHUB_DELIVERY": delivery_id or str(uuid.uuid4()),
        "HTTP_USER_AGENT": "GitHub-Hookshot/abc123",
    }
    if signature is not False:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature or sign(raw)
    return client.post("/hooks/github/", raw, content_type="application/json", **headers)


GITLAB_EVENTS = {"push": "Push Hook", "merge_request": "Merge Request Hook", "note": "Note Hook"}


def gitlab_delivery(client, body: dict, *, delivery_id=None, token=SECRET):
    raw = json.dumps(body).encode()
    headers = {
        "HTTP_X_GITLAB_EVENT": GITLAB_EVENTS[body["object_kind"]],
        "HTTP_IDEMPOTENCY_KEY": delivery_id or str(uuid.uuid4()),
        "HTTP_X_GITLAB_WEBHOOK_UUID": str(uuid.uuid4()),
    }
    if token is not None:
        headers["HTTP_X_GITLAB_TOKEN"] = token
    return client.post("/hooks/gitlab/", raw, content_type="application/json", **headers)


def labeled(sha: str, *, label: str = "pick", merged: bool = True, number: int = 42) -> dict:
    """GitHub's documented `pull_request` `labeled` payload for pull request `number`."""
    body = payload("github", "pull_request.labeled")
    pr = body["pull_request"]
    pr["number"] = body["number"] = number
    pr["html_url"] = f"https://github.com/acme/app/pull/{number}"
    pr["merged"] = merged
    pr["merge_commit_sha"] = sha if merged else None
    pr["state"] = "closed" if merged else "open"
    body["label"]["name"] = label
    pr["labels"] = [{**body["label"], "name": label}]
    return body


def run_queued(max_rounds: int = 10) -> list[str]:
    """Run what the outbox holds, as a worker would, until nothing is left; the tasks run."""
    ran: list[str] = []
    for _ in range(max_rounds):
        messages = list(OutboxMessage.objects.filter(sent_at__isnull=True).order_by("pk"))
        if not messages:
            return ran
        OutboxMessage.objects.filter(pk__in=[m.pk for m in messages]).delete()
        for message in messages:
            import_string(message.task)(*message.args)
            ran.append(message.task)
    raise AssertionError(f"still queuing after {max_rounds} rounds: {ran[-10:]}")
