"""A local stand-in for Slack's Web API and its response_urls, in a thread on a free port.

It answers the methods the bot calls in the shapes Slack documents (https://api.slack.com/
methods): `auth.test`, `chat.postMessage`, `chat.update`, `chat.postEphemeral`,
`conversations.open`, `users.info`, `users.lookupByEmail`, and POSTs to response_urls. Every
call is recorded with its method and its body (JSON, form or query, whichever the client sent),
so a test can assert exactly what reached "Slack".
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

TOKEN = "xoxb-test"
BOT_USER = "UBOT"
TEAM = "T0TEST"


@dataclass
class Call:
    method: str  # "chat.postMessage", …, or "response_url" for a POST to a response_url
    body: dict
    path: str
    answer: dict | None = None  # what the stand-in answered (None for a response_url)

    @property
    def buttons(self) -> list[tuple[str, str, str, str | None]]:
        """(text, action_id, value, style) of every button in the message's blocks."""
        found = []
        for block in self.body.get("blocks") or []:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("type") == "button":
                    found.append(
                        (
                            element["text"]["text"],
                            element["action_id"],
                            element["value"],
                            element.get("style"),
                        )
                    )
        return found

    @property
    def block_text(self) -> str:
        """Every mrkdwn text of the blocks, in order, one per line."""
        texts = []
        for block in self.body.get("blocks") or []:
            if "text" in block:
                texts.append(block["text"]["text"])
            for item in block.get("fields", []) + (
                block.get("elements", []) if block.get("type") == "context" else []
            ):
                texts.append(item["text"])
        return "\n".join(texts)


class _Server(ThreadingHTTPServer):
    # Connections waiting to be accepted: socketserver's default is 5, and the senders of a
    # delivery run side by side (two workers, eight threads each); a connection past the
    # backlog waits a second for TCP to try again, which Slack never makes anyone do.
    request_queue_size = 128
    daemon_threads = True


class SlackStub:
    """Start with `with SlackStub() as stub:`; point a WebClient at `stub.api_url`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.emails: dict[str, str] = {}  # email -> user id, for users.lookupByEmail
        self.profiles: dict[str, str] = {}  # user id -> email, for users.info
        self.errors: dict[str, str] = {}  # method -> Slack error code to answer with
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SlackStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str = "cmd") -> str:
        return f"{self.base}/response/{name}"

    def user(self, user_id: str, email: str) -> None:
        """A Slack user the stub knows, by id and by email."""
        self.emails[email] = user_id
        self.profiles[user_id] = email

    def methods(self) -> list[str]:
        return [call.method for call in self.calls]

    def take(self) -> list[Call]:
        """The calls so far, forgetting them."""
        with self._lock:
            taken, self.calls = self.calls, []
        return taken

    def next_ts(self) -> str:
        return f"1795000000.{next(self._ts):06d}"

    # --- answers ----------------------------------------------------------------------

    def answer(self, method: str, body: dict, authorized: bool) -> dict:
        if not authorized:
            return {"ok": False, "error": "not_authed"}
        if method in self.errors:
            return {"ok": False, "error": self.errors[method]}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://releasebot-test.slack.com/",
                "team": "Releasebot Test",
                "user": "releasebot",
                "team_id": TEAM,
                "user_id": BOT_USER,
                "bot_id": "BBOT",
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            ts = self.next_ts()
            message = {"type": "message", "user": BOT_USER, "bot_id": "BBOT", "ts": ts}
            message.update({k: body[k] for k in ("text", "blocks", "thread_ts") if k in body})
            return {"ok": True, "channel": body.get("channel"), "ts": ts, "message": message}
        if method == "chat.update":
            message = {k: body[k] for k in ("text", "blocks") if k in body}
            return {
                "ok": True,
                "channel": body.get("channel"),
                "ts": body.get("ts"),
                "text": body.get("text", ""),
                "message": message,
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "conversations.open":
            users = str(body.get("users", ""))
            return {
                "ok": True,
                "no_op": True,
                "already_open": True,
                "channel": {"id": "D" + users.split(",")[0][1:]},
            }
        if method == "users.lookupByEmail":
            user_id = self.emails.get(body.get("email", ""))
            if user_id is None:
                return {"ok": False, "error": "users_not_found"}
            return {"ok": True, "user": _user(user_id, body["email"])}
        if method == "users.info":
            email = self.profiles.get(body.get("user", ""))
            if email is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": _user(body["user"], email)}
        return {"ok": False, "error": "unknown_method"}


def _user(user_id: str, email: str) -> dict:
    name = email.split("@")[0]
    return {
        "id": user_id,
        "team_id": TEAM,
        "name": name,
        "real_name": name.capitalize(),
        "is_bot": False,
        "profile": {"email": email, "real_name": name.capitalize(), "display_name": name},
    }


def _handler_for(stub: SlackStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # An answer leaves in one write, flushed when the handler finishes, and unheld: in
        # two writes, with Nagle's algorithm, the second waits for the client to acknowledge
        # the first.
        wbufsize = -1
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._handle(dict(parse_qsl(urlsplit(self.path).query)))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            if self.headers.get("Content-Type", "").startswith("application/json"):
                body = json.loads(raw or "{}")
            else:
                body = dict(parse_qsl(raw))
                for key in ("blocks", "attachments"):
                    if isinstance(body.get(key), str):
                        body[key] = json.loads(body[key])
            body.update(dict(parse_qsl(urlsplit(self.path).query)))
            self._handle(body)

        def _handle(self, body: dict) -> None:
            path = urlsplit(self.path).path
            if path.startswith("/response/"):
                self._record(Call("response_url", body, path))
                self._send(200, b"ok", "text/html")
                return
            method = path.removeprefix("/api/")
            authorized = self.headers.get("Authorization") == f"Bearer {TOKEN}"
            answer = stub.answer(method, body, authorized)
            self._record(Call(method, body, path, answer))
            self._send(200, json.dumps(answer).encode(), "application/json; charset=utf-8")

        def _record(self, call: Call) -> None:
            with stub._lock:
                stub.calls.append(call)

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
