"""One error shape for the API: {"error": code, "message": text, "details": ...}.

Domain refusals (DomainError) and DRF's own errors (validation, authentication, not found)
answer in the same shape that the web pages and the bot show in words.
"""

from __future__ import annotations

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from releasebot.errors import DomainError


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status)
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


def _first_message(detail: object, field: str = "") -> str:
    """The first validation message, prefixed with its field: "reason: This field is required."."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            prefix = "" if key == "non_field_errors" else key
            return _first_message(value, prefix)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0], field)
    return f"{field}: {detail}" if field else str(detail)
