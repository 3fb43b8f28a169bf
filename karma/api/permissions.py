"""Who may change push karma through the API: release engineers, as karma's rule says."""

from __future__ import annotations

from rest_framework.permissions import BasePermission, IsAuthenticated

from common.permissions import IsEngineer
from karma.services import ONLY_RELEASE_ENGINEERS, karma_may_change


class MayChangeKarma(BasePermission):
    message = ONLY_RELEASE_ENGINEERS
    code = "forbidden"

    def has_permission(self, request, view) -> bool:
        return karma_may_change(request.user)


KARMA_CHANGERS = [IsAuthenticated, IsEngineer, MayChangeKarma]
