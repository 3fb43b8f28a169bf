"""Writing to GitHub and GitLab (and reading a pull request): one client per forge, at the API
and with the token the repository configured for its review tool (`pushes.reviews.review_api`).

Every way a call can fail (unreachable, slow, 4xx/5xx, not JSON, refused credentials) is a
`ForgeUnavailable` whose message never holds the token; the caller records it and tries again
later. A comment that someone deleted is not a failure: `comment_update` says so and the caller
writes a new one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from common.redact import redact
from pushes.models import Repository
from pushes.reviews import review_api

TIMEOUT = 10.0


class ForgeUnavailable(Exception):
    """The forge did not do what was asked; the message is safe to log and show."""


@dataclass(frozen=True)
class RemotePullRequest:
    number: int
    title: str
    url: str
    author_login: str
    merged: bool
    merge_sha: str
    open: bool


class ForgeClient:
    name = ""

    def __init__(self, api_url: str, token: str | None, project: str, timeout: float = TIMEOUT):
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.project = project
        self.timeout = timeout

    def __repr__(self) -> str:  # never the token
        return f"{type(self).__name__}({self.api_url!r}, {self.project!r})"

    # --- what a forge client does -----------------------------------------------------------

    def pull_request(self, number: int) -> RemotePullRequest:
        raise NotImplementedError

    def comment_create(self, number: int, body: str) -> str:
        raise NotImplementedError

    def comment_update(self, number: int, comment_id: str, body: str) -> bool:
        """Update Releasebot's comment in place; False when it is gone (deleted by a person)."""
        raise NotImplementedError

    def labels_add(self, number: int, names: list[str]) -> None:
        raise NotImplementedError

    def labels_remove(self, number: int, names: list[str]) -> None:
        raise NotImplementedError

    def draft_create(self, *, head: str, base: str, title: str, body: str) -> str:
        """A draft pull request of `head` onto `base` (the one already open, if there is one);
        its web URL."""
        raise NotImplementedError

    # --- HTTP -----------------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        return {"User-Agent": "Releasebot"}

    def call(
        self, method: str, path: str, *, payload: Any = None, params: Any = None,
        allow: tuple[int, ...] = (),
    ) -> tuple[int, Any]:  # fmt: skip
        """One call; its status and JSON answer. Statuses in `allow` are answers too."""
        url = f"{self.api_url}{path}"
        try:
            with requests.Session() as session:
                response = session.request(
                    method, url, json=payload, params=params, headers=self.headers(),
                    timeout=self.timeout, allow_redirects=False,
                )  # fmt: skip
        except requests.Timeout:
            raise self.unavailable(
                f"no answer to {method} {path} within {self.timeout:g} s"
            ) from None
        except requests.RequestException as error:
            where = urlsplit(url).netloc
            raise self.unavailable(f"cannot reach {where} ({type(error).__name__})") from None
        status = response.status_code
        if status in allow:
            return status, None
        if status in (401, 403):
            raise self.unavailable(f"credentials refused (HTTP {status} for {method} {path})")
        if not 200 <= status < 300:
            raise self.unavailable(f"HTTP {status} for {method} {path}")
        if status == 204 or not response.content:
            return status, None
        try:
            return status, json.loads(response.text)
        except ValueError:
            raise self.unavailable(f"the answer to {method} {path} is not JSON") from None

    def unavailable(self, message: str) -> ForgeUnavailable:
        return ForgeUnavailable(f"{self.name}: {redact(message, [self.token or ''])}")

    def field(self, value: Any, *path: str) -> Any:
        for key in path:
            if not isinstance(value, dict) or key not in value:
                raise self.unavailable(f"unexpected answer: no {'.'.join(path)}")
            value = value[key]
        return value


