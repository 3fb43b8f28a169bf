"""A cherry-pick request and every move of it afterwards.

Each refusal is a DomainError raised before anything is written; each move is one transaction
that locks the pick, asks the moves registry (pushes.moves) whether this person may make it from
the pick's current state, and records who, when and why as a PickEvent.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from common import times
from common.errors import DomainError, Forbidden
from common.queue import enqueue
from karma.selectors import karma_stars
from pushes import cadence, git, moves
from pushes.choices import (
    PICK_ACTIVE_STATES,
    PUSH_UPCOMING_STATES,
    BranchState,
    FridayPolicy,
    NotificationKind,
    PickState,
    PushState,
    ReviewStatus,
)
from pushes.models import (
    Engineer,
    Pick,
    PickEvent,
    ReleaseBranch,
    Repository,
    Revision,
)
from pushes.risk import pick_risk
from pushes.selectors import branch_current, pick_rejections, push_next
from pushes.selectors.freezes import freeze_until, repository_freeze_now
from pushes.services.dry_run import DryRun, pick_dry_run
from pushes.services.notifications import notifications_answer, notify
from pushes.services.pick_gate import NOT_AN_ENGINEER, karma_refusal
from pushes.services.repositories import clone_path, clone_ready, trunk_sync
from pushes.services.train import pick_ask_confirmation, pick_roll
from pushes.services.transitions import (
    UNSTORABLE,
    PickRefused,
    pick_for_move,
    pick_transition,
    storable,
)
from pushes.services.urgent import pick_urgent_ask, pick_urgent_push

_HEX = re.compile(r"^[0-9a-f]{7,40}$")
MAX_CANDIDATES = 10


# What every channel says when a pick is asked for without a reason.
NO_REASON = "Say why this pick cannot wait for the next train."


class GitUnavailable(DomainError):
    """Git failed while answering a request (the remote down, a broken clone); nothing stored."""

    code = "git-unavailable"
    status = 503


# --- resolving what was asked for ---------------------------------------------------------


def revision_resolve(*, revision: str, repository: Repository | None = None) -> Revision:
    """The one trunk commit a full or abbreviated SHA names, from the index.

    Not found in the index: trunk is synced once (the commit may have landed a minute ago),
    then the question is whether git knows it at all, to tell "not on trunk" from "no such".
    """
    text = (revision or "").strip().lower()
    if not _HEX.match(text):
        raise PickRefused(
            f"{_shown(revision)} is not a revision: give a full or abbreviated SHA of 7 to 40 hex "
            "digits (e.g. 3f2a9c1).",
            code="bad-revision",
        )
    repositories = [repository] if repository else list(Repository.objects.filter(is_active=True))
    matches = _candidates(text, repositories)
    if not matches:
        for repo in repositories:
            trunk_sync(repository=repo)
        matches = _candidates(text, repositories)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        listed = "; ".join(f"{c.short_sha} {c.title[:60]}" for c in matches[:MAX_CANDIDATES])
        raise PickRefused(
            f"{text} is ambiguous: it matches {len(matches)} commits ({listed}). Give more digits.",
            code="ambiguous-revision",
            details={"candidates": [c.sha for c in matches[:MAX_CANDIDATES]]},
        )
    for repo in repositories:
        found = git.rev_parse(clone_path(repo), text) if clone_path(repo).exists() else None
        if found:
            raise PickRefused(
                f"{found[:10]} is not on {repo.trunk_branch} of {repo.name}: only trunk "
                "commits can be picked. Land it on trunk first.",
                code="not-on-trunk",
            )
    raise PickRefused(f"No commit matches {text}.", code="unknown-revision")


def _candidates(text: str, repositories: list[Repository]) -> list[Revision]:
    query = Revision.objects.filter(repository__in=repositories).select_related("repository")
    if len(text) == 40:
        return list(query.filter(sha=text))
    return list(query.filter(sha__startswith=text).order_by("-position")[: MAX_CANDIDATES + 1])


def _shown(text: str | None, limit: int = 40) -> str:
    text = (text or "").strip()
    if not text:
        return "An empty revision"
    clean = "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
    return repr(clean + ("…" if len(text) > limit else ""))


def branch_for_pick(*, repository: Repository, name: str | None = None) -> ReleaseBranch:
    """The named branch, or the repository's current one; refused when it takes no picks."""
    if name:
        name = name.strip()
        branch = None
        if not UNSTORABLE.search(name):  # no branch has such a name; PostgreSQL refuses NUL
            branch = ReleaseBranch.objects.filter(repository=repository, name=name).first()
        if branch is None:
            raise PickRefused(
                f"{repository.name} has no release branch {_shown(name)}.", code="unknown-branch"
            )
    else:
        branch = branch_current(repository=repository)
        if branch is None:
            raise PickRefused(
                f"{repository.name} has no open release branch yet: the next cut is "
                f"{times.when(cadence.next_cut_slot(repository, timezone.now()), repository)}.",
                code="no-branch",
            )
    refusal = branch_refusal(branch=branch, now=timezone.now())
    if refusal:
        raise PickRefused(refusal, code="branch-closed")
    return branch


