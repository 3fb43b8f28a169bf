"""The risk dashboard's index: each open pick's risk level and flag, as `pushes.risk.pick_risk`
says, kept on its row (Pick.risk_rank, Pick.risk_flagged), so that the dashboard orders,
counts and pages any number of open picks in the database without computing their risk.

pick_risk stays the one rule; the index is a copy of its answers, emptied by every write that
changes one of its inputs, in that write's own statement or transaction:
- the pick's own numbers, files, push and requestor: Pick.save and PickQuerySet
  (pushes.models.picks, RISK_INPUTS);
- a revision rejected, which counts against its other picks: the same;
- the push's time (Friday, close to the push): Push.save and PushQuerySet;
- the repository's risk settings: Repository.save and RepositoryQuerySet;
- the requestor's stars: a Karma saved or deleted (`karma_changed`, connected in apps.py);
- deletions, which call no save: a rejected pick (`pick_deleted`), a push (`push_deleting`).

The dashboard fills what is empty before it reads (`picks_risk_fill`: the picks changed since,
usually none or a few), and `picks_risk_check`, every ten minutes, computes every open pick of
the current train again and puts right, and logs, any the writes above missed.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.db import transaction

from pushes.choices import PICK_OPEN_STATES, PickState
from pushes.models import Pick, Push, ReleaseBranch
from pushes.models.repositories import picks_rank_again
from pushes.risk import RANK_OF_LEVEL
from pushes.selectors.risk_rows import pick_lines, risk_rows, train_branches, train_pushes

CHUNK = 500  # picks an UPDATE names: SQLite's parameter limit stays far away

log = logging.getLogger(__name__)


def picks_risk_fill(*, branches: dict[int, ReleaseBranch]) -> int:
    """Compute the risk of the open picks of `branches` whose rank is empty, and keep it.
    One query when none is; returns how many were computed.

    The empty rows are locked while their risk is computed and written, so a change that
    empties them meanwhile waits and empties them again after: never a rank from inputs
    that changed under it.
    """
    stale = Pick.objects.filter(
        branch_id__in=list(branches), state__in=PICK_OPEN_STATES, risk_rank__isnull=True
    )
    if not stale.exists():  # outside a transaction: on SQLite one takes the write lock
        return 0
    with transaction.atomic():
        _lock(stale)
        return _keep(stale, branches)


def picks_risk_check() -> int:
    """Compute the risk of every open pick of the current train again and put right the kept
    ranks that differ (none, unless a write changed an input without emptying the rank: it
    is logged). Returns how many were put right."""
    branches = train_branches()
    picks_risk_fill(branches=branches)  # the empty ones are due, not wrong
    with transaction.atomic():
        picks = Pick.objects.filter(branch_id__in=list(branches), state__in=PICK_OPEN_STATES)
        _lock(picks)
        wrong = _keep(picks, branches, only_changed=True)
    if wrong:
        log.warning("risk index: %d open picks had a rank their inputs no longer give", wrong)
    return wrong


def karma_changed(sender: object, instance: object, **kwargs: object) -> None:
    """A user's stars changed (a Karma row saved or deleted): their open picks rank again."""
    picks_rank_again(requestor__user_id=instance.user_id)  # type: ignore[attr-defined]


def pick_deleted(sender: object, instance: Pick, **kwargs: object) -> None:
    """A rejection deleted (the admin, a cascade) no longer counts against its revision's
    other picks: they rank again."""
    if instance.state == PickState.REJECTED:
        picks_rank_again(sha=instance.sha)


def push_deleting(sender: object, instance: Push, **kwargs: object) -> None:
    """A push about to be deleted: its picks lose it (SET_NULL, a write no model method sees),
    so they rank again."""
    picks_rank_again(push_id=instance.pk)


def _lock(picks) -> None:
    """Lock the picks' rows until the transaction ends (PostgreSQL; SQLite's IMMEDIATE
    transactions hold the whole database already)."""
    list(picks.select_for_update().values_list("pk", flat=True))


def _keep(picks, branches: dict[int, ReleaseBranch], *, only_changed: bool = False) -> int:
    """Compute the picks' risk as the dashboard shows it and write rank and flag, one UPDATE
    per (rank, flag) and chunk. Returns how many rows were written."""
    kept = dict(picks.values_list("pk", "risk_rank")) if only_changed else {}
    flagged_before = (
        set(picks.filter(risk_flagged=True).values_list("pk", flat=True)) if only_changed else set()
    )
    rows = risk_rows(pick_lines(picks, branches, train_pushes(branches)), shas=picks.values("sha"))
    by_answer: dict[tuple[int, bool], list[int]] = defaultdict(list)
    for row in rows:
        rank, flagged = RANK_OF_LEVEL[row.risk.level], row.risk.flagged
        pk = row.pick.pk
        if only_changed and kept.get(pk) == rank and (pk in flagged_before) == flagged:
            continue
        by_answer[rank, flagged].append(pk)
    for (rank, flagged), ids in by_answer.items():
        for start in range(0, len(ids), CHUNK):
            Pick.objects.filter(pk__in=ids[start : start + CHUNK]).update(
                risk_rank=rank, risk_flagged=flagged
            )
    return sum(len(ids) for ids in by_answer.values())
