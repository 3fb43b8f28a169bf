"""An engineer's page: stars, karma history, picks with their risk, and for release engineers
the "unlike" and "restore" forms. Karma changes go through `karma_change_as`, the role check
the karma API uses too, so every channel refuses the same people in the same words.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from karma.api.permissions import ONLY_RELEASE_ENGINEERS, karma_change_as, karma_may_change
from karma.forms import KarmaChangeForm
from karma.models import MAX_STARS
from karma.selectors import karma_history, karma_may_request
from pushes.dashboards import Requestor, engineer_risk_rows
from pushes.models import Engineer
from pushes.views.pages import _refused
from releasebot.errors import DomainError, Forbidden


def _person(username: str) -> Engineer:
    return get_object_or_404(Engineer.objects.select_related("user"), user__username=username)


@login_required
def engineer_page(request: HttpRequest, username: str) -> HttpResponse:
    person = _person(username)
    gate = karma_may_request(user_id=person.user_id)
    context = {
        "engineer": person,
        "stars": gate.stars,
        "max_stars": MAX_STARS,
        "gate": gate,
        "karma_events": karma_history(user_id=person.user_id),
        "rows": engineer_risk_rows(engineer=person),
        "may_change_karma": karma_may_change(request.user),
        "restore_choices": range(1, MAX_STARS + 1),
        "threshold": settings.KARMA_PICK_THRESHOLD,
    }
    return render(request, "pushes/engineer.html", context)


@login_required
@require_POST
def unlike(request: HttpRequest, username: str) -> HttpResponse:
    return _change(request, username, "unlike")


@login_required
@require_POST
def restore(request: HttpRequest, username: str) -> HttpResponse:
    return _change(request, username, "restore")


def _change(request: HttpRequest, username: str, change: str) -> HttpResponse:
    """Check the role, call the karma service, flash what happened, go back to the page."""
    person = _person(username)
    if not karma_may_change(request.user):
        return _refused(request, Forbidden(ONLY_RELEASE_ENGINEERS))
    form = KarmaChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.first_error())
        return redirect(person)
    try:
        event = karma_change_as(
            request.user,
            target_id=person.user_id,
            change=change,
            reason=form.cleaned_data["reason"],
            stars=form.cleaned_data["stars"] or 1,
        )
    except DomainError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, karma_changed(person, event.delta, event.stars_after))
    return redirect(person)


def karma_changed(person: Engineer | Requestor, delta: int, stars_after: int) -> str:
    """The flash after a change, and whether picks are now refused."""
    what = (
        f"Took a star off {person}"
        if delta < 0
        else f"Gave {person} {delta} star{'s' if delta > 1 else ''} back"
    )
    gate = karma_may_request(user_id=person.user_id)
    after = "" if gate.allowed else " Their picks are refused until stars are restored."
    return f"{what}: {stars_after} of {MAX_STARS} now.{after}"
