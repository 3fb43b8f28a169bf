"""The embedded Celery broker: kombu's filesystem transport without its read/write races.

kombu's transport (celery/kombu#1551, open) lets a reader see a file another process is still
writing: a message is created empty and then filled, and an exchange table is truncated before
its lock is taken. A reader that loads it half-written raises JSONDecodeError and the worker
stops ("Unrecoverable error"). Here every file appears whole or not at all: it is written under
a name no reader looks at (`<name>.partial`) and renamed into place (atomic on one filesystem),
and a consumer claims a message by renaming it, so two consumers never both take one.

Selected by settings (CELERY_BROKER_TRANSPORT) when REDIS_URL is unset. Delivery is as before:
a message is removed when a worker takes it, so a worker killed mid-task loses that task and the
database's reconciler (the tick) re-drives the work.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from kombu.transport import filesystem
from kombu.utils.json import dumps, loads

PARTIAL = ".partial"
CLAIMED = ".claimed"


def write_atomically(path: Path | str, data: bytes) -> None:
    """Write `data` to `path` so that a reader sees all of it or no file at all."""
    partial = f"{path}.{uuid.uuid4().hex}{PARTIAL}"
    with open(partial, "wb") as out:
        out.write(data)
    os.rename(partial, path)


class Channel(filesystem.Channel):
    """Messages and exchange tables written whole, claimed by rename."""

    # kombu's two base classes name the second argument differently (message, payload).
    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # The name sorts by time (FIFO) and, after its first dot, names the queue.
        name = f"{round(monotonic() * 1000):015d}_{uuid.uuid4()}.{queue}.msg"
        write_atomically(os.path.join(self.data_folder_out, name), dumps(message).encode())

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            # `.partial` and `.claimed` names end otherwise, so they never match.
            if name.partition(".")[2] != wanted:
                continue
            path = os.path.join(self.data_folder_in, name)
            claimed = f"{path}.{os.getpid()}{CLAIMED}"
            try:
                os.rename(path, claimed)  # only one consumer's rename succeeds
            except FileNotFoundError:
                continue  # another consumer took it
            with open(claimed, "rb") as message:
                payload = message.read()
            os.remove(claimed)
            return loads(payload)
        raise Empty()

    # Exchange tables (fanout and topic bindings): read whole, changed under a lock file.

    def get_table(self, exchange: str) -> list[filesystem.exchange_queue_t]:
        try:
            table = loads(self._exchange_file(exchange).read_bytes())
        except FileNotFoundError:
            return []
        return [filesystem.exchange_queue_t(*row) for row in table]

    @contextlib.contextmanager
    def _table_for_update(self, exchange: str) -> Iterator[list[filesystem.exchange_queue_t]]:
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(parents=True, exist_ok=True)
        with open(f"{file}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
            table = self.get_table(exchange)
            before = list(table)
            yield table
            if table != before:
                write_atomically(file, dumps(table).encode())

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_for_update(exchange) as table:
            if row not in table:
                table.insert(0, row)

    def _delete(self, queue: str, exchange: str, routing_key: str, pattern: str, *args, **kwargs):
        # The virtual channel forgets the queue; the filesystem one's table update is replaced.
        super(filesystem.Channel, self)._delete(
            queue, exchange, routing_key, pattern, *args, **kwargs
        )
        row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_for_update(exchange) as table:
            if row in table:
                table.remove(row)


class Transport(filesystem.Transport):
    """kombu's filesystem transport with the channel above; `driver_type` stays "filesystem",
    so Celery keeps mingle and gossip (broadcasts over fanout files) off for it."""

    Channel = Channel
