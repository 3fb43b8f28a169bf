"""Code-review tools on 127.0.0.1, answering in each real API's shape.

Each serves one review and checks the credentials the real API expects, answering as it would
without them (401, or Conduit's HTTP 200 with ERR-INVALID-AUTH). They page through their data
two items at a time, whatever page size is asked for, so a handful of comments exercises
pagination:

- GitHub REST: acme/app (repository 1300192) pull request 7, review comments, issue comments
  and reviews (with a body, bare approvals with none, a PENDING draft), `Link` headers whose
  next URL is GitHub's `/repositories/{id}/...` form; `Authorization: Bearer`.
- GitLab REST v4: group/sub/app merge request 12, notes with system notes mixed in,
  `X-Next-Page`/`X-Total` headers; `PRIVATE-TOKEN`.
- Phabricator Conduit: revision D123, `differential.revision.search` and `transaction.search`
  with a result cursor; form field `api.token`, errors as `error_code`/`error_info` (which, like
  the real one, quotes a bad token back).
- Gerrit REST: change platform/app~4567 under `/a/` with HTTP basic auth, `)]}'`-guarded JSON.

Every server can be told to fail: `fail_status` (answers that status with an HTML page),
`garbage` (HTTP 200 with HTML where JSON should be), `delay` (seconds before answering, cut
short when the server stops) or `redirect_to` (another origin, answered with a 302). `seen`
records every request.
"""

from __future__ import annotations

import base64
import json
import math
import re
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PAGE = 2  # items per page, whatever the client asks for


@dataclass
class Seen:
    method: str
    path: str  # raw, still percent-encoded
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class StubServer:
    """One server on a free port; use it as a context manager."""

    handler: type[BaseHTTPRequestHandler]
    token: str
    data: dict[str, Any] = field(default_factory=dict)
    fail_status: int | None = None
    garbage: bool = False
    delay: float = 0.0
    redirect_to: str = ""
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.httpd = _HTTPServer(("127.0.0.1", 0), self.handler)
        self.httpd.stub = self
        self.released = threading.Event()
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def paths(self) -> list[str]:
        return [f"{s.path}?{'&'.join(f'{k}={v}' for k, v in s.query.items())}" for s in self.seen]

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()  # wake a delayed answer so its thread ends
        self.httpd.shutdown()
        self.httpd.server_close()


class _HTTPServer(ThreadingHTTPServer):
    stub: StubServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
        # else: a client that timed out and hung up; expected, not a failure


