"""Who may call the API: every call acts as an engineer."""

from __future__ import annotations

from rest_framework.permissions import BasePermission, IsAuthenticated


class IsEngineer(BasePermission):
    """A login without an Engineer row has no identity on the train, so it can do nothing."""

    message = "Your account is not set up as an engineer: ask an admin."
    code = "not-an-engineer"

    def has_permission(self, request, view) -> bool:
        return hasattr(request.user, "engineer")


ENGINEERS = [IsAuthenticated, IsEngineer]
