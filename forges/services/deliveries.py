"""A webhook delivery, from its bytes to what it changes: checked, recorded, acted on.

The order of the checks: the headers every delivery of that forge has, a JSON body, a
repository that names the forge project, that repository's secret (none set: everything is
refused), the signature (GitHub's `X-Hub-Signature-256`, an HMAC-SHA256 of the body) or token
(GitLab's `X-Gitlab-Token`). Then, in one transaction, the delivery is recorded under its id
with the body's digest and acted on: the same delivery again (a redelivery) changes nothing
and answers as the first did; a body delivered before under another id (a replay) is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from common.errors import Conflict, DomainError, Forbidden, NotFound
from common.queue import enqueue
from forges import events
from forges.choices import AskSource, AskState, Forge
from forges.events import BadPayload, Event, PullRequestFacts
from forges.models import Delivery, PickAsk, PullRequest
from forges.services.asks import engineer_for
from forges.services.connection import webhook_secret
from pushes.models import Repository


class Unauthenticated(DomainError):
    code = "unsigned"
    status = 401


class Replayed(Conflict):
    code = "replayed"


ID_HEADERS: dict[str, tuple[str, ...]] = {
    # GitHub's id of the event, the same on a redelivery.
    Forge.GITHUB: ("X-GitHub-Delivery",),
    # GitLab's Idempotency-Key is the same on a retry (GitLab 17.4+); older ones send a UUID.
    Forge.GITLAB: ("Idempotency-Key", "X-Gitlab-Webhook-UUID", "X-Gitlab-Event-UUID"),
}
EVENT_HEADERS: dict[str, str] = {Forge.GITHUB: "X-GitHub-Event", Forge.GITLAB: "X-Gitlab-Event"}


@dataclass(frozen=True)
class Received:
    """What a delivery did, as the webhook answers it."""

    delivery_id: str
    event: str
    outcome: str
    queued: bool = False
    duplicate: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "delivery": self.delivery_id,
            "event": self.event,
            "outcome": self.outcome,
            "duplicate": self.duplicate,
        }


def delivery_receive(*, forge: str, headers: Mapping[str, str], body: bytes) -> Received:
    """Check one delivery and act on it once; a refusal (DomainError) changes nothing."""
    event_name, delivery_id = _headers(forge, headers)
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadPayload("The body is not JSON.") from None
    repository = _repository(forge, events.project_of(forge, payload))
    _verify(forge, repository, headers, body)
    event = (
        events.github_event(event_name, payload)
        if forge == Forge.GITHUB
        else events.gitlab_event(payload)
    )
    digest = hashlib.sha256(body).hexdigest()
    try:
        with transaction.atomic():
            _refuse_replay(forge, delivery_id, digest)
            delivery = Delivery.objects.create(
                forge=forge,
                delivery_id=delivery_id,
                event=event_name,
                digest=digest,
                repository=repository,
                outcome="",
            )
            outcome, queued = _act(repository, event)
            delivery.outcome = outcome[:500]
            delivery.save(update_fields=["outcome"])
    except Redelivered as again:
        return again.received
    except IntegrityError:
        # The same delivery, in the same instant, on another process: it is that one's.
        try:
            _refuse_replay(forge, delivery_id, digest)
        except Redelivered as again:
            return again.received
        raise
    return Received(delivery_id, event_name, outcome, queued=queued)


def _headers(forge: str, headers: Mapping[str, str]) -> tuple[str, str]:
    event_name = headers.get(EVENT_HEADERS[forge], "").strip()
    delivery_id = next(
        (headers[h].strip() for h in ID_HEADERS[forge] if headers.get(h, "").strip()), ""
    )
    if not event_name or not delivery_id:
        wanted = " and ".join([EVENT_HEADERS[forge], " or ".join(ID_HEADERS[forge])])
        raise DomainError(
            f"Not a {Forge(forge).label} webhook delivery: it needs {wanted}.",
            code="bad-delivery",
        )
    if len(delivery_id) > 100 or len(event_name) > 64:
        raise DomainError("The delivery's id or event name is too long.", code="bad-delivery")
    return event_name, delivery_id


def _repository(forge: str, project: str) -> Repository:
    repository = Repository.objects.filter(
        review_tool=forge, forge_project__iexact=project.strip(), is_active=True
    ).first()
    if repository is None or not project.strip():
        raise NotFound(
            f"No repository on Releasebot is {Forge(forge).label}'s {project[:200]!r}: set it as "
            "a repository's forge project (admin, or the API's repositories/<slug>/forge/).",
            code="unknown-repository",
        )
    return repository


def _secret(repository: Repository) -> str:
    value = webhook_secret(repository)
    if not value:
        raise Forbidden(
            f"{repository.name} has no webhook secret set, so every delivery is refused: set "
            "its webhook secret variable, and the same secret on the webhook.",
            code="no-webhook-secret",
        )
    return value


def _verify(forge: str, repository: Repository, headers: Mapping[str, str], body: bytes) -> None:
    secret = _secret(repository)
    if forge == Forge.GITHUB:
        given = headers.get("X-Hub-Signature-256", "").strip()
        if not given:
            raise Unauthenticated("The delivery is not signed (no X-Hub-Signature-256).")
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    else:
        given = headers.get("X-Gitlab-Token", "")
        if not given:
            raise Unauthenticated("The delivery carries no X-Gitlab-Token.")
        expected = secret
    if not hmac.compare_digest(given.encode(), expected.encode()):
        what = "signature" if forge == Forge.GITHUB else "token"
        raise Unauthenticated(
            f"The delivery's {what} does not match {repository.name}'s webhook secret.",
            code="bad-signature",
        )


def _refuse_replay(forge: str, delivery_id: str, digest: str) -> None:
    """A delivery handled before: the same again (a redelivery) is answered as it was, by
    raising `Redelivered`; the same body under another id is a replay."""
    earlier = Delivery.objects.filter(forge=forge, delivery_id=delivery_id).first()
    if earlier is not None:
        if earlier.digest == digest:
            raise Redelivered(earlier)
        raise Replayed(
            f"Delivery {delivery_id} was handled before with another body; nothing changed.",
        )
    if Delivery.objects.filter(forge=forge, digest=digest).exists():
        raise Replayed(
            "This body was delivered before under another id: a replay; nothing changed.",
        )


class Redelivered(Exception):
    """Not an error: the forge sent a delivery again. The caller answers as the first time."""

    def __init__(self, earlier: Delivery) -> None:
        super().__init__(earlier.delivery_id)
        self.received = Received(
            earlier.delivery_id, earlier.event, earlier.outcome, duplicate=True
        )


# --- acting on an event -------------------------------------------------------------------


def _act(repository: Repository, event: Event) -> tuple[str, bool]:
    """What the event changes, in the delivery's transaction; its outcome in words, and
    whether work was queued."""
    if event.kind == events.PING:
        return "pong: this webhook reaches Releasebot", False
    if event.kind == events.PUSH:
        if event.ref != f"refs/heads/{repository.trunk_branch}":
            return f"ignored: a push to {event.ref}, not to trunk", False
        enqueue("pushes.tasks.trunk_sync", repository.pk, what=f"trunk sync of {repository.slug}")
        return f"trunk sync of {repository.trunk_branch} queued", True
    if event.kind == events.IGNORED or event.pull_request is None:
        return f"ignored: {event.why_ignored}", False
    pull_request = _pull_request_upsert(repository, event.pull_request)
    if event.kind == events.LABELS:
        return _labels(pull_request, event)
    if event.kind == events.MERGED:
        return _merged(pull_request, event)
    if event.kind == events.CLOSED:
        closed = _asks_waiting(pull_request).update(state=AskState.CANCELLED)
        return f"closed without merging: {closed} waiting ask(s) cancelled", False
    return _comment(pull_request, event)


def _pull_request_upsert(repository: Repository, facts: PullRequestFacts) -> PullRequest:
    pull_request, _ = PullRequest.objects.select_for_update().get_or_create(
        repository=repository, number=facts.number
    )
    for name in ("title", "url", "author_login", "merge_sha"):
        value = getattr(facts, name)
        if value:
            setattr(pull_request, name, value[:500])
    if facts.merged:  # a payload that does not say so never un-merges it
        pull_request.merged = True
    pull_request.save()
    return pull_request


def _asks_waiting(pull_request: PullRequest):
    return PickAsk.objects.filter(pull_request=pull_request, state=AskState.WAITING)


def _ask(
    pull_request: PullRequest,
    *,
    source: str,
    key: str,
    merged: bool | None = None,
    **fields: object,
) -> PickAsk:
    """The ask for this label or comment, new or asked again; pending once merged (and
    queued), waiting before. `merged` None: the event did not say, so the worker asks the
    forge first."""
    pending = pull_request.merged or merged is None
    state = AskState.PENDING if pending else AskState.WAITING
    ask, created = PickAsk.objects.select_for_update().get_or_create(
        pull_request=pull_request, source=source, key=key, defaults={**fields, "state": state}
    )
    if not created and ask.state in (AskState.DONE, AskState.CANCELLED, AskState.WAITING):
        for name, value in fields.items():
            setattr(ask, name, value)
        ask.state, ask.refusals, ask.error = state, [], ""
        ask.save()
    if ask.state == AskState.PENDING:
        enqueue("forges.tasks.pick_ask_handle", ask.pk, what=f"pick ask {ask.pk}")
    return ask


def _label_reason(pull_request: PullRequest, label: str, actor: str) -> str:
    by = f" by @{actor}" if actor else ""
    return f"Labelled {label!r}{by} on {pull_request.url or f'#{pull_request.number}'}: " + (
        pull_request.title or "(no title)"
    )


def _labels(pull_request: PullRequest, event: Event) -> tuple[str, bool]:
    repository = pull_request.repository
    asked, cancelled = [], 0
    for label in event.labels_added:
        branches = events.label_branches(label, repository.pick_label)
        if branches is None:
            continue
        ask = _ask(
            pull_request,
            source=AskSource.LABEL,
            key=label.casefold()[:200],
            merged=pull_request.merged,
            branches=list(branches),
            reason=_label_reason(pull_request, label, event.actor),
            asked_by=event.actor[:100],
        )
        asked.append(ask)
    for label in event.labels_removed:
        if events.label_branches(label, repository.pick_label) is not None:
            cancelled += (
                _asks_waiting(pull_request)
                .filter(key=label.casefold())
                .update(state=AskState.CANCELLED)
            )
    if not asked:
        return (f"label taken off: {cancelled} waiting ask(s) cancelled" if cancelled
                else "ignored: not a pick label"), False  # fmt: skip
    if pull_request.merged:
        return f"{len(asked)} pick ask(s) queued", True
    # Told at once that the label is seen, and what it waits for.
    enqueue("forges.tasks.pull_request_writeback", pull_request.pk)
    return f"{len(asked)} pick ask(s) wait for the merge", True


def _merged(pull_request: PullRequest, event: Event) -> tuple[str, bool]:
    """The merge: asks waiting for it go ahead, and a pick label the pull request carries
    (put on while Releasebot was not listening) asks now."""
    repository = pull_request.repository
    keys = set()
    labels = event.pull_request.labels if event.pull_request else None
    for label in labels or ():
        branches = events.label_branches(label, repository.pick_label)
        key = label.casefold()[:200]
        if branches is None or key in keys:
            continue
        keys.add(key)
        existing = PickAsk.objects.filter(
            pull_request=pull_request, source=AskSource.LABEL, key=key
        ).first()
        if existing is None:
            _ask(
                pull_request,
                source=AskSource.LABEL,
                key=key,
                merged=True,
                branches=list(branches),
                reason=_label_reason(pull_request, label, ""),
            )
    waiting = list(_asks_waiting(pull_request).select_for_update())
    for ask in waiting:
        _ask(pull_request, source=ask.source, key=ask.key, merged=True)
    count = PickAsk.objects.filter(pull_request=pull_request, state=AskState.PENDING).count()
    return f"merged: {count} pick ask(s) queued", bool(count)


def _comment_refusal(
    repository: Repository, event: Event, command: events.PickCommand
) -> dict[str, str] | None:
    """Why a `/rb` comment asks for nothing: not a command Releasebot knows, or written by
    someone who is not an engineer here (anyone may comment on a public repository; only
    engineers ask for picks, on the author's behalf)."""
    if command.error:
        return {"branch": "", "error": "bad-command", "message": command.error}
    if engineer_for(repository=repository, login=event.actor) is None:
        forge = Forge(repository.review_tool).label
        return {
            "branch": "",
            "error": "not-an-engineer",
            "message": f"{forge} user @{event.actor or '?'} is not an engineer on Releasebot, "
            f"so the comment asks for nothing: only engineers whose {forge} login Releasebot "
            "knows ask for picks with a comment (or put the pick label on).",
        }
    return None


def _comment(pull_request: PullRequest, event: Event) -> tuple[str, bool]:
    command = events.pick_command(event.comment)
    if command is None:
        return "ignored: a comment not for Releasebot", False
    fields: dict[str, object] = {
        "branches": list(command.branches),
        "reason": command.reason,
        "asked_by": event.actor[:100],
    }
    refusal = _comment_refusal(pull_request.repository, event, command)
    if refusal:
        PickAsk.objects.get_or_create(
            pull_request=pull_request,
            source=AskSource.COMMENT,
            key=event.comment_id,
            defaults={**fields, "state": AskState.DONE, "refusals": [refusal]},
        )
        enqueue("forges.tasks.pull_request_writeback", pull_request.pk)
        return f"answered: {refusal['error']}", True
    # GitHub's comment event does not say whether the pull request is merged (merged None):
    # the worker asks GitHub before it asks for the picks.
    merged = event.pull_request.merged if event.pull_request else None
    ask = _ask(
        pull_request, source=AskSource.COMMENT, key=event.comment_id, merged=merged, **fields
    )
    if ask.state == AskState.PENDING:
        return "pick ask queued", True
    return "pick ask waits for the merge", False
