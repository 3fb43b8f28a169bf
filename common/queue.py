"""The one way work is queued for a Celery worker: after the transaction that asked for it
commits, by the task's dotted path, so services never import tasks (tasks import services).

A broker that is down when the transaction commits must not turn a done change into an error:
the failure is logged, and the work the database says is due is queued again by the train's
tick (pushes, deliveries) or by the next request.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from django.db import transaction
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


class Queued:
    """A task to send once the transaction commits: what `enqueue` hands to `on_commit`."""

    def __init__(self, task: str, args: tuple[Any, ...], what: str = "") -> None:
        self.task = task
        self.args = args
        self.what = what or f"{task}{args!r}"

    def __call__(self) -> None:
        try:
            _task(self.task).delay(*self.args)
        except Exception:  # the broker is down: the change stands, the tick re-drives it
            log.exception("could not queue %s; it is queued again later", self.what)

    def __repr__(self) -> str:
        return f"Queued({self.task}{self.args!r})"


def enqueue(task: str, *args: Any, what: str = "") -> None:
    """Queue `task` (e.g. "pushes.tasks.push_run") with `args` once the current transaction
    commits; at once outside a transaction. `what` names the work in the log if the broker is
    down."""
    transaction.on_commit(Queued(task, args, what))


@cache
def _task(path: str) -> Any:
    return import_string(path)
