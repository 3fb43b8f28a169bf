"""What the API writes in responses (what it reads is pushes.api.inputs).

Output serializers are read-only and follow only relations the views select or prefetch.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit, urlunsplit

from django.db import models
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.serializers import (
    EnumField,
)
from karma.selectors import karma_stars, karma_stars_many
from pushes import selectors
from pushes.api.freezes import FrozenField
from pushes.choices import (
    BranchState,
    FridayPolicy,
    NotificationKind,
    PickState,
    PushKind,
    PushState,
    ReviewStatus,
    ReviewTool,
    TestRunState,
    Weekday,
)
from pushes.models import (
    Notification,
    Pick,
    PickEvent,
    Push,
    ReleaseBranch,
    Repository,
    TestRun,
)

# --- building blocks ----------------------------------------------------------------------


class LocalTimeField(serializers.TimeField):
    """A time of day in the repository's time zone. The schema's `format: time` would ask for
    an offset (RFC 3339); the offset comes from `time_zone`, so this is a pattern instead."""


class LocalTimeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = LocalTimeField

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "string",
            "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$",
            "example": "18:00:00",
            "readOnly": True,
        }


class PageUrlMixin(serializers.Serializer):
    """A link to the object's page in the web app."""

    page_url = serializers.SerializerMethodField()

    def get_page_url(self, obj: Repository | ReleaseBranch | Push | Pick) -> str:
        path = obj.get_absolute_url()
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


def _without_credentials(url: str) -> str:
    """A remote URL as safe to show: any user and password in it are dropped."""
    parts = urlsplit(url)
    if parts.scheme and (parts.username or parts.password):
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit(parts._replace(netloc=netloc))
    return url


# --- output -------------------------------------------------------------------------------


class RepositorySerializer(PageUrlMixin, serializers.ModelSerializer):
    """A repository, its train's settings (release engineers PATCH them) and its freeze."""

    remote_url = serializers.SerializerMethodField()
    cut_weekday = EnumField(Weekday, read_only=True)
    cut_time = LocalTimeField(read_only=True)
    ship_weekday = EnumField(Weekday, read_only=True)
    ship_time = LocalTimeField(read_only=True)
    push_weekdays = serializers.ListField(child=EnumField(Weekday), read_only=True)
    push_times = serializers.ListField(child=serializers.CharField(), read_only=True)
    friday_policy = EnumField(FridayPolicy, read_only=True)
    review_tool = EnumField(ReviewTool, read_only=True)
    deploy_hook = serializers.SerializerMethodField()
    hot_paths = serializers.ListField(child=serializers.CharField(), read_only=True)
    frozen = FrozenField(help_text="The freeze in force: no picks and no pushes; null: none.")

    class Meta:
        model = Repository
        fields = [
            "slug",
            "name",
            "page_url",
            "remote_url",
            "trunk_branch",
            "time_zone",
            "cut_weekday",
            "cut_time",
            "ship_weekday",
            "ship_time",
            "push_weekdays",
            "push_times",
            "friday_policy",
            "confirm_lead_minutes",
            "reminder_lead_minutes",
            "max_rolls",
            "test_command",
            "test_timeout_seconds",
            "deploy_hook",
            "deploy_hook_allow_http",
            "command_env",
            "review_tool",
            "review_api_url",
            "review_token_env",
            "risk_size_threshold",
            "risk_churn_threshold",
            "hot_paths",
            "chat_channel",
            "trunk_synced_at",
            "is_active",
            "frozen",
        ]
        read_only_fields = fields

    def get_remote_url(self, repository: Repository) -> str:
        return _without_credentials(repository.remote_url)

    def get_deploy_hook(self, repository: Repository) -> str:
        """The kind of hook only: a webhook URL or a command line may carry a secret."""
        hook = repository.deploy_hook.strip()
        if not hook:
            return "none"
        return "webhook" if hook.startswith(("http://", "https://")) else "command"


