"""One redactor for every text Releasebot stores or shows that someone else wrote: test logs,
deploy hook answers, git and review-tool errors. `redact(text)` puts `***` in place of

- the values of the product's own secrets (SECRET_KEY, the Slack tokens, the OpenID Connect
  client secret, the passwords in DATABASE_URL and REDIS_URL) and of every review token and
  webhook secret variable (`RELEASEBOT_REVIEW_TOKEN_*`, `RELEASEBOT_WEBHOOK_SECRET_*`);
- the value of any environment variable whose name ends in TOKEN, SECRET, PASSWORD or KEY,
  when it is long enough (8+ characters) not to be an everyday word;
- URL credentials: `scheme://user:pass@` and query parameters named like a token, key, secret,
  password or signature (`https://***@host/path?api_key=***`).

The secrets are read when it runs (the environment of a worker may change under a test).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from django.conf import settings

MASK = "***"
REVIEW_TOKEN_PREFIX = "RELEASEBOT_REVIEW_TOKEN_"
REVIEW_TOKEN_NAME = re.compile(rf"^{REVIEW_TOKEN_PREFIX}[A-Z0-9_]+$")  # the only token variables
WEBHOOK_SECRET_PREFIX = "RELEASEBOT_WEBHOOK_SECRET_"
WEBHOOK_SECRET_NAME = re.compile(rf"^{WEBHOOK_SECRET_PREFIX}[A-Z0-9_]+$")  # the only secrets read
# The product's own secrets: never handed to a command, always redacted.
PRODUCT_SECRETS = (
    "SECRET_KEY",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "OIDC_CLIENT_SECRET",
)
PRODUCT_URLS = ("DATABASE_URL", "REDIS_URL")  # their passwords are secrets
NAMED_MIN = 6  # a shorter "secret" would blank out ordinary words of a log
GUESSED_MIN = 8
_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|KEY)$", re.IGNORECASE)

_URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^/\s?#'\"<>]+@")
_SECRET_PARAM = re.compile(
    r"([?&;](?:[\w.-]*(?:token|key|secret|passw|pwd|signature|credential)[\w.-]*|sig)=)"
    r"[^&;\s#'\"<>]+",
    re.IGNORECASE,
)


def is_product_secret(name: str) -> bool:
    """Whether the variable `name` holds one of Releasebot's own secrets."""
    return (
        name in PRODUCT_SECRETS
        or name in PRODUCT_URLS
        or name.startswith((REVIEW_TOKEN_PREFIX, WEBHOOK_SECRET_PREFIX))
    )


def secret_values() -> list[str]:
    """The values to hide, longest first (so a secret containing another goes whole)."""
    values: set[str] = set()
    for name in PRODUCT_SECRETS:
        values.update(_long(NAMED_MIN, getattr(settings, name, ""), os.environ.get(name, "")))
    for name in PRODUCT_URLS:
        for url in (getattr(settings, name, ""), os.environ.get(name, "")):
            values.update(_long(NAMED_MIN, *_password_of(url or "")))
    for name, value in os.environ.items():
        if name.startswith((REVIEW_TOKEN_PREFIX, WEBHOOK_SECRET_PREFIX)):
            values.update(_long(NAMED_MIN, value.strip()))
        elif _SECRET_NAME.search(name):
            values.update(_long(GUESSED_MIN, value.strip()))
    return sorted(values, key=len, reverse=True)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """`text` with every known secret, URL credential and secret query parameter as `***`;
    `extra` adds values the caller knows are secret (a token it holds)."""
    if not text:
        return text
    return _redacted(
        text, sorted({*secret_values(), *(e for e in extra if e)}, key=len, reverse=True)
    )


def redact_all(texts: list[str]) -> list[str]:
    """Each text as `redact` gives it, the secrets read once for all (thousands of notices)."""
    values = secret_values()
    return [_redacted(text, values) if text else text for text in texts]


def _redacted(text: str, values: list[str]) -> str:
    for value in values:
        text = text.replace(value, MASK)
    text = _URL_USERINFO.sub(rf"\1{MASK}@", text)
    return _SECRET_PARAM.sub(rf"\1{MASK}", text)


def _long(minimum: int, *values: str | None) -> list[str]:
    return [value for value in values if value and len(value) >= minimum]


def _password_of(url: str) -> list[str]:
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []
