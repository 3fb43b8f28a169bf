"""Anonymous and malformed requests get a 4xx in the API's error shape, never a 500.

Each case was a 500 (or an HTML 400) before: /slack/events parsed the body before it checked
the signature, json.loads recursed into a body nested thousands deep, and a body past
DATA_UPLOAD_MAX_MEMORY_SIZE got Django's HTML 400. Every request here goes through the real
URL with Django's test client; Slack's are signed the way Slack signs them, for the view's own
Bolt app talking to the local stand-in of Slack's Web API.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote, urlencode

import pytest
import yaml
from django.test import Client
from rest_framework.test import APIClient
from slack_sdk.signature import SignatureVerifier

from common.parsers import MAX_DEPTH, json_too_deep
from tests.chat.conftest import SECRET, stub  # noqa: F401
from tests.chat.slack_stub import TOKEN
from tests.security.matrix import API_ROWS, PAGE_ROWS, fill
from tests.security.world import (
    ANONYMOUS,
    OWNER,
    RELEASE,
    on_world_fixture,  # noqa: F401
    world_fixture,  # noqa: F401
)

DEEP = "[" * 3000 + "]" * 3000  # 6 KB: RecursionError in json.loads
TOO_BIG = 10 * 1024 * 1024  # past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)


def error_shape(response) -> dict:
    """The body of a refusal, checked to be the API's error shape: JSON, or YAML from the one
    view that answers in YAML (the OpenAPI schema)."""
    content_type = response["Content-Type"]
    if content_type.startswith("application/vnd.oai.openapi"):
        body = yaml.safe_load(response.content)
    else:
        assert content_type.startswith("application/json"), response.content[:200]
        body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("message"), str) and body["message"], body
    return body


# --- /slack/events: the signature first ---------------------------------------------------


@pytest.fixture
def slack_on(settings, stub):  # noqa: F811
    """Slack configured, in HTTP mode, against the stand-in."""
    settings.SLACK_BOT_TOKEN, settings.SLACK_SIGNING_SECRET = TOKEN, SECRET
    settings.SLACK_APP_TOKEN = ""
    settings.SLACK_API_URL = stub.api_url
    return stub


FORM = "application/x-www-form-urlencoded"


def slack_post(body: str | bytes, content_type: str = FORM, *, timestamp: str | None = None,
               signature: str | None = None, secret: str = SECRET):  # fmt: skip
    """POST to /slack/events, signed with `secret` unless a signature is given."""
    ts = str(int(time.time())) if timestamp is None else timestamp
    if signature is None:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=text)
    return Client().post(
        "/slack/events",
        data=body,
        content_type=content_type,
        headers={"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature},
    )


MALFORMED_BODIES = {
    "payload that is not JSON": ("payload=%7B", "application/x-www-form-urlencoded"),
    "payload that is a list": ("payload=" + quote("[1, 2]"), "application/x-www-form-urlencoded"),
    "payload nested 3,000 deep": ("payload=" + quote(DEEP), "application/x-www-form-urlencoded"),
    "JSON that is a list": ("[1, 2]", "application/json"),
    "JSON nested 3,000 deep": (DEEP, "application/json"),
    "JSON object nested 3,000 deep": ('{"a":' * 3000 + "1" + "}" * 3000, "application/json"),
    "JSON cut short": ('{"type": "event_callback", "event": {', "application/json"),
    "an event that is a list": ('{"type": "event_callback", "event": [1]}', "application/json"),
    "button actions that are text": (
        "payload=" + quote('{"type": "block_actions", "actions": "approve"}'),
        "application/x-www-form-urlencoded",
    ),
}


@pytest.mark.parametrize("name", MALFORMED_BODIES)
def test_an_unsigned_malformed_body_is_refused_with_a_401_before_it_is_parsed(slack_on, name):
    body, content_type = MALFORMED_BODIES[name]
    unsigned = Client().post("/slack/events", data=body, content_type=content_type)
    forged = slack_post(body, content_type, secret="not-the-signing-secret")
    stale = slack_post(body, content_type, timestamp=str(int(time.time()) - 6 * 60))
    for response in (unsigned, forged, stale):
        assert response.status_code == 401
        assert error_shape(response)["error"] == "invalid-signature"
    assert slack_on.calls == []  # not even auth.test: Bolt never ran


@pytest.mark.parametrize(
    "timestamp", ["abc", "", "1.5", "-1", "1e9", "٣٤٥", " 1", "9" * 400], ids=repr
)
def test_a_timestamp_that_is_not_a_whole_number_is_a_401(slack_on, timestamp):
    # Signed over that very timestamp: only the number check can refuse it.
    response = slack_post("command=/rb&text=help", timestamp=timestamp)
    assert response.status_code == 401
    assert error_shape(response)["error"] == "invalid-signature"
    assert slack_on.calls == []


def test_a_signature_header_that_is_not_ascii_or_a_body_not_utf8_is_a_401(slack_on):
    ts = str(int(time.time()))
    for response in (
        slack_post("command=/rb&text=help", signature="v0=é" + "0" * 63),
        slack_post("command=/rb&text=help", signature=""),
        slack_post(b"command=/rb&text=\xff\xfe", signature="v0=" + "0" * 64, timestamp=ts),
    ):
        assert response.status_code == 401
        assert error_shape(response)["error"] == "invalid-signature"
    assert slack_on.calls == []


@pytest.mark.parametrize("name", MALFORMED_BODIES)
def test_a_signed_malformed_body_is_a_400_in_the_error_shape(slack_on, name):
    body, content_type = MALFORMED_BODIES[name]
    response = slack_post(body, content_type)
    assert response.status_code == 400
    assert error_shape(response)["error"] == "invalid-body"
    assert slack_on.calls == []


def test_a_signed_body_too_large_is_a_413(slack_on):
    response = slack_post("command=/rb&text=" + "x" * TOO_BIG)
    assert response.status_code == 413
    assert error_shape(response)["error"] == "too-large"


@pytest.mark.django_db
def test_a_signed_well_formed_request_still_reaches_bolt(slack_on):
    body = json.dumps({"token": "legacy", "challenge": "c-1", "type": "url_verification"})
    response = slack_post(body, "application/json")
    assert (response.status_code, response.json()) == (200, {"challenge": "c-1"})


# --- JSON depth ---------------------------------------------------------------------------


def test_the_depth_scan_counts_brackets_outside_strings_only():
    assert not json_too_deep("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert json_too_deep("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    in_a_string = json.dumps({"text": "[{" * 1000 + '\\" [[[' * 100})
    assert not json_too_deep(in_a_string)
    wide = json.dumps([[{"a": [1]}] for _ in range(5000)])  # many brackets, four deep
    assert not json_too_deep(wide)


@pytest.mark.django_db
def test_a_deep_json_body_to_the_token_endpoint_is_a_400_parse_error():
    response = Client().post("/api/auth/token/", data=DEEP, content_type="application/json")
    assert response.status_code == 400
    body = error_shape(response)
    assert body["error"] == "parse-error"
    assert f"nested deeper than {MAX_DEPTH} levels" in body["message"]


@pytest.mark.django_db
def test_json_at_the_depth_limit_is_parsed_and_one_level_more_is_not(alice):
    def nested(depth: int) -> str:
        return '{"username": "alice", "password": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"

    client = Client()
    at_limit = client.post("/api/auth/token/", nested(MAX_DEPTH), content_type="application/json")
    over = client.post("/api/auth/token/", nested(MAX_DEPTH + 1), content_type="application/json")
    assert (at_limit.status_code, error_shape(at_limit)["error"]) == (400, "invalid")
    assert (over.status_code, error_shape(over)["error"]) == (400, "parse-error")


@pytest.mark.django_db
def test_json_that_is_not_text_in_its_charset_is_a_400_parse_error():
    response = Client().generic(
        "POST", "/api/auth/token/", b'{"username": "\xff"}', content_type="application/json"
    )
    assert response.status_code == 400
    assert error_shape(response)["error"] == "parse-error"


def test_every_api_operation_answers_a_deep_body_below_500_in_the_error_shape(on_world):
    """The fuzz-ish loop: every API operation of the matrix, as a visitor, an engineer and a
    release engineer, with the 3,000-deep body. An operation that reads a body must refuse it
    as a parse error; the others answer as they do to any body."""
    seen = {}
    for row in API_ROWS:
        url = fill(row.url, on_world.values())
        for role in (ANONYMOUS, OWNER, RELEASE):
            client = APIClient()
            if role != ANONYMOUS:
                client.credentials(HTTP_AUTHORIZATION=f"Token {on_world.tokens[role]}")
            response = client.generic(row.method, url, DEEP, content_type="application/json")
            seen[(row.key, role)] = response.status_code
            assert response.status_code < 500, (row.key, role, response.content[:300])
            if response.status_code >= 400:
                error_shape(response)
            if row.method == "POST" and role in row.allowed and row.data:
                assert (response.status_code, response.json()["error"]) == (400, "parse-error")
    assert len(seen) == 3 * len(API_ROWS) > 60


# --- body size ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_10_mb_body_to_the_token_endpoint_is_a_413_in_the_error_shape(content_type):
    body = '{"username": "' + "x" * TOO_BIG + '"}'
    if content_type != "application/json":
        body = urlencode({"username": "x" * TOO_BIG})
    response = Client().post("/api/auth/token/", data=body, content_type=content_type)
    assert response.status_code == 413
    assert error_shape(response)["error"] == "too-large"


def test_a_10_mb_body_anywhere_under_api_is_a_4xx_in_the_error_shape(on_world):
    """Token or session, JSON or form (a session's form is read by the CSRF check, before the
    view), a known operation or the catch-all 404."""
    big_json = '{"reason": "' + "x" * TOO_BIG + '"}'
    big_form = urlencode({"reason": "x" * TOO_BIG})
    with_token = APIClient()
    with_token.credentials(HTTP_AUTHORIZATION=f"Token {on_world.tokens[RELEASE]}")
    with_session = APIClient(enforce_csrf_checks=True)
    with_session.force_login(on_world.user(RELEASE))
    requested = on_world.requested.pk
    for client in (with_token, with_session, APIClient()):
        for url in (f"/api/picks/{requested}/reject/", "/api/picks/", "/api/no-such-thing/"):
            for body, kind in ((big_json, "json"), (big_form, "x-www-form-urlencoded")):
                response = client.post(url, data=body, content_type=f"application/{kind}")
                assert 400 <= response.status_code < 500, (url, kind, response.content[:200])
                error_shape(response)
    response = with_token.post(
        f"/api/picks/{requested}/reject/", data=big_json, content_type="application/json"
    )
    assert (response.status_code, response.json()["error"]) == (413, "too-large")


def test_a_10_mb_body_to_any_page_is_never_a_500(on_world):
    """The login form and every page that takes a POST, as a visitor and as the picks' owner.
    With CSRF checked, as for a browser that holds the CSRF cookie, the check reads the form
    first: Django's 400 page. Without it, the view reads the form (or sends the visitor to log
    in, or refuses them, first)."""
    big_form = urlencode({"reason": "x" * TOO_BIG, "text": "x" * 100})
    form = "application/x-www-form-urlencoded"
    posts = {fill(row.url, on_world.values()) for row in PAGE_ROWS if row.method == "POST"}
    # The webhooks, like the API, answer 413 in the error shape (tests/forges/test_webhooks.py).
    skip = ("/api/", "/slack/", "/hooks/")
    posts = {url for url in posts if not url.startswith(skip)} | {"/login/"}
    assert "/chat/" in posts and len(posts) > 10
    for csrf in (True, False):
        visitor, owner = Client(enforce_csrf_checks=csrf), Client(enforce_csrf_checks=csrf)
        owner.force_login(on_world.user(OWNER))
        for client in (visitor, owner):
            client.get("/login/")  # the CSRF cookie, as a browser has it
            for url in sorted(posts):
                response = client.post(url, data=big_form, content_type=form)
                assert response.status_code < 500, (url, csrf, response.status_code)
                if csrf:
                    assert response.status_code == 400, (url, response.status_code)
        response = visitor.post("/login/", data=big_form, content_type=form)
        assert response.status_code == 400
