"""The karma API: engineers' stars, one engineer's history, and unlike/restore.

Adapters of a few lines: parse with a serializer, call one selector or service, render.
Refusals are DomainErrors (KarmaError, Forbidden, NotFound) and DRF's own errors; the project's
exception handler answers all of them in one shape.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet, Value
from django.db.models.functions import Coalesce
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from common.errors import NotFound
from common.permissions import ENGINEERS
from common.serializers import error_responses
from karma.api import serializers as s
from karma.api.permissions import KARMA_CHANGERS
from karma.models import MAX_STARS
from karma.selectors import karma_history, karma_may_request, karma_whose
from karma.services import karma_change

KARMA_ERRORS = {
    "d403": "Not allowed: not an engineer, or (unlike/restore) not a release engineer.",
    "d404": "No such engineer.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return error_responses(*codes, **KARMA_ERRORS)


USERNAME = OpenApiParameter(
    "username", str, OpenApiParameter.PATH, description="The engineer's username."
)


def _engineers() -> QuerySet:
    """Users with an engineer record (the role lives there), with their stars."""
    return (
        get_user_model()
        .objects.filter(engineer__isnull=False)
        .annotate(stars=Coalesce("karma__stars", Value(MAX_STARS)))
    )


def _engineer(username: str):
    # No username has a NUL in it, and PostgreSQL refuses to compare text that has one.
    user = None if "\x00" in username else _engineers().filter(username=username).first()
    if user is None:
        raise NotFound(f"There is no engineer {username[:60]!r}.")
    return user


def _detail(user, viewer) -> dict:
    gate = karma_may_request(user_id=user.pk)
    user.stars = gate.stars
    user.may_request = gate.allowed
    user.message = gate.said(karma_whose(username=user.username, own=user.pk == viewer.pk))
    user.history = karma_history(user_id=user.pk)
    return s.KarmaDetailSerializer(user).data


class KarmaListView(generics.ListAPIView):
    """Engineers and their stars, fewest stars first."""

    permission_classes = ENGINEERS
    serializer_class = s.KarmaSerializer

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return get_user_model().objects.none()
        # Plain values, so `?below=` is refused as the schema says, not taken as no filter.
        params = s.KarmaFilterSerializer(data=self.request.query_params.dict())
        params.is_valid(raise_exception=True)
        users = _engineers().order_by("stars", "username")
        below = params.validated_data.get("below")
        return users.filter(stars__lt=below) if below is not None else users

    @extend_schema(
        operation_id="karma_list",
        parameters=[s.KarmaFilterSerializer],
        responses={200: s.KarmaSerializer, **errors(400)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class KarmaDetailView(APIView):
    permission_classes = ENGINEERS

    @extend_schema(
        operation_id="karma_retrieve",
        parameters=[USERNAME],
        responses={200: s.KarmaDetailSerializer, **errors(404)},
        description="An engineer's stars, whether their picks are taken, and every change "
        "with who and why, newest first.",
    )
    def get(self, request, username: str):
        return Response(_detail(_engineer(username), request.user))


class _KarmaChangeView(APIView):
    permission_classes = KARMA_CHANGERS
    change = ""
    input_class: type[Serializer] = s.UnlikeSerializer

    def post(self, request, username: str):
        user = _engineer(username)
        params = self.input_class(data=request.data)
        params.is_valid(raise_exception=True)
        change = params.validated_data
        karma_change(actor=request.user, user_id=user.pk, change=self.change, **change)
        return Response(_detail(user, request.user))


class KarmaUnlikeView(_KarmaChangeView):
    change = "unlike"
    input_class = s.UnlikeSerializer

    @extend_schema(
        operation_id="karma_unlike",
        parameters=[USERNAME],
        request=s.UnlikeSerializer,
        responses={200: s.KarmaDetailSerializer, **errors(400, 404)},
        description="Release engineers: take one star off, saying why. At two stars or fewer "
        "the engineer's picks are refused until stars are restored.",
    )
    def post(self, request, username: str):
        return super().post(request, username)


class KarmaRestoreView(_KarmaChangeView):
    change = "restore"
    input_class = s.RestoreSerializer

    @extend_schema(
        operation_id="karma_restore",
        parameters=[USERNAME],
        request=s.RestoreSerializer,
        responses={200: s.KarmaDetailSerializer, **errors(400, 404)},
        description="Release engineers: give stars back (default one), saying why.",
    )
    def post(self, request, username: str):
        return super().post(request, username)
