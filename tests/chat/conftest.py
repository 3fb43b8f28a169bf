"""Slack for the bot's tests: the local stand-in, signed requests through Bolt's Django adapter,
and Celery answering in-process (eager) so a queued reply reaches the stand-in in the test."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from urllib.parse import urlencode

import pytest
from slack_bolt.adapter.django import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from chat import notifier
from chat import slack as slack_module
from tests.chat.slack_stub import TEAM, TOKEN, SlackStub
from tests.pushes.conftest import MONDAY, SUNDAY_CUT, branch, landed, monday  # noqa: F401

SECRET = "test-signing-secret"
CHANNEL = "CRELEASE"


@pytest.fixture(autouse=True)
def _chat_urls(settings):
    # The project's URLs with the bot's in front, whether or not releasebot/urls.py has them.
    settings.ROOT_URLCONF = "tests.chat.urls"


@pytest.fixture
def stub():
    with SlackStub() as running:
        yield running


@pytest.fixture
def eager_celery():
    """Queued tasks run at once in the caller (after commit, as in production)."""
    from releasebot.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


class TrackingExecutor(ThreadPoolExecutor):
    """Bolt's listener threads, with a way to wait until every listener has finished."""

    def __init__(self) -> None:
        super().__init__(max_workers=4, thread_name_prefix="bolt-test")
        self.futures: list[Future] = []

    def submit(self, fn, /, *args, **kwargs):
        future = super().submit(fn, *args, **kwargs)
        self.futures.append(future)
        return future

    def drain(self, timeout: float = 30) -> None:
        while pending := [f for f in self.futures if not f.done()]:
            done, still = wait(pending, timeout=timeout)
            assert not still, "a Bolt listener did not finish"


class Slack:
    """Signed requests to /slack/events, the way Slack sends them."""

    def __init__(self, client, stub: SlackStub, executor: TrackingExecutor, errors: list):
        self.client = client
        self.stub = stub
        self.executor = executor
        self.errors = errors

    def post(self, body: str, content_type: str, *, timestamp=None, secret: str = SECRET):
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
        response = self.client.post(
            "/slack/events",
            data=body,
            content_type=content_type,
            headers={"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature},
        )
        self.executor.drain()  # the listener's work after its ack()
        assert not self.errors, self.errors
        return response

    def command(self, text: str, *, user: str = "UALICE", name: str = "cmd", **signing):
        body = urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": TEAM,
                "team_domain": "releasebot-test",
                "channel_id": CHANNEL,
                "channel_name": "releases",
                "user_id": user,
                "user_name": user[1:].lower(),
                "command": "/rb",
                "text": text,
                "api_app_id": "A0TEST",
                "is_enterprise_install": "false",
                "response_url": self.stub.response_url(name),
                "trigger_id": "1.2.3",
            }
        )
        return self.post(body, "application/x-www-form-urlencoded", **signing)

    def press(self, action_id: str, value: str, *, user: str, channel: str, ts: str, **signing):
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "releasebot-test"},
            "user": {"id": user, "username": user[1:].lower(), "team_id": TEAM},
            "api_app_id": "A0TEST",
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": "4.5.6",
            "channel": {"id": channel, "name": "directmessage"},
            "message": {"type": "message", "ts": ts, "text": "…", "user": "UBOT"},
            "response_url": self.stub.response_url("press"),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": f"confirmation-{value}",
                    "value": value,
                    "action_ts": str(time.time()),
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded", **signing)

    def event(self, event: dict, **signing):
        body = json.dumps(
            {
                "token": "legacy-verification-token",
                "team_id": TEAM,
                "api_app_id": "A0TEST",
                "event": event,
                "type": "event_callback",
                "event_id": f"Ev{int(time.time() * 1000)}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
            }
        )
        return self.post(body, "application/json", **signing)


@pytest.fixture
def slack(settings, stub, client, monkeypatch, eager_celery):
    """Slack configured against the stand-in, with Bolt's listener threads tracked."""
    settings.SLACK_BOT_TOKEN = TOKEN
    settings.SLACK_SIGNING_SECRET = SECRET
    settings.SLACK_APP_TOKEN = ""
    settings.SLACK_API_URL = stub.api_url
    settings.RELEASEBOT_NOTIFIERS = ["chat.notifier.SlackNotifier"]
    # Direct-message channels kept by an earlier test (a stand-in on the same port) stay there.
    monkeypatch.setattr(notifier, "direct_channels", notifier.DirectChannels(uuid.uuid4().hex))
    executor = TrackingExecutor()
    app = slack_module.build_app(executor=executor)
    errors = []

    @app.error
    def _keep(error):
        errors.append(error)

    handler = SlackRequestHandler(app)
    monkeypatch.setattr(slack_module, "request_handler", lambda: handler)
    yield Slack(client, stub, executor, errors)
    executor.drain()
    executor.shutdown()
