"""What every page view of the pushes app shares: who is signed in, the refusal page, and the
way back after a button."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from common.errors import DomainError, Forbidden
from pushes.models import Engineer

NO_ENGINEER = (
    "Your account has no engineer record, so it cannot request or answer picks. "
    "Ask an admin to add one for you."
)
NOT_FOR_ENGINEERS = (
    "The risk dashboard is for release engineers. Your own picks and their risk are on your "
    "page; ask release engineering if you need one looked at."
)


def signed_in_engineer(request: HttpRequest) -> Engineer | None:
    return getattr(request.user, "engineer", None)


def engineer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, with an engineer row, passed to the view as `me`; else a page saying so."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        me = signed_in_engineer(request)
        if me is None:
            return refused(request, Forbidden(NO_ENGINEER))
        return view(request, *args, me=me, **kwargs)

    return wrapper


def release_engineer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in as a release engineer; anyone else gets a 403 page saying why."""

    @engineer_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, me: Engineer, **kwargs: object):
        if not me.is_release_engineer:
            return refused(request, Forbidden(NOT_FOR_ENGINEERS))
        return view(request, *args, me=me, **kwargs)

    return wrapper


def refused(request: HttpRequest, error: DomainError, **extra: object) -> HttpResponse:
    """A refusal from the domain as a page, in the words every channel uses."""
    context = {"error": error, "title": "Refused", **extra}
    return render(request, "pushes/refused.html", context, status=error.status)


def back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    """Back where the button was (a `next` on this site), else `default`."""
    target = request.POST.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(target if safe and target.startswith("/") else default)
