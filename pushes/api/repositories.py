"""Changing a repository in the API: its settings (`PATCH /api/repositories/<slug>/`) and its
freeze (`POST .../freeze/`, `POST .../unfreeze/`), for release engineers. The actions of
`pushes.api.views.RepositoryViewSet`, kept here with what they read."""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from common.serializers import EnumField, InputSerializer, PatternField, StrictFieldsMixin
from common.serializers import error_responses as errors
from pushes import services
from pushes.api.serializers import RepositorySerializer
from pushes.choices import FridayPolicy, ReviewTool, Weekday
from pushes.services import freezes, repository_settings

TIME_OF_DAY = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"
HH_MM = r"^([01]\d|2[0-3]):[0-5]\d$"
SMALL = 32767  # the largest a PositiveSmallIntegerField holds on every database
LARGE = 2147483647  # and a PositiveIntegerField

# --- input --------------------------------------------------------------------------------


class FreezeRequestSerializer(StrictFieldsMixin, InputSerializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=freezes.REASON_MAX,
        help_text="Why (an incident, a holiday): required, refused as `no-reason` without one. "
        "The requestors of the repository's open picks are told.",
    )


class UnfreezeRequestSerializer(StrictFieldsMixin, InputSerializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=freezes.REASON_MAX,
        help_text="Why it may go on, for the requestors who are told.",
    )


def _text(max_length: int, *, blank: bool = True, **kwargs: object) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=blank, max_length=max_length, **kwargs)


def _number(low: int, high: int, **kwargs: object) -> serializers.IntegerField:
    return serializers.IntegerField(required=False, min_value=low, max_value=high, **kwargs)


def _flag(**kwargs: object) -> serializers.BooleanField:
    return serializers.BooleanField(required=False, **kwargs)


def _time(**kwargs: object) -> PatternField:
    return PatternField(pattern=TIME_OF_DAY, required=False, max_length=8, **kwargs)


class RepositorySettingsSerializer(StrictFieldsMixin, InputSerializer):
    """Every setting of a repository, each optional: what is sent changes, the rest stays. The
    model's own checks (and the admin's) run on the whole; `remote_url` and `slug` are not
    settings here."""

    name = _text(100, blank=False)
    trunk_branch = _text(200, blank=False)
    time_zone = _text(64, blank=False, help_text="An IANA zone, e.g. America/Los_Angeles.")
    cut_weekday = EnumField(Weekday, required=False)
    cut_time = _time(help_text="HH:MM in the repository's time zone.")
    ship_weekday = EnumField(Weekday, required=False)
    ship_time = _time(help_text="HH:MM in the repository's time zone.")
    push_weekdays = serializers.ListField(
        child=EnumField(Weekday),
        required=False,
        allow_empty=False,
        min_length=1,
        max_length=7,
        help_text="Days of daily pushes.",
    )
    push_times = serializers.ListField(
        child=PatternField(pattern=HH_MM, max_length=5),
        required=False,
        allow_empty=False,
        min_length=1,
        max_length=24,
        help_text='Times of daily pushes, e.g. ["11:00", "16:00"].',
    )
    friday_policy = EnumField(FridayPolicy, required=False)
    confirm_lead_minutes = _number(0, SMALL)
    reminder_lead_minutes = _number(0, SMALL)
    max_rolls = _number(0, SMALL)
    test_command = _text(1000, help_text="Run after every pick, without a shell.")
    test_timeout_seconds = _number(1, LARGE)
    deploy_hook = _text(1000, help_text="A command, or an https URL to POST to.")
    deploy_hook_allow_http = _flag()
    command_env = _text(500, help_text="Names of worker variables the commands get.")
    review_tool = EnumField(ReviewTool, required=False)
    review_api_url = _text(500)
    review_allow_http = _flag()
    review_token_env = _text(100, help_text="RELEASEBOT_REVIEW_TOKEN_<NAME>")
    risk_size_threshold = _number(0, LARGE)
    risk_churn_threshold = _number(0, LARGE)
    hot_paths = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=100,
        help_text='Glob patterns of risky files, e.g. ["app/checkout/*", "*.sql"].',
    )
    forge_project = _text(200)
    webhook_secret_env = _text(100, help_text="RELEASEBOT_WEBHOOK_SECRET_<NAME>")
    pick_label = _text(50, blank=False)
    keep_branches = _number(0, SMALL)
    chat_channel = _text(64, help_text="Slack channel id for each push's summary.")
    is_active = _flag()

    def validate_cut_time(self, value: str) -> dt.time:
        return _time_of_day(value)

    def validate_ship_time(self, value: str) -> dt.time:
        return _time_of_day(value)


