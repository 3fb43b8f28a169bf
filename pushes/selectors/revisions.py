"""Where is my revision? Status questions answered from the index, never by walking git."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Q

from common.errors import DomainError, NotFound
from common.times import when
from pushes.choices import PICK_ACTIVE_STATES, BranchState, PickState, PushKind, PushState
from pushes.models import Pick, Push, ReleaseBranch, Revision

_REVIEW_NUMBER = re.compile(r"^(?:D|#)?(\d{1,9})$", re.IGNORECASE)
_HEX = re.compile(r"^[0-9a-f]{7,40}$")


@dataclass(frozen=True)
class RevisionStatus:
    """The whole story of one trunk revision, from the index (no git)."""

    revision: Revision
    cut_into: ReleaseBranch | None  # the first release branch cut with it in
    cut_shipped_at: dt.datetime | None  # when that branch's weekly ship went out
    picks: list[Pick]

    @property
    def shipped_at(self) -> dt.datetime | None:
        times = [p.shipped_at for p in self.picks if p.shipped_at]
        if self.cut_shipped_at:
            times.append(self.cut_shipped_at)
        return min(times) if times else None

    @property
    def story(self) -> list[str]:
        """The status in plain sentences, for chat and for the page's summary."""
        c = self.revision
        tz = c.repository.tz
        lines = [
            f"{c.short_sha} {c.title}",
            f"by {c.author_name}, on {c.repository.trunk_branch} of {c.repository.name} since "
            f"{when(c.committed_at, tz, year=True)}.",
        ]
        if self.cut_into:
            shipped = "; not shipped yet (the weekly ship is still to come)"
            if self.cut_shipped_at:
                shipped = f"; shipped with the weekly push {when(self.cut_shipped_at, tz)}"
            lines.append(f"In {self.cut_into.name} by the cut{shipped}.")
        elif not self.picks:
            lines.append("Not in any release branch yet: it rides the next weekly cut.")
        for pick in self.picks:
            where = f" in push {pick.push.label}" if pick.push else ""
            state = pick.get_state_display().lower()
            line = f"Pick #{pick.pk} to {pick.branch.name} by {pick.requestor}: {state}{where}"
            if pick.shipped_at:
                line += f", shipped {when(pick.shipped_at, tz)}"
            lines.append(line + ".")
        return lines


def revision_lookup(*, query: str) -> Revision:
    """The trunk commit a SHA (full or 7+ digits), a review URL or a review number names."""
    text = (query or "").strip()
    revisions = Revision.objects.select_related("repository")
    lowered = text.lower()
    if _HEX.match(lowered):
        # A prefix as a range, which the sha index answers (shas are lowercase hex, and "g"
        # sorts after every hex digit); `startswith` is a LIKE that reads the whole index.
        found = (
            list(revisions.filter(sha__range=(lowered, lowered + "g"))[:11])
            if len(lowered) < 40
            else list(revisions.filter(sha=lowered))
        )
    elif text.startswith(("http://", "https://")):
        found = list(revisions.filter(review_url=text.rstrip("/"))[:11])
    elif review := _REVIEW_NUMBER.match(text):
        number = review.group(1)
        found = list(
            revisions.filter(
                Q(review_url__endswith=f"/D{number}")
                | Q(review_url__endswith=f"/pull/{number}")
                | Q(review_url__endswith=f"/merge_requests/{number}")
                | Q(review_url__endswith=f"/+/{number}")
            )[:11]
        )
    else:
        raise DomainError(
            f"{text[:40]!r} is not a revision: give a SHA (7+ hex digits), a review URL or a "
            "review number (D123, #45).",
            code="bad-revision",
        )
    if not found:
        raise NotFound(f"No trunk commit matches {text[:80]}.", code="unknown-revision")
    if len(found) > 1:
        listed = "; ".join(f"{c.short_sha} {c.title[:60]}" for c in found[:10])
        raise DomainError(
            f"{text[:40]} matches {len(found)} commits ({listed}). Give more digits.",
            code="ambiguous-revision",
            details={"candidates": [c.sha for c in found[:10]]},
        )
    return found[0]


def revision_status(*, query: str) -> RevisionStatus:
    """Where is my revision? Answered from the database index in a handful of queries."""
    revision = revision_lookup(query=query)
    cut_into = (
        ReleaseBranch.objects.filter(
            repository_id=revision.repository_id, base_position__gte=revision.position
        )
        .order_by("cut_at")
        .first()
    )
    cut_shipped_at = None
    if cut_into:
        cut_shipped_at = (
            Push.objects.filter(branch=cut_into, kind=PushKind.WEEKLY, state=PushState.DONE)
            .values_list("finished_at", flat=True)
            .first()
        )
    picks = list(
        Pick.objects.filter(branch__repository_id=revision.repository_id, sha=revision.sha)
        .select_related("branch", "push", "requestor__user")
        .order_by("created_at")
    )
    return RevisionStatus(
        revision=revision, cut_into=cut_into, cut_shipped_at=cut_shipped_at, picks=picks
    )


def revision_pickable(status: RevisionStatus) -> bool:
    """Worth a "Request a pick" button: not in any open branch by a cut or an active pick.

    A commit cut into some branch is in every later one too, so only a commit no cut holds
    yet can be missing from the current branch.
    """
    if status.cut_into is not None:
        return False
    return not any(
        p.state in PICK_ACTIVE_STATES and p.branch.state != BranchState.CLOSED for p in status.picks
    )


def revision_held_by(status: RevisionStatus) -> list[Pick]:
    """The picks that put the revision on a branch (picked, or picked and shipped)."""
    return [p for p in status.picks if p.state in (PickState.PICKED, PickState.SHIPPED)]
