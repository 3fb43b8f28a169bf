"""A pick asked for on a pull request: once merged, its merge commit is asked for on behalf of
its author, on each branch the ask names, through `pick_request_branches`, with every check a
request from the web, the API or chat gets. What was made and what was refused is written back
to the pull request."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F, Q

from common.errors import DomainError
from common.queue import enqueue
from forges.choices import AskState, Forge
from forges.clients import ForgeUnavailable, client_for
from forges.models import PickAsk, PullRequest, PullRequestPick
from pushes.git import GitError
from pushes.models import Engineer, Pick, Repository, Revision
from pushes.services import pick_request_branches, trunk_sync

log = logging.getLogger(__name__)

LOGIN_FIELDS: dict[str, str] = {Forge.GITHUB: "github_login", Forge.GITLAB: "gitlab_username"}


def engineer_for(*, repository: Repository, login: str, sha: str = "") -> Engineer | None:
    """The engineer a forge login is (their GitHub login or GitLab username, without regard to
    case), or else whose e-mail the commit's author has."""
    field = LOGIN_FIELDS.get(repository.review_tool)
    if field and login.strip():
        found = Engineer.objects.filter(**{f"{field}__iexact": login.strip()}).first()
        if found:
            return found
    email = (
        Revision.objects.filter(repository=repository, sha=sha)
        .values_list("author_email", flat=True)
        .first()
    )
    if not email:
        return None
    return Engineer.objects.filter(Q(email__iexact=email) | Q(user__email__iexact=email)).first()


def pick_ask_handle(*, ask_id: int) -> str:
    """Ask for the picks of one pending ask, once; what happened, in words. Safe to run twice:
    only the run that moves it from pending to handling does anything."""
    claimed = PickAsk.objects.filter(pk=ask_id, state=AskState.PENDING).update(
        state=AskState.HANDLING, attempts=F("attempts") + 1
    )
    if not claimed:
        return "not pending"
    ask = PickAsk.objects.select_related("pull_request__repository").get(pk=ask_id)
    pull_request = ask.pull_request
    error = _refresh(pull_request)
    if error and not (pull_request.merged and pull_request.merge_sha):
        _back_to_pending(ask, error)
        return f"retry: {error}"
    if not pull_request.merged or not pull_request.merge_sha:
        ask.state = AskState.WAITING
        ask.save(update_fields=["state", "updated_at"])
        return "waits for the merge"
    return _ask_picks(ask, pull_request)


def _refresh(pull_request: PullRequest) -> str:
    """The pull request as the forge has it now; the error when it cannot be asked."""
    client = client_for(pull_request.repository)
    if client is None:
        return "" if pull_request.merge_sha else "no forge API configured"
    try:
        remote = client.pull_request(pull_request.number)
    except ForgeUnavailable as error:
        return str(error)
    pull_request.title = remote.title[:500] or pull_request.title
    pull_request.url = remote.url[:500] or pull_request.url
    pull_request.author_login = remote.author_login[:100] or pull_request.author_login
    pull_request.merged = remote.merged
    pull_request.merge_sha = remote.merge_sha or pull_request.merge_sha
    pull_request.save()
    return ""


def _back_to_pending(ask: PickAsk, error: str) -> None:
    ask.state, ask.error = AskState.PENDING, error[:500]
    ask.save(update_fields=["state", "error", "updated_at"])
    log.warning("pick ask %s: %s; tried again later", ask.pk, error)


def _ask_picks(ask: PickAsk, pull_request: PullRequest) -> str:
    repository = pull_request.repository
    unindexed = _index_merge_commit(repository, pull_request.merge_sha)
    if unindexed:
        _back_to_pending(ask, unindexed)
        return f"retry: {unindexed}"
    requestor = engineer_for(
        repository=repository, login=pull_request.author_login, sha=pull_request.merge_sha
    )
    made: list[Pick] = []
    refusals: list[dict[str, object]] = []
    if requestor is None:
        refusals.append(_unknown_author(repository, pull_request))
    else:
        for answer in pick_request_branches(
            requestor=requestor,
            revision=pull_request.merge_sha,
            reason=ask.reason,
            branch_names=list(ask.branches),
            repository=repository,
        ):
            if answer.result is not None:
                made.append(answer.result.pick)
            elif answer.refusal is not None:
                refused = _refusal(answer.branch_name, answer.refusal, pull_request, made)
                if refused:
                    refusals.append(refused)
    if not made and any(r["error"] == "git-unavailable" for r in refusals):
        _back_to_pending(ask, str(refusals[0]["message"]))
        return "retry: git unavailable"
    with transaction.atomic():
        for pick in made:
            PullRequestPick.objects.get_or_create(
                pick=pick, defaults={"pull_request": pull_request}
            )
        ask.state, ask.refusals, ask.error = AskState.DONE, refusals, ""
        ask.save(update_fields=["state", "refusals", "error", "updated_at"])
        enqueue("forges.tasks.pull_request_writeback", pull_request.pk)
    return f"{len(made)} pick(s) made, {len(refusals)} refused"


def _index_merge_commit(repository: Repository, sha: str) -> str:
    """Index trunk first when the merge commit is not in the index yet: the forge sends the
    push and the label in no set order, and another worker may still be syncing. '' once the
    index is as fresh as the remote; why not when the remote could not be read."""
    indexed = Revision.objects.filter(repository=repository, sha=sha).exists()
    if not sha or indexed:
        return ""
    try:
        trunk_sync(repository=repository)
    except GitError as error:
        return f"trunk of {repository.name} could not be fetched: {error}"[:500]
    return ""


def _refusal(
    branch_name: str | None, refusal: DomainError, pull_request: PullRequest, made: list[Pick]
) -> dict[str, object] | None:
    """A branch's refusal, as the comment shows it; None when the refusal is that this very
    commit was asked for already (by a label and a comment, say): that pick is this pull
    request's all the same."""
    details = refusal.details if isinstance(refusal.details, dict) else {}
    if refusal.code == "already-requested" and details.get("pick"):
        pick = Pick.objects.filter(pk=details["pick"], sha=pull_request.merge_sha).first()
        if pick is not None:
            made.append(pick)
            return None
    return {"branch": branch_name or "", "error": refusal.code, "message": refusal.message}


def _unknown_author(repository: Repository, pull_request: PullRequest) -> dict[str, object]:
    forge = Forge(repository.review_tool).label if repository.review_tool in Forge else "forge"
    who = f"@{pull_request.author_login}" if pull_request.author_login else "The author"
    return {
        "branch": "",
        "error": "unknown-author",
        "message": f"{forge} user {who} is not an engineer on Releasebot: ask an admin to set "
        f"your {forge} login on your engineer, or commit with the e-mail Releasebot knows.",
    }