class StubHandler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, like the real APIs

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        stub = self.server.stub
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        seen = Seen(
            method=method,
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            headers={k.lower(): v for k, v in self.headers.items()},
            form=dict(parse_qsl(body)),
        )
        stub.seen.append(seen)
        try:
            if stub.delay:
                stub.released.wait(stub.delay)
            if stub.redirect_to:
                self.reply(302, "", "text/html", {"Location": stub.redirect_to + self.path})
            elif stub.fail_status:
                html = f"<html><body><h1>{stub.fail_status}</h1>Server Error</body></html>"
                self.reply(stub.fail_status, html, "text/html")
            elif stub.garbage:
                self.reply(200, "<html><body>Sign in to continue</body></html>", "text/html")
            else:
                self.answer(seen, stub)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def answer(self, seen: Seen, stub: StubServer) -> None:
        raise NotImplementedError

    def reply(
        self, status: int, text: str, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def reply_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.reply(status, json.dumps(body), "application/json; charset=utf-8", headers)

    def page_of(self, items: list[Any], page: int) -> tuple[list[Any], int]:
        """The items of a 1-based page, and how many pages there are."""
        return items[(page - 1) * PAGE : page * PAGE], max(1, math.ceil(len(items) / PAGE))


def _page_number(seen: Seen) -> int:
    return int(seen.query.get("page") or 1)


# -- GitHub ---------------------------------------------------------------------------------


def github_user(login: str, user_id: int) -> dict[str, Any]:
    return {
        "login": login,
        "id": user_id,
        "node_id": f"MDQ6VXNlcj{user_id}",
        "type": "User",
        "site_admin": False,
        "url": f"https://api.github.com/users/{login}",
        "html_url": f"https://github.com/{login}",
    }


def github_review_comment(comment_id: int, body: str, login: str = "bob") -> dict[str, Any]:
    return {
        "url": f"https://api.github.com/repos/acme/app/pulls/comments/{comment_id}",
        "pull_request_review_id": 42,
        "id": comment_id,
        "node_id": f"PRRC_{comment_id}",
        "diff_hunk": "@@ -16,33 +16,40 @@ public class Connection : IConnection...",
        "path": "src/checkout.py",
        "position": 1,
        "original_position": 4,
        "commit_id": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
        "original_commit_id": "9c48853fa3dc5c1c3d6f1f1cd1f2743e72652840",
        "in_reply_to_id": None,
        "user": github_user(login, 2),
        "body": body,
        "created_at": "2025-06-02T17:00:00Z",
        "updated_at": "2025-06-02T17:00:00Z",
        "html_url": f"https://github.com/acme/app/pull/7#discussion-diff-{comment_id}",
        "pull_request_url": "https://api.github.com/repos/acme/app/pulls/7",
        "author_association": "MEMBER",
        "line": 20,
        "side": "RIGHT",
        "subject_type": "line",
    }


def github_issue_comment(comment_id: int, body: str, login: str = "rel") -> dict[str, Any]:
    return {
        "id": comment_id,
        "node_id": f"IC_{comment_id}",
        "url": f"https://api.github.com/repos/acme/app/issues/comments/{comment_id}",
        "html_url": f"https://github.com/acme/app/pull/7#issuecomment-{comment_id}",
        "body": body,
        "user": github_user(login, 3),
        "created_at": "2025-06-02T18:00:00Z",
        "updated_at": "2025-06-02T18:00:00Z",
        "issue_url": "https://api.github.com/repos/acme/app/issues/7",
        "author_association": "MEMBER",
    }


def github_review(
    review_id: int, state: str, body: str, login: str = "bob", user_id: int = 2
) -> dict[str, Any]:
    html_url = f"https://github.com/acme/app/pull/7#pullrequestreview-{review_id}"
    review = {
        "id": review_id,
        "node_id": f"PRR_{review_id}",
        "user": github_user(login, user_id),
        "body": body,
        "state": state,
        "html_url": html_url,
        "pull_request_url": "https://api.github.com/repos/acme/app/pulls/7",
        "author_association": "MEMBER",
        "_links": {
            "html": {"href": html_url},
            "pull_request": {"href": "https://api.github.com/repos/acme/app/pulls/7"},
        },
        "submitted_at": f"2025-06-02T19:{review_id:02d}:00Z",
        "commit_id": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
    }
    if state == "PENDING":
        del review["submitted_at"]  # not submitted: a draft, shown to its author only
    return review


class GitHubAPI(StubHandler):
    ROUTE = re.compile(
        r"/(?:repos/acme/app|repositories/1300192)/(pulls|issues)/(\d+)/(comments|reviews)"
    )

    def answer(self, seen: Seen, stub: StubServer) -> None:
        if seen.headers.get("authorization") != f"Bearer {stub.token}":
            self.reply_json(401, github_error("Bad credentials", 401))
            return
        route = self.ROUTE.fullmatch(seen.path)
        if not route or route[2] != "7" or (route[1], route[3]) == ("issues", "reviews"):
            self.reply_json(404, github_error("Not Found", 404))
            return
        kind, what = route[1], route[3]
        page = _page_number(seen)
        items, last = self.page_of(stub.data[kind if what == "comments" else what], page)
        at = f"http://{self.headers['Host']}/repositories/1300192/{kind}/7/{what}"
        links = []
        if page < last:
            links += [f'<{at}?page={page + 1}>; rel="next"', f'<{at}?page={last}>; rel="last"']
        if page > 1:
            links += [f'<{at}?page={page - 1}>; rel="prev"', f'<{at}?page=1>; rel="first"']
        self.reply_json(200, items, {"Link": ", ".join(links)} if links else None)


def github_error(message: str, status: int) -> dict[str, str]:
    return {
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": str(status),
    }


def github_server(token: str) -> StubServer:
    """Pull request 7: three review comments (two pages), two issue comments and seven reviews
    (four pages), three of them with text a person reads: 3 + 2 + 3 = 8."""
    data = {
        "pulls": [
            github_review_comment(101, "Could this break the cart?"),
            github_review_comment(102, "Only if the session expires.", login="alice"),
            github_review_comment(103, "Then please add a test."),
        ],
        "issues": [
            github_issue_comment(201, "Is this needed before Friday?"),
            github_issue_comment(202, "Yes: checkout is down in Safari.", login="alice"),
        ],
        "reviews": [  # chronological, like GitHub
            github_review(42, "COMMENTED", ""),  # only carries the diff comments above
            github_review(43, "CHANGES_REQUESTED", "Please add a test for an expired session."),
            github_review(44, "COMMENTED", "Looks good, but rename retry_once to retry."),
            github_review(45, "APPROVED", "", login="carol", user_id=4),  # a bare approval
            github_review(46, "APPROVED", " \r\n", login="dave", user_id=5),  # blank: no text
            github_review(47, "PENDING", "Also check the cart total.", login="rel", user_id=3),
            github_review(48, "APPROVED", "Ship it.", login="alice", user_id=6),
        ],
    }
    return StubServer(GitHubAPI, token=token, data=data)


# -- GitLab ---------------------------------------------------------------------------------


def gitlab_note(note_id: int, body: str, *, system: bool = False, diff: bool = False) -> dict:
    return {
        "id": note_id,
        "type": "DiffNote" if diff else None,
        "body": body,
        "attachment": None,
        "author": {
            "id": 1,
            "username": "bob",
            "name": "Bob",
            "state": "active",
            "avatar_url": None,
            "web_url": "https://gitlab.example.com/bob",
        },
        "created_at": "2025-06-02T17:00:00.000Z",
        "updated_at": "2025-06-02T17:00:00.000Z",
        "system": system,
        "noteable_id": 9001,
        "noteable_type": "MergeRequest",
        "project_id": 5,
        "noteable_iid": 12,
        "resolvable": diff,
        "confidential": False,
        "internal": False,
        "imported": False,
        "imported_from": "none",
        "commands_changes": {},
    }


class GitLabAPI(StubHandler):
    ROUTE = re.compile(r"/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes")

    def answer(self, seen: Seen, stub: StubServer) -> None:
        if seen.headers.get("private-token") != stub.token:
            self.reply_json(401, {"message": "401 Unauthorized"})
            return
        route = self.ROUTE.fullmatch(seen.path)
        if not route or route[1] != "group%2Fsub%2Fapp" or route[2] != "12":
            self.reply_json(404, {"message": "404 Not found"})
            return
        page = _page_number(seen)
        notes, last = self.page_of(stub.data["notes"], page)
        at = f"http://{self.headers['Host']}{seen.path}?per_page={PAGE}&page="
        links = [f'<{at}{page + 1}>; rel="next"'] if page < last else []
        links += [f'<{at}1>; rel="first"', f'<{at}{last}>; rel="last"']
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(PAGE),
            "X-Next-Page": str(page + 1) if page < last else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
            "X-Total": str(len(stub.data["notes"])),
            "X-Total-Pages": str(last),
            "Link": ", ".join(links),
        }
        self.reply_json(200, notes, headers)


