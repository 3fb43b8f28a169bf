"""A real Celery worker process for tests that matter, isolated per test.

The worker runs `celery -A releasebot worker` in its own process, on the same broker kind as the
suite (the filesystem transport by default, Redis when REDIS_URL is set) but on a queue of its
own, against the test database. Nothing about Celery is faked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import kombu.pools
from django.conf import settings
from django.db import connection

from releasebot.celery import app

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """A DATABASE_URL for another process to reach the database this test is using."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, process: subprocess.Popen, log_path: Path, queue: str) -> None:
        self.process = process
        self.log_path = log_path
        self.queue = queue

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as a crash would."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def _isolate_broker(queue_dir: Path, queue: str, broker_url: str | None = None) -> dict:
    saved = {
        "task_default_queue": app.conf.task_default_queue,
        "broker_transport_options": dict(app.conf.broker_transport_options or {}),
        "broker_url": app.conf.broker_url,
        "broker_transport": app.conf.broker_transport,
    }
    options = dict(saved["broker_transport_options"])
    if broker_url:
        app.conf.broker_url = broker_url
        app.conf.broker_transport = None  # the embedded broker's class would override the URL
    if app.conf.broker_url.startswith("filesystem"):
        queue_dir.mkdir(parents=True, exist_ok=True)
        control = queue_dir.parent / "control"
        control.mkdir(parents=True, exist_ok=True)
        options.update(
            data_folder_in=str(queue_dir),
            data_folder_out=str(queue_dir),
            control_folder=str(control),
        )
    app.conf.task_default_queue = queue
    app.conf.broker_transport_options = options
    _reset_pools()
    return saved


def _reset_pools() -> None:
    # Connections made before the change still point at the old folder or queue.
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    kombu.pools.reset()  # kombu keeps producer pools per connection, globally


@contextmanager
def worker_process(
    *, concurrency: int = 1, env: dict | None = None, broker_url: str | None = None
) -> Iterator[WorkerProcess]:
    """Start a worker on a private queue and wait until it is ready; stop it afterwards.

    ``broker_url`` (a ``redis://`` URL) puts the worker, and this process's Celery app while the
    block runs, on that broker instead of the suite's.
    """
    queue = f"test-{uuid.uuid4().hex[:12]}"
    data_dir = Path(settings.DATA_DIR)
    saved = _isolate_broker(data_dir / "celery" / "queue", queue, broker_url)
    log_path = data_dir / f"worker-{queue}.log"
    child_env = {
        **os.environ,
        "DEBUG": "1",
        "RELEASEBOT_DATA_DIR": str(data_dir),
        "DATABASE_URL": test_database_url(),
        "CELERY_QUEUE": queue,  # so tasks the worker queues itself stay on this test's queue
        "PYTHONUNBUFFERED": "1",
        **({"REDIS_URL": broker_url} if broker_url else {}),
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "releasebot", "worker", "-Q", queue,
        "--concurrency", str(concurrency), "--pool", "prefork", "-l", "info",
        "--without-heartbeat", "--without-gossip", "--without-mingle",
        "-n", f"{queue}@%h",
    ]  # fmt: skip
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command, cwd=ROOT, env=child_env, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    worker = WorkerProcess(process, log_path, queue)
    try:
        _wait_until_ready(worker)
        yield worker
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        app.conf.task_default_queue = saved["task_default_queue"]
        app.conf.broker_transport_options = saved["broker_transport_options"]
        app.conf.broker_url = saved["broker_url"]
        app.conf.broker_transport = saved["broker_transport"]
        _reset_pools()


def _wait_until_ready(worker: WorkerProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(f"celery worker exited early:\n{worker.log}")
        if " ready." in worker.log:
            return
        time.sleep(0.1)
    raise RuntimeError(f"celery worker not ready after {timeout} s:\n{worker.log}")


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.1, what: str = "condition"):
    """Poll until predicate() is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
