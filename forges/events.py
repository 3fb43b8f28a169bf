"""A webhook delivery's body, read into what Releasebot acts on: pure functions, no database.

GitHub names the event in `X-GitHub-Event` (`push`, `pull_request`, `issue_comment`, `ping`);
GitLab in the body's `object_kind` (`push`, `merge_request`, `note`). Both are read into one
`Event`; a body without the fields its event must have is a `BadPayload`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from common.errors import DomainError


class BadPayload(DomainError):
    code = "bad-payload"
    status = 400


@dataclass(frozen=True)
class PullRequestFacts:
    """What a delivery says about a pull (merge) request; None where it does not say."""

    number: int
    title: str = ""
    url: str = ""
    author_login: str = ""
    merged: bool | None = None
    merge_sha: str = ""
    labels: tuple[str, ...] | None = None


# What an Event is, for the service: a push to a branch, labels put on or taken off a pull
# request, its merge or close without merge, a comment on it; or nothing Releasebot acts on.
PING, PUSH, LABELS, MERGED, CLOSED, COMMENT, IGNORED = (
    "ping",
    "push",
    "labels",
    "merged",
    "closed",
    "comment",
    "ignored",
)


@dataclass(frozen=True)
class Event:
    kind: str
    project: str
    ref: str = ""
    pull_request: PullRequestFacts | None = None
    labels_added: tuple[str, ...] = ()
    labels_removed: tuple[str, ...] = ()
    comment_id: str = ""
    comment: str = ""
    actor: str = ""
    why_ignored: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def project_of(forge: str, body: object) -> str:
    """The forge's name for the repository a delivery is about."""
    if forge == "github":
        return _text(_object(body, "the body"), "repository", "full_name")
    return _text(_object(body, "the body"), "project", "path_with_namespace")


def github_event(event: str, body: Any) -> Event:
    project = project_of("github", body)
    if event == "ping":
        return Event(PING, project)
    if event == "push":
        if body.get("deleted"):
            return Event(IGNORED, project, why_ignored="a branch was deleted")
        return Event(PUSH, project, ref=_text(body, "ref"))
    if event == "pull_request":
        return _github_pull_request(project, body)
    if event == "issue_comment":
        return _github_comment(project, body)
    return Event(IGNORED, project, why_ignored=f"Releasebot does not act on {event!r} events")


def _github_pull_request(project: str, body: dict) -> Event:
    action = _text(body, "action")
    pr = _object(body.get("pull_request"), "pull_request")
    merged = bool(pr.get("merged"))
    facts = PullRequestFacts(
        number=_number(pr, "number"),
        title=_text(pr, "title"),
        url=_text(pr, "html_url"),
        author_login=_text(pr, "user", "login"),
        merged=merged,
        merge_sha=_sha(pr.get("merge_commit_sha")) if merged else "",
        labels=tuple(_text(label, "name") for label in _list(pr.get("labels", []), "labels")),
    )
    actor = _optional_text(body, "sender", "login")
    if action in ("labeled", "unlabeled"):
        name = (_text(body, "label", "name"),)
        added, removed = (name, ()) if action == "labeled" else ((), name)
        return Event(LABELS, project, pull_request=facts, labels_added=added,
                     labels_removed=removed, actor=actor)  # fmt: skip
    if action == "closed":
        return Event(MERGED if merged else CLOSED, project, pull_request=facts, actor=actor)
    return Event(IGNORED, project, why_ignored=f"pull request {action!r} is not acted on")


def _github_comment(project: str, body: dict) -> Event:
    issue = _object(body.get("issue"), "issue")
    if _text(body, "action") != "created" or not isinstance(issue.get("pull_request"), dict):
        return Event(IGNORED, project, why_ignored="not a new comment on a pull request")
    links = issue["pull_request"]
    facts = PullRequestFacts(
        number=_number(issue, "number"),
        title=_text(issue, "title"),
        url=str(links.get("html_url") or issue.get("html_url") or ""),
        author_login=_text(issue, "user", "login"),
        merged=True if links.get("merged_at") else None,  # the merge commit is not in it
    )
    comment = _object(body.get("comment"), "comment")
    return Event(
        COMMENT,
        project,
        pull_request=facts,
        comment_id=str(_number(comment, "id", below=2**63)),
        comment=_text(comment, "body"),
        actor=_text(comment, "user", "login"),
    )


def gitlab_event(body: Any) -> Event:
    project = project_of("gitlab", body)
    kind = _text(body, "object_kind")
    if kind == "push":
        if _sha(body.get("after")) == "0" * 40:
            return Event(IGNORED, project, why_ignored="a branch was deleted")
        return Event(PUSH, project, ref=_text(body, "ref"))
    if kind == "merge_request":
        return _gitlab_merge_request(project, body)
    if kind == "note":
        return _gitlab_note(project, body)
    return Event(IGNORED, project, why_ignored=f"Releasebot does not act on {kind!r} events")


