"""`GET /api/me/`: who the caller is on the train and whether they may request a pick now.

Asked before a client builds a request, with the rule the request asks first
(`request_refusal`): the refusal, if any, in the error shape every channel uses, naming the
release engineers to talk to.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import DomainError
from common.permissions import ENGINEERS
from common.serializers import ErrorSerializer, error_responses
from karma.models import MAX_STARS
from karma.selectors import karma_stars
from pushes.services.picks import pick_request_outlook


def _error(error: DomainError | None) -> dict[str, object] | None:
    return error.as_dict() if error is not None else None


class RepositoryOutlookSerializer(serializers.Serializer):
    """One active repository: whether a pick may be requested on its current branch now."""

    slug = serializers.CharField()
    name = serializers.CharField()
    may_request = serializers.BooleanField()
    refusal = ErrorSerializer(allow_null=True, help_text="Why not, naming whom to talk to.")


class MeSerializer(serializers.Serializer):
    """The caller, and whether (and where) they may request a pick now."""

    username = serializers.CharField()
    name = serializers.CharField()
    is_release_engineer = serializers.BooleanField()
    stars = serializers.IntegerField(help_text="Push karma, 0 to 5.")
    max_stars = serializers.IntegerField()
    may_request = serializers.BooleanField(
        help_text="True when a pick may be requested now on at least one repository."
    )
    refusal = ErrorSerializer(
        allow_null=True,
        help_text="Why no pick may be requested anywhere now (karma at or below the "
        "threshold, every branch frozen or closed, ...), naming whom to talk to; null when "
        "one may be.",
    )
    repositories = RepositoryOutlookSerializer(many=True, help_text="Each active repository.")


class MeView(APIView):
    permission_classes = ENGINEERS

    @extend_schema(
        operation_id="me_retrieve",
        responses={200: MeSerializer, **error_responses()},
        description="Who you are on the train and whether you may request a pick now: asked "
        "before a request, by the same rule the request asks first, so a refusal comes before "
        "the effort, in the same words as a refused POST /api/picks/.",
    )
    def get(self, request) -> Response:
        engineer = request.user.engineer
        outlook = pick_request_outlook(engineer=engineer)
        me = {
            "username": engineer.username,
            "name": engineer.user.get_full_name() or engineer.username,
            "is_release_engineer": engineer.is_release_engineer,
            "stars": karma_stars(user_id=engineer.user_id),
            "max_stars": MAX_STARS,
            "may_request": outlook.refusal is None,
            "refusal": _error(outlook.refusal),
            "repositories": [
                {
                    "slug": repository.slug,
                    "name": repository.name,
                    "may_request": error is None,
                    "refusal": _error(error),
                }
                for repository, error in outlook.repositories
            ],
        }
        return Response(MeSerializer(me).data)
