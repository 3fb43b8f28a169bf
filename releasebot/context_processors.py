from __future__ import annotations

from django.http import HttpRequest


def roles(request: HttpRequest) -> dict[str, object]:
    """Expose the signed-in person's engineer record and role to every template."""
    user = getattr(request, "user", None)
    engineer = getattr(user, "engineer", None) if user and user.is_authenticated else None
    return {
        "current_engineer": engineer,
        "is_release_engineer": bool(engineer and engineer.is_release_engineer)
        or bool(user and user.is_authenticated and user.is_superuser),
    }
