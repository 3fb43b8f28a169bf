"""A repository's connection to GitHub or GitLab, as release engineers set it (in the API; the
admin edits the same fields)."""

from __future__ import annotations

import os

from django.core.exceptions import ValidationError
from django.db import transaction

from common.errors import DomainError, Forbidden
from common.redact import WEBHOOK_SECRET_NAME
from pushes.models import Engineer, Repository
from pushes.reviews import review_api

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
    """Change the forge fields of a repository, all or none: every field is checked as the
    admin checks it (its validators and the repository's own rules)."""
    if not actor.is_release_engineer:
        raise Forbidden("Only release engineers can change a repository's GitHub or GitLab setup.")
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise DomainError(f"Not a forge setting: {', '.join(unknown)}.", code="invalid")
    with transaction.atomic():
        locked = Repository.objects.select_for_update().get(pk=repository.pk)
        for name, value in changes.items():
            setattr(locked, name, value)
        try:
            locked.full_clean()
        except ValidationError as error:
            fields = error.message_dict
            first = next(iter(fields.items()))
            raise DomainError(
                f"{first[0]}: {first[1][0]}", code="invalid", details=fields
            ) from None
        if changes:
            locked.save(update_fields=list(changes))
    return locked


def forge_connection_health(repository: Repository) -> dict[str, bool]:
    """What a release engineer checks first when nothing arrives: is the secret there, may the
    API be called, is there a token. (Never the values.)"""
    name = repository.webhook_secret_env.strip()
    api = review_api(repository)
    return {
        "webhook_secret_set": bool(WEBHOOK_SECRET_NAME.match(name) and os.environ.get(name)),
        "api_callable": api is not None,
        "token_set": bool(api and api[1]),
    }
