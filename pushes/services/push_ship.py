"""A push's picks shipped: every pick the pushed tag carries moves from picked to shipped with
its event and its requestor's notice, all at once (`picks_ship`); and picks a tag shipped
before a push got to them, because someone pushed the change by hand (`picks_shipped_before`).
Called by pushes.services.push_run."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from pushes.choices import NotificationKind, PickState
from pushes.models import BranchCommit, Notification, Pick, PickEvent, Push, ReleaseBranch
from pushes.services.notifications import notify_many
from pushes.signals import picks_moved


def picks_shipped_before(branch: ReleaseBranch) -> None:
    """Picks recorded as picked on a commit an earlier pushed tag carries already (someone
    pushed the change by hand, and a push went out with it, before a push got to the pick):
    shipped with that push, whatever this one's outcome."""
    out = BranchCommit.objects.filter(branch=branch, shipped_with__isnull=False)
    picked = dict(
        Pick.objects.filter(
            branch=branch, state=PickState.PICKED, result_sha__in=out.values("sha")
        ).values_list("pk", "result_sha")
    )
    if not picked:
        return
    carriers = dict(out.filter(sha__in=set(picked.values())).values_list("sha", "shipped_with"))
    by_push: dict[int, list[int]] = {}
    for pk, sha in picked.items():
        by_push.setdefault(carriers[sha], []).append(pk)
    for push in Push.objects.filter(pk__in=by_push).select_related("branch").order_by("pk"):
        with transaction.atomic():
            picks_ship(push, by_push[push.pk], reason=f"Already in {push.tag}: the change was on "
                     "the branch, pushed by hand, and went out with that push.")  # fmt: skip


def picks_ship(push: Push, pick_ids: list[int], *, reason: str = "") -> None:
    """Ship these picks with `push`, in the caller's transaction: what `pick_transition` and
    `notify` write for each (its state, its event, its requestor's notice), for all at once. The
    picks are locked first; one no longer picked is left as it is."""
    picks = list(
        Pick.objects.select_for_update()
        .filter(pk__in=pick_ids, state=PickState.PICKED)
        .order_by("trunk_position", "pk")
        .values_list("pk", "sha", "title", "requestor_id", "push_id", named=True)
    )
    if not picks:
        return
    now = timezone.now()
    moved = Pick.objects.filter(pk__in=[p.pk for p in picks], state=PickState.PICKED).update(
        state=PickState.SHIPPED, shipped_with=push, shipped_at=now, updated_at=now
    )
    if moved != len(picks):  # the rows are locked: this undoes the transaction, never happens
        raise RuntimeError(f"push {push.pk}: {moved} of {len(picks)} locked picks shipped")
    earlier = {p.push_id for p in picks if p.push_id is not None and p.push_id != push.pk}
    labels = {other.pk: other.label for other in Push.objects.filter(pk__in=earlier)}
    PickEvent.objects.bulk_create(
        PickEvent(
            pick_id=pick.pk,
            actor=None,
            at=now,
            from_state=PickState.PICKED,
            to_state=PickState.SHIPPED,
            reason=reason or f"In {push.tag}{_picked_in(labels.get(pick.push_id))}.",
        )
        for pick in picks
    )
    picks_moved.send(sender=Pick, pick_ids=[pick.pk for pick in picks])
    notify_many(
        notices=[
            Notification(
                engineer_id=pick.requestor_id,
                kind=NotificationKind.SHIPPED,
                text=f"Pick #{pick.pk} ({pick.sha[:10]} {pick.title}) shipped in {push.tag}.",
                pick_id=pick.pk,
                push=push,
            )
            for pick in picks
        ]
    )


def _picked_in(label: str | None) -> str:
    """The pick was picked in an earlier push (`label`) that did not get it out."""
    return f" (picked in push {label}, which did not get it out)" if label else ""