class BranchSerializer(PageUrlMixin, serializers.ModelSerializer):
    repository = serializers.CharField(source="repository.slug", read_only=True)
    state = EnumField(BranchState, read_only=True)

    class Meta:
        model = ReleaseBranch
        fields = [
            "id",
            "repository",
            "name",
            "page_url",
            "cut_at",
            "base_sha",
            "base_position",
            "state",
        ]
        read_only_fields = fields


class PushSerializer(PageUrlMixin, serializers.ModelSerializer):
    branch_name = serializers.CharField(source="branch.name", read_only=True)
    repository = serializers.CharField(source="branch.repository.slug", read_only=True)
    kind = EnumField(PushKind, read_only=True)
    state = EnumField(PushState, read_only=True)
    label = serializers.CharField(read_only=True, help_text="Day and number: 2026-11-25.1.")
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Push
        fields = [
            "id",
            "repository",
            "branch",
            "branch_name",
            "label",
            "page_url",
            "kind",
            "day",
            "number",
            "scheduled_at",
            "state",
            "tag",
            "head_sha",
            "reminded_at",
            "rehearsed_at",
            "started_at",
            "finished_at",
            "duration_seconds",
            "error",
        ]
        read_only_fields = fields

    def get_duration_seconds(self, push: Push) -> float | None:
        return push.duration.total_seconds() if push.duration else None


class PickBriefSerializer(serializers.ModelSerializer):
    """A pick in a list of another object (a push's picks, a revision's picks)."""

    state = EnumField(PickState, read_only=True)
    branch_name = serializers.CharField(source="branch.name", read_only=True)
    push_label = serializers.CharField(source="push.label", read_only=True, allow_null=True)
    requestor = serializers.CharField(source="requestor.username", read_only=True)
    shipped_with_label = serializers.CharField(
        source="shipped_with.label", read_only=True, allow_null=True
    )

    class Meta:
        model = Pick
        fields = [
            "id",
            "sha",
            "title",
            "state",
            "branch",
            "branch_name",
            "push",
            "push_label",
            "requestor",
            "confirmed_at",
            "shipped_at",
            "shipped_with",
            "shipped_with_label",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "push": {"help_text": "The push it was asked for and picked in."},
            "shipped_with": {
                "help_text": "The push whose pushed tag first carried it: not always `push` "
                "(a failed push's picks ship with the next one)."
            },
        }


class TestRunSerializer(serializers.ModelSerializer):
    state = EnumField(TestRunState, read_only=True)
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = TestRun
        fields = [
            "id",
            "push",
            "pick",
            "command",
            "state",
            "exit_code",
            "started_at",
            "finished_at",
            "duration_seconds",
        ]
        read_only_fields = fields

    def get_duration_seconds(self, run: TestRun) -> float | None:
        return run.duration.total_seconds() if run.duration else None


class TestRunDetailSerializer(TestRunSerializer):
    class Meta(TestRunSerializer.Meta):
        fields = [*TestRunSerializer.Meta.fields, "log"]
        read_only_fields = fields