def _gitlab_merge_request(project: str, body: dict) -> Event:
    attributes = _object(body.get("object_attributes"), "object_attributes")
    merged = attributes.get("state") == "merged"
    labels = tuple(_text(label, "title") for label in _list(body.get("labels", []), "labels"))
    facts = PullRequestFacts(
        number=_number(attributes, "iid"),
        title=_text(attributes, "title"),
        url=_text(attributes, "url"),
        merged=merged,
        merge_sha=_sha(attributes.get("merge_commit_sha")) if merged else "",
        labels=labels,
    )
    actor = _optional_text(body, "user", "username")
    action = attributes.get("action")
    if action == "merge":
        return Event(MERGED, project, pull_request=facts, actor=actor)
    if action == "close":
        return Event(CLOSED, project, pull_request=facts, actor=actor)
    change = (body.get("changes") or {}).get("labels")
    if isinstance(change, dict):
        before = {_text(label, "title") for label in _list(change.get("previous", []), "labels")}
        after = {_text(label, "title") for label in _list(change.get("current", []), "labels")}
        return Event(LABELS, project, pull_request=facts, actor=actor,
                     labels_added=tuple(sorted(after - before)),
                     labels_removed=tuple(sorted(before - after)))  # fmt: skip
    return Event(IGNORED, project, why_ignored=f"merge request {action!r} is not acted on")


def _gitlab_note(project: str, body: dict) -> Event:
    attributes = _object(body.get("object_attributes"), "object_attributes")
    if attributes.get("noteable_type") != "MergeRequest" or attributes.get("system"):
        return Event(IGNORED, project, why_ignored="not a comment on a merge request")
    request = _object(body.get("merge_request"), "merge_request")
    merged = request.get("state") == "merged"
    facts = PullRequestFacts(
        number=_number(request, "iid"),
        title=_text(request, "title"),
        url=str(request.get("url") or ""),
        merged=merged,
        merge_sha=_sha(request.get("merge_commit_sha")) if merged else "",
    )
    return Event(
        COMMENT,
        project,
        pull_request=facts,
        comment_id=str(_number(attributes, "id", below=2**63)),
        comment=_text(attributes, "note"),
        actor=_optional_text(body, "user", "username"),
    )


# --- the comment grammar ------------------------------------------------------------------

_COMMAND = re.compile(r"^/rb(?:\s+(?P<verb>\S+))?(?P<rest>.*)$", re.DOTALL)
_TARGETS = re.compile(r"^\s+to\s+(?P<names>[^\s,]+(?:\s*,\s*[^\s,]+)*)(?P<reason>.*)$", re.DOTALL)
USAGE = "/rb pick [to BRANCH[,BRANCH...]] REASON"


@dataclass(frozen=True)
class PickCommand:
    branches: tuple[str, ...]
    reason: str
    error: str = ""  # the comment starts with /rb but is not a pick command


def pick_command(text: str) -> PickCommand | None:
    """`/rb pick [to BRANCH[,BRANCH...]] REASON` on a comment's first line (the reason may go
    on over the next lines), or None when the comment is not meant for Releasebot."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    if (match["verb"] or "").lower() != "pick":
        return PickCommand((), "", error=f"Releasebot understands `{USAGE}`.")
    rest = match["rest"]
    targets = _TARGETS.match(rest)
    if targets:
        names = tuple(dict.fromkeys(n.strip() for n in targets["names"].split(",")))
        return PickCommand(names, targets["reason"].strip())
    return PickCommand((), rest.strip())


def label_branches(label: str, pick_label: str) -> tuple[str, ...] | None:
    """The branches a label asks picks onto: () for the pick label itself (the current branch),
    (B,) for `pick:B`, None for any other label. Labels match without regard to case."""
    name, wanted = label.strip(), pick_label.strip()
    if name.casefold() == wanted.casefold():
        return ()
    prefix = f"{wanted}:".casefold()
    if name.casefold().startswith(prefix) and name[len(prefix) :].strip():
        return (name[len(prefix) :].strip(),)
    return None


# --- reading the body ---------------------------------------------------------------------


def _object(value: object, what: str) -> dict:
    if not isinstance(value, dict):
        raise BadPayload(f"The payload has no {what} object.")
    return value


def _list(value: object, what: str) -> list:
    if not isinstance(value, list):
        raise BadPayload(f"The payload's {what} are not a list.")
    return value


def _text(value: object, *path: str) -> str:
    for i, key in enumerate(path):
        value = _object(value, ".".join(path[:i]) or "body").get(key)
    if not isinstance(value, str):
        raise BadPayload(f"The payload's {'.'.join(path)} is not text.")
    return value


def _optional_text(value: object, *path: str) -> str:
    try:
        return _text(value, *path)
    except BadPayload:
        return ""


def _number(value: dict, key: str, *, below: int = 2**31) -> int:
    """A whole number under `below`: a pull request's number is stored as a 32-bit integer; an
    id (`below=2**63`) is kept as text, and GitHub's comment ids are past 2**31 already."""
    number = value.get(key)
    if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number < below:
        raise BadPayload(f"The payload's {key} is not a number.")
    return number


_SHA = re.compile(r"^[0-9a-f]{40}$")


def _sha(value: object) -> str:
    """A full lowercase SHA, or "" for none (null, or not a SHA at all)."""
    return value if isinstance(value, str) and _SHA.match(value) else ""
