"""What the karma API reads and writes.

Inputs refuse fields they do not know (a typo is an error, not a silent no-op); outputs are
read-only. The error shape is the project's: {"error": code, "message": text, "details"?}.
"""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from karma.choices import KarmaChange
from karma.models import MAX_STARS, KarmaEvent
from releasebot.api import document_input, refuse_wrong_json_types

REASON_REQUIRED = "A reason is required."


class KarmaChangeField(serializers.ChoiceField):
    """Unlike or restore, named KarmaChange in the schema (as the model's choices are)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(choices=KarmaChange.choices, **kwargs)


class KarmaChangeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = KarmaChangeField

    def get_name(self) -> str:
        return "KarmaChange"

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "string",
            "enum": list(KarmaChange.values),
            "description": "\n".join(f"* `{v}` - {label}" for v, label in KarmaChange.choices),
        }


class _Strict(serializers.Serializer):
    """Refuse unknown fields, naming them, and JSON values of the wrong type."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            known = [name for name, f in self.fields.items() if not f.read_only]
            unknown = sorted(str(key) for key in data if key not in known)
            if unknown:
                takes = ", ".join(known)
                raise serializers.ValidationError(
                    {name: [f"Unknown field: this request takes {takes}."] for name in unknown}
                )
            refuse_wrong_json_types(self, data)
        return super().to_internal_value(data)


class StrictSchema(OpenApiSerializerExtension):
    """In the schema as validated: no unknown fields, and a reason that is more than spaces."""

    target_class = _Strict
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return document_input(self.target, schema, strict=True)


def _reason(help_text: str) -> serializers.CharField:
    return serializers.CharField(
        max_length=2000,
        help_text=help_text,
        error_messages={"required": REASON_REQUIRED, "blank": REASON_REQUIRED},
    )


class KarmaErrorSerializer(serializers.Serializer):
    """Every refusal: a stable code for machines and a sentence for people (the same shape as
    every other endpoint's errors)."""

    error = serializers.CharField(help_text='A stable code, e.g. "forbidden".')
    message = serializers.CharField(help_text="What went wrong and what to do, in a sentence.")
    details = serializers.JSONField(required=False, help_text="More about it, e.g. field errors.")


class UnlikeSerializer(_Strict):
    reason = _reason("Why a star comes off: kept in the engineer's karma history.")


class RestoreSerializer(_Strict):
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

    change = KarmaChangeField(read_only=True)
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
