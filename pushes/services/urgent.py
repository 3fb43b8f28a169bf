"""Urgent picks: asked for as urgent, once approved a pick goes to a push started for it now.

"Started now" keeps every step of an ordinary push: the push is due after the repository's
confirmation lead, its requestors are asked to confirm at once (its T-30 come early), and what
has not been confirmed by its slot does not go out. Only the wait for the next daily push is
skipped. `pick_approve` calls both functions, inside its transaction.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from pushes.choices import PUSH_UPCOMING_STATES, PushKind, PushState
from pushes.models import Engineer, Pick, Push, PushEvent
from pushes.services.push_requests import _push_new
from pushes.services.push_states import push_note
from pushes.services.train import pick_ask_confirmation, push_confirmations_open, push_skip_reason

# The first words of the note a push started for an urgent pick has in its story.
_STARTED = "Started now for urgent pick #{pick},"


def pick_urgent_push(*, pick: Pick, actor: Engineer) -> Push | None:
    """Move an urgent pick, just approved, to a push started for it: the branch's next push if
    it is due within the confirmation lead, else a new one due after that lead (the requestor's
    time to confirm). None, the pick left as it is, when no push may go out that soon: the
    branch is closed, or a freeze or Friday's no-push holds pushes back."""
    branch = pick.branch
    if not branch.takes_picks:
        return None
    now = timezone.now()
    due = now + dt.timedelta(minutes=branch.repository.confirm_lead_minutes)
    push = (
        Push.objects.filter(
            branch=branch,
            state__in=PUSH_UPCOMING_STATES,
            scheduled_at__gt=now,
            scheduled_at__lte=due,
        )
        .order_by("scheduled_at")
        .first()
    )
    planned = push or Push(branch=branch, scheduled_at=due, kind=PushKind.DAILY)
    if push_skip_reason(push=planned, now=now):
        return None
    if push is None:
        push = _push_new(branch, due)
        why = f"{_STARTED.format(pick=pick.pk)} approved by {actor}."
    else:
        why = f"Urgent pick #{pick.pk} joined, approved by {actor}: it is due soon enough."
    push.branch = branch
    push_note(push_id=push.pk, state=push.state, reason=why, actor=actor)
    Pick.objects.filter(pk=pick.pk).update(push=push, updated_at=now)
    pick.push = push
    return push


def pick_urgent_ask(*, pick: Pick) -> Pick:
    """Ask the requestor of an urgent pick to confirm at once, as in a push's confirmation
    window: a push not asking yet opens its confirmations now, for every pick it carries; in
    one that is, this requestor is asked."""
    push = pick.push
    assert push is not None, "an urgent pick was given its push first"
    if push.state != PushState.SCHEDULED:
        return pick_ask_confirmation(pick=pick)
    push_confirmations_open(push_id=push.pk)
    return Pick.objects.select_related(
        "branch__repository", "requestor__user", "backup__user", "push__branch__repository"
    ).get(pk=pick.pk)


def pick_urgent_started(*, pick: Pick) -> bool:
    """Whether the pick's push was started for it because it is urgent (its story says so)."""
    return bool(
        pick.urgent
        and pick.push_id
        and PushEvent.objects.filter(
            push_id=pick.push_id, reason__startswith=_STARTED.format(pick=pick.pk)
        ).exists()
    )


def pick_urgent_note(*, pick: Pick) -> str:
    """What every channel adds to "approved for push X" when that push was started for the
    pick because it is urgent, or ""."""
    return ", started for it because it is urgent" if pick_urgent_started(pick=pick) else ""
