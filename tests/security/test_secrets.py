"""Secrets never reach a log line, a task's arguments or a message shown to someone.

Every logger is opened to DEBUG for these tests (the libraries' too: Django, DRF, GitPython,
slack_sdk, Bolt, Celery), the process's stdout and stderr are captured, and the arguments of
every Celery task that runs are recorded. Then the secrets are used for real: an API token in
the Authorization header, a signed Slack request answered with the bot token through a local
Slack, and a git remote whose URL carries a user and password and cannot be reached.
"""

from __future__ import annotations

import logging
import shutil
import socket

import pytest
from celery.signals import task_prerun
from django.conf import settings as django_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from pushes import services
from pushes.choices import PushState
from pushes.models import Notification, Repository
from pushes.services import clone_path
from pushes.tasks import push_run, trunk_sync
from tests.chat import conftest as chat_fixtures
from tests.chat.slack_stub import TOKEN as BOT_TOKEN
from tests.pushes import conftest as train_fixtures

# Sunday's cut of a real repository and the commits after it; Slack's local stand-in and Bolt.
monday, branch, landed = train_fixtures.monday, train_fixtures.branch, train_fixtures.landed
slack, stub, eager_celery = chat_fixtures.slack, chat_fixtures.stub, chat_fixtures.eager_celery
SIGNING_SECRET = chat_fixtures.SECRET

PASSWORD = "S3cr3t-P4ss-in-the-url"
FORMAT = logging.Formatter("%(levelname)s %(name)s %(message)s")


class Seen:
    """Everything logged, printed or handed to a task while a test ran."""

    def __init__(self, caplog, capfd) -> None:
        self.caplog, self.capfd = caplog, capfd
        self.task_args: list[str] = []

    def text(self) -> str:
        out, err = self.capfd.readouterr()
        records = [f"{FORMAT.format(r)} {vars(r)!r}" for r in self.caplog.records]
        return "\n".join([*records, *self.task_args, out, err])

    def assert_none_of(self, *secrets: str) -> str:
        seen = self.text()
        leaked = [secret for secret in secrets if secret in seen]
        assert leaked == [], f"leaked {leaked}:\n" + "\n".join(
            line for line in seen.splitlines() if any(s in line for s in leaked)
        )
        return seen


@pytest.fixture
def seen(caplog, capfd):
    """Every logger at DEBUG, even those configured quieter or not propagating."""
    caplog.set_level(logging.DEBUG)
    changed = []
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            changed.append((logger, logger.level, logger.disabled))
            logger.setLevel(logging.DEBUG)
            logger.disabled = False
            if not logger.propagate:
                logger.addHandler(caplog.handler)
    recorder = Seen(caplog, capfd)

    def record(sender=None, task_id=None, task=None, args=None, kwargs=None, **_):
        recorder.task_args.append(f"{sender.name} {args!r} {kwargs!r}")

    task_prerun.connect(record, weak=False)
    yield recorder
    task_prerun.disconnect(record)
    for logger, level, disabled in changed:
        logger.setLevel(level)
        logger.disabled = disabled
        if caplog.handler in logger.handlers:
            logger.removeHandler(caplog.handler)


# --- API tokens ---------------------------------------------------------------------------


def test_an_api_token_is_never_logged_or_echoed(seen, rel, alice, landed):
    token = Token.objects.create(user=rel.user).key
    forged = "f" * 40
    client = APIClient()
    answers = []
    for auth, method, path, data in [
        (token, "get", "/api/picks/", None),
        (token, "post", "/api/picks/", {"revision": landed["fix"], "reason": "Crash fix"}),
        (token, "post", "/api/picks/999999/approve/", {}),  # a 404, logged by Django
        (token, "post", "/api/picks/", {"revision": "zz", "reason": "x", "nope": 1}),  # a 400
        (forged, "get", "/api/picks/", None),  # a 401, logged by Django
        (token, "get", "/api/no-such-endpoint/", None),
    ]:
        client.credentials(HTTP_AUTHORIZATION=f"Token {auth}")
        response = getattr(client, method)(path, data, format="json")
        answers.append((response.status_code, response.content.decode()))
    assert [status for status, _ in answers] == [200, 201, 404, 400, 401, 404]
    logged = seen.assert_none_of(token, forged)
    assert "Unauthorized: /api/picks/" in logged  # the 401 was logged, without its token
    assert [body for _, body in answers if token in body or forged in body] == []


