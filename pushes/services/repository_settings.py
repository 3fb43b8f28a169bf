"""A repository's settings as release engineers change them in the API: the same fields and
the same checks as the admin's form, all or none."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from common.errors import DomainError, Forbidden
from pushes import git
from pushes.models import Engineer, Repository
from pushes.services.picks import GitUnavailable
from pushes.services.repositories import clone_path, repository_fetch

ONLY_RELEASE_ENGINEERS = "Only release engineers can change a repository's settings."
# Every setting of a repository. Not among them: where it lives and what it is called in URLs
# (remote_url, slug), and what Releasebot records itself (the trunk index).
SETTINGS = (
    "name",
    "trunk_branch",
    "time_zone",
    "cut_weekday",
    "cut_time",
    "ship_weekday",
    "ship_time",
    "push_weekdays",
    "push_times",
    "friday_policy",
    "confirm_lead_minutes",
    "reminder_lead_minutes",
    "max_rolls",
    "test_command",
    "test_timeout_seconds",
    "deploy_hook",
    "deploy_hook_allow_http",
    "command_env",
    "review_tool",
    "review_api_url",
    "review_allow_http",
    "review_token_env",
    "risk_size_threshold",
    "risk_churn_threshold",
    "hot_paths",
    "forge_project",
    "webhook_secret_env",
    "pick_label",
    "keep_branches",
    "chat_channel",
    "is_active",
)


def repository_settings_update(
    *, repository: Repository, actor: Engineer, changes: dict[str, object]
) -> Repository:
    """Change settings of a repository, all or none: every field is checked as the admin checks
    it (its validators and the repository's own rules), and a refusal changes nothing."""
    if not actor.is_release_engineer:
        raise Forbidden(ONLY_RELEASE_ENGINEERS)
    unknown = sorted(set(changes) - set(SETTINGS))
    if unknown:
        raise DomainError(f"Not a setting: {', '.join(unknown)}.", code="invalid")
    # Asked before the row is locked: it may fetch from origin.
    trunk_refusal = _trunk_refusal(repository, changes.get("trunk_branch"))
    with transaction.atomic():
        locked = Repository.objects.select_for_update().get(pk=repository.pk)
        for name, value in changes.items():
            setattr(locked, name, value)
        errors = _errors(locked)
        if trunk_refusal:
            errors.setdefault("trunk_branch", []).append(trunk_refusal)
        if errors:
            first, messages = next(iter(errors.items()))
            raise DomainError(f"{first}: {messages[0]}", code="invalid", details=errors)
        if changes:
            locked.save(update_fields=list(changes))
    return locked


def _errors(repository: Repository) -> dict[str, list[str]]:
    """What the admin's form would say about the repository, and a trunk branch git refuses to
    take as a branch name."""
    errors: dict[str, list[str]] = {}
    try:
        repository.full_clean()
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        git.trunk_ref(repository.trunk_branch)
    except git.InvalidName:
        errors.setdefault("trunk_branch", []).append("Not a name git takes for a branch.")
    return errors


def _trunk_refusal(repository: Repository, trunk: object) -> str:
    """Why a new trunk branch is refused because origin has no such branch, or "". Asked of
    this host's clone, fetched first when it lacks the branch; with no clone yet there is
    nothing to ask (the first sync says so). A name git refuses is `_errors`' to tell."""
    if not isinstance(trunk, str) or trunk == repository.trunk_branch:
        return ""
    try:
        ref = git.trunk_ref(trunk)
    except git.InvalidName:
        return ""
    path = clone_path(repository)
    if not (path / "HEAD").is_file() or git.rev_parse(path, ref) is not None:
        return ""
    try:
        repository_fetch(repository=repository)
    except git.GitError as error:
        raise GitUnavailable(
            f"Git could not check that origin has a branch {trunk!r} ({error}); nothing was "
            "changed. Try again in a minute."
        ) from None
    if git.rev_parse(path, ref) is None:
        return f"Origin has no branch {trunk!r}: push it first, or name the branch trunk is."
    return ""