def _time_of_day(value: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise serializers.ValidationError('A time of day as "HH:MM", e.g. "18:00".') from None


def _parse(serializer_class: type[serializers.Serializer], data: object) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- the actions --------------------------------------------------------------------------


class IsReleaseEngineer(BasePermission):
    """Release engineers only, refused in the service's own words before the body is read."""

    code = "forbidden"

    def __init__(self, message: str) -> None:
        self.message = message

    def has_permission(self, request, view) -> bool:
        return request.user.engineer.is_release_engineer


_ONLY_RELEASE_ENGINEERS = {
    "partial_update": repository_settings.ONLY_RELEASE_ENGINEERS,
    "freeze": freezes.ONLY_RELEASE_ENGINEERS,
    "unfreeze": freezes.ONLY_RELEASE_ENGINEERS,
}
REPOSITORY_ERRORS = {"d403": "Not allowed: not an engineer, or not a release engineer."}


class RepositoryActions(viewsets.GenericViewSet):
    """What release engineers change on a repository; each answers with the repository."""

    def get_permissions(self) -> list[BasePermission]:
        permissions = list(super().get_permissions())
        message = _ONLY_RELEASE_ENGINEERS.get(self.action or "")
        return [*permissions, IsReleaseEngineer(message)] if message else permissions

    def _answer(self) -> Response:
        return Response(
            RepositorySerializer(self.get_object(), context=self.get_serializer_context()).data
        )

    @extend_schema(
        operation_id="repositories_partial_update",
        request=RepositorySettingsSerializer,
        responses={200: RepositorySerializer, **errors(400, 404, **REPOSITORY_ERRORS)},
        description="Release engineers: change any of a repository's settings; the others "
        "stay. Every value is checked as the admin checks it (a plain-HTTP deploy hook needs "
        "`deploy_hook_allow_http`, say); a refusal is a 400 `invalid` with `details` per field, "
        "and changes nothing.",
    )
    def partial_update(self, request, slug=None):
        repository = self.get_object()
        changes = _parse(RepositorySettingsSerializer, request.data)
        services.repository_settings_update(
            repository=repository, actor=request.user.engineer, changes=changes
        )
        return self._answer()

    @extend_schema(
        operation_id="repositories_freeze",
        request=FreezeRequestSerializer,
        responses={200: RepositorySerializer, **errors(400, 404, 409, **REPOSITORY_ERRORS)},
        description="Release engineers: freeze the repository from now until one unfreezes "
        "it. Pick requests are refused and no push goes out (a push due meanwhile is skipped, "
        "its picks carried to the next). The requestors of open picks on its current branch "
        "are told. Without a reason: 400 `no-reason`; frozen already: 409 `already-frozen`.",
    )
    @action(detail=True, methods=["post"])
    def freeze(self, request, slug=None):
        repository = self.get_object()
        reason = _parse(FreezeRequestSerializer, request.data).get("reason", "")
        services.repository_freeze(
            repository=repository, actor=request.user.engineer, reason=reason
        )
        return self._answer()

    @extend_schema(
        operation_id="repositories_unfreeze",
        request=UnfreezeRequestSerializer,
        responses={200: RepositorySerializer, **errors(400, 404, 409, **REPOSITORY_ERRORS)},
        description="Release engineers: end the freeze in force (a window planned in the admin "
        "too); picks and pushes go on, and the requestors of open picks on its current branch "
        "are told. Not frozen: 409 `not-frozen`.",
    )
    @action(detail=True, methods=["post"])
    def unfreeze(self, request, slug=None):
        repository = self.get_object()
        reason = _parse(UnfreezeRequestSerializer, request.data).get("reason", "")
        services.repository_unfreeze(
            repository=repository, actor=request.user.engineer, reason=reason
        )
        return self._answer()
