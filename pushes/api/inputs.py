"""What the API reads from requests: bodies and query strings.

Input serializers refuse fields they do not know (a typo is an error, not a silent no-op) and
name their fields the way the services take them, so a view passes `validated_data` straight on.
"""

from __future__ import annotations

from rest_framework import serializers

from common.serializers import (
    EmptySerializer,
    EnumField,
    InputSerializer,
    PatternField,
    StrictFieldsMixin,
)
from pushes import selectors
from pushes.choices import BranchState, PickState, PushState, TestRunState
from pushes.models import Engineer, Repository
from pushes.moves import Move, Reason
from pushes.services.picks import NO_REASON

# Ids and id filters stop at the largest a database row has (a signed 64-bit integer): SQLite
# cannot even compare a larger one, and PostgreSQL refuses it.
MAX_ID = 2**63 - 1
# What the revision selector takes: a SHA (7 to 40 hex digits), a review URL or a review number.
REVISION = r"^\s*([0-9a-fA-F]{7,40}|https?://[^\x00]*|[Dd#]?[0-9]{1,9})\s*$"
SHA = r"^\s*[0-9a-fA-F]{7,40}\s*$"
# Release branches one pick request names at most: the current one and older ones kept open.
MAX_BRANCHES = 10

# --- input --------------------------------------------------------------------------------


class ReasonSerializer(StrictFieldsMixin, InputSerializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="Why, for the pick's history."
    )


class EarlySerializer(StrictFieldsMixin, InputSerializer):
    early = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Run it before its slot anyway: only the picks confirmed now go out; the "
        "others keep their approval and wait for the next push. Without it, a push before its "
        "slot is refused (409 push-early) with who would be left behind.",
    )


def move_input(move: Move) -> type[serializers.Serializer]:
    """What a move's endpoint reads: nothing, an optional reason, or a reason it refuses to go
    without, in the move's own words (named after the move: Reject in the schema)."""
    if move.asks_first:
        return EarlySerializer
    if move.reason == Reason.NONE:
        return EmptySerializer
    if move.reason == Reason.OPTIONAL:
        return ReasonSerializer
    reason = serializers.CharField(
        max_length=2000,
        help_text=move.reason_hint,
        error_messages={"required": move.reason_hint, "blank": move.reason_hint},
    )
    name = f"{move.name.title().replace('_', '')}Serializer"
    return type(name, (StrictFieldsMixin, InputSerializer), {"reason": reason})


class PickRequestSerializer(StrictFieldsMixin, InputSerializer):
    revision = PatternField(
        pattern=SHA,
        max_length=100,
        help_text="The trunk commit: a full SHA or at least 7 hex digits of one.",
    )
    reason = serializers.CharField(
        max_length=2000,
        help_text="Why this cannot wait for the next train.",
        error_messages={
            "required": NO_REASON,
            "blank": NO_REASON,
        },
    )
    branch = serializers.CharField(
        source="branch_name",
        required=False,
        max_length=200,
        help_text="The release branch, e.g. release/2026-11-22. Default: the current one.",
    )
    branches = serializers.ListField(
        source="branch_names",
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=MAX_BRANCHES,
        help_text="Instead of `branch`: several release branches (the current one and older "
        "ones still open), one pick each, each with its own state. Empty: the current branch.",
    )
    repository = serializers.CharField(
        required=False, max_length=50, help_text="The repository's slug. Default: any active one."
    )
    backup = serializers.CharField(
        required=False,
        max_length=150,
        help_text="Username of an engineer who may confirm in your place.",
    )
    urgent = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Ship it in a push started as soon as it is approved (due after the "
        "confirmation lead), instead of the next daily push. You still confirm first.",
    )

    def validate(self, attrs: dict) -> dict:
        if "branch_name" in attrs and "branch_names" in attrs:
            raise serializers.ValidationError({"branches": ["Give branch or branches, not both."]})
        return attrs

    def validate_repository(self, value: str) -> Repository:
        repository = Repository.objects.filter(slug=value).first()
        if repository is None:
            raise serializers.ValidationError(f"There is no repository {value!r}.")
        return repository

    def validate_backup(self, value: str) -> Engineer:
        engineer = selectors.engineer_by_username(username=value)
        if engineer is None:
            raise serializers.ValidationError(f"There is no engineer {value!r}.")
        return engineer


class RevisionQuerySerializer(InputSerializer):
    q = PatternField(
        pattern=REVISION,
        max_length=500,
        help_text="A SHA (7+ hex digits), a review URL or a review number (D123).",
    )


class RevisionPathSerializer(serializers.Serializer):
    rev = serializers.CharField(max_length=500)


# Query parameters of the lists: each field's source is the ORM lookup it filters on.


class BranchFilterSerializer(InputSerializer):
    repository = serializers.SlugField(
        source="repository__slug", required=False, help_text="The repository's slug."
    )
    state = EnumField(BranchState, required=False)


class PushFilterSerializer(InputSerializer):
    branch = serializers.IntegerField(
        source="branch_id", required=False, min_value=1, max_value=MAX_ID
    )
    state = EnumField(PushState, required=False)


class PickFilterSerializer(InputSerializer):
    state = EnumField(PickState, required=False)
    branch = serializers.IntegerField(
        source="branch_id", required=False, min_value=1, max_value=MAX_ID
    )
    push = serializers.IntegerField(source="push_id", required=False, min_value=1, max_value=MAX_ID)
    requestor = serializers.CharField(
        source="requestor__user__username",
        required=False,
        max_length=150,
        help_text="The requestor's username.",
    )
    mine = serializers.BooleanField(
        required=False, help_text="Only picks you requested or are the backup of."
    )


class TestRunFilterSerializer(InputSerializer):
    push = serializers.IntegerField(source="push_id", required=False, min_value=1, max_value=MAX_ID)
    pick = serializers.IntegerField(source="pick_id", required=False, min_value=1, max_value=MAX_ID)
    state = EnumField(TestRunState, required=False)
