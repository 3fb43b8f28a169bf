"""Celery beat's scheduler for Releasebot: one beat fires at a time, wherever beats run.

Celery's file scheduler with two changes:
- it makes the schedule file's folder (a fresh data folder has none, and beat stopped at once),
  and opens the file only once it holds the lock;
- it fires only while it holds the beat lock. A second beat (another container or host, or a
  restart that overlaps the old one) waits, and takes over within `BEAT_LOCK_SECONDS` of the
  first one dying. With Redis the lock is a key with an expiry the holder renews; embedded, it
  is a file lock in the data folder (released by the kernel when its holder dies).

Selected by settings (CELERY_BEAT_SCHEDULER). A holder stalled past the expiry can overlap its
successor for one tick: every scheduled task is idempotent, so that costs a duplicate tick.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from pathlib import Path
from typing import Any, Protocol

import redis
from celery.beat import PersistentScheduler
from django.conf import settings

log = logging.getLogger(__name__)

REDIS_KEY = "releasebot:beat-lock"
# Renew (or give up) atomically: only the holder's own token may extend or delete the key.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"  # noqa: E501
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"  # noqa: E501


class BeatLock(Protocol):
    def hold(self) -> bool:
        """Take the lock or keep it; False while someone else holds it."""

    def release(self) -> None: ...


class RedisLock:
    """A key with an expiry: held while its holder renews it, free `seconds` after it stops."""

    def __init__(self, url: str, seconds: int, key: str = REDIS_KEY) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=5)
        self.key, self.seconds = key, seconds
        self.token = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def hold(self) -> bool:
        ms = self.seconds * 1000
        if self.client.eval(_RENEW, 1, self.key, self.token, ms):
            return True
        return bool(self.client.set(self.key, self.token, nx=True, px=ms))

    def release(self) -> None:
        self.client.eval(_RELEASE, 1, self.key, self.token)


class FileLock:
    """flock on a file in the data folder: one holder per machine, freed when it dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file: Any = None

    def hold(self) -> bool:
        if self.file is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = open(self.path, "a")  # noqa: SIM115 (kept open while held)
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            return False
        self.file = file
        return True

    def release(self) -> None:
        if self.file is not None:
            self.file.close()  # closing drops the flock
            self.file = None


def beat_lock() -> BeatLock:
    seconds = settings.BEAT_LOCK_SECONDS
    if settings.REDIS_URL:
        return RedisLock(settings.REDIS_URL, seconds)
    return FileLock(Path(settings.DATA_DIR) / "celery" / "beat.lock")


class Scheduler(PersistentScheduler):
    """Celery's file scheduler that makes its folder and fires only while holding the lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        filename = kwargs.get("schedule_filename")
        if filename:
            Path(filename).parent.mkdir(parents=True, exist_ok=True)
        self.lock = kwargs.pop("lock", None) or beat_lock()
        self.holding: bool | None = None  # not asked yet
        # The schedule file is opened by the holder only (tick, below): two beats sharing a data
        # folder would otherwise both write one shelve file, which is not made for that.
        kwargs["lazy"] = True
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        # Ask again within a third of the expiry, so a holder renews well before it lapses.
        recheck = max(settings.BEAT_LOCK_SECONDS / 3, 0.1)
        try:
            holding = self.lock.hold()
        except redis.RedisError as error:
            log.warning("beat: cannot reach Redis for the beat lock (%s); not firing", error)
            holding = False
        if holding != self.holding:
            self.holding = holding
            if holding:
                log.info("beat: holding the beat lock; this beat fires the schedule")
            else:
                log.info("beat: another beat holds the beat lock; waiting to take over")
        if not holding:
            return recheck
        if self._store is None:
            self.setup_schedule()
        return min(super().tick(*args, **kwargs), recheck)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.holding:
                self.lock.release()  # a waiting beat takes over at its next look
                self.holding = False
