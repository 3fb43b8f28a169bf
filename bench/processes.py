"""Real server processes for the benchmarks: a Celery worker and gunicorn, on the bench's
database and broker, and their memory (RSS from /proc: psutil is not a dependency).

Both run without DEBUG, as in service (DEBUG keeps every query in memory and slows requests).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-only-secret-key-never-used-outside-make-bench-0123456789"


def server_env(**extra: str) -> dict[str, str]:
    from django.conf import settings

    from tests.workers import test_database_url

    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": SECRET,
        # The same URL the tests give their worker processes (tests/workers.py).
        "DATABASE_URL": test_database_url(),
        "RELEASEBOT_DATA_DIR": str(settings.DATA_DIR),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        # Plain HTTP on loopback, where production has a TLS proxy in front.
        "SECURE_SSL_REDIRECT": "0",
    }
    env.update(extra)
    return env


def rss_mb(pid: int) -> float:
    """Resident memory of one process, in MB (VmRSS), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    log: Path
    port: int = 0
    queue: str = ""

    def memory(self) -> dict[str, float]:
        """RSS in MB of the main process and each child (pool workers)."""
        found = {"main": rss_mb(self.process.pid)}
        for n, child in enumerate(children(self.process.pid), start=1):
            found[f"child {n}"] = rss_mb(child)
        return found


def _stop(process: subprocess.Popen, sig: signal.Signals = signal.SIGQUIT) -> None:
    """Signal the server's whole group (its figures are taken, nothing is left to drain),
    then SIGKILL what lingers."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def _wait(ready, process: subprocess.Popen, log: Path, what: str, timeout: float = 60) -> None:
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited early:\n{log.read_text(errors='replace')[-3000:]}")
        if ready():
            print(f"  ({what} up in {time.monotonic() - started:.1f} s)", flush=True)
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready after {timeout} s:\n{log.read_text(errors='replace')}")


@contextmanager
def celery_worker(*, concurrency: int = 2, env: dict[str, str] | None = None) -> Iterator[Server]:
    """A `celery worker` on a queue of its own; this process's Celery app sends there too
    while the block runs."""
    from django.conf import settings

    from releasebot.celery import app

    queue = f"bench-{uuid.uuid4().hex[:12]}"
    log = Path(settings.DATA_DIR) / f"worker-{queue}.log"
    command = [
        sys.executable, "-m", "celery", "-A", "releasebot", "worker", "-Q", queue,
        "--concurrency", str(concurrency), "--pool", "prefork", "-l", "info",
        "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", f"{queue}@%h",
    ]  # fmt: skip
    saved = (app.conf.task_default_queue, dict(app.conf.broker_transport_options or {}))
    app.conf.task_default_queue = queue
    if app.conf.broker_url.startswith("filesystem"):
        # The worker's folders follow its RELEASEBOT_DATA_DIR: send to the same ones.
        folder = Path(settings.DATA_DIR) / "celery"
        for name in ("queue", "control"):
            (folder / name).mkdir(parents=True, exist_ok=True)
        app.conf.broker_transport_options = {
            **saved[1],
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
        }
    _reset_pools(app)
    process = _start(command, server_env(CELERY_QUEUE=queue, **(env or {})), log)
    try:
        _wait(lambda: " ready." in log.read_text(errors="replace"), process, log, "celery worker")
        yield Server(process, log, queue=queue)
    finally:
        # Celery takes seconds to shut down on any signal but SIGKILL, which is safe here:
        # every message on its private queue has been handled.
        _stop(process, signal.SIGKILL)
        app.conf.task_default_queue, app.conf.broker_transport_options = saved
        _reset_pools(app)


def _reset_pools(app) -> None:
    """Connections and producers made before a change of queue or folder still use the old."""
    import kombu.pools

    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    kombu.pools.reset()


@contextmanager
def gunicorn(*, workers: int = 2) -> Iterator[Server]:
    """gunicorn with `workers` sync workers on bench.settings (the product's URLs plus
    /bench/bare/); ready when both URLs answer."""
    import urllib.request

    from django.conf import settings

    port = free_port()
    log = Path(settings.DATA_DIR) / f"gunicorn-{port}.log"
    command = [
        sys.executable, "-m", "gunicorn", "releasebot.wsgi:application",
        "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
    ]  # fmt: skip
    env = server_env(DJANGO_SETTINGS_MODULE="bench.settings")
    process = _start(command, env, log)

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/bare/", timeout=2) as r:
                return r.status == 200 and len(children(process.pid)) >= workers
        except OSError:
            return False

    try:
        _wait(answers, process, log, "gunicorn")
        yield Server(process, log, port=port)
    finally:
        _stop(process)
