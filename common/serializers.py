"""API fields and serializers every app's API shares: named enums, strict inputs that refuse
unknown fields, text fields described by a pattern, the one error shape, and the error responses
of the schema."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from common.api import document_input, refuse_wrong_json_types


class EnumField(serializers.ChoiceField):
    """A choice of one of our `choices` classes, shown in the schema as a named enum.

    Named after the class (PickState, PushState, ...) so that `state` of a pick and `state` of a
    push are distinct enums in the schema, and the same enum wherever it appears.
    """

    def __init__(self, enum: type[models.Choices], **kwargs: object) -> None:
        self.enum = enum
        super().__init__(choices=enum.choices, **kwargs)

    def to_representation(self, value: object) -> object:
        if value in ("", None):
            return None if self.allow_null else value
        return super().to_representation(value)


class EnumFieldSchema(OpenApiSerializerFieldExtension):
    target_class = EnumField
    match_subclasses = True

    def get_name(self) -> str:
        return self.target.enum.__name__

    def map_serializer_field(self, auto_schema, direction):
        enum = self.target.enum
        return {
            "type": "integer" if issubclass(enum, models.IntegerChoices) else "string",
            "enum": list(enum.values),
            "description": "\n".join(f"* `{value}` - {label}" for value, label in enum.choices),
        }


class StrictFieldsMixin:
    """Refuse fields the serializer does not know, naming them, instead of ignoring them, and
    JSON values of the wrong type (a number for a text field)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            known = [name for name, field in self.fields.items() if not field.read_only]
            unknown = sorted(str(key) for key in data if key not in known)
            if unknown:
                takes = f"takes {', '.join(known)}" if known else "takes no fields"
                raise serializers.ValidationError(
                    {name: [f"Unknown field: this request {takes}."] for name in unknown}
                )
            refuse_wrong_json_types(self, data)
        return super().to_internal_value(data)


class InputSerializer(serializers.Serializer):
    """Reads a request's body or query string; see InputSchema for how the schema shows it."""


class InputSchema(OpenApiSerializerExtension):
    """Inputs in the schema as they are validated, so a client can tell a well-formed request
    from one that is refused: no NUL and no whitespace-only text where it is refused, and no
    unknown fields in a strict body."""

    target_class = InputSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return document_input(
            self.target, schema, strict=isinstance(self.target, StrictFieldsMixin)
        )


class PatternField(serializers.CharField):
    """Text the schema describes with a pattern; the service or selector it goes to refuses
    anything else in its own words (bad-revision), so the field itself does not."""

    def __init__(self, *, pattern: str, **kwargs: object) -> None:
        self.pattern = pattern
        super().__init__(**kwargs)


class PatternFieldSchema(OpenApiSerializerFieldExtension):
    target_class = PatternField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {**schema, "pattern": self.target.pattern}


class ErrorSerializer(serializers.Serializer):
    """Every refusal: a stable code for machines and a sentence for people."""

    error = serializers.CharField(help_text='A stable code, e.g. "illegal-transition".')
    message = serializers.CharField(help_text="What went wrong and what to do, in a sentence.")
    details = serializers.JSONField(
        required=False, help_text="More about it (e.g. the field errors, or the candidates)."
    )


class EmptySerializer(StrictFieldsMixin, InputSerializer):
    """A request that takes no fields."""


# What each status means, as the schema says it; an app may say more for its own endpoints.
ERROR_DESCRIPTIONS = {
    400: "Refused: the request or the domain said no (see `error`).",
    401: "Not logged in: send `Authorization: Token <key>` or a session cookie.",
    403: "Not allowed: not an engineer, or not yours to do.",
    404: "No such object.",
    409: "Not now: the object is not in a state that allows it.",
    429: "Too many failed sign-ins: locked out for a while (`locked-out`).",
}


def error_responses(*codes: int, **descriptions: str) -> dict[int, OpenApiResponse]:
    """Error responses for the schema; every endpoint may answer 401 and 403. `descriptions`
    replaces a status's text, keyed as `d403="..."`."""
    texts = {**ERROR_DESCRIPTIONS, **{int(k[1:]): v for k, v in descriptions.items()}}
    return {
        code: OpenApiResponse(ErrorSerializer, description=texts[code])
        for code in sorted({401, 403, *codes})
    }
