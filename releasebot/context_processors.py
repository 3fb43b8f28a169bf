from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

if TYPE_CHECKING:
    from pushes.models import Engineer


def roles(request: HttpRequest) -> dict[str, object]:
    """Expose the signed-in person's engineer record, role and unread notices to templates.

    The unread count is one COUNT query, run only when a template shows it (the nav does;
    htmx partials and the admin do not).
    """
    user = getattr(request, "user", None)
    engineer = getattr(user, "engineer", None) if user and user.is_authenticated else None
    return {
        "current_engineer": engineer,
        # As the views decide: a superuser with no Engineer row is no release engineer (the
        # Django admin is theirs; the train's actions answer them 403).
        "is_release_engineer": bool(engineer and engineer.is_release_engineer),
        "inbox_unread": SimpleLazyObject(lambda: _unread(engineer)),
    }


def _unread(engineer: Engineer | None) -> int:
    if engineer is None:
        return 0
    return engineer.notifications.filter(read_at__isnull=True).count()