def gitlab_server(token: str) -> StubServer:
    """Merge request 12 of group/sub/app: three people's notes among two system notes."""
    notes = [
        gitlab_note(1, "Why a new cache here?", diff=True),
        gitlab_note(2, "added 1 commit\n\n* 1a2b3c4d - Retry the payment call", system=True),
        gitlab_note(3, "The old one is per process."),
        gitlab_note(4, "approved this merge request", system=True),
        gitlab_note(5, "OK, but cap its size.", diff=True),
    ]
    return StubServer(GitLabAPI, token=token, data={"notes": notes})


# -- Phabricator ----------------------------------------------------------------------------

REVISION_PHID = "PHID-DREV-hpbfvkkzvg5qm2mbnccm"


def conduit_transaction(
    xaction_id: int, kind: str | None, text: str = "", *, removed: bool = False
) -> dict[str, Any]:
    comments = []
    if text:
        comments = [
            {
                "id": 900 + xaction_id,
                "phid": f"PHID-XCMT-{xaction_id:020d}",
                "version": 1,
                "authorPHID": "PHID-USER-bob00000000000000",
                "dateCreated": 1748883600 + xaction_id,
                "dateModified": 1748883600 + xaction_id,
                "removed": removed,
                "content": {"raw": "" if removed else text},
            }
        ]
    fields: dict[str, Any] = {}
    if kind == "inline":
        fields = {
            "diff": {"id": 31, "phid": "PHID-DIFF-aaaaaaaaaaaaaaaaaaaa"},
            "path": "src/checkout.py",
            "line": 20,
            "length": 1,
            "replyToCommentPHID": None,
            "isDone": False,
        }
    return {
        "id": xaction_id,
        "phid": f"PHID-XACT-DREV-{xaction_id:015d}",
        "type": kind,
        "authorPHID": "PHID-USER-bob00000000000000",
        "objectPHID": REVISION_PHID,
        "dateCreated": 1748883600 + xaction_id,
        "dateModified": 1748883600 + xaction_id,
        "groupID": f"group{xaction_id}",
        "comments": comments,
        "fields": fields,
    }


