"""The guard on every URL Releasebot calls out to (a review tool's API, a deploy hook): HTTPS
unless the repository allows plain HTTP, a host always named, and credentials taken out of the
URL to be sent as HTTP Basic auth (urllib and requests would otherwise fail or leak them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(text: str) -> bool:
    """Whether a setting such as a deploy hook is a URL (rather than a command line)."""
    return bool(_SCHEME.match(text.strip()))


def url_refusal(url: str, *, allow_http: bool) -> str:
    """Why `url` must not be called ("" when it may): HTTPS, or HTTP when allowed."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return "it is not a valid URL"
    if parts.scheme == "http" and not allow_http:
        return "plain HTTP is not allowed for this repository; use https"
    if parts.scheme not in ("http", "https"):
        return "only https URLs are called"
    if not parts.hostname:
        return "it names no host"
    return ""


@dataclass(frozen=True)
class Target:
    """A URL without its `user:password@`, and those credentials (None when it had none)."""

    url: str
    username: str | None
    password: str | None

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.username, self.password or "") if self.username is not None else None


def target_of(url: str) -> Target:
    parts = urlsplit(url.strip())
    if "@" not in parts.netloc:
        return Target(url.strip(), None, None)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    bare = urlunsplit(parts._replace(netloc=hostport))
    return Target(bare, unquote(user), unquote(password) if colon else None)


def host_of(url: str) -> tuple[str, int | None]:
    """The host and port a URL names, the scheme's default port as None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ("", None)
    if (parts.scheme, port) in (("https", 443), ("http", 80)):
        port = None
    return (parts.hostname or "", port)
