"""`make run` (bin/run) keeps going when a service dies, and Ctrl-C still stops everything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.ports import free_port
from tests.workers import ROOT, wait_for

pytestmark = pytest.mark.slow


def in_session(session: int) -> dict[int, str]:
    """Every process of a session: pid and command line."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile
        if int(fields[3]) == session:  # state, ppid, pgrp, session
            found[int(stat.parent.name)] = command
    return found


def worker_leader(session: int) -> int | None:
    """The Celery worker's main process: the leader of its own process group."""
    for pid, command in in_session(session).items():
        if "celery -A releasebot worker" in command and os.getpgid(pid) == pid:
            return pid
    return None


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def bin_run(tmp_path: Path, **more_env: str) -> Iterator[tuple[subprocess.Popen, Path, int]]:
    """bin/run in a session of its own (so all it starts can be found), output to a file."""
    port, data = free_port(), tmp_path / "var"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "RELEASEBOT_DATA_DIR": str(data),
        "PORT": str(port),
        "RELEASEBOT_VENV": str(Path(sys.executable).parent.parent),
        "PYTHONUNBUFFERED": "1",
        **more_env,
    }
    output = tmp_path / "bin-run.out"
    with open(output, "wb") as out:
        run = subprocess.Popen(
            ["bash", "bin/run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
        )  # fmt: skip
    try:
        yield run, output, port
    finally:
        if run.poll() is None:
            run.kill()
        for pid in in_session(run.pid):
            os.kill(pid, signal.SIGKILL)


def test_a_killed_worker_is_restarted_and_ctrl_c_stops_everything(tmp_path):
    with bin_run(tmp_path) as (run, output, port):
        worker_log = tmp_path / "var" / "log" / "worker.log"
        login = f"http://127.0.0.1:{port}/login/"
        wait_for(lambda: answers(login), timeout=90, what="the web server")
        # The banner, and the demo's words in it, name the port it listens on: no other.
        banner = f"Releasebot is running at http://127.0.0.1:{port}"
        wait_for(lambda: banner in output.read_text(), timeout=30, what="the banner")
        text = output.read_text()
        assert f"Open http://127.0.0.1:{port} and log in as" in text
        assert "Confirmation window opened: push " in text
        assert ":8000" not in text
        wait_for(lambda: worker_log.exists() and " ready." in worker_log.read_text(), timeout=60,
                 what="the worker to start")  # fmt: skip
        first = worker_leader(run.pid)
        assert first is not None

        os.killpg(first, signal.SIGKILL)  # the worker and its pool, as the OOM killer might
        wait_for(lambda: worker_log.read_text().count(" ready.") == 2, timeout=60,
                 what="the worker to be restarted")  # fmt: skip
        assert "bin/run: worker exited (status 137); starting it again" in output.read_text()
        assert worker_leader(run.pid) not in (None, first)
        assert answers(login)
        assert run.poll() is None

        run.send_signal(signal.SIGINT)  # Ctrl-C
        assert run.wait(timeout=30) == 130
        wait_for(lambda: not in_session(run.pid), timeout=5,
                 what=f"no process left: {in_session(run.pid)}")  # fmt: skip


def test_a_service_that_keeps_dying_stops_everything_and_says_which(tmp_path):
    with socket.socket() as taken:  # the web server's port is taken: it exits at once, each time
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        with bin_run(tmp_path, PORT=port, RELEASEBOT_RUN_MAX_RESTARTS="2") as (run, output, _):
            assert run.wait(timeout=90) == 1
            wait_for(lambda: not in_session(run.pid), timeout=15,
                     what=f"no process left: {in_session(run.pid)}")  # fmt: skip
    text = output.read_text()
    assert text.count("bin/run: web exited (status 1); starting it again") == 2
    log = tmp_path / "var" / "log" / "web.log"
    stopped = "bin/run: web exited (status 1) after 2 restarts in a minute; stopping everything."
    assert f"{stopped} Its log: {log}" in text
    assert "That port is already in use" in log.read_text()


@pytest.mark.parametrize("port", ["eighty", "0", "65536", "-1"])
def test_a_port_that_is_no_port_is_refused_before_anything_starts(tmp_path, port):
    env = {**os.environ, "PORT": port, "RELEASEBOT_DATA_DIR": str(tmp_path / "data")}
    run = subprocess.run(["bash", "bin/run"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 2
    assert f"bin/run: PORT must be a port number from 1 to 65535, not '{port}'" in run.stderr
    assert not (tmp_path / "data").exists()  # not migrated, nothing started
