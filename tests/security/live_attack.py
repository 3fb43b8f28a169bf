"""The attack run of docs/SECURITY.md: Releasebot started as production runs it (gunicorn,
DEBUG off, a fresh data folder, the task queue's Redis at a closed port), then attacked over
HTTP as an anonymous visitor and a hostile engineer would. Prints one row per attack.

    .venv/bin/python tests/security/live_attack.py

Not collected by pytest (its name does not start with test_): the tests named in
docs/SECURITY.md hold each result; this plays them against the running app, end to end.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
PY = str(ROOT / ".venv" / "bin" / "python")
SIGNING_SECRET = "attack-run-signing-secret"
SECRETS = {
    "SECRET_KEY": "attack-run-secret-key-" + "x" * 40,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "SLACK_BOT_TOKEN": "xoxb-attack-run-bot-token",
}
SETUP = """
import subprocess, tempfile, pathlib
from django.contrib.auth import get_user_model
from pushes import services
from pushes.choices import Role
from pushes.models import Engineer, Repository
User = get_user_model()
PEOPLE = (
    ("rel", Role.RELEASE_ENGINEER),
    ("alice", Role.ENGINEER),
    ("bob", Role.ENGINEER),
    ("carol", Role.ENGINEER),
)
for name, role in PEOPLE:
    user = User.objects.create_user(name, password=name + "-correct-horse")
    Engineer.objects.update_or_create(user=user, defaults={"role": role})
