"""What the karma API reads and writes.

Inputs refuse fields they do not know (a typo is an error, not a silent no-op); outputs are
read-only. The error shape is the project's: {"error": code, "message": text, "details"?}.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.serializers import EnumField, InputSerializer, StrictFieldsMixin
from karma.choices import KarmaChange
from karma.models import MAX_STARS, KarmaEvent

REASON_REQUIRED = "A reason is required."


def _reason(help_text: str) -> serializers.CharField:
    return serializers.CharField(
        max_length=2000,
        help_text=help_text,
        error_messages={"required": REASON_REQUIRED, "blank": REASON_REQUIRED},
    )


class UnlikeSerializer(StrictFieldsMixin, InputSerializer):
    reason = _reason("Why a star comes off: kept in the engineer's karma history.")


class RestoreSerializer(StrictFieldsMixin, InputSerializer):
    reason = _reason("Why stars come back (usually: after the talk).")
    stars = serializers.IntegerField(
        required=False,
        default=1,
        min_value=1,
        max_value=MAX_STARS,
        help_text="How many stars to give back; never above five in all.",
    )


class KarmaFilterSerializer(serializers.Serializer):
    below = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_STARS + 1,
        help_text="Only engineers with fewer stars than this (e.g. 3).",
    )


class KarmaEventSerializer(serializers.ModelSerializer):
    """One change of stars: who made it (null: nobody recorded), why, when and the result."""

    change = EnumField(KarmaChange, read_only=True)
    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True)

    class Meta:
        model = KarmaEvent
        fields = ["change", "delta", "stars_after", "reason", "actor", "pick_id", "at"]
        read_only_fields = fields


class KarmaSerializer(serializers.Serializer):
    """An engineer's stars."""

    username = serializers.CharField(read_only=True)
    name = serializers.SerializerMethodField()
    stars = serializers.IntegerField(read_only=True, help_text="0 to 5.")

    def get_name(self, user) -> str:
        return user.get_full_name() or user.username


class KarmaDetailSerializer(KarmaSerializer):
    """An engineer's stars, whether picks are taken from them, and every change, newest first."""

    max_stars = serializers.SerializerMethodField()
    may_request = serializers.BooleanField(
        read_only=True, help_text="False at or below the threshold: their picks are refused."
    )
    message = serializers.CharField(
        read_only=True, help_text="Why picks are refused and whom to see; empty when allowed."
    )
    history = KarmaEventSerializer(many=True, read_only=True)

    @extend_schema_field(serializers.IntegerField())
    def get_max_stars(self, user) -> int:
        return MAX_STARS
