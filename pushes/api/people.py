"""The API about people and what they did: the engineers' table (GET /api/engineers/) and every
recorded move as one list (GET /api/events/, JSON or CSV).

Adapters of a few lines: parse the query string, call one selector, render. The CSV is streamed,
every matching row with no pagination, each cell that a spreadsheet would run as a formula
(= + - @, and a tab or carriage return before one) read as text instead.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.settings import api_settings

from common.permissions import ENGINEERS
from common.serializers import EnumField, InputSerializer, error_responses
from pushes.api.views import parse, query_values
from pushes.choices import Role
from pushes.selectors.events import (
    COLUMNS,
    EVENT_MOVES,
    EVENT_TARGETS,
    EventFilters,
    EventList,
    events_list,
)
from pushes.selectors.people import (
    ENGINEER_SORT_DEFAULT,
    ENGINEER_SORTS,
    EngineerRow,
    engineers_overview,
)

SORT_CHOICES = [f"{d}{name}" for name in ENGINEER_SORTS for d in ("", "-")]

# --- engineers ----------------------------------------------------------------------------


class EngineerSortSerializer(InputSerializer):
    sort = serializers.ChoiceField(
        choices=SORT_CHOICES,
        required=False,
        default=ENGINEER_SORT_DEFAULT,
        help_text=f"The column to sort by: {', '.join(ENGINEER_SORTS)}; a leading - reverses "
        "it (-failure_rate: the highest rate first). Engineers without a value (no shipped "
        "pick, no pick) come last either way. Anything else is refused (400).",
        error_messages={
            "invalid_choice": f'"{{input}}" is not a sort: give one of '
            f"{', '.join(ENGINEER_SORTS)}, with a leading - to reverse it."
        },
    )


class EngineerRowSerializer(serializers.Serializer):
    """An engineer with their push karma, their picks and their change failure rate."""

    username = serializers.CharField()
    name = serializers.CharField(help_text="Their full name, or the username without one.")
    role = EnumField(Role, source="engineer.role")
    stars = serializers.IntegerField(help_text="Push karma, 0 to 5.")
    picks = serializers.IntegerField(help_text="Every pick they asked for.")
    open = serializers.IntegerField(help_text="Their picks still on their way out.")
    shipped = serializers.IntegerField(
        source="change_failure.shipped", help_text="Their picks that shipped (reverted or not)."
    )
    reverted = serializers.IntegerField(
        source="change_failure.reverted", help_text="Of those, the ones reverted since."
    )
    failure_rate = serializers.FloatField(
        source="change_failure.rate",
        allow_null=True,
        help_text="Their change failure rate, reverted / shipped from 0 to 1; null when "
        "nothing shipped.",
    )
    last_pick = serializers.IntegerField(
        source="last_pick.pk", allow_null=True, help_text="The id of the last pick they asked for."
    )
    last_pick_at = serializers.DateTimeField(allow_null=True)


class EngineerListView(generics.ListAPIView):
    """GET /api/engineers/: every engineer, sorted as asked."""

    permission_classes = ENGINEERS
    serializer_class = EngineerRowSerializer

    def get_queryset(self) -> list[EngineerRow]:
        if getattr(self, "swagger_fake_view", False):
            return []
        order = parse(EngineerSortSerializer, query_values(self.request))["sort"]
        return engineers_overview(order=order)

    @extend_schema(
        operation_id="engineers_list",
        parameters=[EngineerSortSerializer],
        responses={200: EngineerRowSerializer, **error_responses(400)},
        description="Every engineer with their push karma, open, shipped and reverted picks, "
        "change failure rate (reverted / shipped) and last pick; the same rows as /engineers/.",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- events -------------------------------------------------------------------------------


class EventFilterSerializer(InputSerializer):
    since = serializers.DateTimeField(
        required=False, help_text="ISO 8601: moves at or after it (no offset: the site's zone)."
    )
    until = serializers.DateTimeField(required=False, help_text="ISO 8601: moves before it.")
    repository = serializers.SlugField(required=False, help_text="The repository's slug.")
    actor = serializers.CharField(
        required=False, max_length=150, help_text="The username of who made the move."
    )
    move = serializers.ChoiceField(
        choices=EVENT_MOVES,
        required=False,
        help_text="What happened: the state a pick or push reached (approved, rejected, "
        "shipped, failed, ...), a karma change (unlike, restore), freeze, unfreeze, rollback.",
    )
    format = serializers.ChoiceField(
        choices=["json", "csv"],
        required=False,
        default="json",
        help_text="csv: every matching row as text/csv with a header row, without pagination.",
    )


class EventSerializer(serializers.Serializer):
    """One recorded move."""

    at = serializers.DateTimeField()
    repository = serializers.CharField(
        allow_null=True, help_text="Its repository's slug; null for a karma change about no pick."
    )
    actor = serializers.CharField(
        allow_null=True, help_text="Who made it; null: the bot (or the admin, for a freeze)."
    )
    move = serializers.ChoiceField(choices=EVENT_MOVES)
    target = serializers.ChoiceField(choices=EVENT_TARGETS, help_text="What moved.")
    target_id = serializers.CharField(
        help_text="Its id as the API names it: a pick's or push's id, an engineer's "
        "username, a repository's slug."
    )
    from_state = serializers.CharField(
        allow_null=True,
        help_text="Before: a pick's or push's state, the stars before a karma change, the "
        "rolled-back push's tag.",
    )
    to_state = serializers.CharField(
        allow_null=True,
        help_text="After: the state reached, the stars after, the tag deployed again.",
    )
    reason = serializers.CharField(allow_blank=True)


class CsvAsked(DefaultContentNegotiation):
    """`?format=csv` is the view's own to stream; a refusal still goes out as JSON, and an
    unknown format reaches the view's filters to be refused (400), not DRF's 404."""

    def select_renderer(self, request, renderers, format_suffix=None):
        asked = request.query_params.get(api_settings.URL_FORMAT_OVERRIDE)
        if asked is not None and asked not in {r.format for r in renderers}:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


# The schema keeps one description per status: the CSV is described in the operation's.
CSV_RESPONSE = OpenApiResponse(OpenApiTypes.STR)


class EventListView(generics.GenericAPIView):
    """GET /api/events/: every recorded move, newest first, a page at a time or as CSV."""

    permission_classes = ENGINEERS
    serializer_class = EventSerializer
    content_negotiation_class = CsvAsked

    @extend_schema(
        operation_id="events_list",
        parameters=[EventFilterSerializer],
        responses={
            (200, "application/json"): EventSerializer(many=True),
            (200, "text/csv"): CSV_RESPONSE,
            **error_responses(400),
        },
        description="Every recorded move as one list, newest first: picks' moves, pushes' "
        "stories, karma changes, freezes and rollbacks. Each filter narrows it; a bad value "
        "(a time that is not ISO 8601, an unknown move) is a 400. With `format=csv`: text/csv, "
        "a header row (at, repository, actor, move, target, target_id, from_state, to_state, "
        "reason) and every matching row, newest first, without pagination; a cell starting "
        "with = + - @ (or a tab or carriage return) is prefixed with ' so that no spreadsheet "
        "runs it as a formula.",
    )
    def get(self, request):
        params = parse(EventFilterSerializer, query_values(request))
        as_csv = params.pop("format") == "csv"
        events = events_list(filters=EventFilters(**params))
        if as_csv:
            return _csv_response(events)
        page = self.paginate_queryset(events)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


def _csv_response(events: EventList) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_lines(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="releasebot-events.csv"'
    return response


class _Line:
    """What csv.writer writes to: each row handed straight back, to be streamed."""

    def write(self, text: str) -> str:
        return text


def _csv_lines(events: EventList) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    field = EventSerializer()
    for event in events:
        row = field.to_representation(event)
        yield writer.writerow([csv_cell(row[name]) for name in COLUMNS])


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A value as a cell no spreadsheet runs as a formula: one starting with = + - @ (or a
    tab or carriage return, which some skip before one) gets a leading quote (OWASP)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