def branch_refusal(*, branch: ReleaseBranch, now: dt.datetime) -> str:
    """Why a branch takes no picks right now, or "" when it does."""
    repository = branch.repository
    if branch.state == BranchState.CLOSED:
        return f"{branch.name} is closed: the train moved on. Pick onto the current branch."
    freeze = repository_freeze_now(repository=repository, now=now)
    if freeze:
        until = freeze_until(freeze, repository)
        return f"{repository.name} is frozen {until} ({freeze.reason}): no picks and no pushes."
    if repository.friday_policy == FridayPolicy.NO_PUSH and cadence.is_friday(repository, now):
        return f"{repository.name} does not push on Fridays: request your pick on Monday."
    return ""


# --- may this person ask at all? -----------------------------------------------------------


def request_refusal(
    *,
    engineer: Engineer | None,
    repository: Repository | None = None,
    branch_name: str | None = None,
) -> DomainError | None:
    """Why `engineer` may not request a pick now (on `repository`'s branch, when given), or
    None. The request asks it first; the form, the API and the bot ask it before anything is
    typed, so a refusal comes before the effort, in the same words."""
    if engineer is None:
        return Forbidden(NOT_AN_ENGINEER, code="not-an-engineer")
    refused_for_karma = karma_refusal(engineer=engineer, repository=repository)
    if refused_for_karma is not None:
        return refused_for_karma
    if repository is not None:
        try:
            branch_for_pick(repository=repository, name=branch_name)
        except PickRefused as refused:
            return refused
    return None


@dataclass(frozen=True)
class RequestOutlook:
    """Before a request: what stops every one (`refusal`), and each active repository's answer."""

    refusal: DomainError | None
    repositories: list[tuple[Repository, DomainError | None]]

    @property
    def refused_here(self) -> list[tuple[Repository, DomainError]]:
        """Repositories that take no picks now while another does (or all, when none does)."""
        return [(repo, error) for repo, error in self.repositories if error is not None]


def pick_request_outlook(*, engineer: Engineer | None) -> RequestOutlook:
    """`request_refusal` for the person, then for each active repository's current branch."""
    refusal = request_refusal(engineer=engineer)
    if refusal is not None:
        return RequestOutlook(refusal, [])
    active = Repository.objects.filter(is_active=True).order_by("name")
    answers = [(repo, request_refusal(engineer=engineer, repository=repo)) for repo in active]
    if not answers:
        refusal = PickRefused("No repository is on the train yet.", code="no-repository")
    elif all(error is not None for _, error in answers):
        refusal = answers[0][1]
    return RequestOutlook(refusal, answers)


# --- the request --------------------------------------------------------------------------


@dataclass(frozen=True)
class PickRequestResult:
    pick: Pick
    dry_run: DryRun


def pick_request(
    *,
    requestor: Engineer,
    revision: str,
    reason: str,
    branch_name: str | None = None,
    repository: Repository | None = None,
    backup: Engineer | None = None,
    urgent: bool = False,
) -> PickRequestResult:
    """Ask for a trunk revision on a release branch. Refused, with a reason, before any write.
    An `urgent` pick goes to a push started for it once approved (`pick_approve`)."""
    reason = storable((reason or "").strip(), "reason")
    if not reason:
        raise PickRefused(NO_REASON, code="no-reason")
    refusal = request_refusal(engineer=requestor, repository=repository, branch_name=branch_name)
    if refusal is not None:
        raise refusal
    try:
        found = revision_resolve(revision=revision, repository=repository)
        branch = branch_for_pick(repository=found.repository, name=branch_name)
        having = tuple(sha for sha in (found.sha, branch.base_sha, branch.remote_head) if sha)
        path = clone_ready(repository=branch.repository, having=having)
        _refuse_if_on_branch(branch, found)
        _refuse_if_requested(branch, found.sha)
        stats = git.diff_stat(path, found.sha)
        dry_run = pick_dry_run(branch=branch, sha=found.sha)
    except git.GitError as error:
        raise GitUnavailable(
            f"Git could not answer just now ({error.message[:200]}); nothing was stored. "
            "Try again in a minute; if it persists, tell release engineering."
        ) from error
    if backup is not None and backup.pk == requestor.pk:
        backup = None
    now = timezone.now()
    try:
        with transaction.atomic():
            pick = Pick.objects.create(
                branch=branch,
                push=push_next(branch=branch, now=now),
                sha=found.sha,
                trunk_position=found.position,
                title=found.title,
                author_name=found.author_name,
                author_email=found.author_email,
                review_url=found.review_url,
                review_status=ReviewStatus.PENDING if found.review_url else ReviewStatus.NONE,
                requestor=requestor,
                backup=backup,
                reason=reason,
                urgent=urgent,
                lines_added=stats.lines_added,
                lines_deleted=stats.lines_deleted,
                files_changed=stats.files_changed,
                paths=list(stats.files[:500]),
                predicted_conflicts=list(dry_run.conflict_files),
                prerequisites=dry_run.prerequisites,
                checked_at=now,
            )
            PickEvent.objects.create(
                pick=pick, actor=requestor, at=now, to_state=PickState.REQUESTED, reason=reason
            )
            if pick.review_url:
                enqueue("pushes.tasks.pick_review_fetch", pick.pk)
    except IntegrityError:
        # Someone asked for the same revision in the same instant: answer with theirs.
        _refuse_if_requested(branch, found.sha)
        raise
    return PickRequestResult(pick=pick, dry_run=dry_run)


