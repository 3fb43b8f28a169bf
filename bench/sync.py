"""Keeping the trunk index in step with git: the first index of the whole trunk, an incremental
sync of 1,000 new commits, and a trunk push webhook to a correct status answer.

- First index: the product's `services.trunk_sync` (clone, commit-graph, index) run in a process
  of its own (`python -m bench.sync SLUG`), so that its peak memory (ru_maxrss) is its own: the
  Python process, and the largest git process it started.
- Incremental sync: 1,000 commits land on the remote's trunk (one `git fast-import` stream),
  then `services.trunk_sync` in this process, as the Celery task runs it: fetch, index, branches.
- Webhook to status: a few commits land on the remote's trunk, a signed GitHub `push` delivery
  is posted to `/hooks/github/` (Django's test client, in this process), which queues the trunk
  sync through the outbox to a real Celery worker on the configured broker; this process then
  asks `GET /api/revisions/<sha>/` for the newest commit every 10 ms until it answers 200 with
  that commit. Timed from the POST to that answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import resource
import subprocess
import sys
import time
import uuid

from bench.common import Row, median_p95

FIRST_BUDGET_S = 120.0
SYNC_BUDGET_S = 1.0
WEBHOOK_BUDGET_S = 2.0
NEW_COMMITS = 1000  # a sync's worth, for the incremental figure
PUSHED = 10  # commits a webhook's push brings
SECRET_ENV = "RELEASEBOT_WEBHOOK_SECRET_BENCH"
PROJECT = "bench/monorepo"


def index_first(repository) -> dict[str, float]:
    """The first `trunk_sync` of `repository` (no clone yet), in a process of its own: seconds
    (wall clock, process start included) and peak RSS in MB of it and of its largest git."""
    from bench.processes import ROOT, server_env

    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.sync", repository.slug],
        cwd=ROOT,
        env=server_env(),
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"the first trunk_sync failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall_s": seconds, **figures}


def run(data, *, samples: int = 3) -> tuple[list[Row], dict]:
    """Rows and figures of the incremental sync and of the webhook to status."""
    from pushes.services import trunk_sync

    synced = []
    for n in range(samples):
        _land(data, NEW_COMMITS, n)
        started = time.perf_counter()
        added = trunk_sync(repository=data.repository)
        synced.append(time.perf_counter() - started)
        if added != NEW_COMMITS:
            raise RuntimeError(f"the sync indexed {added} commits, not {NEW_COMMITS}")
    webhook = _webhook(data, samples=max(samples, 5))
    sync_median, sync_p95 = median_p95(synced)
    hook_median, hook_p95 = median_p95(webhook["seconds"])
    figures = {
        "first": data.first_index,
        "sync_ms": sync_median * 1000,
        "sync_p95_ms": sync_p95 * 1000,
        "webhook_ms": hook_median * 1000,
        "webhook_p95_ms": hook_p95 * 1000,
        "worker_mb": webhook["worker_mb"],
        "broker": webhook["broker"],
    }
    rows = [
        Row(
            name=f"incremental trunk sync of {NEW_COMMITS:,} new commits, `services.trunk_sync` "
            "(fetch, index, branches)",
            samples=len(synced),
            median_ms=sync_median * 1000,
            p95_ms=sync_p95 * 1000,
            budget=f"<= {SYNC_BUDGET_S:g} s",
            note="ok" if sync_p95 <= SYNC_BUDGET_S else "MISSED",
        ),
        Row(
            name=f"trunk push webhook ({PUSHED} commits) to a correct status answer: signed "
            "`POST /hooks/github/` (in process), trunk sync on a real Celery worker "
            f"({webhook['broker']}), `GET /api/revisions/<sha>/` polled every 10 ms",
            samples=len(webhook["seconds"]),
            median_ms=hook_median * 1000,
            p95_ms=hook_p95 * 1000,
            budget=f"<= {WEBHOOK_BUDGET_S:g} s",
            note="ok" if hook_p95 <= WEBHOOK_BUDGET_S else "MISSED",
        ),
    ]
    first = figures["first"]
    if first:
        rows.insert(
            0,
            Row(
                name=f"first index of trunk ({data.sizes.commits:,} commits), "
                "`services.trunk_sync` (clone, commit-graph, index) in a process of its own; "
                f"peak RSS {first['python_mb']:.0f} MB, its largest git {first['git_mb']:.0f} MB",
                samples=1,
                median_ms=first["wall_s"] * 1000,
                p95_ms=first["wall_s"] * 1000,
                budget=f"<= {FIRST_BUDGET_S / 60:g} minutes",
                note="ok" if first["wall_s"] <= FIRST_BUDGET_S else "MISSED",
            ),
        )
    return rows, figures


def _land(data, commits: int, n: int) -> list[str]:
    """`commits` new commits on the remote's trunk, after everything there."""
    from bench.history import history_extend

    at = data.history.times[-1] + dt.timedelta(minutes=1 + n)
    return history_extend(data.remote, data.history, commits=commits, at=at)


