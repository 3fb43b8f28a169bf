"""Web forms: they check the shape of what was typed; the services decide what it means."""

from __future__ import annotations

from django import forms

from pushes import selectors
from pushes.choices import PICK_OPEN_STATES, BranchState, PickState
from pushes.models import Engineer, ReleaseBranch
from pushes.selectors.risk_dashboard import FLAGGED, SORTS
from pushes.services.picks import NO_REASON

REASON_MAX = 2000
NUL_MESSAGE = "Remove the invisible NUL character (\\0) from this field: it cannot be stored."


class BranchChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ReleaseBranch) -> str:
        return f"{obj.repository.name} · {obj.name} ({obj.get_state_display().lower()})"


class PickRequestForm(forms.Form):
    """Ask for a trunk revision on a release branch: the web twin of `pick REV [to BRANCH]`."""

    revision = forms.CharField(
        max_length=40,
        help_text="A trunk commit: full or abbreviated SHA, 7 to 40 hex digits.",
        error_messages={
            "required": "Give the trunk revision to pick (e.g. 3f2a9c1).",
            "max_length": "A revision is at most 40 hex digits (this is %(show_value)d long).",
            "null_characters_not_allowed": NUL_MESSAGE,
        },
        widget=forms.TextInput(
            attrs={"placeholder": "3f2a9c1", "autofocus": True, "class": "mono", "size": 42}
        ),
    )
    branch = BranchChoiceField(
        queryset=ReleaseBranch.objects.exclude(state=BranchState.CLOSED)
        .select_related("repository")
        .order_by("repository__name", "-cut_at"),
        required=False,
        empty_label="The current branch of the revision's repository",
        help_text="Leave as it is unless you mean an older branch that is still open.",
        error_messages={"invalid_choice": "That branch no longer takes picks: choose another."},
    )
    reason = forms.CharField(
        max_length=REASON_MAX,
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": "What breaks for users if this waits a week?"}
        ),
        help_text="Why it cannot wait for the next weekly train. Release engineering reads this.",
        error_messages={
            "required": NO_REASON,
            "max_length": (
                "Keep the reason under %(limit_value)d characters (it has %(show_value)d): "
                "link to a document for the long story."
            ),
            "null_characters_not_allowed": NUL_MESSAGE,
        },
    )
    backup = forms.CharField(
        max_length=150,
        required=False,
        label="Backup (optional)",
        help_text="The username of someone who may confirm in your place.",
        error_messages={
            "max_length": "A username is at most %(limit_value)d characters.",
            "null_characters_not_allowed": NUL_MESSAGE,
        },
        widget=forms.TextInput(attrs={"placeholder": "username"}),
    )
    urgent = forms.BooleanField(
        required=False,
        label="Urgent: ship in a push started as soon as it is approved",
        help_text="Instead of the next daily push: one started for it at the approval, due "
        "after the confirmation lead (30 minutes unless the repository says otherwise). You are "
        "asked to confirm at once; it ships only once you have.",
    )

    def clean_backup(self) -> Engineer | None:
        name = self.cleaned_data["backup"].strip().lstrip("@")
        if not name:
            return None
        engineer = selectors.engineer_by_username(username=name)
        if engineer is None:
            raise forms.ValidationError(f"Nobody here is called {name!r}: check the username.")
        return engineer


class ReasonForm(forms.Form):
    """The optional (for reject: required by the service) reason sent with a pick's move."""

    reason = forms.CharField(
        max_length=REASON_MAX,
        required=False,
        error_messages={
            "max_length": "Keep the reason under %(limit_value)d characters.",
            "null_characters_not_allowed": NUL_MESSAGE,
        },
    )


class RiskFilterForm(forms.Form):
    """The dashboard's GET parameters; a value that does not parse is dropped, not obeyed."""

    state = forms.ChoiceField(
        required=False,
        choices=[("", "Any state"), *((s, PickState(s).label) for s in PICK_OPEN_STATES)],
    )
    requestor = forms.CharField(required=False, max_length=150)
    risk = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any risk"),
            (FLAGGED, "Flagged: large and controversial"),
            ("high", "High"),
            ("medium", "Medium"),
            ("low", "Low"),
        ],
    )
    push = forms.RegexField(required=False, regex=r"^(none|[1-9]\d{0,11})$")
    repository = forms.SlugField(required=False, max_length=100)
    q = forms.CharField(required=False, max_length=200)
    sort = forms.ChoiceField(
        required=False, choices=[(f"{d}{n}", n) for n in SORTS for d in ("", "-")]
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=10**6)
