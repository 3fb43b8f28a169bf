"""A repository's connection to GitHub or GitLab, as release engineers set it (in the API; the
admin edits the same fields)."""

from __future__ import annotations

import os

from common.errors import DomainError
from common.redact import WEBHOOK_SECRET_NAME
from pushes.models import Engineer, Repository
from pushes.reviews import review_api
from pushes.services.repository_settings import repository_settings_update

FIELDS = (
    "review_tool",
    "review_api_url",
    "review_allow_http",
    "review_token_env",
    "forge_project",
    "webhook_secret_env",
    "pick_label",
    "keep_branches",
)


def forge_connection_update(
    *, repository: Repository, actor: Engineer, changes: dict[str, object]
) -> Repository:
    """Change the forge fields of a repository: the repository's settings service, for these
    fields only (release engineers; all or none, checked as the admin checks them)."""
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise DomainError(f"Not a forge setting: {', '.join(unknown)}.", code="invalid")
    return repository_settings_update(repository=repository, actor=actor, changes=changes)


def webhook_secret(repository: Repository) -> str:
    """The repository's webhook secret from its variable, or "" when none is set (or the
    variable is not one of Releasebot's webhook secret variables)."""
    name = repository.webhook_secret_env.strip()
    return os.environ.get(name, "") if WEBHOOK_SECRET_NAME.match(name) else ""


def forge_connection_health(repository: Repository) -> dict[str, bool]:
    """What a release engineer checks first when nothing arrives: is the secret there, may the
    API be called, is there a token. (Never the values.)"""
    api = review_api(repository)
    return {
        "webhook_secret_set": bool(webhook_secret(repository)),
        "api_callable": api is not None,
        "token_set": bool(api and api[1]),
    }
