"""Locks on a repository's git work and on a branch's push, for one host or many.

Two things need guarding, and each has its own tool:
- This host's clone: git's lock files make two writers in one clone fail rather than wait, so
  writers queue on a file lock beside the clone. A clone is one host's (each host keeps its
  own), so a file lock is exactly as wide as what it guards.
- The work itself, across hosts: one push of a branch at a time, one trunk index at a time, one
  process moving a repository's branches on origin. With PostgreSQL these are advisory locks
  held on a connection of their own, so every host sees them and a host that dies (its
  connections gone) releases them at once. With SQLite there is one host by construction (the
  database is a local file), and the file lock is the whole story.

`repository_lock` takes both, the engine's first: the order is the same everywhere, so two
holders never wait on each other in a circle.
"""

from __future__ import annotations

import fcntl
import hashlib
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from django.conf import settings
from django.db import connections

POLL = 0.05  # seconds between tries while another holder has the lock


class LockTimeout(RuntimeError):
    """Another process held the lock for longer than we were willing to wait."""


@contextmanager
def repository_lock(name: str, *, timeout: float = 600.0) -> Iterator[None]:
    """Hold `name` (a repository's slug, or a narrower name under it such as a branch's push)
    on every host (the database's lock) and in this host's clone (a file lock). `timeout` 0
    tries once."""
    deadline = time.monotonic() + timeout
    with ExitStack() as held:
        held.enter_context(database_lock(name, deadline=deadline))
        held.enter_context(file_lock(name, deadline=deadline))
        yield


@contextmanager
def file_lock(name: str, *, deadline: float) -> Iterator[None]:
    folder = settings.DATA_DIR / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.lock", "w") as handle:
        _wait(lambda: _flock(handle), name, deadline)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def database_lock(name: str, *, deadline: float) -> Iterator[None]:
    """A PostgreSQL session advisory lock on a connection of its own (a transaction the caller
    commits or rolls back must not release it early); nothing on other databases."""
    if connections["default"].vendor != "postgresql":
        yield
        return
    key = lock_key(name)
    connection = connections.create_connection("default")
    try:
        with connection.cursor() as cursor:
            _wait(lambda: _advisory(cursor, key), name, deadline)
            try:
                yield
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    finally:
        connection.close()


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for `name`, the same on every host."""
    digest = hashlib.blake2b(f"releasebot:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _flock(handle: Any) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _advisory(cursor: Any, key: int) -> bool:
    cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
    return bool(cursor.fetchone()[0])


def _wait(attempt: Any, name: str, deadline: float) -> None:
    while not attempt():
        if time.monotonic() >= deadline:
            raise LockTimeout(f"repository {name} is busy; try again shortly")
        time.sleep(POLL)
