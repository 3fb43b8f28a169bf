"""GitHub and GitLab on 127.0.0.1, as far as Releasebot writes to them: each keeps pull (merge)
requests with their comments (notes) and labels, serves them in the real REST API's shape and
records every request that reached it, so tests assert on what the forge was told.

- GitHub REST: `GET /repos/{owner}/{repo}/pulls/{n}`, `POST .../issues/{n}/comments`,
  `PATCH .../issues/comments/{id}`, `POST .../issues/{n}/labels`, `DELETE
  .../issues/{n}/labels/{name}`, `POST .../pulls` (422 when one is open for the head already),
  `GET .../pulls?head=owner:branch`; `Authorization: Bearer <token>`, else 401.
- GitLab REST v4 (under /api/v4): `GET /projects/{id}/merge_requests/{iid}` (the id is the
  URL-encoded path), `POST .../merge_requests/{iid}/notes`, `PUT .../notes/{id}`, `PUT
  .../merge_requests/{iid}` with `add_labels`/`remove_labels`, `POST /projects/{id}/merge_requests`
  (409 when one is open), `GET .../merge_requests?source_branch=`; `PRIVATE-TOKEN`, else 401.

`fail_status` makes every answer that status (the forge down); `seen` lists the requests.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


@dataclass
class Request:
    method: str
    path: str  # decoded
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class PullRequestState:
    number: int
    title: str = "Fix the checkout total rounding"
    author: str = "alice-gh"
    merged: bool = True
    merge_sha: str = ""
    state: str = "closed"
    labels: list[str] = field(default_factory=list)
    comments: dict[int, str] = field(default_factory=dict)


@dataclass
class Forge:
    """One forge stand-in: `kind` "github" or "gitlab", the project it serves and its token."""

    kind: str
    project: str
    token: str
    pulls: dict[int, PullRequestState] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)  # drafts opened
    seen: list[Request] = field(default_factory=list)
    fail_status: int | None = None

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.next_id = 1000
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.forge = self
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    @property
    def api_url(self) -> str:
        return self.url if self.kind == "github" else f"{self.url}/api/v4"

    def pull(self, number: int, **fields: Any) -> PullRequestState:
        self.pulls[number] = PullRequestState(number=number, **fields)
        return self.pulls[number]

    def writes(self) -> list[Request]:
        return [r for r in self.seen if r.method != "GET"]

    def __enter__(self) -> Forge:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- the API --------------------------------------------------------------------------

    def answer(self, request: Request) -> tuple[int, Any]:
        if self.fail_status:
            return self.fail_status, {"message": "Server Error"}
        if not self._authorised(request.headers):
            return 401, {"message": "Bad credentials"}
        with self.lock:
            return (self._github if self.kind == "github" else self._gitlab)(request)

    def _authorised(self, headers: dict[str, str]) -> bool:
        if self.kind == "github":
            return headers.get("authorization") == f"Bearer {self.token}"
        return headers.get("private-token") == self.token

    def _github(self, r: Request) -> tuple[int, Any]:  # noqa: C901  (a routing table)
        base = f"/repos/{self.project}"
        if not r.path.startswith(base + "/"):
            return 404, {"message": "Not Found"}
        rest = r.path[len(base) :]
        if m := re.fullmatch(r"/pulls/(\d+)", rest):
            pr = self.pulls.get(int(m[1]))
            return (200, self._github_pull(pr)) if pr else (404, {"message": "Not Found"})
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            pr = self.pulls.get(int(m[1]))
            if pr is None or r.method != "POST":
                return 404, {"message": "Not Found"}
            comment_id = self._new_id()
            pr.comments[comment_id] = r.body["body"]
            return 201, {"id": comment_id, "body": r.body["body"], "user": {"login": "releasebot"}}
        if m := re.fullmatch(r"/issues/comments/(\d+)", rest):
            for pr in self.pulls.values():
                if int(m[1]) in pr.comments:
                    pr.comments[int(m[1])] = r.body["body"]
                    return 200, {"id": int(m[1]), "body": r.body["body"]}
            return 404, {"message": "Not Found"}
        if m := re.fullmatch(r"/issues/(\d+)/labels", rest):
            pr = self.pulls[int(m[1])]
            for name in r.body["labels"]:
                if name not in pr.labels:
                    pr.labels.append(name)
            return 200, [{"name": name} for name in pr.labels]
        if m := re.fullmatch(r"/issues/(\d+)/labels/(.+)", rest):
            pr = self.pulls[int(m[1])]
            if m[2] not in pr.labels:
                return 404, {"message": "Label does not exist"}
            pr.labels.remove(m[2])
            return 200, [{"name": name} for name in pr.labels]
        if rest == "/pulls" and r.method == "POST":
            if any(d["head"] == r.body["head"] for d in self.created):
                return 422, {"message": "Validation Failed"}
            number = self._new_id()
            url = f"https://github.com/{self.project}/pull/{number}"
            self.created.append({**r.body, "number": number, "html_url": url})
            return 201, {"number": number, "html_url": url, "draft": r.body.get("draft")}
        if rest == "/pulls":
            head = r.query.get("head", "").split(":", 1)[-1]
            return 200, [d for d in self.created if d["head"] == head]
        return 404, {"message": "Not Found"}

    def _github_pull(self, pr: PullRequestState) -> dict[str, Any]:
        return {
            "number": pr.number,
            "title": pr.title,
            "html_url": f"https://github.com/{self.project}/pull/{pr.number}",
            "state": pr.state,
            "merged": pr.merged,
            "merge_commit_sha": pr.merge_sha or None,
            "user": {"login": pr.author, "type": "User"},
            "labels": [{"name": name} for name in pr.labels],
            "base": {"ref": "main"},
        }

    def _gitlab(self, r: Request) -> tuple[int, Any]:  # noqa: C901  (a routing table)
        base = f"/api/v4/projects/{self.project}"
        if not r.path.startswith(base + "/") and r.path != base + "/merge_requests":
            return 404, {"message": "404 Project Not Found"}
        rest = r.path[len(base) :]
        if m := re.fullmatch(r"/merge_requests/(\d+)", rest):
            pr = self.pulls.get(int(m[1]))
            if pr is None:
                return 404, {"message": "404 Not found"}
            if r.method == "PUT":
                for name in filter(None, r.body.get("add_labels", "").split(",")):
                    if name not in pr.labels:
                        pr.labels.append(name)
                for name in filter(None, r.body.get("remove_labels", "").split(",")):
                    if name in pr.labels:
                        pr.labels.remove(name)
            return 200, self._gitlab_merge_request(pr)
        if m := re.fullmatch(r"/merge_requests/(\d+)/notes", rest):
            pr = self.pulls.get(int(m[1]))
            if pr is None:
                return 404, {"message": "404 Not found"}
            note_id = self._new_id()
            pr.comments[note_id] = r.body["body"]
            return 201, {"id": note_id, "body": r.body["body"], "system": False}
        if m := re.fullmatch(r"/merge_requests/(\d+)/notes/(\d+)", rest):
            pr = self.pulls.get(int(m[1]))
            if pr is None or int(m[2]) not in pr.comments:
                return 404, {"message": "404 Not found"}
            pr.comments[int(m[2])] = r.body["body"]
            return 200, {"id": int(m[2]), "body": r.body["body"]}
        if rest == "/merge_requests" and r.method == "POST":
            if any(d["source_branch"] == r.body["source_branch"] for d in self.created):
                return 409, {"message": ["Another open merge request already exists"]}
            iid = self._new_id()
            url = f"https://gitlab.example.com/{self.project}/-/merge_requests/{iid}"
            self.created.append({**r.body, "iid": iid, "web_url": url})
            return 201, {"iid": iid, "web_url": url, "draft": r.body["title"].startswith("Draft:")}
        if rest == "/merge_requests":
            branch = r.query.get("source_branch")
            return 200, [d for d in self.created if d["source_branch"] == branch]
        return 404, {"message": "404 Not found"}

    def _gitlab_merge_request(self, pr: PullRequestState) -> dict[str, Any]:
        return {
            "iid": pr.number,
            "title": pr.title,
            "web_url": f"https://gitlab.example.com/{self.project}/-/merge_requests/{pr.number}",
            "state": "merged" if pr.merged else ("opened" if pr.state == "open" else "closed"),
            "merge_commit_sha": pr.merge_sha or None,
            "squash_commit_sha": None,
            "author": {"username": pr.author},
            "labels": list(pr.labels),
            "target_branch": "main",
        }

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id


class _Server(ThreadingHTTPServer):
    forge: Forge
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        request = Request(
            method=method,
            path=unquote(parts.path),
            query=dict(parse_qsl(parts.query)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=json.loads(raw) if raw else None,
        )
        forge = self.server.forge
        forge.seen.append(request)
        status, payload = forge.answer(request)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
