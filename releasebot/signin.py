"""Signing in, throttled: the lock-out django-axes decides, told the same way on the web
(a page) and the API (the error shape, 429 `locked-out`), and the token view that asks first.

Settings: LOGIN_FAILURE_LIMIT, LOGIN_LOCKOUT_MINUTES, TRUSTED_PROXY_COUNT (releasebot/settings.py).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_credentials
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from common.errors import LockedOut
from common.serializers import error_responses


def locked_out() -> LockedOut:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return LockedOut(
        f"Too many failed sign-ins for this account or from this address: signing in is locked "
        f"for {minutes} minutes, even with the right password, and each try meanwhile starts "
        "the wait again. A Releasebot admin can lift it sooner (Admin, Access attempts; or "
        "`manage.py axes_reset`)."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: object = None
) -> HttpResponse:
    """What axes answers a locked-out sign-in: the error shape under /api/, a page elsewhere."""
    refusal = locked_out()
    if request.path.startswith("/api/"):
        return JsonResponse(refusal.as_dict(), status=refusal.status)
    return render(request, "registration/locked_out.html", {"message": refusal.message}, status=429)


def client_ip(request: HttpRequest) -> str:
    """The address sign-in attempts are counted by (TRUSTED_PROXY_COUNT says how to find it);
    a forwarded entry that is not an address counts as the connection's own."""
    own = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if not hops or len(forwarded) < hops:
        return own
    try:
        return str(ipaddress.ip_address(forwarded[-hops]))
    except ValueError:
        return own


TOKEN = inline_serializer("Token", {"token": serializers.CharField()})


class TokenView(ObtainAuthToken):
    """POST /api/auth/token/: a locked-out account or address is refused before its password is
    looked at (axes' backend refusing inside `authenticate` would read as a wrong password); a
    success clears the failure count, as a sign-in on the web does (without a session: the
    token is the sign-in). Our parsers, for the JSON depth limit."""

    parser_classes = api_settings.DEFAULT_PARSER_CLASSES

    @extend_schema(
        operation_id="auth_token_create",
        request=AuthTokenSerializer,
        responses={
            200: TOKEN,
            **error_responses(
                400, 429, d400="Wrong username or password, or a malformed body (see `error`)."
            ),
        },
        description="Your API token, for `Authorization: Token <key>`. After "
        "LOGIN_FAILURE_LIMIT failed sign-ins the account and the address are locked out "
        "(429 `locked-out`) for LOGIN_LOCKOUT_MINUTES.",
    )
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        data = request.data if isinstance(request.data, Mapping) else {}
        credentials = {"username": str(data.get("username", ""))}
        if AxesProxyHandler.is_locked(request._request, credentials):
            raise locked_out()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        _failures_cleared(request._request, user.get_username())
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


def _failures_cleared(request: HttpRequest, username: str) -> None:
    if getattr(settings, "AXES_ENABLED", True) and settings.AXES_RESET_ON_SUCCESS:
        AxesProxyHandler.update_request(request)
        handler = AxesProxyHandler.get_implementation()
        handler.reset_user_attempts(request, get_credentials(username))
