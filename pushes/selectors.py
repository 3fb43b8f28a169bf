"""Reads of the pushes app: what pages, the API and the bot show."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from karma.selectors import karma_history, karma_stars, karma_stars_many
from pushes.choices import PICK_OPEN_STATES, BranchState, PushState
from pushes.models import Engineer, Pick, Push, ReleaseBranch, Repository


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


def pick_page(*, pick: Pick) -> dict[str, object]:
    events = list(pick.events.select_related("actor__user"))
    return {
        "pick": pick,
        "branch": pick.branch,
        "repository": pick.branch.repository,
        "events": events,
        "stars": karma_stars(user_id=pick.requestor.user_id),
        "test_runs": list(pick.test_runs.order_by("started_at")),
    }


def engineer_page(*, engineer: Engineer) -> dict[str, object]:
    picks = list(
        Pick.objects.filter(requestor=engineer)
        .select_related("branch", "push")
        .order_by("-created_at")[:100]
    )
    return {
        "engineer": engineer,
        "stars": karma_stars(user_id=engineer.user_id),
        "karma_events": karma_history(user_id=engineer.user_id),
        "picks": picks,
    }
