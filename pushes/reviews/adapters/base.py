"""What every code-review adapter shares: the error, the HTTP session, the JSON reading.

An adapter answers one question, "how many review comments does this review have?", for one
tool. Anything that stops it from answering (tool unreachable, slow, 4xx/5xx, not JSON, an
unexpected shape, refused credentials) is a ReviewUnavailable, whose message never holds the
token: the caller retries, then shows the count as unknown.
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests

from common.outbound import host_of
from common.redact import redact
from pushes.reviews.links import ReviewLink

logger = logging.getLogger(__name__)

# 100 comments a page (the most every tool serves) times 50 pages: past 5,000 comments the
# review is "controversial" whatever the exact number, so stop asking and keep what we have.
MAX_PAGES = 50
PAGE_SIZE = 100


class ReviewUnavailable(Exception):
    """The review tool could not tell us the count: unreachable, timed out, 5xx, bad JSON or
    refused credentials. The message is safe to log and show: it never contains the token."""


class _Session(requests.Session):
    """A session that also drops GitLab's PRIVATE-TOKEN header when a redirect leaves the host
    (requests itself only drops Authorization)."""

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        if self.should_strip_auth(response.request.url or "", prepared_request.url or ""):
            prepared_request.headers.pop("PRIVATE-TOKEN", None)
        super().rebuild_auth(prepared_request, response)


class ReviewAdapter:
    """Counts the comments of one review on one tool, at the API the repository configured.
    Subclasses set `tool`, `name` and `default_api_url` (the public service's API, or "" when
    the tool has none) and implement `count_comments`."""

    tool: ClassVar[str]
    name: ClassVar[str]
    default_api_url: ClassVar[str] = ""

    def __init__(self, api_url: str, token: str | None, timeout: float = 10) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token or None
        self.timeout = timeout

    def __repr__(self) -> str:  # never the token
        return f"{type(self).__name__}({self.api_url!r}, token={'set' if self.token else None})"

    @classmethod
    def web_hosts(cls, api_url: str) -> set[tuple[str, int | None]]:
        """The hosts (and ports) whose review links this API answers for: its own."""
        return {host_of(api_url)}

    def count_comments(self, link: ReviewLink) -> int:
        raise NotImplementedError

    # -- for subclasses --------------------------------------------------------------------

    def base_for(self, link: ReviewLink) -> str:
        return self.api_url

    def session(self) -> requests.Session:
        """A fresh session per count: a worker runs for days, its sockets should not."""
        session = _Session()
        session.headers["User-Agent"] = "Releasebot"
        return session

    def secrets(self) -> list[str]:
        return [self.token] if self.token else []

    def unavailable(self, message: str) -> ReviewUnavailable:
        return ReviewUnavailable(f"{self.name}: {redact(message, self.secrets())}")

    def request(
        self, session: requests.Session, method: str, url: str, **kwargs: Any
    ) -> requests.Response:
        """One HTTP call; every way it can fail becomes ReviewUnavailable."""
        where = urlsplit(url).path or "/"
        try:
            response = session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout as exc:
            raise self.unavailable(f"no answer to {where} within {self.timeout:g} s") from exc
        except requests.RequestException as exc:
            host = urlsplit(url).netloc
            raise self.unavailable(f"cannot reach {host} ({type(exc).__name__})") from exc
        status = response.status_code
        if status in (401, 403):
            raise self.unavailable(f"credentials refused (HTTP {status} for {where})")
        if not 200 <= status < 300:
            raise self.unavailable(f"HTTP {status} for {where}")
        return response

    def json_of(self, response: requests.Response, *, strip: str = "") -> Any:
        text = response.text
        if strip and text.startswith(strip):
            text = text[len(strip) :]
        try:
            return json.loads(text)
        except ValueError as exc:
            where = urlsplit(response.url).path
            raise self.unavailable(f"the answer to {where} is not JSON") from exc

    def expect(self, value: Any, kind: type, what: str) -> Any:
        if not isinstance(value, kind):
            raise self.unavailable(f"unexpected answer: {what} is not a {kind.__name__}")
        return value

    def page_limit_reached(self, link: ReviewLink, count: int) -> int:
        logger.warning(
            "%s: %s has more than %d pages of comments; counting the first %d",
            self.name,
            link.url,
            MAX_PAGES,
            count,
        )
        return count


def same_origin(url: str, other: str) -> bool:
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)