def _webhook(data, *, samples: int) -> dict:
    from django.conf import settings
    from django.test import Client

    from bench.processes import celery_worker
    from pushes.choices import ReviewTool

    repository = data.repository
    secret = uuid.uuid4().hex
    os.environ[SECRET_ENV] = secret  # this process answers the webhook
    repository.review_tool = ReviewTool.GITHUB
    repository.forge_project = PROJECT
    repository.webhook_secret_env = SECRET_ENV
    repository.save(update_fields=["review_tool", "forge_project", "webhook_secret_env"])
    host = settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "testserver"
    client = Client(SERVER_NAME=host)
    reader = Client(SERVER_NAME=host, HTTP_AUTHORIZATION=f"Token {data.token}")
    broker = "Redis" if settings.CELERY_BROKER_URL.startswith("redis") else "file broker"
    seconds = []
    with celery_worker(concurrency=1) as worker:
        for n in range(samples):
            before = data.history.shas[-1]
            new = _land(data, PUSHED, 100 + n)
            body = json.dumps(_push_payload(before, new[-1])).encode()
            started = time.perf_counter()
            response = client.post(
                "/hooks/github/",
                body,
                content_type="application/json",
                HTTP_X_GITHUB_EVENT="push",
                HTTP_X_GITHUB_DELIVERY=str(uuid.uuid4()),
                HTTP_X_HUB_SIGNATURE_256="sha256="
                + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            )
            if response.status_code != 202:
                raise RuntimeError(f"webhook answered {response.status_code}: {response.content!r}")
            _until_on_trunk(reader, new[-1])
            seconds.append(time.perf_counter() - started)
        memory = worker.memory()
    return {"seconds": seconds, "worker_mb": memory, "broker": broker}


def _push_payload(before: str, after: str) -> dict:
    """The fields of GitHub's `push` event that Releasebot reads, and a few it does not."""
    return {
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "created": False,
        "deleted": False,
        "forced": False,
        "repository": {"full_name": PROJECT, "name": PROJECT.split("/")[1]},
        "head_commit": {"id": after},
    }


def _until_on_trunk(client, sha: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    quiet = logging.getLogger("django.request")  # a 404 a poll is expected: not a warning
    level, quiet.level = quiet.level, logging.ERROR
    try:
        _poll(client, sha, deadline)
    finally:
        quiet.level = level


def _poll(client, sha: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        response = client.get(f"/api/revisions/{sha}/")
        if response.status_code == 200 and sha in response.content.decode():
            return
        if response.status_code != 404:
            raise RuntimeError(f"status answered {response.status_code}: {response.content[:300]}")
        time.sleep(0.01)
    raise RuntimeError(f"{sha} not on trunk by the status API in time")


def _main(slug: str) -> None:
    """In a process of its own: the first trunk_sync of `slug`; its figures as one JSON line."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasebot.settings")
    django.setup()
    from pushes.models import Repository
    from pushes.services import trunk_sync

    started = time.perf_counter()
    added = trunk_sync(repository=Repository.objects.get(slug=slug))
    seconds = time.perf_counter() - started
    # Its own peak is VmHWM: ru_maxrss of a process started by fork and exec begins at its
    # parent's (the whole bench's data), which exec records. A git child's ru_maxrss is at
    # least this process's size when it started, so it is an upper bound of git's own.
    own = _peak_mb()
    git = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KB on Linux
    print(json.dumps({"added": added, "sync_s": seconds, "python_mb": own, "git_mb": git}))


def _peak_mb() -> float:
    """This process's peak RSS since it was exec'd (VmHWM), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    _main(sys.argv[1])
