"""The webhook endpoints: the raw body and headers to `delivery_receive`, its answer (or its
refusal, in the API's error shape) back. No session, no CSRF token: a delivery proves itself
with its signature."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from common.api import TOO_LARGE
from common.errors import DomainError
from forges.choices import Forge
from forges.services import delivery_receive


def _receive(request: HttpRequest, forge: str) -> JsonResponse:
    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse(TOO_LARGE, status=413)
    try:
        received = delivery_receive(forge=forge, headers=request.headers, body=body)
    except DomainError as refusal:
        return JsonResponse(refusal.as_dict(), status=refusal.status)
    return JsonResponse(received.as_dict(), status=202 if received.queued else 200)


@csrf_exempt
@require_POST
def github(request: HttpRequest) -> JsonResponse:
    return _receive(request, Forge.GITHUB)


@csrf_exempt
@require_POST
def gitlab(request: HttpRequest) -> JsonResponse:
    return _receive(request, Forge.GITLAB)
