"""The demo's open confirmation window: each time the demo starts, a push whose requestors are
being asked "are you online to support it?", so that whoever signs in as alice can answer
"I'm here".

The demo's train is built in the past; this part is made now, through the services that do it
for real: picks asked for (`pick_request`) and approved (`pick_approve`), a push due after the
repository's confirmation lead as an urgent pick gets, its confirmations opened
(`push_confirmations_open`, the train's T-30). A window still open is kept: starting the demo
again opens no second one.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from common.errors import DomainError
from pushes.choices import PUSH_UPCOMING_STATES, PickState, PushState
from pushes.demo.build import SLUG, WINDOW_PEOPLE
from pushes.demo.people import AUTHORS, REL
from pushes.demo.plan import GENERIC_REASONS, REASONS
from pushes.models import Engineer, Pick, Push, ReleaseBranch, Repository, Revision
from pushes.selectors import branch_current, push_next
from pushes.services import pick_approve, pick_request
from pushes.services.dry_run import pick_dry_run
from pushes.services.picks import branch_refusal
from pushes.services.push_requests import _push_new
from pushes.services.train import push_confirmations_open

CANDIDATES = 300  # the newest trunk revisions the branch lacks, looked at for a new pick
TRIES = 12  # of those, tried per person for a pick that applies cleanly
# A change someone would ask to have picked: the demo's fixes, not its clean-ups and features.
FIX_WORDS = re.compile(r"\b(fix|handle|guard|stop)\b")


@dataclass(frozen=True)
class DemoWindow:
    """The push whose confirmations are open, the picks asked about, or why there is none."""

    push: Push | None
    waiting: list[Pick] = field(default_factory=list)
    why_not: str = ""
    opened: bool = False  # opened now (not one already open)


def demo_window_push(*, repository: Repository, now: dt.datetime | None = None) -> Push | None:
    """The demo's push asking for confirmations now, if there is one."""
    now = now or timezone.now()
    return (
        Push.objects.filter(
            branch__repository=repository, state=PushState.CONFIRMING, scheduled_at__gt=now
        )
        .select_related("branch__repository")
        .order_by("scheduled_at")
        .first()
    )


def demo_window(*, repository: Repository) -> DemoWindow:
    """The open window and the picks in it still waiting for their requestor's answer."""
    push = demo_window_push(repository=repository)
    if push is None:
        return DemoWindow(push=None, why_not="no push is asking for confirmations now")
    waiting = list(
        push.picks.filter(state=PickState.AWAITING_CONFIRMATION)
        .select_related("requestor__user")
        .order_by("trunk_position")
    )
    return DemoWindow(push=push, waiting=waiting)


def demo_window_open() -> DemoWindow:
    """Keep the open window, or open one now with a pick of each of WINDOW_PEOPLE in it."""
    repository = Repository.objects.filter(slug=SLUG).first()
    if repository is None:
        return DemoWindow(push=None, why_not="the demo is not built")
    if demo_window_push(repository=repository) is not None:
        return demo_window(repository=repository)
    now = timezone.now()
    branch = branch_current(repository=repository)
    if branch is None:
        return DemoWindow(push=None, why_not=f"{repository.name} has no open release branch")
    refusal = branch_refusal(branch=branch, now=now)
    if refusal:
        return DemoWindow(push=None, why_not=refusal)
    rel = Engineer.objects.get(user__username=REL.username)
    with transaction.atomic():
        push = _window_push(branch, now)
        for username in WINDOW_PEOPLE:
            _waiting_pick(branch, push, username, rel)
        push_confirmations_open(push_id=push.pk)
    push.refresh_from_db()
    if push.state != PushState.CONFIRMING:  # a freeze or Friday's no-push holds it back
        return DemoWindow(push=None, why_not=push.error or f"push {push.label} is {push.state}")
    return replace(demo_window(repository=repository), opened=True)


def _window_push(branch: ReleaseBranch, now: dt.datetime) -> Push:
    """The branch's next push if its confirmations are due (within the lead), else a push due
    after the lead, as one started for an urgent pick."""
    due = now + dt.timedelta(minutes=branch.repository.confirm_lead_minutes)
    push = push_next(branch=branch, now=now)
    if push is not None and push.scheduled_at <= due:
        return push
    return _push_new(branch, due)


def _waiting_pick(branch: ReleaseBranch, push: Push, username: str, rel: Engineer) -> Pick | None:
    """`username`'s pick in `push`, approved: one of theirs asked to confirm already and not
    yet gone out, else one asked for now and approved. The demo's other picks are left as they
    are, so every state stays on show. None when no revision is left to ask for."""
    engineer = Engineer.objects.select_related("user").get(user__username=username)
    pick = (
        Pick.objects.filter(
            branch=branch, requestor=engineer, state=PickState.AWAITING_CONFIRMATION
        )
        .filter(Q(push__isnull=True) | Q(push__state__in=PUSH_UPCOMING_STATES))
        .order_by("-pk")
        .first()
    )
    if pick is None:
        pick = _request(branch, engineer)  # for the branch's next push: the window's
        if pick is None:
            return None
        return pick_approve(pick_id=pick.pk, actor=rel, reason="Small and reviewed.")
    if pick.push_id != push.pk:
        Pick.objects.filter(pk=pick.pk).update(push=push, updated_at=timezone.now())
    return pick


def _request(branch: ReleaseBranch, engineer: Engineer) -> Pick | None:
    """Ask for a trunk revision the branch lacks, as `engineer`: a fix that applies cleanly,
    theirs if they have one, the newest first."""
    asked = Pick.objects.filter(branch=branch).values("sha")
    candidates = (
        Revision.objects.filter(repository=branch.repository, position__gt=branch.base_position)
        .exclude(sha__in=asked)
        .order_by("-position")[:CANDIDATES]
    )
    ranked = sorted(
        candidates,
        key=lambda r: (not _a_fix(r.title), r.author_email != engineer.email, -r.position),
    )
    for revision in ranked[:TRIES]:
        if not pick_dry_run(branch=branch, sha=revision.sha).applies:
            continue
        try:
            result = pick_request(
                requestor=engineer,
                revision=revision.sha,
                reason=_reason(engineer),
                repository=branch.repository,
                branch_name=branch.name,
            )
        except DomainError:  # on the branch already, say: the next one
            continue
        return result.pick
    return None


def _a_fix(title: str) -> bool:
    return bool(FIX_WORDS.search(title)) and "follow-up" not in title and "docs:" not in title


def _reason(engineer: Engineer) -> str:
    person = next((p for p in AUTHORS if p.username == engineer.user.username), None)
    area = person.areas[0] if person and person.areas else ""
    return (REASONS.get(area) or GENERIC_REASONS)[0]
