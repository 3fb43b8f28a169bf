"""The outside run of issue 16: a running Releasebot (the demo of `make run`) is connected to a
GitHub stand-in, a change is merged to the demo's trunk as a pull request would merge it, and
GitHub's two deliveries are posted, signed, over HTTP: the `push` to trunk, then `labeled` with
the `pick` label on the merged pull request. It then waits for the pick, the comment and the
label, and prints one row per step.

    RELEASEBOT_WEBHOOK_SECRET_SHOP=live-webhook-secret RELEASEBOT_REVIEW_TOKEN_SHOP=live-token \\
        PORT=8765 make run          # in one terminal, from a clean data folder
    .venv/bin/python tests/forges/live_label.py --url http://127.0.0.1:8765 --data-dir var

Not collected by pytest (its name does not start with test_); tests/forges/ holds the same
promises as tests.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.forges.payloads import payload  # noqa: E402
from tests.stubs.forge_servers import Forge  # noqa: E402

SECRET, TOKEN = "live-webhook-secret", "live-token"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--data-dir", default="var", help="the running Releasebot's data folder")
    parser.add_argument("--user", default="rel", help="a release engineer (password = name)")
    args = parser.parse_args()
    api = requests.Session()
    token = api.post(f"{args.url}/api/auth/token/",
                     json={"username": args.user, "password": args.user}, timeout=10)  # fmt: skip
    token.raise_for_status()
    api.headers["Authorization"] = f"Token {token.json()['token']}"
    with Forge("github", "acme/app", TOKEN) as github:
        setup = api.patch(
            f"{args.url}/api/repositories/shop/forge/",
            json={
                "review_tool": "github",
                "review_api_url": github.api_url,
                "review_allow_http": True,
                "review_token_env": "RELEASEBOT_REVIEW_TOKEN_SHOP",
                "forge_project": "acme/app",
                "webhook_secret_env": "RELEASEBOT_WEBHOOK_SECRET_SHOP",
            },
            timeout=10,
        )
        row("connect the demo repository", setup.status_code, setup.json().get("health"))
        sha = merge_to_trunk(Path(args.data_dir) / "demo" / "shop.git")
        row("merge a change to trunk", 0, sha[:10])
        github.pull(4242, merge_sha=sha, author="alice-gh", labels=["pick"])

        push = payload("github", "push")
        push.update(ref="refs/heads/main", after=sha)
        answer = deliver(args.url, "push", push)
        row("signed push to trunk", answer.status_code, answer.json().get("outcome"))
        forged = deliver(args.url, "push", push, signature="sha256=" + "0" * 64)
        row("the same push, forged", forged.status_code, forged.json().get("error"))

        label = payload("github", "pull_request.labeled")
        label["number"] = label["pull_request"]["number"] = 4242
        label["pull_request"].update(merged=True, merge_commit_sha=sha, state="closed")
        label["pull_request"]["html_url"] = "https://github.com/acme/app/pull/4242"
        started = time.monotonic()
        answer = deliver(args.url, "pull_request", label)
        row("signed 'labeled' on the merged PR", answer.status_code, answer.json().get("outcome"))
        again = deliver(args.url, "pull_request", label, delivery=answer.json()["delivery"])
        row("its redelivery", again.status_code, f"duplicate={again.json().get('duplicate')}")

        found = wait(lambda: github.pulls[4242].comments and "picked" in github.pulls[4242].labels)
        took = time.monotonic() - started
        picks = api.get(f"{args.url}/api/picks/", params={"limit": 200}, timeout=10).json()
        pick = next((p for p in picks["results"] if p["sha"] == sha), None)
        what = f"#{pick['id']} {pick['state']} for {pick['requestor']}" if pick else "none"
        row("the pick", 200 if pick else 404, what)
        comment = next(iter(github.pulls[4242].comments.values()), "")
        row("the comment on the PR", 200 if comment else 404, comment.splitlines()[1:2])
        row("the PR's labels", 200 if found else 404, github.pulls[4242].labels)
        row("from the label to both written back", 0, f"{took:.1f} s")
        return 0 if pick and found else 1


def merge_to_trunk(remote: Path) -> str:
    """A commit on the demo remote's trunk by alice, as a squash-merged pull request leaves it."""
    env = {"GIT_AUTHOR_NAME": "Alice Chen", "GIT_AUTHOR_EMAIL": "alice@example.com",
           "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com",
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    run = lambda *a, **k: subprocess.run(  # noqa: E731
        ["git", "-C", str(remote), *a], check=True, capture_output=True, text=True, **k
    )
    tree = run("rev-parse", "main^{tree}").stdout.strip()
    message = f"Fix the checkout total rounding ({uuid.uuid4().hex[:6]}) (#4242)\n"
    sha = run("commit-tree", tree, "-p", "main", "-m", message, env=env).stdout.strip()
    run("update-ref", "refs/heads/main", sha)
    return sha


def deliver(url: str, event: str, body: dict, *, signature: str = "", delivery: str = ""):
    raw = json.dumps(body).encode()
    digest = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature or f"sha256={digest}",
    }
    return requests.post(f"{url}/hooks/github/", data=raw, headers=headers, timeout=10)


def wait(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def row(step: str, status: int, what: object) -> None:
    print(f"| {step} | {status} | {what} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
