"""The engineer page's karma forms: unlike (a reason) and restore (a reason and how many)."""

from __future__ import annotations

from django import forms

from karma.models import MAX_STARS

REASON_MAX = 2000


class KarmaChangeForm(forms.Form):
    """Only the shape of the input: a blank reason is the service's to refuse, in the same
    words on every channel."""

    reason = forms.CharField(
        max_length=REASON_MAX,
        required=False,
        error_messages={"max_length": "Keep the reason under %(limit_value)d characters."},
    )
    stars = forms.IntegerField(
        min_value=1,
        max_value=MAX_STARS,
        required=False,
        error_messages={
            "min_value": "Restore at least one star.",
            "max_value": f"There are only {MAX_STARS} stars.",
            "invalid": "Say how many stars, as a number.",
        },
    )

    def first_error(self) -> str:
        return next(str(errors[0]) for errors in self.errors.values())
