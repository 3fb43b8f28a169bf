"""`/api/repositories/<slug>/forge/`: read and change a repository's GitHub or GitLab setup."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import NotFound
from common.permissions import ENGINEERS
from common.serializers import error_responses
from forges.api.serializers import ForgeConnectionSerializer
from forges.services.connection import forge_connection_update
from pushes.models import Repository


class ForgeConnectionView(APIView):
    permission_classes = ENGINEERS

    def repository(self, slug: str) -> Repository:
        found = Repository.objects.filter(slug=slug).first() if "\x00" not in slug else None
        if found is None:
            raise NotFound(f"There is no repository {slug[:60]!r}.")
        return found

    @extend_schema(
        operation_id="repositories_forge_retrieve",
        responses={200: ForgeConnectionSerializer, **error_responses(404)},
    )
    def get(self, request, slug: str) -> Response:
        return Response(ForgeConnectionSerializer(self.repository(slug)).data)

    @extend_schema(
        operation_id="repositories_forge_partial_update",
        request=ForgeConnectionSerializer,
        responses={200: ForgeConnectionSerializer, **error_responses(400, 404)},
        description="Release engineers only. Every field is checked as in the admin; a refused "
        "change changes nothing.",
    )
    def patch(self, request, slug: str) -> Response:
        repository = self.repository(slug)
        serializer = ForgeConnectionSerializer(repository, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changed = forge_connection_update(
            repository=repository,
            actor=request.user.engineer,
            changes=dict(serializer.validated_data),
        )
        return Response(ForgeConnectionSerializer(changed).data)