# --- Slack --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_slacks_bot_token_and_signing_secret_are_never_logged(seen, slack, alice, landed):
    assert django_settings.SLACK_BOT_TOKEN == BOT_TOKEN
    slack.command("help")
    slack.command("mine")
    slack.command(f"pick {landed['fix'][:10]} Checkout crashes")  # a Celery task answers it
    status = "status " + landed["fix"][:10]
    slack.event({"type": "message", "channel_type": "im", "channel": "DALICE",
                 "user": "UALICE", "text": status, "ts": "1.0"})  # fmt: skip
    forged = slack.client.post(
        "/slack/events",
        data="command=/rb&text=mine",
        content_type="application/x-www-form-urlencoded",
        headers={"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=" + "0" * 64},
    )
    assert forged.status_code == 401
    methods = slack.stub.methods()
    assert "response_url" in methods and "chat.postMessage" in methods  # Slack was talked to
    assert any("pushes" in args or "chat" in args for args in seen.task_args)
    logged = seen.assert_none_of(BOT_TOKEN, SIGNING_SECRET)
    assert "slack_sdk" in logged or "slack_bolt" in logged  # their debug logs were on


# --- git remotes with credentials ---------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return free.getsockname()[1]


@pytest.fixture
def unreachable(repository, branch, landed, alice, rel):
    """An approved pick on a push, and then the remote moved behind a URL with a password
    that nothing answers."""
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash fix").pick
    pick = services.pick_approve(pick_id=pick.pk, actor=rel)
    url = f"https://releasebot:{PASSWORD}@127.0.0.1:{_closed_port()}/shop.git"
    Repository.objects.filter(pk=repository.pk).update(remote_url=url)
    return pick.push


def test_a_remote_password_is_never_logged_or_shown(seen, unreachable, rel, client):
    repository = unreachable.branch.repository
    push_run.apply(args=[unreachable.pk])  # fetches into the clone it has: git fetch fails
    unreachable.refresh_from_db()
    assert unreachable.state == PushState.FAILED
    assert "https://127.0.0.1:" in unreachable.error  # git names the remote, without its user

    shutil.rmtree(clone_path(repository))  # a first clone: the URL is on git's command line
    cloned = trunk_sync.apply(args=[repository.pk])
    assert "git clone failed" in str(cloned.result)
    # A URL git is never given (a control character) is refused in Releasebot's own words.
    hostile = f"https://releasebot:{PASSWORD}@127.0.0.1:{_closed_port()}/shop\x01.git"
    Repository.objects.filter(pk=repository.pk).update(remote_url=hostile)
    refused = trunk_sync.apply(args=[repository.pk])
    assert "refusing remote URL 'https://***@127.0.0.1:" in str(refused.result)

    notices = list(Notification.objects.values_list("text", flat=True))
    assert any("failed" in text for text in notices)

    client.force_login(rel.user)
    api = APIClient()
    api.force_authenticate(rel.user)
    shown = [
        client.get(f"/pushes/{unreachable.pk}/").content.decode(),
        client.get("/repositories/shop/").content.decode(),
        client.get("/inbox/").content.decode(),
        api.get(f"/api/pushes/{unreachable.pk}/").content.decode(),
        api.get("/api/repositories/shop/").content.decode(),
        api.get("/api/inbox/").content.decode(),
        "\n".join(notices),
    ]
    assert "Merging failed" in shown[0]  # the push page shows git's error
    assert "127.0.0.1" in shown[1]  # the repository page still says where the remote is
    assert [PASSWORD in text for text in shown] == [False] * len(shown)
    logged = seen.assert_none_of(PASSWORD)
    assert "git.cmd" in logged  # GitPython's debug log was on, and saw the commands
