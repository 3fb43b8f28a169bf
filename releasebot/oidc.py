"""Signing in with the company's OpenID Connect provider, beside the password form (which stays,
for the embedded mode and for accounts the provider does not know).

mozilla-django-oidc runs the code flow (with a nonce and PKCE); this module makes it stricter
where it is lenient and turns the person into an engineer:

- the id_token is RS256, signed by a key of the provider's JWKS, issued by OIDC_ISSUER to our
  client id (`iss`, `aud`, `azp`), and not expired; the userinfo is the same person (`sub`);
- the e-mail address must be there and verified (`email_verified`), or there is no account;
- the account is the one with that address (the engineer's or the login's, in any case), else a
  new login (no password) and engineer; the role follows OIDC_ROLE_CLAIM, at every sign-in;
- a missing Slack id is looked up by e-mail (`users.lookupByEmail`); Slack failing is logged,
  never in the way of signing in.

Whatever refuses a sign-in is told on the login page. Settings: OIDC_* in releasebot/settings.py;
while they are unset the views here answer 404 and the backend is not listed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import AbstractBaseUser, User
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from chat import slackapi
from common.redact import redact
from pushes.choices import Role
from pushes.models import Engineer

log = logging.getLogger(__name__)

_REFUSAL = "releasebot_oidc_refusal"  # the request attribute the backend leaves its reason in
_NOT_IN_USERNAME = re.compile(r"[^\w.@+-]")  # what Django's username validator refuses
_ERROR_CODE = re.compile(r"[^a-z_]")
# What can go wrong between us and the provider: its answers, the token, the network.
_FAILURES = (
    SuspiciousOperation,
    requests.RequestException,
    jwt.PyJWTError,
    ValueError,
    KeyError,
    TypeError,
)


def configured() -> bool:
    return bool(getattr(settings, "OIDC_ENABLED", False))


def provider() -> str:
    return settings.OIDC_PROVIDER_NAME


class Refused(Exception):
    """A sign-in the provider vouched for but Releasebot will not take; the message says why."""


# --- the backend --------------------------------------------------------------------------


class Backend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, checking the id_token's issuer and audience, and signing in
    as an engineer (engineer_sign_in)."""

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> AbstractBaseUser | None:
        # Only the callback view passes a nonce: a password sign-in never reaches the provider,
        # even with ?code=…&state=… in its address.
        if request is None or not configured() or not kwargs.get("nonce"):
            return None
        try:
            return super().authenticate(request, **kwargs)
        except Refused as refusal:
            reason = str(refusal)
            log.info("sign-in with %s refused: %s", provider(), reason)
        except _FAILURES as error:
            log.warning("sign-in with %s failed: %s", provider(), redact(str(error)))
            reason = (
                f"Signing in with {provider()} did not work. Try again; if it keeps failing, "
                "tell a Releasebot admin (the reason is in Releasebot's log)."
            )
        setattr(request, _REFUSAL, reason)
        return None

    def get_user(self, user_id: int) -> AbstractBaseUser | None:
        # The library's ignores is_active: a login deactivated in the admin would stay signed in.
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def _verify_jws(self, payload: str | bytes, key: Any) -> dict[str, Any]:
        """The signature, `exp` and RS256 as the library checks them, and `iss`, `aud` and `azp`
        too (OpenID Connect Core 3.1.3.7), which it leaves out."""
        try:
            claims = jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_ISSUER,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise SuspiciousOperation(f"id_token refused: {error}") from error
        if claims.get("azp", self.OIDC_RP_CLIENT_ID) != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("id_token refused: issued to another client (azp)")
        return claims

    def get_or_create_user(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> AbstractBaseUser:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("the userinfo is another person's than the id_token's")
        # Some providers put groups or roles in the id_token only: userinfo first, then it.
        claims = {**payload, **userinfo}
        return engineer_sign_in(email=verified_email(claims), claims=claims).user


def verified_email(claims: Mapping[str, Any]) -> str:
    """The person's e-mail address, if the provider sent one and has verified it."""
    email = str(claims.get("email") or "").strip()
    if "@" not in email:
        raise Refused(
            f"{provider()} did not say what your e-mail address is, and Releasebot knows people "
            "by it. Ask your identity admin to give Releasebot the `email` scope."
        )
    if claims.get("email_verified") not in (True, "true"):
        raise Refused(
            f"{provider()} has not verified your e-mail address {email}. Verify it there, then "
            "sign in again."
        )
    return email


# --- the engineer -------------------------------------------------------------------------


def engineer_sign_in(*, email: str, claims: Mapping[str, Any]) -> Engineer:
    """The engineer signing in with the verified `email`: the one with that address (in any
    case), else a new login without a password and a new engineer. The role follows the role
    claim when OIDC_ROLE_CLAIM is set; a missing Slack id is looked up by e-mail."""
    try:
        engineer = _engineer_for(email, claims)
    except IntegrityError:  # the same person's sign-in in another tab made the account just now
        engineer = _engineer_for(email, claims)
    _slack_id_filled(engineer)  # after the transaction: no lock held while Slack answers
    return engineer


def _engineer_for(email: str, claims: Mapping[str, Any]) -> Engineer:
    users = get_user_model().objects.filter(
        Q(email__iexact=email) | Q(engineer__email__iexact=email)
    )
    role = role_from(claims)
    with transaction.atomic():
        found = list(users.distinct()[:2])
        if len(found) > 1:
            raise Refused(
                f"More than one Releasebot account has the e-mail address {email}: a Releasebot "
                "admin must give each its own (Admin, Users) before you can sign in this way."
            )
        user = found[0] if found else _new_user(email, claims)
        if not user.is_active:
            raise Refused("Your Releasebot account is deactivated. Ask a Releasebot admin.")
        engineer = Engineer.objects.filter(user=user).first()
        if engineer is None:
            return Engineer.objects.create(user=user, email=email, role=role or Role.ENGINEER)
        changes = {"role": role} if role and role != engineer.role else {}
        if not engineer.email:
            changes["email"] = email
        if changes:
            Engineer.objects.filter(pk=engineer.pk).update(**changes)
            for field, value in changes.items():
                setattr(engineer, field, value)
        return engineer


def role_from(claims: Mapping[str, Any]) -> str | None:
    """The role the role claim gives (None when OIDC_ROLE_CLAIM is unset): release engineer
    when its value, or one of its values, is one of OIDC_RELEASE_ENGINEER_VALUES. A dotted
    name reads a nested claim (Keycloak's `realm_access.roles`)."""
    name = settings.OIDC_ROLE_CLAIM
    if not name:
        return None
    value: Any = claims.get(name)
    if name not in claims:
        value = claims
        for part in name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
    values = value if isinstance(value, list | tuple) else [] if value is None else [value]
    wanted = set(settings.OIDC_RELEASE_ENGINEER_VALUES)
    return Role.RELEASE_ENGINEER if wanted & {str(v) for v in values} else Role.ENGINEER


def _new_user(email: str, claims: Mapping[str, Any]) -> User:
    """A login named after the address's local part (`alice`, or `alice-2` when taken), with
    no password: it signs in through the provider only."""
    model = get_user_model()
    base = _NOT_IN_USERNAME.sub("", email.split("@")[0])[:140] or "engineer"
    username, n = base, 1
    while model.objects.filter(username__iexact=username).exists():
        n += 1
        username = f"{base}-{n}"
    return model.objects.create_user(
        username,
        email=email,
        first_name=str(claims.get("given_name") or "")[:150],
        last_name=str(claims.get("family_name") or "")[:150],
    )


def _slack_id_filled(engineer: Engineer) -> None:
    if engineer.chat_id or not slackapi.configured():
        return
    try:
        slackapi.user_for_engineer(engineer, slackapi.client())
    except Exception:  # Slack down, slow or odd (not only SlackApiError): sign in without it
        log.warning("Slack lookup for %s failed at sign-in", engineer, exc_info=True)


# --- the pages ----------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """The login page: the provider's button above the password form when sign-in with it is
    on, and the password form as Django has it (axes counts its failures)."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["oidc_provider"] = provider() if configured() else ""
        return context


class AuthenticateView(OIDCAuthenticationRequestView):
    """GET /oidc/authenticate/: off to the provider, `next` kept (if it is on this site)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not configured():
            raise Http404("Sign-in with OpenID Connect is off.")
        return super().dispatch(request, *args, **kwargs)


class CallbackView(OIDCAuthenticationCallbackView):
    """GET /oidc/callback/: back from the provider, signed in, or on the login page told why."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not configured():
            raise Http404("Sign-in with OpenID Connect is off.")
        return super().dispatch(request, *args, **kwargs)

    @property
    def failure_url(self) -> str:
        return resolve_url(settings.LOGIN_REDIRECT_URL_FAILURE)

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            return super().get(request)
        except SuspiciousOperation as error:  # a state this browser did not start (a replay)
            log.warning("sign-in with %s refused: %s", provider(), error)
            return self.login_failure()

    def login_failure(self) -> HttpResponse:
        request = self.request
        if not getattr(request, "axes_locked_out", False):  # axes' page says why instead
            reason = getattr(request, _REFUSAL, "") or self._unexplained()
            messages.error(request, reason)
        return super().login_failure()

    def _unexplained(self) -> str:
        code = _ERROR_CODE.sub("", self.request.GET.get("error", "").lower())[:40]
        if code:
            return f"{provider()} did not sign you in ({code})."
        return f"Signing in with {provider()} did not work. Try again from this page."