@dataclass(frozen=True)
class BranchRequest:
    """One branch's answer to a request for several: its pick, or why it was refused."""

    branch_name: str
    result: PickRequestResult | None
    refusal: DomainError | None


def pick_request_branches(
    *,
    requestor: Engineer,
    revision: str,
    reason: str,
    branch_names: list[str],
    repository: Repository | None = None,
    backup: Engineer | None = None,
    urgent: bool = False,
) -> list[BranchRequest]:
    """The revision on each release branch named once, by `pick_request` (every check of its
    own); a refusal on one branch leaves the others be. No names: the current branch."""
    answers = []
    for name in dict.fromkeys(name.strip() for name in branch_names) or [""]:
        try:
            result = pick_request(
                requestor=requestor, revision=revision, reason=reason, branch_name=name or None,
                repository=repository, backup=backup, urgent=urgent,
            )  # fmt: skip
        except DomainError as refusal:
            answers.append(BranchRequest(branch_name=name, result=None, refusal=refusal))
        else:
            answers.append(BranchRequest(result.pick.branch.name, result=result, refusal=None))
    return answers


def _refuse_if_on_branch(branch: ReleaseBranch, revision: Revision) -> None:
    if branch.base_position is not None and revision.position <= branch.base_position:
        raise PickRefused(
            f"{revision.short_sha} is already in {branch.name}: it landed on trunk before the cut.",
            code="already-in-branch",
        )
    path = clone_path(branch.repository)
    # Origin's branch first (someone may have pushed the change there by hand), then the one
    # Releasebot pushes from (picks recorded and not pushed yet).
    origin = git.remote_ref(branch.name)
    for ref in (origin, None):
        if ref is not None and git.rev_parse(path, ref) is None:
            continue
        found = (
            git.find_in_ref(path, revision.sha, ref, branch.base_sha)
            if ref
            else git.find_in_branch(path, revision.sha, branch.name, branch.base_sha)
        )
        if found:
            by = _carried_by(branch, found.sha)
            how = {
                "ancestry": "it is an ancestor of the branch",
                "trailer": f"it was picked before as {found.sha[:10]}{by}",
                "patch-id": f"the same change is there as {found.sha[:10]}{by}",
            }[found.how]
            raise PickRefused(
                f"{revision.short_sha} is already in {branch.name}: {how}.",
                code="already-in-branch",
            )


def _carried_by(branch: ReleaseBranch, sha: str) -> str:
    """Who put the commit on the branch, in words: a pick of Releasebot's, or a person."""
    pick = Pick.objects.filter(branch=branch, result_sha=sha).values_list("pk", flat=True).first()
    return f" (pick #{pick})" if pick else " (pushed to the branch by hand)"


def _refuse_if_requested(branch: ReleaseBranch, sha: str) -> None:
    existing = Pick.objects.filter(branch=branch, sha=sha, state__in=PICK_ACTIVE_STATES).first()
    if existing:
        raise PickRefused(
            f"{sha[:10]} is already requested for {branch.name} as pick #{existing.pk} "
            f"({existing.get_state_display().lower()}, by {existing.requestor}).",
            code="already-requested",
            details={"pick": existing.pk},
        )


# --- moves --------------------------------------------------------------------------------


