"""Reads of the pushes app: what pages, the API and the bot show."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from karma.selectors import karma_stars, karma_stars_many
from pushes.choices import PICK_OPEN_STATES, BranchState, PickState, PushKind, PushState
from pushes.models import Engineer, Pick, Push, ReleaseBranch, Repository, TrunkCommit
from pushes.risk import pick_risk
from releasebot.errors import DomainError, NotFound


def engineer_by_username(*, username: str) -> Engineer | None:
    return Engineer.objects.select_related("user").filter(user__username=username).first()


def branch_current(*, repository: Repository) -> ReleaseBranch | None:
    """The branch that takes picks now: the newest one not closed."""
    return (
        ReleaseBranch.objects.filter(repository=repository)
        .exclude(state=BranchState.CLOSED)
        .order_by("-cut_at")
        .first()
    )


@dataclass(frozen=True)
class TrainSummary:
    repository: Repository
    branch: ReleaseBranch | None
    next_push: Push | None
    open_picks: int
    recent_pushes: list[Push]


def train_overview() -> list[TrainSummary]:
    """Each active repository's current branch, next push, open picks and last pushes."""
    now = timezone.now()
    summaries = []
    for repository in Repository.objects.filter(is_active=True):
        branch = branch_current(repository=repository)
        next_push = recent = None
        open_picks = 0
        if branch:
            pushes = Push.objects.filter(branch__repository=repository)
            next_push = (
                pushes.filter(state=PushState.SCHEDULED, scheduled_at__gte=now)
                .select_related("branch")
                .order_by("scheduled_at")
                .first()
            )
            recent = list(
                pushes.filter(scheduled_at__lte=now)
                .select_related("branch")
                .annotate(
                    shipped=Count("picks", filter=Q(picks__state="shipped")),
                )
                .order_by("-scheduled_at")[:8]
            )
            open_picks = branch.picks.filter(state__in=PICK_OPEN_STATES).count()
        summaries.append(
            TrainSummary(
                repository=repository,
                branch=branch,
                next_push=next_push,
                open_picks=open_picks,
                recent_pushes=recent or [],
            )
        )
    return summaries


def _picks_with_people():
    return Pick.objects.select_related("requestor__user", "push", "branch")


def branch_page(*, branch: ReleaseBranch) -> dict[str, object]:
    pushes = list(
        branch.pushes.annotate(
            pick_count=Count("picks"),
            shipped=Count("picks", filter=Q(picks__state="shipped")),
        ).order_by("scheduled_at")
    )
    picks = list(_picks_with_people().filter(branch=branch).order_by("-created_at"))
    stars = karma_stars_many(user_ids={p.requestor.user_id for p in picks})
    for pick in picks:
        pick.stars = stars[pick.requestor.user_id]
    return {"branch": branch, "repository": branch.repository, "pushes": pushes, "picks": picks}


def push_page(*, push: Push) -> dict[str, object]:
    picks = list(_picks_with_people().filter(push=push).order_by("trunk_position", "pk"))
    stars = karma_stars_many(user_ids={p.requestor.user_id for p in picks})
    for pick in picks:
        pick.stars = stars[pick.requestor.user_id]
    test_runs = list(push.test_runs.select_related("pick").order_by("started_at"))
    return {
        "push": push,
        "branch": push.branch,
        "repository": push.branch.repository,
        "picks": picks,
        "test_runs": test_runs,
    }


def pick_rejections(*, pick: Pick) -> int:
    """How often this revision was rejected before: Releeph counts it in a pick's churn."""
    return (
        Pick.objects.filter(branch__repository_id=pick.branch.repository_id, sha=pick.sha)
        .filter(state=PickState.REJECTED)
        .exclude(pk=pick.pk)
        .count()
    )


def pick_page(*, pick: Pick) -> dict[str, object]:
    events = list(pick.events.select_related("actor__user"))
    stars = karma_stars(user_id=pick.requestor.user_id)
    return {
        "pick": pick,
        "branch": pick.branch,
        "repository": pick.branch.repository,
        "events": events,
        "stars": stars,
        "risk": pick_risk(pick, stars=stars, rejections=pick_rejections(pick=pick)),
        "test_runs": list(pick.test_runs.order_by("started_at")),
    }


# --- revision status: "where is my revision?" -----------------------------------------------

_REVIEW_NUMBER = re.compile(r"^(?:D|#)?(\d{1,9})$", re.IGNORECASE)
_HEX = re.compile(r"^[0-9a-f]{7,40}$")


@dataclass(frozen=True)
class RevisionStatus:
    """The whole story of one trunk revision, from the index (no git)."""

    commit: TrunkCommit
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
        c = self.commit
        tz = c.repository.tz
        lines = [
            f"{c.short_sha} {c.title}",
            f"by {c.author_name}, on {c.repository.trunk_branch} of {c.repository.name} since "
            f"{c.committed_at.astimezone(tz):%a %d %b %Y %H:%M %Z}.",
        ]
        if self.cut_into:
            shipped = "; not shipped yet (the weekly ship is still to come)"
            if self.cut_shipped_at:
                when = self.cut_shipped_at.astimezone(tz)
                shipped = f"; shipped with the weekly push {when:%a %d %b %H:%M}"
            lines.append(f"In {self.cut_into.name} by the cut{shipped}.")
        elif not self.picks:
            lines.append("Not in any release branch yet: it rides the next weekly cut.")
        for pick in self.picks:
            where = f" in push {pick.push.label}" if pick.push else ""
            state = pick.get_state_display().lower()
            line = f"Pick #{pick.pk} to {pick.branch.name} by {pick.requestor}: {state}{where}"
            if pick.shipped_at:
                line += f", shipped {pick.shipped_at.astimezone(tz):%a %d %b %H:%M}"
            lines.append(line + ".")
        return lines


def revision_lookup(*, query: str) -> TrunkCommit:
    """The trunk commit a SHA (full or 7+ digits), a review URL or a review number names."""
    text = (query or "").strip()
    commits = TrunkCommit.objects.select_related("repository")
    lowered = text.lower()
    if _HEX.match(lowered):
        # A prefix as a range, which the sha index answers (shas are lowercase hex, and "g"
        # sorts after every hex digit); `startswith` is a LIKE that reads the whole index.
        found = (
            list(commits.filter(sha__range=(lowered, lowered + "g"))[:11])
            if len(lowered) < 40
            else list(commits.filter(sha=lowered))
        )
    elif text.startswith(("http://", "https://")):
        found = list(commits.filter(review_url=text.rstrip("/"))[:11])
    elif _REVIEW_NUMBER.match(text):
        number = _REVIEW_NUMBER.match(text).group(1)
        found = list(
            commits.filter(
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
    commit = revision_lookup(query=query)
    cut_into = (
        ReleaseBranch.objects.filter(
            repository_id=commit.repository_id, base_position__gte=commit.position
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
        Pick.objects.filter(branch__repository_id=commit.repository_id, sha=commit.sha)
        .select_related("branch", "push", "requestor__user")
        .order_by("created_at")
    )
    return RevisionStatus(
        commit=commit, cut_into=cut_into, cut_shipped_at=cut_shipped_at, picks=picks
    )