work = pathlib.Path(tempfile.mkdtemp(prefix="attack-remote-"))
def git(*args, cwd=work / "work"):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)
subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(work / "remote.git")], check=True)
subprocess.run(["git", "clone", "-q", str(work / "remote.git"), str(work / "work")], check=True)
git("config", "user.email", "a@example.com"); git("config", "user.name", "A")
(work / "work" / "app.py").write_text("A = 1\\n"); git("add", "."); git("commit", "-qm", "Start")
git("push", "-q", "origin", "HEAD:main")
repository = Repository.objects.create(slug="app", name="App", remote_url=str(work / "remote.git"))
services.branch_cut(repository=repository)
(work / "work" / "app.py").write_text("A = 2\\n"); git("commit", "-qam", "Fix the thing")
git("push", "-q", "origin", "HEAD:main")
services.trunk_sync(repository=repository)
head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=work / "work", capture_output=True)
print(head.stdout.decode().strip(), work)
"""
# The second phase: a repository set up as an attacker would like it (a review link to a host
# the attacker runs, a test command that prints the environment, a hook with credentials).
HOSTILE = """
import subprocess, pathlib
from pushes import services
from pushes.models import Repository
work = pathlib.Path({work!r}) / "work"
Repository.objects.filter(slug="app").update(
    review_tool="github", review_token_env="RELEASEBOT_REVIEW_TOKEN_GH",
    test_command="env",
    deploy_hook="http://deployer:hunter2@127.0.0.1:{stub}/deploy?api_key=k-attack-123",
    deploy_hook_allow_http=True,
)
(work / "app.py").write_text("A = 3\\n")
message = "Fix two\\n\\nReviewed in http://127.0.0.1:{stub}/acme/app/pull/43"
subprocess.run(["git", "commit", "-qam", message], cwd=work, check=True)
subprocess.run(["git", "push", "-q", "origin", "HEAD:main"], cwd=work, check=True)
services.trunk_sync(repository=Repository.objects.get(slug="app"))
head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=work, capture_output=True)
print(head.stdout.decode().strip())
"""
REVIEW_TOKEN = "ghp-attack-run-review-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    data = Path(tempfile.mkdtemp(prefix="attack-data-"))
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")},
        **SECRETS,
        "RELEASEBOT_DATA_DIR": str(data),
        "REDIS_URL": "redis://127.0.0.1:1/0",  # the first phase: the queue is down
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "SITE_URL": f"http://127.0.0.1:{port}",
    }

    def run(args: list[str], check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=check)

    run([PY, "manage.py", "migrate", "--noinput"], check=True)
    setup = run([PY, "manage.py", "shell", "-c", SETUP], check=True)
    revision, work = setup.stdout.strip().splitlines()[-1].split()
    # Run apart, on a database of its own: a demo that did run must not change the attack.
    elsewhere = {**env, "RELEASEBOT_DATA_DIR": str(data / "demo-check")}
    subprocess.run([PY, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=elsewhere, check=True,
                   capture_output=True)  # fmt: skip
    demo = subprocess.run([PY, "manage.py", "demo"], cwd=ROOT, env=elsewhere, capture_output=True,
                          text=True)  # fmt: skip
    insecure = ("SECURE_SSL_REDIRECT", "SECURE_COOKIES")  # for this HTTP run only
    production = {k: v for k, v in env.items() if k not in insecure}
    deploy_check = subprocess.run(
        [PY, "manage.py", "check", "--deploy"], cwd=ROOT, env=production, capture_output=True,
        text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    logs: list[str] = []
    with serving(env, port, logs):
        # Signed in before the guessing below locks out this address (every request here
        # comes from 127.0.0.1): the people's tokens and rel's session, for later.
        _token(base, "rel"), _token(base, "carol"), _session(base)
        rows = attacks(base, revision)

    # The second phase: the queue is up, a real worker runs the hostile repository's push.
    stub = Stub()
    env.update(REDIS_URL=REDIS, RELEASEBOT_REVIEW_TOKEN_GH=REVIEW_TOKEN)
    hostile = run([PY, "manage.py", "shell", "-c", HOSTILE.format(work=work, stub=stub.port)])
    if hostile.returncode:
        raise SystemExit(hostile.stderr)
    with serving(env, port, logs), working(env, logs):
        rows += hostile_push(base, hostile.stdout.strip().splitlines()[-1], stub)
    stub.stop()

    rows.append(
        (
            "`manage.py demo` with DEBUG off",
            f"exit {demo.returncode}: {(demo.stderr.strip().splitlines() or [''])[-1][:90]}",
            demo.returncode != 0 and "DEBUG" in demo.stderr,
        )
    )
    issues = [line for line in deploy_check.stderr.splitlines() if "(security." in line]
    rows.append(("`manage.py check --deploy`, production settings", f"{len(issues)} warnings",
                 not issues))  # fmt: skip
    text = "\n".join(logs)
    (data / "processes.log").write_text(text)
    leaked = [s for s in (*SECRETS.values(), REVIEW_TOKEN) if s in text]
    crashes = text.count("Internal Server Error") + text.count("Traceback")
    rows.append(("Web and worker logs: 500s and tracebacks, secrets", f"{crashes}, {len(leaked)}",
                 not (crashes or leaked)))  # fmt: skip
    print(f"logs in {data}\n")
    print("| Attack | Answer | Held |\n| --- | --- | --- |")
    for attack, answer, held in rows:
        print(f"| {attack} | {answer} | {'yes' if held else '**no**'} |")
    return 0 if all(held for *_, held in rows) else 1


REDIS = os.environ.get("ATTACK_REDIS_URL", "redis://127.0.0.1:6379/13")


@contextmanager
def serving(env: dict[str, str], port: int, logs: list[str]) -> Iterator[None]:
    """gunicorn as production runs it, until the block ends; its log appended to `logs`."""
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "releasebot.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{port}/login/", timeout=5)
                break
            except requests.RequestException:  # not listening yet, or still starting
                time.sleep(0.2)
        yield
    finally:
        server.terminate()
        logs.append(server.communicate(timeout=20)[1])


@contextmanager
def working(env: dict[str, str], logs: list[str]) -> Iterator[None]:
    worker = subprocess.Popen(
        [str(ROOT / ".venv/bin/celery"), "-A", "releasebot", "worker", "-l", "info",
         "--concurrency", "1", "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        yield
    finally:
        worker.terminate()
        logs.append(worker.communicate(timeout=30)[0])


class Stub:
    """A host the attacker runs: it records every request it gets and answers 200 `{}`."""

    def __init__(self) -> None:
        seen: list[dict[str, str]] = []
        self.seen = seen

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = _record

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def hostile_push(base: str, revision: str, stub: Stub) -> list[tuple[str, str, bool]]:
    """carol asks for the hostile commit, rel approves, carol confirms, rel runs the push now;
    the worker fetches reviews, runs the tests and calls the hook."""
    rows: list[tuple[str, str, bool]] = []
    rel = _token(base, "rel")
    carol = _token(base, "carol")
    asked = requests.post(f"{base}/api/picks/", json={"revision": revision, "reason": "Now"},
                          headers=carol).json()  # fmt: skip
    pick = asked.get("id")
    requests.post(f"{base}/api/picks/{pick}/approve/", json={}, headers=rel)
    requests.post(f"{base}/api/picks/{pick}/confirm/", json={}, headers=carol)
    push_id = requests.get(f"{base}/api/picks/{pick}/", headers=rel).json().get("push")
    ran = requests.post(f"{base}/api/pushes/{push_id}/run/", json={"early": True}, headers=rel)
    push: dict = {}
    for _ in range(240):
        push = requests.get(f"{base}/api/pushes/{push_id}/", headers=rel).json()
        if push.get("state") in ("done", "failed"):
            break
        time.sleep(0.5)
    rows.append(("Queue up: the hostile push runs on a real worker",
                 f"run {ran.status_code}, push {push.get('state')}",
                 push.get("state") == "done"))  # fmt: skip

    review = requests.get(f"{base}/api/picks/{pick}/", headers=rel).json().get("review_status")
    review_calls = [r for r in stub.seen if "/pull/" in r["path"] or "/pulls/" in r["path"]]
    tokens = [r for r in stub.seen if REVIEW_TOKEN in r.get("authorization", "")]
    rows.append(("Review link to the attacker's host in the commit message",
                 f"{len(review_calls)} requests there, token sent {len(tokens)} times; "
                 f"review status: {review}",
                 not review_calls and not tokens))  # fmt: skip

    runs = requests.get(f"{base}/api/test-runs/?push={push_id}", headers=rel).json()
    listed = [r for value in runs.values() if isinstance(value, list) for r in value]
    logs = "".join(
        requests.get(f"{base}/api/test-runs/{run['id']}/", headers=rel).text
        + requests.get(f"{base}/tests/{run['id']}/", cookies=_session(base)).text
        for run in listed
    )
    secrets = (*SECRETS.items(), ("review token", REVIEW_TOKEN))
    found = [name for name, value in secrets if value in logs]
    attack = f"Test command printing its environment ({len(listed)} test logs read)"
    answer = f"secrets shown: {', '.join(found) or 'none'}"
    printed = "PATH=" in logs  # the command did print its environment
    rows.append((attack, answer + ("" if printed else " (no environment printed)"),
                 printed and not found))  # fmt: skip

    hook = [r for r in stub.seen if r["path"].startswith("/deploy")]
    sent = hook[0].get("authorization", "") if hook else ""
    basic = "Basic " + base64.b64encode(b"deployer:hunter2").decode()
    shown = requests.get(f"{base}/api/pushes/{push_id}/", headers=rel).text
    shown += requests.get(f"{base}/pushes/{push_id}/", cookies=_session(base)).text
    leaks = [word for word in ("hunter2", "k-attack-123") if word in shown]
    auth = "Basic auth sent" if sent == basic else "Basic auth not sent"
    answer = f"called {len(hook)} time(s), {auth}, shown: {', '.join(leaks) or 'nothing'}"
    attack = "Deploy hook `http://deployer:hunter2@host/deploy?api_key=...`"
    rows.append((attack, answer, len(hook) == 1 and sent == basic and not leaks))
    return rows


_TOKENS: dict[str, dict[str, str]] = {}


def _token(base: str, name: str) -> dict[str, str]:
    """`name`'s API token header, asked for once."""
    if name not in _TOKENS:
        got = requests.post(
            f"{base}/api/auth/token/",
            json={"username": name, "password": f"{name}-correct-horse"},
        )
        _TOKENS[name] = {"Authorization": f"Token {got.json()['token']}"}
    return _TOKENS[name]


