"""A push's state, moved one step at a time with the step added to its story (PushEvent).

Every change of a push's state goes through `push_state_move`: a push's history is only ever
added to, so a failure a retry later fixed is still there for the delivery metrics, and the
push page can tell the whole story (started, failed and why, retried by whom, pushed, done).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from common.redact import redact
from pushes.models import Engineer, Push, PushEvent


def push_state_move(
    *,
    push_id: int,
    to: str,
    from_states: Iterable[str],
    actor: Engineer | None = None,
    reason: str = "",
    **fields: Any,
) -> bool:
    """Move the push to `to` if it is in one of `from_states`, setting `fields`, and record the
    step; False, with nothing written, if it was not (another run moved it first).

    The one place a push's error and story are stored: both pass through the redactor, so a
    hook URL's credentials or a secret a command printed never reach the page, API or chat."""
    if "error" in fields:
        fields["error"] = redact(fields["error"])
    with transaction.atomic():
        current = (
            Push.objects.select_for_update()
            .filter(pk=push_id, state__in=list(from_states))
            .values_list("state", flat=True)
            .first()
        )
        if current is None:
            return False
        Push.objects.filter(pk=push_id).update(state=to, **fields)
        PushEvent.objects.create(
            push_id=push_id,
            actor=actor,
            at=timezone.now(),
            from_state=current,
            to_state=to,
            reason=redact(reason)[:5000],
        )
    return True


def push_note(*, push_id: int, state: str, reason: str, actor: Engineer | None = None) -> None:
    """Add a step to the push's story that leaves its state as it is (e.g. "pushed")."""
    PushEvent.objects.create(
        push_id=push_id, actor=actor, at=timezone.now(), from_state=state, to_state=state,
        reason=redact(reason)[:5000],
    )  # fmt: skip
