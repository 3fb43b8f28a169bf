"""A pick recorded as picked the moment the branch is about to carry it: CONFIRMED -> PICKED
with its commit and its event, what `pick_transition` writes, as one conditional write that
does nothing to a pick no longer confirmed (withdrawn, rejected or deferred under the push).
One pick (`pick_record_picked`) or a chunk in order (`picks_record_picked`); the merge phase of
a push (pushes.services.push_merge) calls them before it moves the branch."""

from __future__ import annotations

from itertools import chain, takewhile
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from pushes.choices import PickState
from pushes.models import Pick, PickEvent
from pushes.signals import picks_moved
from pushes.statuscache import status_changed


def pick_record_picked(pick: Pick, sha: str) -> bool:
    """Record a pick the branch now carries: CONFIRMED -> PICKED with its commit and event,
    what `pick_transition` writes, as one conditional update. False if the pick is no longer
    confirmed (withdrawn under the run, say): then nothing is written."""
    now = timezone.now()
    reason = f"Cherry-picked as {sha[:10]}."
    if connection.vendor == "postgresql" and not connection.settings_dict["OPTIONS"].get(
        "server_side_binding"
    ):
        # One round trip rather than four (BEGIN, UPDATE, INSERT, COMMIT): on a busy machine
        # each waits for the server to be scheduled. Two statements in one simple query run
        # as one transaction; the insert finds the pick only if this update moved it.
        with connection.cursor() as cursor:
            cursor.execute(
                _PICKED_SQL,
                [PickState.PICKED, sha, now, pick.pk, PickState.CONFIRMED,
                 now, PickState.CONFIRMED, PickState.PICKED, reason,
                 pick.pk, PickState.PICKED, sha, now],
            )  # fmt: skip
            cursor.nextset()
            recorded = bool(cursor.fetchall())
        if recorded:
            status_changed()  # raw SQL: no queryset tells the status cache
        return recorded
    with transaction.atomic():
        moved = Pick.objects.filter(pk=pick.pk, state=PickState.CONFIRMED).update(
            state=PickState.PICKED, result_sha=sha, updated_at=now
        )
        if moved:
            PickEvent.objects.create(
                pick_id=pick.pk,
                at=now,
                from_state=PickState.CONFIRMED,
                to_state=PickState.PICKED,
                reason=reason,
            )
    return bool(moved)


def picks_record_picked(applied: list[tuple[Pick, str]]) -> int:
    """Record picks the branch is about to carry, each with its commit, in order: what
    `pick_record_picked` writes for each, for as many as are still confirmed before the first
    that is not, in one transaction (the picks locked first). Returns how many."""
    if len(applied) < 2:
        return sum(pick_record_picked(pick, sha) for pick, sha in applied)
    now = timezone.now()
    with transaction.atomic():
        states = dict(
            Pick.objects.select_for_update()
            .filter(pk__in=[pick.pk for pick, _ in applied])
            .values_list("pk", "state")
        )
        ready = list(takewhile(lambda a: states.get(a[0].pk) == PickState.CONFIRMED, applied))
        if not ready:
            return 0
        # One statement for them all: what `update(result_sha=Case(When...))` says, without
        # the ORM compiling a condition a pick (14 ms a chunk of 20 on SQLite, profiled).
        whens = " ".join(["WHEN %s THEN %s"] * len(ready))
        marks = ", ".join(["%s"] * len(ready))
        params: list[Any] = [PickState.PICKED, connection.ops.adapt_datetimefield_value(now)]
        params += chain.from_iterable((pick.pk, sha) for pick, sha in ready)
        params += [pick.pk for pick, _ in ready] + [PickState.CONFIRMED]
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{Pick._meta.db_table}" SET "state" = %s, "updated_at" = %s, '
                f'"result_sha" = CASE "id" {whens} END WHERE "id" IN ({marks}) AND "state" = %s',
                params,
            )
            moved = cursor.rowcount
        if moved != len(ready):  # the rows are locked: this undoes the transaction
            raise RuntimeError(f"{moved} of {len(ready)} locked picks recorded")
        status_changed()  # raw SQL: no queryset tells the status cache
        PickEvent.objects.bulk_create(
            PickEvent(
                pick_id=pick.pk,
                at=now,
                from_state=PickState.CONFIRMED,
                to_state=PickState.PICKED,
                reason=f"Cherry-picked as {sha[:10]}.",
            )
            for pick, sha in ready
        )
        picks_moved.send(sender=Pick, pick_ids=[pick.pk for pick, _ in ready])
    return len(ready)


_PICKED_SQL = f"""
UPDATE "{Pick._meta.db_table}" SET "state" = %s, "result_sha" = %s, "updated_at" = %s
WHERE "id" = %s AND "state" = %s;
INSERT INTO "{PickEvent._meta.db_table}" ("pick_id", "actor_id", "at", "from_state", "to_state",
    "reason")
SELECT "id", NULL, %s, %s, %s, %s FROM "{Pick._meta.db_table}"
WHERE "id" = %s AND "state" = %s AND "result_sha" = %s AND "updated_at" = %s
RETURNING "pick_id"
""".strip()
