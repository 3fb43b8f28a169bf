"""`GET /api/pushes/<id>/progress/`: what a push is doing now, the same reading the push page,
the train page, the risk dashboard and the bot's `push` show (pushes.selectors.progress).
Poll it every couple of seconds while `polling` is true."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import NotFound
from common.permissions import ENGINEERS
from common.serializers import error_responses
from pushes.choices import PushState, PushStep
from pushes.models import Push
from pushes.selectors.progress import PushProgress, push_progress


class ProgressPickSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    sha = serializers.CharField()
    title = serializers.CharField()


class LogLineSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    text = serializers.CharField(help_text="One line of the push's log, redacted.")


class PushProgressSerializer(serializers.Serializer):
    push = serializers.IntegerField(source="push.pk")
    state = serializers.ChoiceField(source="push.state", choices=PushState.choices)
    step = serializers.ChoiceField(
        choices=PushStep.choices,
        allow_blank=True,
        help_text="What it is doing now; empty when it is neither queued nor running.",
    )
    step_label = serializers.CharField()
    pick = ProgressPickSerializer(
        allow_null=True, help_text="The pick being applied or tested, if any."
    )
    done = serializers.IntegerField(help_text="Picks the merge has dealt with.")
    total = serializers.IntegerField(help_text="Those and the confirmed picks still to come.")
    elapsed_seconds = serializers.SerializerMethodField()
    polling = serializers.BooleanField(help_text="Queued or running: ask again in 2 s.")
    summary = serializers.CharField(help_text="One line, as the bot says it.")
    log = LogLineSerializer(many=True, help_text="The last 20 lines of the push's log.")

    def get_elapsed_seconds(self, progress: PushProgress) -> float | None:
        return progress.elapsed.total_seconds() if progress.elapsed is not None else None


class PushProgressView(APIView):
    permission_classes = ENGINEERS

    @extend_schema(
        operation_id="pushes_progress",
        responses={200: PushProgressSerializer, **error_responses(404)},
        description="What a push is doing now: its step (queued, applying or testing which "
        "pick, tagging, pushing, shipping), picks dealt with of its total, the time it has "
        "taken, and the tail of its log.",
    )
    def get(self, request, pk: int):
        try:
            progress = push_progress(push_id=pk)
        except Push.DoesNotExist:
            raise NotFound(f"There is no push #{pk}.") from None
        return Response(PushProgressSerializer(progress).data)
