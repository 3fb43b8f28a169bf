"""Side effects outside Releasebot (a chat post, a deploy hook) that must happen once: each is
claimed under a key before it happens, in its own committed write, so a task run twice (the
broker's at-least-once delivery, a relay after a crash) finds the claim and sends nothing.

A claim that was taken and never finished (the process died in the middle) may be taken again
after `stale_after`, under the same key: the receiver sees the key twice and can drop the
second (the deploy hook gets it as `Idempotency-Key`).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.models import SideEffect

STALE_AFTER = dt.timedelta(minutes=10)


def side_effect_claim(key: str, *, stale_after: dt.timedelta = STALE_AFTER) -> bool:
    """Whether the caller may do the effect named `key` now: nobody claimed it, or a claim
    older than `stale_after` was never finished. Commits at once."""
    now = timezone.now()
    try:
        with transaction.atomic():
            SideEffect.objects.create(key=key, claimed_at=now)
        return True
    except IntegrityError:
        pass
    taken = SideEffect.objects.filter(
        key=key, done_at__isnull=True, claimed_at__lt=now - stale_after
    ).update(claimed_at=now)
    return bool(taken)


def side_effects_claim(keys: list[str]) -> set[str]:
    """Of `keys`, those the caller may do now, as `side_effect_claim` answers for each: one
    insert when none was claimed before (the usual case), else key by key. Commits at once."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return set()
    now = timezone.now()
    try:
        with transaction.atomic():
            SideEffect.objects.bulk_create([SideEffect(key=key, claimed_at=now) for key in keys])
        return set(keys)
    except IntegrityError:  # some were claimed already (a task run twice): ask for each
        return {key for key in keys if side_effect_claim(key)}


def side_effects_finish(*, done: list[str], released: list[str]) -> None:
    """`side_effect_done` for the keys in `done` and `side_effect_release` for those in
    `released`, a statement each."""
    if done:
        SideEffect.objects.filter(key__in=done).update(done_at=timezone.now(), outcome="")
    if released:
        SideEffect.objects.filter(key__in=released, done_at__isnull=True).delete()


def side_effect_done(key: str, *, outcome: str = "") -> None:
    """The effect happened (or was tried and answered): it is never claimed again."""
    SideEffect.objects.filter(key=key).update(done_at=timezone.now(), outcome=outcome)


def side_effect_release(key: str) -> None:
    """The effect did not happen (it failed before anything was sent): the next try may claim
    it at once."""
    SideEffect.objects.filter(key=key, done_at__isnull=True).delete()


def side_effect_outcome(key: str) -> str | None:
    """What a finished effect answered, or None when it has not finished."""
    effect = SideEffect.objects.filter(key=key, done_at__isnull=False).first()
    return None if effect is None else effect.outcome
