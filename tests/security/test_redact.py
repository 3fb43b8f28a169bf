"""The one redactor: known secrets, secret-looking variables and URL credentials become `***`."""

from __future__ import annotations

import pytest
from django.test import override_settings

from common.redact import redact

SIGNING = "8f14e45fceea167a5a36dedd4bea2543"
BOT = "xoxb-1111-2222-R3l3as3b0tT0k3n"


@pytest.fixture
def secrets_set(monkeypatch):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT)
    monkeypatch.setenv("DATABASE_URL", "postgres://rb:Pg-Passw0rd%21@db.internal:5432/rb")
    monkeypatch.setenv("REDIS_URL", "redis://:R3dis-Passw0rd@cache.internal:6379/0")
    monkeypatch.setenv("RELEASEBOT_REVIEW_TOKEN_SHOP", "ghp_shopT0k3n")
    monkeypatch.setenv("NPM_TOKEN", "npm_0123456789abcdef")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("BUILD_KEY", "short")  # under 8 characters: an everyday word, kept


def test_it_hides_the_values_of_known_and_secret_looking_variables(secrets_set):
    text = (
        f"SLACK_SIGNING_SECRET={SIGNING}\nSLACK_BOT_TOKEN={BOT}\n"
        "token ghp_shopT0k3n npm_0123456789abcdef wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
        "password Pg-Passw0rd! and Pg-Passw0rd%21 and R3dis-Passw0rd; BUILD_KEY=short\n"
    )

    out = redact(text)

    for secret in (SIGNING, BOT, "ghp_shopT0k3n", "npm_0123", "wJalrXUtnFEMI", "Passw0rd"):
        assert secret not in out
    assert out.startswith("SLACK_SIGNING_SECRET=***\nSLACK_BOT_TOKEN=***\n")
    assert "BUILD_KEY=short" in out


@override_settings(SECRET_KEY="django-insecure-but-still-a-secret-key-value")
def test_it_hides_the_secret_key_from_the_settings():
    assert redact("key: django-insecure-but-still-a-secret-key-value.") == "key: ***."


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "deploy hook https://deployer:Hunter2-pass@deploy.example.com/hook?api_key=abc123&x=1",
            "deploy hook https://***@deploy.example.com/hook?api_key=***&x=1",
        ),
        ("clone https://ghp_abcdef@github.com/a/b.git", "clone https://***@github.com/a/b.git"),
        (
            "GET /hook?access_token=t0k&sig=s1g;Signature=zz&page=2 failed",
            "GET /hook?access_token=***&sig=***;Signature=***&page=2 failed",
        ),
        (
            "https://example.com/a?client_secret=xyz#frag",
            "https://example.com/a?client_secret=***#frag",
        ),
        (
            "mail alice@example.com at https://example.com/x",
            "mail alice@example.com at https://example.com/x",
        ),
        ("", ""),
    ],
)
def test_it_hides_url_credentials_and_secret_query_parameters(text, shown):
    assert redact(text) == shown


def test_it_hides_extra_values_the_caller_holds():
    assert redact("Conduit said: bad token api-xyz", extra=["api-xyz", ""]) == (
        "Conduit said: bad token ***"
    )