def conduit_revision() -> dict[str, Any]:
    return {
        "id": 123,
        "type": "DREV",
        "phid": REVISION_PHID,
        "fields": {
            "title": "Retry the payment call once",
            "uri": "https://phabricator.example.com/D123",
            "authorPHID": "PHID-USER-alice000000000000",
            "status": {
                "value": "published",
                "name": "Closed",
                "closed": True,
                "color.ansi": "cyan",
            },
            "repositoryPHID": "PHID-REPO-shop0000000000000",
            "diffPHID": "PHID-DIFF-aaaaaaaaaaaaaaaaaaaa",
            "summary": "",
            "testPlan": "Ran the checkout tests.",
            "isDraft": False,
            "holdAsDraft": False,
            "dateCreated": 1748880000,
            "dateModified": 1748890000,
            "policy": {"view": "users", "edit": "users"},
        },
        "attachments": {},
    }


class ConduitAPI(StubHandler):
    def answer(self, seen: Seen, stub: StubServer) -> None:
        method = seen.path.removeprefix("/api/")
        given = seen.form.get("api.token", "")
        if given != stub.token:
            # Conduit answers HTTP 200 and quotes the token back.
            info = f'API token "{given}" has the wrong length. API tokens should be 32 characters.'
            self.reply_json(200, conduit_error("ERR-INVALID-AUTH", info))
        elif method == "differential.revision.search":
            wanted = seen.form.get("constraints[ids][0]")
            data = [conduit_revision()] if wanted == "123" else []
            self.reply_json(200, conduit_result(data, after=None))
        elif method == "transaction.search":
            self._transactions(seen, stub)
        else:
            info = f'Conduit method "{method}" does not exist.'
            self.reply_json(200, conduit_error("ERR-CONDUIT-CALL", info))

    def _transactions(self, seen: Seen, stub: StubServer) -> None:
        if seen.form.get("objectIdentifier") not in (REVISION_PHID, "D123"):
            info = f'No object "{seen.form.get("objectIdentifier")}" exists.'
            self.reply_json(200, conduit_error("ERR-CONDUIT-CORE", info))
            return
        # Newest first, like Phabricator; the cursor is the id of the page's last one.
        after = int(seen.form.get("after") or 0)
        older = [x for x in stub.data["transactions"] if not after or x["id"] < after]
        page = older[: min(int(seen.form.get("limit") or 100), PAGE)]
        more = len(older) > len(page)
        self.reply_json(200, conduit_result(page, after=str(page[-1]["id"]) if more else None))


