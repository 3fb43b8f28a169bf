"""The "How you hear from the bot" part of an engineer's own page: the form, and its POST to the
page's address. Only the engineer themself sees it and may send it; the service is the API's
(`PATCH /api/me/preferences/`), so both refuse the same things in the same words.
"""

from __future__ import annotations

import zoneinfo

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from common.errors import DomainError, Forbidden
from pushes.models import Engineer
from pushes.services.preferences import PREFERENCE_FIELDS, engineer_preferences_update
from pushes.views.base import NO_ENGINEER, refused, signed_in_engineer

_ZONES = [("", "Each notice's repository's zone")] + [
    (name, name) for name in sorted(zoneinfo.available_timezones())
]


class PreferencesForm(forms.Form):
    notify_direct = forms.BooleanField(required=False, label="Direct messages")
    notify_channel = forms.BooleanField(required=False, label="Also in the repository's channel")
    quiet_from = forms.TimeField(required=False, label="Quiet hours from")
    quiet_until = forms.TimeField(required=False, label="Quiet hours until")
    time_zone = forms.ChoiceField(choices=_ZONES, required=False, label="Time zone")

    def first_error(self) -> str:
        name, errors = next(iter(self.errors.items()))
        label = self.fields[name].label if name in self.fields else ""
        return f"{label}: {errors[0]}" if label else str(errors[0])


def preferences_context(request: HttpRequest, person: Engineer) -> PreferencesForm | None:
    """The form, filled in, when the page is the signed-in engineer's own; None otherwise."""
    me = signed_in_engineer(request)
    if me is None or me.pk != person.pk:
        return None
    return PreferencesForm(initial={name: getattr(person, name) for name in PREFERENCE_FIELDS})


def preferences_post(request: HttpRequest, person: Engineer) -> HttpResponse:
    """Save the engineer's own choices; anyone else's page refuses (403)."""
    me = signed_in_engineer(request)
    if me is None:
        return refused(request, Forbidden(NO_ENGINEER))
    if me.pk != person.pk:
        return refused(request, Forbidden(f"Only {person} chooses how they hear from the bot."))
    form = PreferencesForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.first_error())
        return redirect(person)
    try:
        engineer_preferences_update(engineer=me, changes=dict(form.cleaned_data))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Saved: this is how the bot reaches you from now on.")
    return redirect(person)
