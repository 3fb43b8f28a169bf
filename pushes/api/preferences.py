"""`GET/PATCH /api/me/preferences/`: how the signed-in engineer hears from the bot.

Direct messages on or off, a copy in the repository's channel, and quiet hours (`from` and
`until`, in `time_zone`) in which direct messages wait. Confirmation requests and reminders are
never held: they go out at once, quiet hours or not. The same service as the engineer's page.
"""

from __future__ import annotations

import zoneinfo

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.permissions import ENGINEERS
from common.serializers import InputSerializer, StrictFieldsMixin, error_responses
from pushes.models import Engineer
from pushes.services.preferences import engineer_preferences_update

# Every zone name Python knows: the schema lists them, so a client can tell a zone that is
# refused from one that is taken.
TIME_ZONES = sorted(zoneinfo.available_timezones())
CLOCK = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"
NOT_HELD = (
    "Confirmation requests and their reminders are never held: a push's deadline does not wait "
    "for quiet hours, so they go out at once."
)


class ClockField(serializers.TimeField):
    """A time of day, "HH:MM" (seconds taken and dropped), in the preferences' zone."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(format="%H:%M", input_formats=["%H:%M", "%H:%M:%S"], **kwargs)


class ClockFieldSchema(OpenApiSerializerFieldExtension):
    target_class = ClockField

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "pattern": CLOCK, "example": "22:00"}


class QuietHoursSerializer(StrictFieldsMixin, InputSerializer):
    """Quiet hours: from one time of day until another; past midnight when `until` is earlier
    (22:00 until 07:00). Equal times mean none."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # `from` is a Python keyword: the fields are named here rather than as attributes.
        return {
            "from": ClockField(help_text="When direct messages start to wait."),
            "until": ClockField(help_text="When they go out again, all at once."),
        }


class PreferencesInputSerializer(StrictFieldsMixin, InputSerializer):
    """The settings to change; those left out stay as they are."""

    notify_direct = serializers.BooleanField(
        required=False, help_text="Notices as direct messages in chat."
    )
    notify_channel = serializers.BooleanField(
        required=False, help_text="A copy of each notice about a repository in its channel."
    )
    quiet_hours = QuietHoursSerializer(
        required=False, allow_null=True, help_text="null: no quiet hours."
    )
    time_zone = serializers.ChoiceField(
        choices=TIME_ZONES,
        required=False,
        allow_blank=True,
        error_messages={
            "invalid_choice": '"{input}" is not a known time zone (e.g. Europe/Berlin).'
        },
        help_text="The zone of the quiet hours; blank: each notice's repository's zone.",
    )

    def changes(self) -> dict[str, object]:
        """The model's fields to change."""
        data = dict(self.validated_data)
        if "quiet_hours" in data:
            hours = data.pop("quiet_hours") or {}
            data["quiet_from"], data["quiet_until"] = hours.get("from"), hours.get("until")
        return data


class PreferencesSerializer(serializers.ModelSerializer):
    """How you hear from the bot, and what quiet hours never hold."""

    quiet_hours = serializers.SerializerMethodField()
    never_held = serializers.SerializerMethodField()

    class Meta:
        model = Engineer
        fields = ["notify_direct", "notify_channel", "quiet_hours", "time_zone", "never_held"]

    @extend_schema_field(QuietHoursSerializer(allow_null=True))
    def get_quiet_hours(self, engineer: Engineer) -> dict[str, str] | None:
        if engineer.quiet_from is None or engineer.quiet_until is None:
            return None
        return {"from": f"{engineer.quiet_from:%H:%M}", "until": f"{engineer.quiet_until:%H:%M}"}

    def get_never_held(self, engineer: Engineer) -> str:
        return NOT_HELD


class PreferencesView(APIView):
    permission_classes = ENGINEERS

    @extend_schema(
        operation_id="me_preferences_retrieve",
        responses={200: PreferencesSerializer, **error_responses()},
        description="How you hear from the bot. " + NOT_HELD,
    )
    def get(self, request) -> Response:
        return Response(PreferencesSerializer(request.user.engineer).data)

    @extend_schema(
        operation_id="me_preferences_partial_update",
        request=PreferencesInputSerializer,
        responses={200: PreferencesSerializer, **error_responses(400)},
        description="Change how you hear from the bot; a refused change (an unknown time zone, "
        "a bad time) changes nothing. " + NOT_HELD,
    )
    def patch(self, request) -> Response:
        serializer = PreferencesInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changed = engineer_preferences_update(
            engineer=request.user.engineer, changes=serializer.changes()
        )
        return Response(PreferencesSerializer(changed).data)
