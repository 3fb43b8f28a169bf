"""Per-repository locks that serialise git-writing work across processes on one host.

The managed clone is shared by the web process, workers and management commands; git's own
lock files make concurrent writers fail rather than wait, so writers queue on a file lock.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings


class LockTimeout(RuntimeError):
    """Another process held the repository's lock for longer than we were willing to wait."""


@contextmanager
def repository_lock(slug: str, *, timeout: float = 600.0) -> Iterator[None]:
    folder = settings.DATA_DIR / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with open(folder / f"{slug}.lock", "w") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"repository {slug} is busy; try again shortly") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
