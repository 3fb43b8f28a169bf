"""A deploy lock: a release engineer freezes a repository (no picks and no pushes) until one
unfreezes it, and the requestors of its open picks are told either way.

While a freeze is in force, `branch_refusal` refuses pick requests and the push run skips the
pushes due in it (carrying their picks to the next one); both read the same windows.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from common.errors import Conflict, DomainError, Forbidden
from pushes.choices import PICK_OPEN_STATES, NotificationKind
from pushes.models import Engineer, FreezeWindow, Pick, Repository
from pushes.selectors.freezes import OPEN_ENDED, UNTIL_UNFROZEN, freeze_until, repository_freeze_now
from pushes.selectors.train import branch_current
from pushes.services.notifications import notify
from pushes.services.transitions import storable

ONLY_RELEASE_ENGINEERS = "Only release engineers can freeze or unfreeze a repository."
NO_FREEZE_REASON = (
    "Say why it is frozen (an incident, a holiday): the requestors of its picks are told."
)
REASON_MAX = 200  # FreezeWindow.reason
# No kind of notice is made for freezes (a new kind needs a migration): a freeze holds the
# requestors' picks back, an unfreeze lets them go with the next push.
HELD = NotificationKind.DEFERRED
GO_ON = NotificationKind.CARRIED


def repository_freeze(*, repository: Repository, actor: Engineer, reason: str) -> FreezeWindow:
    """Freeze the repository from now until a release engineer unfreezes it: no picks are
    taken and no push goes out. Refused (changing nothing) for anyone else, without a reason,
    or when it is frozen already."""
    repository_freeze_allowed(actor=actor)
    reason = _reason(reason, required=True)
    with transaction.atomic():
        locked = Repository.objects.select_for_update().get(pk=repository.pk)
        now = timezone.now()
        current = repository_freeze_now(repository=locked, now=now)
        if current is not None:
            by = f" by {current.created_by}" if current.created_by else ""
            raise Conflict(
                f"{locked.name} is already frozen{by} {freeze_until(current, locked)}: "
                f"{current.reason}.",
                code="already-frozen",
                details={"by": current.created_by.username if current.created_by else None},
            )
        window = FreezeWindow.objects.create(
            repository=locked,
            starts_at=now,
            ends_at=now + OPEN_ENDED,
            reason=reason,
            created_by=actor,
        )
        _tell(
            locked,
            kind=HELD,
            lead=f"{locked.name} is frozen by {actor} {UNTIL_UNFROZEN} ({reason})",
            then=("is held", "are held"),
            after=": no picks and no pushes until then.",
        )
    return window


def repository_unfreeze(
    *, repository: Repository, actor: Engineer, reason: str = ""
) -> list[FreezeWindow]:
    """End every freeze in force on the repository now (a planned window too), recording who
    lifted it; its picks and pushes go on. Refused when it is not frozen."""
    repository_freeze_allowed(actor=actor)
    reason = _reason(reason, required=False)
    with transaction.atomic():
        locked = Repository.objects.select_for_update().get(pk=repository.pk)
        now = timezone.now()
        windows = list(
            FreezeWindow.objects.select_for_update()
            .filter(repository=locked, starts_at__lte=now, ends_at__gt=now)
            .order_by("starts_at", "pk")
        )
        if not windows:
            raise Conflict(f"{locked.name} is not frozen.", code="not-frozen")
        for window in windows:
            window.ends_at = now
            # Started this very instant (a clock standing still): end it the moment it began.
            window.starts_at = min(window.starts_at, now - dt.timedelta(microseconds=1))
            window.lifted_by = actor
            window.save(update_fields=["starts_at", "ends_at", "lifted_by"])
        why = f" ({reason})" if reason else ""
        _tell(
            locked,
            kind=GO_ON,
            lead=f"{locked.name} is unfrozen by {actor}{why}",
            then=("goes on", "go on"),
            after=" with the next push.",
        )
    return windows


def repository_freeze_allowed(*, actor: Engineer) -> None:
    """Refuse anyone but a release engineer (a channel may ask before reading the rest)."""
    if not actor.is_release_engineer:
        raise Forbidden(ONLY_RELEASE_ENGINEERS)


def _reason(reason: str | None, *, required: bool) -> str:
    reason = storable((reason or "").strip(), "reason")
    if required and not reason:
        raise DomainError(NO_FREEZE_REASON, code="no-reason")
    if len(reason) > REASON_MAX:
        raise DomainError(
            f"Keep the reason under {REASON_MAX} characters (it has {len(reason)}).",
            code="reason-too-long",
        )
    return reason


def _tell(
    repository: Repository, *, kind: str, lead: str, then: tuple[str, str], after: str
) -> None:
    """One notice to each requestor of an open pick on the current branch, naming their picks."""
    branch = branch_current(repository=repository)
    if branch is None:
        return
    picks = (
        Pick.objects.filter(branch=branch, state__in=PICK_OPEN_STATES)
        .select_related("requestor__user")
        .order_by("pk")
    )
    theirs: dict[int, tuple[Engineer, list[int]]] = {}
    for pick in picks:
        theirs.setdefault(pick.requestor_id, (pick.requestor, []))[1].append(pick.pk)
    for requestor, numbers in theirs.values():
        listed = _listed([f"#{n}" for n in numbers])
        noun, verb = ("pick", then[0]) if len(numbers) == 1 else ("picks", then[1])
        text = f"{lead}: your {noun} {listed} {verb}{after}"
        notify(engineer=requestor, kind=kind, text=text)


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
