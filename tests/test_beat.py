"""Celery beat (releasebot/beat.py): it starts on a fresh data folder, and of two beats only the
one holding the beat lock fires; the other takes over when the first dies."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from celery.schedules import schedule

from releasebot.beat import FileLock, RedisLock, Scheduler
from releasebot.celery import app
from tests.redis_server import redis_server
from tests.workers import ROOT, wait_for

needs_redis = pytest.mark.skipif(
    not shutil.which("redis-server"), reason="redis-server is not installed"
)


class Recording(Scheduler):
    """Records what it fires instead of sending it: the decision to fire is what is tested."""

    def __init__(self, *args, **kwargs) -> None:
        self.fired: list[float] = []
        super().__init__(*args, **kwargs)

    def setup_schedule(self) -> None:
        super().setup_schedule()
        # Instead of the settings' schedule (every 10 s and every minute): every 0.1 s.
        self.merge_inplace({"tick": {"task": "pushes.tasks.train_tick", "schedule": schedule(0.1)}})

    def apply_entry(self, entry, producer=None) -> None:
        self.fired.append(time.monotonic())
        entry.last_run_at = self.app.now()  # as a sent entry would be marked


def scheduler(folder: Path, lock) -> Recording:
    return Recording(app=app, schedule_filename=str(folder / "celery" / "beat-schedule"), lock=lock)


def run(schedulers: list[Recording], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for one in schedulers:
            one.tick()
        time.sleep(0.05)


def test_the_scheduler_makes_the_schedule_folder_of_a_fresh_data_folder(tmp_path, settings):
    first = scheduler(tmp_path / "fresh", FileLock(tmp_path / "beat.lock"))
    run([first], 0.5)
    first.close()
    assert first.fired
    assert list((tmp_path / "fresh" / "celery").glob("beat-schedule*"))


def test_a_second_scheduler_waits_for_the_file_lock_and_takes_over(tmp_path, settings):
    # Embedded: two beats on one data folder, so one lock file and one schedule file.
    settings.BEAT_LOCK_SECONDS = 1
    first = scheduler(tmp_path, FileLock(tmp_path / "beat.lock"))
    second = scheduler(tmp_path, FileLock(tmp_path / "beat.lock"))
    run([first, second], 1.0)
    assert first.fired and not second.fired
    assert second._store is None  # the waiting one never opened the schedule file
    first.close()  # closes the lock file, as the kernel does when its process dies
    taken_over = time.monotonic()
    run([second], 1.0)
    assert second.fired and second.fired[0] - taken_over < 0.5
    second.close()


@needs_redis
def test_a_second_scheduler_waits_for_the_redis_lock_and_takes_over_when_it_expires(
    tmp_path, settings
):
    settings.BEAT_LOCK_SECONDS = 2
    with redis_server(tmp_path) as server:
        first = scheduler(tmp_path / "a", RedisLock(server.url, 2))
        second = scheduler(tmp_path / "b", RedisLock(server.url, 2))
        run([first, second], 3.0)  # longer than the expiry: the holder renews it
        assert first.fired and not second.fired
        died = time.monotonic()  # the first stops ticking, as if killed: its key expires
        run([second], 3.5)
        assert second.fired
        assert 1.5 < second.fired[0] - died < 3.5
        second.close()  # a clean stop frees the key at once
        third = scheduler(tmp_path / "c", RedisLock(server.url, 2))
        run([third], 0.3)
        assert third.fired


@contextmanager
def beat(data_dir: Path, log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    command = [sys.executable, "-m", "celery", "-A", "releasebot", "beat", "-l", "info"]
    child_env = {
        **os.environ, "DEBUG": "1", "RELEASEBOT_DATA_DIR": str(data_dir),
        "RELEASEBOT_BEAT_LOCK_SECONDS": "2", "PYTHONUNBUFFERED": "1", **env,
    }  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=child_env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@pytest.mark.slow
@needs_redis
def test_beat_starts_on_a_fresh_data_folder_with_redis_and_a_second_beat_takes_over(tmp_path):
    # Two hosts' beats: each its own fresh data folder, one Redis.
    with redis_server(tmp_path) as server:
        env = {"REDIS_URL": server.url}
        logs = [tmp_path / "beat-a.log", tmp_path / "beat-b.log"]
        with beat(tmp_path / "a", logs[0], env) as first:
            wait_for(lambda: "holding the beat lock" in logs[0].read_text(), timeout=20,
                     what=f"the first beat to hold the lock:\n{logs[0].read_text()}")  # fmt: skip
            with beat(tmp_path / "b", logs[1], env) as second:
                wait_for(lambda: "waiting to take over" in logs[1].read_text(), timeout=20,
                         what=f"the second beat to wait:\n{logs[1].read_text()}")  # fmt: skip
                assert "Sending due task" not in logs[1].read_text()
                os.killpg(first.pid, signal.SIGKILL)
                wait_for(lambda: "Sending due task" in logs[1].read_text(), timeout=20,
                         what=f"the second beat to take over:\n{logs[1].read_text()}")  # fmt: skip
                assert second.poll() is None