_SESSIONS: dict[str, requests.cookies.RequestsCookieJar] = {}


def _session(base: str) -> requests.cookies.RequestsCookieJar:
    """rel signed in on the web."""
    if base not in _SESSIONS:
        session = requests.Session()
        session.get(f"{base}/login/")
        session.post(f"{base}/login/", headers={"Referer": f"{base}/login/"}, data={
            "username": "rel", "password": "rel-correct-horse",
            "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")})  # fmt: skip
        _SESSIONS[base] = session.cookies
    return _SESSIONS[base]


def signed(body: str, timestamp: str | None = None, secret: str = SIGNING_SECRET) -> dict:
    stamp = timestamp or str(int(time.time()))
    mac = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={mac}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def attacks(base: str, revision: str) -> list[tuple[str, str, bool]]:
    rows: list[tuple[str, str, bool]] = []

    def row(attack: str, response: requests.Response, expected: int, code: str = "") -> None:
        try:
            got = response.json().get("error", "")
        except ValueError:
            got = "(not JSON)"
        held = response.status_code == expected and (not code or got == code)
        rows.append((attack, f"{response.status_code} `{got}`", held))

    slack = f"{base}/slack/events"
    body = "payload=" + urllib.parse.quote("{")
    row(
        "Slack: unsigned `payload=%7B`",
        requests.post(
            slack, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        ),
        401,
    )
    row(
        "Slack: signed with a wrong secret",
        requests.post(slack, data=body, headers=signed(body, secret="guess")),
        401,
    )
    row(
        "Slack: timestamp `tomorrow`",
        requests.post(slack, data=body, headers=signed(body, timestamp="tomorrow")),
        401,
    )
    deep = "payload=" + urllib.parse.quote("[" * 3000 + "]" * 3000)
    row(
        "Slack: signed, payload nested 3,000 deep",
        requests.post(slack, data=deep, headers=signed(deep)),
        400,
    )
    listed = "payload=" + urllib.parse.quote("[1, 2]")
    row(
        "Slack: signed, payload a list",
        requests.post(slack, data=listed, headers=signed(listed)),
        400,
    )

    nested = "[" * 3000 + "]" * 3000
    json_headers = {"Content-Type": "application/json"}
    deep_json = requests.post(f"{base}/api/auth/token/", data=nested, headers=json_headers)
    row("JSON nested 3,000 deep to /api/auth/token/", deep_json, 400, "parse-error")
    big = json.dumps({"username": "a" * (10 * 1024 * 1024)})
    row(
        "10 MB JSON body to /api/auth/token/",
        requests.post(f"{base}/api/auth/token/", data=big, headers=json_headers),
        413,
    )

    token_url = f"{base}/api/auth/token/"
    tries = [
        requests.post(token_url, json={"username": "alice", "password": f"wrong{n}"})
        for n in range(30)
    ]
    refused = sum(r.status_code == 429 for r in tries)
    right = requests.post(token_url, json={"username": "alice", "password": "alice-correct-horse"})
    attack = (
        f"30 wrong passwords for alice on the token API ({refused} refused 429), then the right one"
    )
    row(attack, right, 429, "locked-out")
    session = requests.Session()
    session.get(f"{base}/login/")
    for n in range(30):
        page = session.post(
            f"{base}/login/",
            data={
                "username": "bob",
                "password": f"wrong{n}",
                "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
            },
            headers={"Referer": f"{base}/login/"},
        )
    rows.append(
        (
            "30 wrong passwords for bob on /login/",
            f"last: {page.status_code}",
            page.status_code == 429,
        )
    )

    auth = _token(base, "rel")
    pick = requests.post(
        f"{base}/api/picks/", json={"revision": revision, "reason": "Urgent"}, headers=auth
    )
    row("Queue down: request a pick (its review fetch waits in the outbox)", pick, 201)
    branches = requests.get(f"{base}/api/branches/", headers=auth).json()
    first = (branches.get("results") or branches or [{}])[0] if branches else {}
    now = requests.post(
        f"{base}/api/branches/{first.get('id', 0)}/push-now/", json={"early": True}, headers=auth
    )
    row("Queue down: push now", now, 503, "queue-unavailable")

    page = requests.get(f"{base}/login/")
    wanted = (
        "Content-Security-Policy",
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Cross-Origin-Opener-Policy",
    )
    missing = [h for h in wanted if h not in page.headers]
    csp = page.headers.get("Content-Security-Policy", "")
    scripts = _directive(csp, "script-src")
    answer = f"missing: {', '.join(missing) or 'none'}; script-src: {scripts}"
    rows.append(("Headers on /login/", answer, not missing and "'unsafe-inline'" not in scripts))
    return rows


def _directive(csp: str, name: str) -> str:
    for part in csp.split(";"):
        if part.strip().startswith(name):
            return part.strip()[len(name) :].strip() or "(empty)"
    return "(none)"


if __name__ == "__main__":
    sys.exit(main())