def _keep_risk(pick: Pick) -> None:
    """Keep the pick's risk as it stands at a release engineer's decision: from then on the
    pick is shown with it, however the requestor's stars or the push change later."""
    stars = karma_stars(user_id=pick.requestor.user_id)
    risk = pick_risk(pick, stars=stars, rejections=pick_rejections(pick=pick))
    pick.decided_risk = risk.record(stars=stars, at=timezone.now())
    Pick.objects.filter(pk=pick.pk).update(decided_risk=pick.decided_risk)


def _reason_given(move: moves.Move, reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise PickRefused(move.reason_hint, code="no-reason")
    return reason


def pick_approve(*, pick_id: int, actor: Engineer, reason: str = "") -> Pick:
    """Approve a pick for its push; inside the confirmation window it is asked for at once.
    An urgent pick goes to a push started for it now, and is asked for at once (`urgent`)."""
    with transaction.atomic():
        pick_for_move(moves.APPROVE, pick_id=pick_id, actor=actor)
        pick = pick_transition(pick_id=pick_id, to=PickState.APPROVED, actor=actor, reason=reason)
        started = pick_urgent_push(pick=pick, actor=actor) if pick.urgent else None
        if started is None and (pick.push is None or pick.push.state not in PUSH_UPCOMING_STATES):
            pick.push = push_next(branch=pick.branch, now=timezone.now())
            pick.save(update_fields=["push", "updated_at"])
        _keep_risk(pick)
        when = f" for push {pick.push.label}" if pick.push else ""
        notify(
            engineer=pick.requestor,
            kind=NotificationKind.APPROVED,
            text=f"Pick #{pick.pk} ({pick.short_sha} {pick.title}) was approved{when}.",
            pick=pick,
            push=pick.push,
        )
        if started is not None:
            pick = pick_urgent_ask(pick=pick)
        elif pick.push and pick.push.state == PushState.CONFIRMING:
            pick = pick_ask_confirmation(pick=pick)
    return pick


def pick_reject(*, pick_id: int, actor: Engineer, reason: str) -> Pick:
    with transaction.atomic():
        pick_for_move(moves.REJECT, pick_id=pick_id, actor=actor)
        reason = _reason_given(moves.REJECT, reason)
        pick = pick_transition(pick_id=pick_id, to=PickState.REJECTED, actor=actor, reason=reason)
        _keep_risk(pick)
        notify(
            engineer=pick.requestor,
            kind=NotificationKind.REJECTED,
            text=f"Pick #{pick.pk} ({pick.short_sha} {pick.title}) was rejected: {reason}",
            pick=pick,
        )
    return pick


def pick_defer(*, pick_id: int, actor: Engineer, reason: str = "") -> Pick:
    """Not this push: the pick moves to the next one."""
    with transaction.atomic():
        current = pick_for_move(moves.DEFER, pick_id=pick_id, actor=actor)
        after = current.push.scheduled_at if current.push else timezone.now()
        pick = pick_transition(
            pick_id=pick_id,
            to=PickState.DEFERRED,
            actor=actor,
            reason=reason,
            push=push_next(branch=current.branch, now=after),
        )
        _keep_risk(pick)
        where = f"push {pick.push.label}" if pick.push else "a later push"
        notify(
            engineer=pick.requestor,
            kind=NotificationKind.DEFERRED,
            text=f"Pick #{pick.pk} ({pick.short_sha}) was deferred to {where}. {reason}".strip(),
            pick=pick,
            push=pick.push,
        )
    return pick


def pick_withdraw(*, pick_id: int, actor: Engineer, reason: str = "") -> Pick:
    with transaction.atomic():
        pick_for_move(moves.WITHDRAW, pick_id=pick_id, actor=actor)
        pick = pick_transition(pick_id=pick_id, to=PickState.WITHDRAWN, actor=actor, reason=reason)
        notifications_answer(pick=pick)
    return pick


def pick_confirm(*, pick_id: int, actor: Engineer) -> Pick:
    """The requestor (or their backup) is online to support the push. A second press of
    "I'm here" changes nothing."""
    with transaction.atomic():
        pick = pick_for_move(moves.CONFIRM, pick_id=pick_id, actor=actor)
        if pick.state in moves.CONFIRM.already:
            return pick
        pick = pick_transition(
            pick_id=pick_id,
            to=PickState.CONFIRMED,
            actor=actor,
            reason="Online to support the push.",
        )
        notifications_answer(pick=pick)
    return pick


def pick_decline(*, pick_id: int, actor: Engineer, reason: str = "") -> Pick:
    """ "Not this time": the pick rolls to the next push (and expires after too many rolls)."""
    with transaction.atomic():
        pick = pick_for_move(moves.DECLINE, pick_id=pick_id, actor=actor)
        pick = pick_roll(pick=pick, actor=actor, reason=reason or "Not this time.")
        notifications_answer(pick=pick)
    return pick
