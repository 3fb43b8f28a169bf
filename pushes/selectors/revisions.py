"""Where is my revision? Status questions answered from the index, never by walking git."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from common.errors import DomainError, NotFound
from common.times import when
from pushes.choices import PICK_ACTIVE_STATES, PickState, PushState
from pushes.models import BranchCommit, Pick, Push, ReleaseBranch, Revision
from pushes.selectors.next_steps import pick_next_step
from pushes.selectors.train import branch_current

_REVIEW_NUMBER = re.compile(r"^(?:D|#)?(\d{1,9})$", re.IGNORECASE)
_HEX = re.compile(r"^[0-9a-f]{7,40}$")


@dataclass(frozen=True)
class RevisionStatus:
    """The whole story of one trunk revision, from the index (no git): the branch cut with it,
    its picks, and what origin's release branches carry of it whoever put it there (picks
    pushed by hand, with or without -x) and what reverted it there."""

    revision: Revision
    cut_into: ReleaseBranch | None  # the first release branch cut with it in
    cut_shipped_at: dt.datetime | None  # when a pushed tag of that branch first carried it
    picks: list[Pick]
    carried: list[BranchCommit] = field(default_factory=list)  # on origin's branches
    reverts: list[BranchCommit] = field(default_factory=list)  # reverting one of those

    @property
    def by_hand(self) -> list[BranchCommit]:
        """Commits people pushed to a release branch that carry this revision."""
        return [
            c
            for c in self.carried
            if c.how != BranchCommit.How.PICK and c.revision == self.revision.sha
        ]

    @property
    def with_merge(self) -> list[BranchCommit]:
        """Commits on a branch that carry this revision's change as another revision's: the
        merge that brought it, or the one commit a merge brought."""
        return [c for c in self.carried if c.revision != self.revision.sha]

    @property
    def shipped_at(self) -> dt.datetime | None:
        times = [p.shipped_at for p in self.picks if p.shipped_at]
        times += [
            c.shipped_with.pushed_at
            for c in self.carried
            if c.shipped_with is not None and c.shipped_with.pushed_at is not None
        ]
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
        elif not self.picks and not self.carried:
            lines.append("Not in any release branch yet: it rides the next weekly cut.")
        lines += [self._pick_line(pick, tz) for pick in self.picks]
        lines += [self._hand_line(commit, tz) for commit in self.by_hand]
        for commit in self.with_merge:
            line = (
                f"On {commit.branch.name} with {commit.revision[:10]}, which carries the same "
                f"change, as {commit.short_sha}"
            )
            carrier = commit.shipped_with
            if carrier is not None and carrier.pushed_at is not None:
                line += f", shipped with push {carrier.label} {when(carrier.pushed_at, tz)}"
            lines.append(line + ".")
        for revert in self.reverts:
            lines.append(
                f"Reverted on {revert.branch.name} by {revert.short_sha} ({revert.title})."
            )
        return lines

    def _pick_line(self, pick: Pick, tz: dt.tzinfo) -> str:
        where = f" in push {pick.push.label}" if pick.push else ""
        state = pick.get_state_display().lower()
        line = f"Pick #{pick.pk} to {pick.branch.name} by {pick.requestor}: {state}{where}"
        if pick.shipped_at:
            line += f", shipped {when(pick.shipped_at, tz)}"
            if pick.shipped_with and pick.shipped_with_id != pick.push_id:
                line += f" with push {pick.shipped_with.label}"
        elif pick.state == PickState.PICKED:
            line += f", not shipped yet: {pick_next_step(pick)}"
        return line + "."

    def _hand_line(self, commit: BranchCommit, tz: dt.tzinfo) -> str:
        how = "with -x" if commit.how == BranchCommit.How.TRAILER else "the same change"
        line = f"On {commit.branch.name} by hand as {commit.short_sha} ({how})"
        shipped = commit.shipped_with
        if shipped is not None and shipped.pushed_at is not None:
            line += f", shipped with push {shipped.label} {when(shipped.pushed_at, tz)}"
        else:
            line += ", not shipped yet: the next push of the branch carries it"
        return line + "."


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
    """Where is my revision? Answered from the database index in five indexed queries (the
    commit, the branch cut with it and its first pushed tag, picks, the sides of a merge,
    what origin's branches carry of it and what reverted that), whatever trunk's size."""
    revision = revision_lookup(query=query)
    repository_id = revision.repository_id
    # Any pushed tag of the branch carries what was cut into it (the weekly ship, most often;
    # a daily push if the ship failed). Pushes from before tags were recorded as pushed count
    # from their end.
    shipped = (
        Push.objects.filter(branch=OuterRef("pk"))
        .filter(Q(pushed_at__isnull=False) | Q(state=PushState.DONE))
        .annotate(at=Coalesce("pushed_at", "finished_at"))
        .filter(at__isnull=False)
        .order_by("at")
        .values("at")[:1]
    )
    cut_into = (
        ReleaseBranch.objects.filter(
            repository_id=repository_id, base_position__gte=revision.position
        )
        .annotate(first_shipped_at=Subquery(shipped))
        .order_by("cut_at")
        .first()
    )
    cut_shipped_at = getattr(cut_into, "first_shipped_at", None)
    picks = _picks_of(revision)
    same = _same_change(revision)
    undone = [revision.sha, *(p.result_sha for p in picks if p.result_sha)]
    # What carries the change and what reverted any of it, in one query: a revert of a commit
    # that carries it is found through the carriers' shas.
    carriers = BranchCommit.objects.filter(branch__repository_id=repository_id, revision__in=same)
    found = list(
        BranchCommit.objects.filter(branch__repository_id=repository_id)
        .filter(
            Q(revision__in=same)
            | Q(reverts__in=undone)
            | Q(reverts__in=Subquery(carriers.values("sha")))
        )
        .select_related("branch", "shipped_with")
        .order_by("branch__cut_at", "position")
    )
    carried = [c for c in found if c.revision in same]
    undone += [c.sha for c in carried]
    reverts = [c for c in found if c.reverts and c.reverts in undone]
    return RevisionStatus(
        revision=revision,
        cut_into=cut_into,
        cut_shipped_at=cut_shipped_at,
        picks=picks,
        carried=carried,
        reverts=reverts,
    )


def _picks_of(revision: Revision) -> list[Pick]:
    """The revision's picks with their branch, pushes and requestor. Six tables joined, not
    nine: on PostgreSQL, planning the nine-table join took 2 to 5 ms of a 10 ms status, five
    times its execution. What the query leaves out is known already: every pick's branch is
    in the revision's repository, and a push is on its pick's branch."""
    picks = list(
        Pick.objects.filter(branch__repository_id=revision.repository_id, sha=revision.sha)
        .select_related("branch", "push", "shipped_with", "requestor__user")
        .order_by("created_at")
    )
    for pick in picks:
        pick.branch.repository = revision.repository
        for push in (pick.push, pick.shipped_with):
            if push is not None and push.branch_id == pick.branch_id:
                push.branch = pick.branch
    return picks


def _same_change(revision: Revision) -> list[str]:
    """The revisions whose commit on a branch carries this one's change: itself; the merge that
    brought it to trunk (picking a merge picks what it brought); and, for a merge that brought
    one commit, that commit (its change is the merge's)."""
    shas = [revision.sha]
    if revision.merged_by:
        shas.append(revision.merged_by)
    else:
        # The predicate of the partial index `trunk_commit_merged_by` spelled out, so that
        # SQLite uses it too (PostgreSQL infers it), and no order (the model's would walk trunk
        # by position): else a million-row scan per status.
        sides = list(
            Revision.objects.filter(repository_id=revision.repository_id, merged_by=revision.sha)
            .exclude(merged_by="")
            .order_by()
            .values_list("sha", flat=True)[:2]
        )
        if len(sides) == 1:
            shas += sides
    return shas


def revision_pickable(status: RevisionStatus) -> bool:
    """Worth a "Request a pick" button (for the current branch): not in it by a cut or an
    active pick. An active pick on an older branch kept open does not put it there.

    A commit cut into some branch is in every later one too, so only a commit no cut holds
    yet can be missing from the current branch.
    """
    if status.cut_into is not None:
        return False
    current = branch_current(repository=status.revision.repository)
    return not any(
        p.state in PICK_ACTIVE_STATES and current is not None and p.branch_id == current.pk
        for p in status.picks
    )


def revision_held_by(status: RevisionStatus) -> list[Pick]:
    """The picks that put the revision on a branch (picked, or picked and shipped)."""
    return [p for p in status.picks if p.state in (PickState.PICKED, PickState.SHIPPED)]