def conduit_result(data: list[Any], *, after: str | None) -> dict[str, Any]:
    cursor = {"limit": 100, "after": after, "before": None, "order": None}
    result = {"data": data, "maps": {}, "query": {"queryKey": None}, "cursor": cursor}
    return {"result": result, "error_code": None, "error_info": None}


def conduit_error(code: str, info: str) -> dict[str, Any]:
    return {"result": None, "error_code": code, "error_info": info}


def phabricator_server(token: str) -> StubServer:
    """D123: two inline comments and a comment among an accept, an update, a title change and
    a removed comment (seven transactions, four pages)."""
    transactions = [
        conduit_transaction(7, "comment", "Ship it."),
        conduit_transaction(6, "accept"),
        conduit_transaction(5, "inline", "Cap the retries."),
        conduit_transaction(4, "comment", "Ignore me", removed=True),
        conduit_transaction(3, "inline", "Why once?"),
        conduit_transaction(2, "update"),
        conduit_transaction(1, None),
    ]
    return StubServer(ConduitAPI, token=token, data={"transactions": transactions})


# -- Gerrit ---------------------------------------------------------------------------------


def gerrit_comment(comment_id: str, message: str, *, line: int | None = None, tag: str = ""):
    comment: dict[str, Any] = {
        "author": {"_account_id": 1000096, "name": "Bob", "email": "bob@example.com"},
        "change_message_id": "af128c803aa192eb5c191c1567713f5b123d3adb",
        "unresolved": False,
        "patch_set": 1,
        "id": comment_id,
        "updated": "2025-06-02 17:00:00.000000000",
        "message": message,
        "commit_id": "39ad506d5c7f8d2e1b1e2e1f0c0c7b6a5d4e3f21",
    }
    if line is not None:
        comment["line"] = line
    if tag:
        comment["tag"] = tag
    return comment


class GerritAPI(StubHandler):
    ROUTE = re.compile(r"/a/changes/([^/]+)/comments")

    def answer(self, seen: Seen, stub: StubServer) -> None:
        expected = "Basic " + base64.b64encode(stub.token.encode()).decode()
        if seen.headers.get("authorization") != expected:
            self.reply(401, "Unauthorized", "text/plain; charset=ISO-8859-1")
            return
        route = self.ROUTE.fullmatch(seen.path)
        if not route or route[1] != "platform%2Fapp~4567":
            self.reply(404, "Not found: " + seen.path.split("/")[3], "text/plain; charset=UTF-8")
            return
        body = ")]}'\n" + json.dumps(stub.data["comments"])
        headers = {"Content-Disposition": "attachment"}
        self.reply(200, body, "application/json; charset=UTF-8", headers)


def gerrit_server(token: str) -> StubServer:
    """Change 4567 of platform/app: five people's comments and a CI bot's."""
    comments = {
        "/COMMIT_MSG": [gerrit_comment("c0a1", "Say why, not what.", line=3)],
        "/PATCHSET_LEVEL": [
            gerrit_comment("c0a2", "Build started", tag="autogenerated:ci~started"),
            gerrit_comment("c0a3", "Looks right to me."),
        ],
        "src/app.py": [
            gerrit_comment("c0a4", "Off by one?", line=12),
            gerrit_comment("c0a5", "No, range is exclusive.", line=12),
            gerrit_comment("c0a6", "Then rename it.", line=40),
        ],
    }
    return StubServer(GerritAPI, token=token, data={"comments": comments})
