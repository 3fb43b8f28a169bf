"""Reads of the train: the current branch and its pushes, the pages of a branch, a push and a
pick, an engineer's waiting picks and inbox. What pages, the API and the bot show."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from karma.selectors import karma_stars, karma_stars_many
from pushes import cadence
from pushes.choices import (
    PICK_NEEDS_REQUESTOR_STATES,
    PICK_OPEN_STATES,
    PUSH_UPCOMING_STATES,
    BranchState,
    NotificationKind,
    PickState,
)
from pushes.models import Engineer, Notification, Pick, Push, ReleaseBranch, Repository
from pushes.moves import CONFIRM, DECLINE, Channel, Move, moves_offered
from pushes.risk import Risk, pick_risk
from pushes.selectors.freezes import Frozen, repository_frozen
from pushes.selectors.next_steps import pick_next_step


def engineer_by_username(*, username: str, exact: bool = True) -> Engineer | None:
    """The engineer with this username; `exact=False` ignores case (what people type)."""
    lookup = "user__username" if exact else "user__username__iexact"
    return Engineer.objects.select_related("user").filter(**{lookup: username}).first()


def engineer_by_chat_id(*, chat_id: str) -> Engineer | None:
    return Engineer.objects.select_related("user").filter(chat_id=chat_id).first()


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
    next_push: Push | None  # the next push that has not started, whenever it is due
    open_picks: int
    recent_pushes: list[Push]  # due or run already (a push run before its slot included)
    next_cut: dt.datetime  # the next weekly cut: what comes when no push is left
    frozen: Frozen | None = None  # the freeze in force now: no picks and no pushes


def train_overview() -> list[TrainSummary]:
    """Each active repository's current branch, next push (or next cut), open picks and last
    pushes."""
    now = timezone.now()
    summaries = []
    for repository in Repository.objects.filter(is_active=True):
        branch = branch_current(repository=repository)
        next_push = recent = None
        open_picks = 0
        if branch:
            pushes = Push.objects.filter(branch__repository=repository)
            next_push = (
                pushes.filter(branch=branch, state__in=PUSH_UPCOMING_STATES)
                .select_related("branch")
                .order_by("scheduled_at")
                .first()
            )
            recent = list(
                pushes.filter(Q(scheduled_at__lte=now) | Q(started_at__isnull=False))
                .select_related("branch")
                # What each push's pushed tag shipped, a failed push's picks included.
                .annotate(shipped=Count("shipped_picks", distinct=True))
                .annotate(when=Coalesce("started_at", "scheduled_at"))
                .order_by("-when", "-pk")[:8]
            )
            open_picks = branch.picks.filter(state__in=PICK_OPEN_STATES).count()
        summaries.append(
            TrainSummary(
                repository=repository,
                branch=branch,
                next_push=next_push,
                open_picks=open_picks,
                recent_pushes=recent or [],
                next_cut=cadence.next_cut_slot(repository, now),
                frozen=repository_frozen(repository=repository, now=now),
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
    shipped_too = list(
        _picks_with_people().filter(shipped_with=push).exclude(push=push).order_by("pk")
    )
    return {
        "push": push,
        "branch": push.branch,
        "repository": push.branch.repository,
        "picks": picks,
        "shipped_too": shipped_too,
        "test_runs": test_runs,
        "story": list(push.events.select_related("actor__user")),
    }


def pick_risk_shown(pick: Pick, *, stars: int) -> Risk:
    """The risk a pick is shown with: as it stood when release engineering decided on it, if
    they have; as it stands now otherwise."""
    if pick.decided_risk:
        return Risk.from_record(pick.decided_risk)
    return pick_risk(pick, stars=stars, rejections=pick_rejections(pick=pick))


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
        "risk": pick_risk_shown(pick, stars=stars),
        "test_runs": list(pick.test_runs.order_by("started_at")),
        "next_step": pick_next_step(pick) if pick.is_open else "",
    }


def push_upcoming(*, branch: ReleaseBranch) -> Push | None:
    """The branch's next push that has not started, whenever it is due (the bot's `push`)."""
    return (
        Push.objects.filter(branch=branch, state__in=PUSH_UPCOMING_STATES)
        .select_related("branch__repository")
        .order_by("scheduled_at")
        .first()
    )


def push_open_picks(*, push: Push) -> list[Pick]:
    """The approved picks riding a push, in trunk order, with the people to show."""
    return list(
        _picks_for_people()
        .filter(push=push, state__in=PICK_OPEN_STATES)
        .exclude(state=PickState.REQUESTED)
        .order_by("trunk_position", "pk")
    )


def _picks_for_people():
    """Picks with everything a message about them shows, in the one query."""
    return Pick.objects.select_related(
        "push__branch__repository", "branch__repository", "requestor__user", "backup__user"
    )


def _theirs(engineer: Engineer) -> Q:
    return Q(requestor=engineer) | Q(backup=engineer)


def picks_awaiting(*, engineer: Engineer) -> list[Pick]:
    """The engineer's picks waiting for their confirmation, oldest push first."""
    return list(
        _picks_for_people()
        .filter(
            _theirs(engineer),
            state__in=[PickState.AWAITING_CONFIRMATION, PickState.APPROVED],
        )
        .order_by("push__scheduled_at", "pk")
    )


