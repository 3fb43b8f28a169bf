"""The picks of a pull request, written back where its author looks: one comment, updated in
place, that says each pick's state and next step (and each refusal), the labels `picked`,
`shipped` and `conflict`, and for a conflict a branch with the cherry-pick and its markers and a
draft pull request of it, with the commands to finish it in the comment.

A write-back never blocks a pick: it runs after the change that asks for it commits, and one that
fails (the forge down, credentials refused) is recorded on the pull request and tried again by
the sweep, later and later (`RETRY_AFTER`, doubled up to `RETRY_MAX`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from forges.choices import (
    LABEL_CONFLICT,
    LABEL_PICKED,
    LABEL_SHIPPED,
    MANAGED_LABELS,
    AskState,
)
from forges.clients import ForgeClient, ForgeUnavailable, client_for
from forges.models import PickAsk, PullRequest, PullRequestPick
from pushes import git
from pushes.choices import PICK_OPEN_STATES, PickState
from pushes.locks import repository_lock
from pushes.selectors import pick_next_step
from pushes.services.repositories import clone_ready, scratch_dir

log = logging.getLogger(__name__)

MARKER = "<!-- releasebot:picks -->"
RETRY_AFTER = dt.timedelta(minutes=1)
RETRY_MAX = dt.timedelta(hours=1)

# `picked` while a pick is on its way (asked for, approved, confirmed, on the branch), `shipped`
# once a pushed tag carries it, `conflict` when it did not apply; none once it is refused,
# withdrawn or expired.
LABELS_BY_STATE: dict[str, str] = {
    **dict.fromkeys(PICK_OPEN_STATES, LABEL_PICKED),
    PickState.SHIPPED: LABEL_SHIPPED,
    PickState.CONFLICT: LABEL_CONFLICT,
}


def pull_request_writeback(*, pull_request_id: int) -> str:
    """Bring the pull request's comment, labels and conflict hand-overs up to date with its
    picks; what it did, in words. Safe to run twice: what is written already is not written
    again (the comment's digest, the labels it put on)."""
    with transaction.atomic():
        pull_request = (
            PullRequest.objects.select_for_update()
            .select_related("repository")
            .filter(pk=pull_request_id)
            .first()
        )
        if pull_request is None:
            return "no such pull request"
        client = client_for(pull_request.repository)
        if client is None:
            return _failed(pull_request, "no forge API configured for this repository")
        links = list(
            PullRequestPick.objects.filter(pull_request=pull_request).select_related(
                "pick__branch__repository", "pick__push__branch__repository", "pick__requestor"
            )
        )
        try:
            _handovers(client, pull_request, links)
            written = _write(client, pull_request, links)
        except ForgeUnavailable as error:
            return _failed(pull_request, str(error))
        pull_request.write_error, pull_request.write_attempts = "", 0
        pull_request.write_after, pull_request.written_at = None, timezone.now()
        pull_request.save()
    return written


def _write(client: ForgeClient, pull_request: PullRequest, links: list[PullRequestPick]) -> str:
    body = comment_render(pull_request, links)
    digest = hashlib.sha256(body.encode()).hexdigest()
    done = []
    if digest != pull_request.written_digest or not pull_request.comment_id:
        if not pull_request.comment_id or not client.comment_update(
            pull_request.number, pull_request.comment_id, body
        ):
            pull_request.comment_id = client.comment_create(pull_request.number, body)
            pull_request.save(update_fields=["comment_id"])
            done.append("comment written")
        else:
            done.append("comment updated")
        pull_request.written_digest = digest
        pull_request.save(update_fields=["written_digest"])
    wanted = {
        LABELS_BY_STATE[link.pick.state] for link in links if link.pick.state in LABELS_BY_STATE
    }
    current = set(pull_request.written_labels)
    add = sorted(wanted - current)
    remove = sorted((current - wanted) & set(MANAGED_LABELS))
    client.labels_add(pull_request.number, add)
    client.labels_remove(pull_request.number, remove)
    if add or remove:
        done.append(f"labels +{add} -{remove}")
    pull_request.written_labels = sorted(wanted)
    return "; ".join(done) or "up to date"


def _failed(pull_request: PullRequest, error: str) -> str:
    attempts = pull_request.write_attempts + 1
    wait = min(RETRY_AFTER * 2 ** min(attempts - 1, 10), RETRY_MAX)
    pull_request.write_error = error[:500]
    pull_request.write_attempts = attempts
    pull_request.write_after = timezone.now() + wait
    pull_request.save()
    log.warning("write-back to %s failed (%s); tried again in %s", pull_request, error, wait)
    return f"failed: {error}"


# --- a conflict, handed over --------------------------------------------------------------


def handover_name(link: PullRequestPick) -> str:
    return f"pick/{link.pick_id}"


def _handovers(client: ForgeClient, pull_request: PullRequest, links: list[PullRequestPick]):
    """For each pick that conflicted: the branch (pushed to origin) and its draft pull
    request. A branch git cannot make now is left for the next try; the comment says so."""
    for link in links:
        pick = link.pick
        if pick.state != PickState.CONFLICT or link.handover_url:
            continue
        if not link.handover_branch:
            try:
                _handover_branch(link)
            except git.GitError as error:
                log.warning("hand-over branch of pick #%s not made: %s", pick.pk, error.message)
                continue
        link.handover_url = client.draft_create(
            head=link.handover_branch,
            base=pick.branch.name,
            title=f"Pick #{pick.pk} onto {pick.branch.name}: {pick.title}"[:250],
            body=_handover_body(pull_request, link),
        )
        link.save(update_fields=["handover_url"])


def _handover_branch(link: PullRequestPick) -> None:
    pick = link.pick
    repository = pick.branch.repository
    name = handover_name(link)
    files = ", ".join(pick.conflict_files[:10]) or "the files git names"
    message = (
        f"Pick #{pick.pk} onto {pick.branch.name}: {pick.title}\n\n"
        f"Conflicts to resolve in {files}: the markers are committed as git left them.\n\n"
        f"(cherry picked from commit {pick.sha})"
    )
    path = clone_ready(repository=repository)
    with repository_lock(repository.slug):
        git.sync(path, repository.remote_url)
        base = git.remote_tip(path, pick.branch.name) or git.branch_tip(path, pick.branch.name)
        git.handover_branch(
            path, name=name, base=base, sha=pick.sha, message=message, scratch_dir=scratch_dir()
        )
    link.handover_branch = name
    link.save(update_fields=["handover_branch"])


def _handover_body(pull_request: PullRequest, link: PullRequestPick) -> str:
    pick = link.pick
    return (
        f"Pick #{pick.pk} of {pull_request.url or f'#{pull_request.number}'} did not apply on "
        f"`{pick.branch.name}`. This branch has the cherry-pick with its conflict markers "
        "committed: resolve them, amend the commit and push, then mark this ready.\n\n"
        + _commands(link)
    )


def _commands(link: PullRequestPick) -> str:
    branch = link.handover_branch
    files = " ".join(link.pick.conflict_files[:10]) or "the files with markers"
    return (
        "```sh\n"
        f"git fetch origin {branch}\n"
        f"git switch {branch}\n"
        f"# resolve the conflict markers in {files}, then:\n"
        "git commit --all --amend --no-edit\n"
        f"git push --force-with-lease origin {branch}\n"
        "```"
    )


# --- the comment --------------------------------------------------------------------------


def comment_render(pull_request: PullRequest, links: list[PullRequestPick]) -> str:
    """The comment, in Markdown (GitHub's and GitLab's alike): each pick with its state and
    next step, each refusal, each ask still waiting for the merge."""
    lines = [MARKER, "**Releasebot**: picks of this pull request", ""]
    if links:
        lines += ["| Branch | Pick | State | Next |", "| --- | --- | --- | --- |"]
        for link in links:
            pick = link.pick
            url = f"{settings.SITE_URL}{pick.get_absolute_url()}"
            next_step = _cell(pick_next_step(pick) if pick.is_open else "")
            lines.append(
                f"| `{pick.branch.name}` | [#{pick.pk}]({url}) | {pick.get_state_display()} "
                f"| {next_step} |"
            )
        lines.append("")
    for link in links:
        if link.pick.state == PickState.CONFLICT:
            lines += _conflict_lines(link)
    asks = list(PickAsk.objects.filter(pull_request=pull_request).order_by("created_at", "pk"))
    for ask in asks:
        if ask.state == AskState.WAITING:
            lines.append(f"- {_asked(ask)}: waits for this to be merged, then asks for the pick.")
        elif ask.state in (AskState.PENDING, AskState.HANDLING):
            note = f" (not yet: {ask.error})" if ask.error else ""
            lines.append(f"- {_asked(ask)}: being asked for{note}.")
        for refusal in ask.refusals if ask.state == AskState.DONE else ():
            where = f" onto {_code(refusal['branch'])}" if refusal.get("branch") else ""
            lines.append(f"- {_asked(ask)}{where} was refused: {refusal['message']}")
    return "\n".join(lines).rstrip() + "\n"


def _asked(ask: PickAsk) -> str:
    how = f"the {_code(ask.key)} label" if ask.source == "label" else "a `/rb pick` comment"
    return f"Asked for with {how}"


def _conflict_lines(link: PullRequestPick) -> list[str]:
    pick = link.pick
    files = ", ".join(f"`{f}`" for f in pick.conflict_files[:10]) or "some files"
    head = f"**Pick #{pick.pk} conflicts on `{pick.branch.name}`** in {files}."
    if not link.handover_branch:
        return [head + " A branch to finish it by hand is on its way.", ""]
    draft = f" ([draft pull request]({link.handover_url}))" if link.handover_url else ""
    return [
        f"{head} The branch `{link.handover_branch}`{draft} has the cherry-pick with its "
        "conflict markers committed; finish it with:",
        "",
        _commands(link),
        "",
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """Text a person wrote (a branch name), shown as code: no backtick to break out of it."""
    return "`" + text.replace("`", "'").replace("\n", " ")[:200] + "`"