class GitHubClient(ForgeClient):
    name = "GitHub"

    def headers(self) -> dict[str, str]:
        headers = {
            **super().headers(),
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    @property
    def repo(self) -> str:
        return f"/repos/{quote(self.project, safe='/')}"

    def pull_request(self, number: int) -> RemotePullRequest:
        _, pr = self.call("GET", f"{self.repo}/pulls/{number}")
        merged = bool(self.field(pr, "merged"))
        return RemotePullRequest(
            number=number,
            title=str(self.field(pr, "title")),
            url=str(self.field(pr, "html_url")),
            author_login=str(self.field(pr, "user", "login")),
            merged=merged,
            merge_sha=str(pr.get("merge_commit_sha") or "") if merged else "",
            open=pr.get("state") == "open",
        )

    def comment_create(self, number: int, body: str) -> str:
        _, comment = self.call(
            "POST", f"{self.repo}/issues/{number}/comments", payload={"body": body}
        )
        return str(self.field(comment, "id"))

    def comment_update(self, number: int, comment_id: str, body: str) -> bool:
        path = f"{self.repo}/issues/comments/{quote(comment_id, safe='')}"
        status, _ = self.call("PATCH", path, payload={"body": body}, allow=(404,))
        return status != 404

    def labels_add(self, number: int, names: list[str]) -> None:
        if names:
            self.call("POST", f"{self.repo}/issues/{number}/labels", payload={"labels": names})

    def labels_remove(self, number: int, names: list[str]) -> None:
        for name in names:  # 404: someone took it off already
            path = f"{self.repo}/issues/{number}/labels/{quote(name, safe='')}"
            self.call("DELETE", path, allow=(404,))

    def draft_create(self, *, head: str, base: str, title: str, body: str) -> str:
        payload = {"title": title, "head": head, "base": base, "body": body, "draft": True}
        status, pr = self.call("POST", f"{self.repo}/pulls", payload=payload, allow=(422,))
        if status != 422:
            return str(self.field(pr, "html_url"))
        # 422: one is open already (a retry after its answer was lost): that one is ours.
        owner = self.project.split("/", 1)[0]
        params = {"head": f"{owner}:{head}", "base": base, "state": "open"}
        _, found = self.call("GET", f"{self.repo}/pulls", params=params)
        if isinstance(found, list) and found:
            return str(self.field(found[0], "html_url"))
        raise self.unavailable(f"could not open a draft pull request of {head} onto {base}")


class GitLabClient(ForgeClient):
    name = "GitLab"

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        if self.token:
            headers["PRIVATE-TOKEN"] = self.token
        return headers

    @property
    def repo(self) -> str:
        return f"/projects/{quote(self.project, safe='')}"

    def pull_request(self, number: int) -> RemotePullRequest:
        _, mr = self.call("GET", f"{self.repo}/merge_requests/{number}")
        state = self.field(mr, "state")
        merged = state == "merged"
        # A squash merge without a merge commit leaves the squashed commit on the target.
        sha = mr.get("merge_commit_sha") or mr.get("squash_commit_sha") or ""
        return RemotePullRequest(
            number=number,
            title=str(self.field(mr, "title")),
            url=str(self.field(mr, "web_url")),
            author_login=str(self.field(mr, "author", "username")),
            merged=merged,
            merge_sha=str(sha) if merged else "",
            open=state == "opened",
        )

    def comment_create(self, number: int, body: str) -> str:
        path = f"{self.repo}/merge_requests/{number}/notes"
        _, note = self.call("POST", path, payload={"body": body})
        return str(self.field(note, "id"))

    def comment_update(self, number: int, comment_id: str, body: str) -> bool:
        path = f"{self.repo}/merge_requests/{number}/notes/{quote(comment_id, safe='')}"
        status, _ = self.call("PUT", path, payload={"body": body}, allow=(404,))
        return status != 404

    def labels_add(self, number: int, names: list[str]) -> None:
        if names:
            payload = {"add_labels": ",".join(names)}
            self.call("PUT", f"{self.repo}/merge_requests/{number}", payload=payload)

    def labels_remove(self, number: int, names: list[str]) -> None:
        if names:
            payload = {"remove_labels": ",".join(names)}
            self.call("PUT", f"{self.repo}/merge_requests/{number}", payload=payload)

    def draft_create(self, *, head: str, base: str, title: str, body: str) -> str:
        payload = {
            "source_branch": head,
            "target_branch": base,
            "title": f"Draft: {title}",  # GitLab's way of making a merge request a draft
            "description": body,
        }
        status, mr = self.call("POST", f"{self.repo}/merge_requests", payload=payload, allow=(409,))
        if status != 409:
            return str(self.field(mr, "web_url"))
        params = {"source_branch": head, "target_branch": base, "state": "opened"}
        _, found = self.call("GET", f"{self.repo}/merge_requests", params=params)
        if isinstance(found, list) and found:
            return str(self.field(found[0], "web_url"))
        raise self.unavailable(f"could not open a draft merge request of {head} onto {base}")


CLIENTS: dict[str, type[ForgeClient]] = {"github": GitHubClient, "gitlab": GitLabClient}


def client_for(repository: Repository) -> ForgeClient | None:
    """The client for a repository's forge, or None when it has none it may call."""
    client_class = CLIENTS.get(repository.review_tool)
    api = review_api(repository)
    if client_class is None or api is None or not repository.forge_project.strip():
        return None
    api_url, token = api
    return client_class(api_url, token, repository.forge_project.strip())
