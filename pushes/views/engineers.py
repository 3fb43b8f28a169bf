"""The engineers' table (/engineers/), and an engineer's page: stars, change failure rate, karma
history, picks with their risk, and for release engineers the "unlike" and "restore" forms.
The moves registry says who sees the forms; karma's own service makes the change, so every
channel refuses the same people in the same words.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from common.errors import DomainError
from karma.forms import KarmaChangeForm
from karma.models import MAX_STARS
from karma.selectors import karma_history, karma_may_request, karma_whose
from pushes.models import Engineer
from pushes.moves import MOVES, Channel, Target, move_refusal, moves_offered
from pushes.selectors import pick_time_zones
from pushes.selectors.people import (
    ENGINEER_SORT_DEFAULT,
    engineer_change_failure,
    engineer_sort_refusal,
    engineers_overview,
)
from pushes.selectors.risk_rows import Requestor, engineer_risk_rows
from pushes.services.pick_gate import karma_refusal
from pushes.views import preferences
from pushes.views.base import refused, signed_in_engineer

# The table's columns: sort key, header, and the order a first click asks for (names A to Z,
# numbers and times highest first: who most needs a look).
_COLUMNS = (
    ("name", "Engineer", ""),
    ("stars", "Stars", "-"),
    ("picks", "Picks", "-"),
    ("open", "Open", "-"),
    ("shipped", "Shipped", "-"),
    ("reverted", "Reverted", "-"),
    ("failure_rate", "Change failure rate", "-"),
    ("last_pick", "Last pick", "-"),
)


def _person(username: str) -> Engineer:
    return get_object_or_404(Engineer.objects.select_related("user"), user__username=username)


@login_required
def engineers_list(request: HttpRequest) -> HttpResponse:
    """Every engineer in a table sorted by a column (`?sort=-failure_rate`); a sort that is
    none of the columns is ignored for the default, as a stale bookmark should be."""
    order = request.GET.get("sort", "")
    if engineer_sort_refusal(order) is not None:
        order = ENGINEER_SORT_DEFAULT
    context = {
        "rows": engineers_overview(order=order),
        "columns": [_column(key, label, first, order) for key, label, first in _COLUMNS],
        "nav": "engineers",
    }
    return render(request, "pushes/engineers.html", context)


def _column(key: str, label: str, first: str, order: str) -> dict[str, str]:
    """A header: its link (the sorted column's flips it) and `aria-sort` when it is sorted."""
    sorted_by = order.removeprefix("-") == key
    descending = order.startswith("-")
    if sorted_by:
        href = f"?sort={key}" if descending else f"?sort=-{key}"
        aria = "descending" if descending else "ascending"
    else:
        href, aria = f"?sort={first}{key}", ""
    return {"key": key, "label": label, "href": href, "aria_sort": aria}


@login_required
def engineer_page(request: HttpRequest, username: str) -> HttpResponse:
    person = _person(username)
    if request.method == "POST":  # the owner's "How you hear from the bot" form
        return preferences.preferences_post(request, person)
    gate = karma_may_request(user_id=person.user_id)
    viewer = signed_in_engineer(request)
    offered = moves_offered(person, viewer, Channel.PAGE, Target.ENGINEER)
    # "Your push karma" to its owner only; anyone else reads "carol's push karma".
    whose = karma_whose(username=person.username, own=viewer is not None and viewer.pk == person.pk)
    history = karma_history(user_id=person.user_id)
    zones = pick_time_zones(pick_ids=[e.pick_id for e in history])
    context = {
        "engineer": person,
        "stars": gate.stars,
        "max_stars": MAX_STARS,
        "gate": gate,
        "karma_refused": karma_refusal(engineer=person, whose=whose),
        # Each change with the zone it is shown in: its pick's repository's, or the site's.
        "karma_events": [(e, zones.get(e.pick_id)) for e in history],
        "rows": engineer_risk_rows(engineer=person),
        "may_change_karma": bool(offered),
        "unlike_confirm": MOVES["unlike"].confirm,  # the question its form asks first
        "restore_choices": range(1, MAX_STARS + 1),
        "threshold": settings.KARMA_PICK_THRESHOLD,
        "change_failure": engineer_change_failure(engineer=person),
        "preferences": preferences.preferences_context(request, person),
    }
    return render(request, "pushes/engineer.html", context)


@login_required
@require_POST
def karma_change(request: HttpRequest, username: str, move: str) -> HttpResponse:
    """Unlike or restore: ask the registry, call karma's service, flash what happened."""
    person = _person(username)
    chosen = MOVES[move]
    refusal = move_refusal(chosen, person, signed_in_engineer(request))
    if refusal is not None:
        return refused(request, refusal)
    form = KarmaChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.first_error())
        return redirect(person)
    try:
        event = chosen.service_function(
            actor=request.user,
            user_id=person.user_id,
            change=chosen.name,
            reason=form.cleaned_data["reason"],
            stars=form.cleaned_data["stars"] or 1,
        )
    except DomainError as error:
        messages.error(request, error.message)
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