def picks_of(*, engineer: Engineer, states: tuple[str, ...] | frozenset[str]) -> list[Pick]:
    """The engineer's picks (as requestor or backup) in these states, next push first."""
    return list(
        _picks_for_people()
        .filter(_theirs(engineer), state__in=list(states))
        .order_by("push__scheduled_at", "pk")
    )


def picks_mine(*, engineer: Engineer, limit: int = 30) -> list[Pick]:
    """The engineer's open picks, and those stopped on an open branch waiting for them."""
    return list(
        _picks_for_people()
        .filter(_theirs(engineer))
        .filter(
            Q(state__in=PICK_OPEN_STATES)
            | Q(state__in=PICK_NEEDS_REQUESTOR_STATES) & ~Q(branch__state=BranchState.CLOSED)
        )
        .order_by("created_at", "pk")[:limit]
    )


def pick_by_id(*, pick_id: int) -> Pick | None:
    return _picks_for_people().filter(pk=pick_id).first()


def pick_time_zones(*, pick_ids: Iterable[int | None]) -> dict[int | None, str]:
    """Each pick's repository zone, by pick id, in one query: a karma change made about a pick
    is shown in that zone (karma keeps only the id). Ids of no pick are left out."""
    ids = {pick_id for pick_id in pick_ids if pick_id is not None}
    if not ids:
        return {}
    rows = Pick.objects.filter(pk__in=ids).values_list("pk", "branch__repository__time_zone")
    return dict(rows)


def picks_by_revision(
    *, prefix: str, engineer: Engineer, states: tuple[str, ...] | frozenset[str], limit: int = 10
) -> list[Pick]:
    """The picks of a revision (a SHA prefix) in these states: the engineer's own if they have
    any; a release engineer's choice of everyone's otherwise."""
    candidates = _picks_for_people().filter(sha__startswith=prefix.lower(), state__in=list(states))
    theirs = candidates.filter(_theirs(engineer))
    if theirs.exists() or not engineer.is_release_engineer:
        candidates = theirs
    return list(candidates.order_by("pk")[:limit])


def branch_named(*, name: str) -> ReleaseBranch | None:
    return ReleaseBranch.objects.filter(name=name).first()


# --- the inbox ------------------------------------------------------------------------------

INBOX_SIZE = 100
_ASKS = (NotificationKind.CONFIRM, NotificationKind.REMINDER)


@dataclass(frozen=True)
class InboxRow:
    """One notice as the inbox shows it. `answers` are the "I'm here" / "Not this time"
    moves of an unanswered confirmation request that can still be answered."""

    notice: Notification
    unread: bool
    answers: tuple[Move, ...] = ()

    @property
    def waiting(self) -> bool:
        return bool(self.answers)

    @property
    def repository(self) -> Repository | None:
        """Whose zone the notice's time is shown in: its pick's or push's repository; none
        (the site's zone) for a notice about neither."""
        about = self.notice.pick or self.notice.push
        return about.branch.repository if about else None


def inbox_rows(*, engineer: Engineer, limit: int = INBOX_SIZE) -> list[InboxRow]:
    """The engineer's latest notices, newest first, each with the answers it still takes."""
    notices = Notification.objects.filter(engineer=engineer).select_related(
        "pick__push",
        "pick__branch__repository",
        "pick__requestor__user",
        "pick__backup__user",
        "push__branch__repository",
    )[:limit]
    rows = []
    for notice in notices:
        answers: tuple[Move, ...] = ()
        if notice.pick and notice.kind in _ASKS and notice.answered_at is None:
            answers = tuple(
                move
                for move in moves_offered(notice.pick, engineer, Channel.PAGE)
                if move in (CONFIRM, DECLINE)
            )
        rows.append(InboxRow(notice=notice, unread=notice.read_at is None, answers=answers))
    return rows
