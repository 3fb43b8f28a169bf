"""Revision status answers ("where is my revision?") and the API tokens that ask for them, kept
in each web process's memory while nothing they show has changed.

A generation in the shared cache (Redis) names the state of everything an answer shows: a
trunk commit, a branch, a push, a pick, a repository, an engineer, a user, a token. Any change
to one of those replaces the generation, right away and again once its transaction commits.
An answer is kept beside the generation read before the database was asked, and served only
while that is still the generation: an answer computed while a change commits is kept under the
old generation and never served after it.

A process trusts the generation it read for FRESH seconds (50 ms), so that a busy process asks
Redis a few times a second rather than once a request; an answer is at most that stale. Saves
and deletes are seen through Django's signals; bulk writes send none, so the models a status
shows use `StatusQuerySet`, whose `update` and `bulk_*` replace the generation too. Nothing is
kept from inside a transaction, where the database may show writes that never commit.

Off (every question goes to the database) unless RELEASEBOT_STATUS_CACHE_SECONDS is above 0,
which settings turn on only with Redis: without a shared generation a process would never hear
of a change another one made. The cache being unreachable costs the lookup, nothing else.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction

FRESH = 0.05  # seconds a process trusts the generation it read
KEPT = 4096  # answers (and tokens) a process keeps, least recently used dropped first
log = logging.getLogger(__name__)
_memo: tuple[str, str, float] | None = None  # (key, generation, read at): one per process


class _Kept:
    """Values by key, each beside the generation it was computed under; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: OrderedDict[Hashable, tuple[str, float, Any]] = OrderedDict()

    def get(self, key: Hashable, generation: str) -> Any | None:
        with self._lock:
            found = self._values.get(key)
            if found is None:
                return None
            kept_generation, expires, value = found
            if kept_generation != generation or expires < time.monotonic():
                del self._values[key]
                return None
            self._values.move_to_end(key)
            return value

    def put(self, key: Hashable, generation: str, value: Any) -> None:
        expires = time.monotonic() + settings.RELEASEBOT_STATUS_CACHE_SECONDS
        with self._lock:
            self._values[key] = (generation, expires, value)
            self._values.move_to_end(key)
            while len(self._values) > KEPT:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


answers = _Kept()
tokens = _Kept()


def enabled() -> bool:
    """On, and not inside a transaction (whose reads may never commit)."""
    return (
        settings.RELEASEBOT_STATUS_CACHE_SECONDS > 0
        and not transaction.get_connection().in_atomic_block
    )


def current_generation() -> str | None:
    """The generation, as read from the shared cache at most FRESH seconds ago; None when the
    cache cannot be reached (then nothing is kept or served)."""
    global _memo
    key = _generation_key()
    now = time.monotonic()
    memo = _memo
    if memo and memo[0] == key and now - memo[2] < FRESH:
        return memo[1]
    try:
        generation = cache.get(key)
        if generation is None:  # a new (or flushed) cache: start a generation
            cache.add(key, uuid.uuid4().hex, None)
            generation = cache.get(key)
    except Exception as error:  # one line per miss, not a traceback: it is not a bug here
        log.warning("cache unreachable (%s): answering from the database", _short(error))
        return None
    _memo = (key, generation, now)
    return generation


def status_cached(query: str, compute: Callable[[], dict]) -> dict:
    """The answer to `query`: kept from before when nothing changed since, else `compute()`
    (kept for next time). Errors `compute` raises are never kept."""
    if not enabled():
        return compute()
    generation = current_generation()
    if generation is None:
        return compute()
    key = hashlib.sha256(query.encode()).digest()
    answer = answers.get(key, generation)
    if answer is None:
        answer = compute()
        answers.put(key, generation, answer)
    return answer


def status_kept(query: str, *, rendered: Callable[[dict], bytes]) -> bytes | None:
    """The answer to `query` kept now, as `rendered` writes it (once per answer, kept beside
    it and served only while the answer itself is); None when none is kept. Never computes."""
    if not enabled():
        return None
    generation = current_generation()
    if generation is None:
        return None
    key = hashlib.sha256(query.encode()).digest()
    answer = answers.get(key, generation)
    if answer is None:
        return None
    body = answers.get(("rendered", key), generation)
    if body is None:
        body = rendered(answer)
        answers.put(("rendered", key), generation, body)
    return body


def status_changed(**_: object) -> None:
    """Something a status shows changed: no kept answer is served again once the change
    commits. Takes and ignores a signal's arguments, so it can be connected to one."""
    if settings.RELEASEBOT_STATUS_CACHE_SECONDS > 0:
        _new_generation()  # now, against answers read before the change
        transaction.on_commit(_new_generation)  # and against those read while it commits


def _new_generation() -> None:
    global _memo
    _memo = None  # this process's next question reads the new one
    try:
        cache.set(_generation_key(), uuid.uuid4().hex, None)
    except Exception as error:
        # Kept answers live RELEASEBOT_STATUS_CACHE_SECONDS at most.
        log.warning("cache unreachable (%s): kept revision statuses not dropped", _short(error))


def _short(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}"


def forget() -> None:
    """Drop everything this process keeps (tests start from nothing)."""
    global _memo
    _memo = None
    answers.clear()
    tokens.clear()


def _generation_key() -> str:
    """Per database: two databases on one cache (test runs side by side) never mix answers."""
    return f"revision-status:{transaction.get_connection().settings_dict['NAME']}"


class StatusQuerySet(models.QuerySet):
    """A queryset whose bulk writes, which send no signals, drop kept statuses too."""

    def update(self, **kwargs) -> int:
        rows = super().update(**kwargs)
        if rows:
            status_changed()
        return rows

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            status_changed()
        return created

    def bulk_update(self, objs, *args, **kwargs) -> int:
        rows = super().bulk_update(objs, *args, **kwargs)
        if rows:
            status_changed()
        return rows


def user_saved(update_fields: frozenset[str] | None = None, **kwargs: object) -> None:
    """A user's name shows in statuses; a login (which saves `last_login`) changes nothing."""
    if update_fields is None or set(update_fields) - {"last_login"}:
        status_changed()