class PushDetailSerializer(PushSerializer):
    """A push with its picks (in trunk order), their counts by state, and its test runs."""

    pick_counts = serializers.SerializerMethodField()
    picks = PickBriefSerializer(many=True, read_only=True)
    test_runs = TestRunSerializer(many=True, read_only=True)

    class Meta(PushSerializer.Meta):
        fields = [*PushSerializer.Meta.fields, "pick_counts", "picks", "test_runs"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_pick_counts(self, push: Push) -> dict[str, int]:
        """Picks by state; states with none are left out."""
        return dict(Counter(pick.state for pick in push.picks.all()))


class PrerequisiteSerializer(serializers.Serializer):
    sha = serializers.CharField()
    title = serializers.CharField()


class PickListSerializer(serializers.ListSerializer):
    """Looks up the requestors' stars for the whole page in one query."""

    def to_representation(self, data):
        picks = list(data.all() if isinstance(data, models.manager.BaseManager) else data)
        self.context["stars"] = karma_stars_many(user_ids={p.requestor.user_id for p in picks})
        return super().to_representation(picks)


class PickSerializer(PageUrlMixin, serializers.ModelSerializer):
    """A pick with its risk data, as the dashboards show it."""

    state = EnumField(PickState, read_only=True)
    repository = serializers.CharField(source="branch.repository.slug", read_only=True)
    branch_name = serializers.CharField(source="branch.name", read_only=True)
    push_label = serializers.CharField(source="push.label", read_only=True, allow_null=True)
    requestor = serializers.CharField(source="requestor.username", read_only=True)
    requestor_stars = serializers.SerializerMethodField()
    backup = serializers.CharField(source="backup.username", read_only=True, allow_null=True)
    size = serializers.IntegerField(read_only=True, help_text="Lines touched plus 30 per file.")
    review_status = EnumField(ReviewStatus, read_only=True)
    conflict_files = serializers.ListField(child=serializers.CharField(), read_only=True)
    predicted_conflicts = serializers.ListField(child=serializers.CharField(), read_only=True)
    prerequisites = PrerequisiteSerializer(many=True, read_only=True)

    class Meta:
        model = Pick
        list_serializer_class = PickListSerializer
        fields = [
            "id",
            "page_url",
            "repository",
            "branch",
            "branch_name",
            "push",
            "push_label",
            "sha",
            "trunk_position",
            "title",
            "author_name",
            "author_email",
            "review_url",
            "requestor",
            "requestor_stars",
            "backup",
            "reason",
            "state",
            "urgent",
            "revert_sha",
            "lines_added",
            "lines_deleted",
            "files_changed",
            "size",
            "review_comments",
            "review_status",
            "rolls",
            "conflict_files",
            "predicted_conflicts",
            "prerequisites",
            "checked_at",
            "result_sha",
            "confirmed_at",
            "shipped_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_requestor_stars(self, pick: Pick) -> int:
        stars = self.context.get("stars")
        if stars is not None and pick.requestor.user_id in stars:
            return stars[pick.requestor.user_id]
        return karma_stars(user_id=pick.requestor.user_id)


class PickEventSerializer(serializers.ModelSerializer):
    """One move of a pick: who (null: the bot), when, from which state to which, and why."""

    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True)
    from_state = EnumField(PickState, read_only=True, allow_null=True)
    to_state = EnumField(PickState, read_only=True)

    class Meta:
        model = PickEvent
        fields = ["actor", "at", "from_state", "to_state", "reason"]
        read_only_fields = fields


class PickDetailSerializer(PickSerializer):
    """A pick with its whole history, the test runs made after it, the push that shipped it
    and what happens to it next."""

    events = PickEventSerializer(many=True, read_only=True)
    test_runs = TestRunSerializer(many=True, read_only=True)
    next_step = serializers.SerializerMethodField()

    class Meta(PickSerializer.Meta):
        fields = [*PickSerializer.Meta.fields, "shipped_with", "next_step", "events", "test_runs"]
        read_only_fields = fields

    def get_next_step(self, pick: Pick) -> str:
        """What is expected of the requestor and what happens next, in a sentence."""
        return selectors.pick_next_step(pick)


class DryRunSerializer(serializers.Serializer):
    """Would the pick apply on the branch now? If not: where it conflicts, and likely causes."""

    applies = serializers.BooleanField()
    conflict_files = serializers.ListField(child=serializers.CharField())
    prerequisites = PrerequisiteSerializer(
        many=True, help_text="Trunk commits not on the branch that touched the conflicting files."
    )
    summary = serializers.CharField()


class PickCreatedSerializer(PickSerializer):
    """The new pick, and whether it would apply on the branch now."""

    dry_run = serializers.SerializerMethodField()

    class Meta(PickSerializer.Meta):
        fields = [*PickSerializer.Meta.fields, "dry_run"]
        read_only_fields = fields

    @extend_schema_field(DryRunSerializer)
    def get_dry_run(self, pick: Pick) -> dict:
        return DryRunSerializer(self.context["dry_run"]).data


class NotificationSerializer(serializers.ModelSerializer):
    kind = EnumField(NotificationKind, read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "text", "pick", "push", "created_at", "read_at", "answered_at"]
        read_only_fields = fields


class InboxReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications were marked read.")
