"""One error shape for the API: {"error": code, "message": text, "details": ...}.

Domain refusals (DomainError) and DRF's own errors (validation, authentication, not found)
answer in the same shape that the web pages and the bot show in words.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.views import defaults
from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.errors import DomainError

# Text as DRF's CharField takes it, for the schema: never a NUL, and (unless blank is allowed)
# something besides the whitespace it trims. Patterns are searched, so both are anchored.
TEXT = r"^[^\x00]*$"
NON_BLANK_TEXT = r"^[^\x00]*[^\s\x00][^\x00]*$"


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, RequestDataTooBig):  # raised by request.data, past the size limit
        return Response(TOO_LARGE, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = {
            "error": "invalid",
            "message": _first_message(exc.detail),
            "details": exc.detail,
        }
    else:
        detail = getattr(exc, "detail", "")
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = {"error": str(code).replace("_", "-"), "message": str(detail)}
    response.data = body
    if response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        response.data["error"] = "method-not-allowed"
    return response


TOO_LARGE = {
    "error": "too-large",
    "message": "The request body is larger than this server accepts.",
}


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 (handler400: a body past DATA_UPLOAD_MAX_MEMORY_SIZE, too many form fields,
    a bad Host) for a request that never reached a DRF view's exception handler. Under /api/ it
    answers in the error shape (413 for a body too large); pages get Django's own page."""
    if not request.path.startswith("/api/"):
        return defaults.bad_request(request, exception)  # type: ignore[arg-type]
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(TOO_LARGE, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    malformed = {"error": "bad-request", "message": "The request was malformed."}
    return JsonResponse(malformed, status=400)


def _first_message(detail: object, field: str = "") -> str:
    """The first validation message, prefixed with its field: "reason: This field is required."."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            prefix = "" if key == "non_field_errors" else key
            return _first_message(value, prefix)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0], field)
    return f"{field}: {detail}" if field else str(detail)


def document_input(serializer: serializers.Serializer, schema: dict, *, strict: bool) -> dict:
    """An input serializer's schema as DRF validates it (see TEXT); a strict one, which refuses
    fields it does not know, says so with `additionalProperties: false`."""
    properties = schema.get("properties", {})
    for name, field in serializer.fields.items():
        prop = properties.get(name)
        if not isinstance(field, serializers.CharField) or prop is None or "pattern" in prop:
            continue
        prop["pattern"] = TEXT if field.allow_blank else NON_BLANK_TEXT
        if not field.allow_blank:
            prop.setdefault("minLength", 1)
    if strict and properties:  # one with no fields has no request body in the schema at all
        schema["additionalProperties"] = False
    return schema


# A JSON value must have its field's type: DRF on its own takes 0 for "0", "4" or true for 4.
_JSON_TYPES = (
    (serializers.BooleanField, bool),
    (serializers.IntegerField, int),
    (serializers.CharField, str),
)


def refuse_wrong_json_types(serializer: serializers.Serializer, data: Mapping) -> None:
    """Refuse (400) a JSON body whose values have other types than the schema gives them. A
    form's values are all text and are left to the fields to parse."""
    if isinstance(data, QueryDict):
        return
    wrong = {}
    for name, field in serializer.fields.items():
        value = data.get(name)
        if field.read_only or value is None:
            continue  # a missing or null value is the field's own to refuse
        for kind, python_type in _JSON_TYPES:
            if isinstance(field, kind):
                if not isinstance(value, python_type) or (
                    python_type is int and isinstance(value, bool)
                ):
                    wrong[name] = [field.error_messages["invalid"]]
                break
    if wrong:
        raise exceptions.ValidationError(wrong)


class Pagination(LimitOffsetPagination):
    """`limit` and `offset` as whole numbers in range, or a 400 naming the parameter. (DRF's own
    class quietly serves the first page for `offset=x`, hiding the caller's mistake.)"""

    max_limit = 1000

    def get_limit(self, request) -> int:
        return self._number(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request) -> int:
        return self._number(request, self.offset_query_param, 0, 0, None)

    def _number(self, request, name: str, default: int, low: int, high: int | None) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        field = serializers.IntegerField(min_value=low, max_value=high)
        try:
            return field.run_validation(raw)
        except exceptions.ValidationError as error:
            raise exceptions.ValidationError({name: error.detail}) from None

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_limit},
            self.offset_query_param: {"minimum": 0},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters


class ObtainAuthTokenSchema(OpenApiViewExtension):
    """/api/auth/token/ in the schema: a token for a username and password, or a 400 in the
    error shape when they do not match. (Imported with this module, which DRF loads for the
    DEFAULT_PAGINATION_CLASS before any schema is made.)"""

    target_class = "rest_framework.authtoken.views.ObtainAuthToken"
    match_subclasses = True
    priority = 1  # before drf-spectacular's own extension for this view

    def view_replacement(self):
        error = inline_serializer(
            "TokenError",
            {
                "error": serializers.CharField(help_text='A stable code: "invalid".'),
                "message": serializers.CharField(),
                "details": serializers.JSONField(required=False),
            },
        )

        class ObtainAuthToken(self.target):
            @extend_schema(
                operation_id="auth_token_create",
                responses={
                    200: inline_serializer("Token", {"token": serializers.CharField()}),
                    400: OpenApiResponse(error, description="Wrong username or password."),
                },
            )
            def post(self, request, *args, **kwargs):
                return super().post(request, *args, **kwargs)

        return ObtainAuthToken
