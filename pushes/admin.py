from __future__ import annotations

from django.contrib import admin

from pushes.models import (
    BranchCommit,
    Engineer,
    FreezeWindow,
    Notification,
    Pick,
    PickEvent,
    Push,
    PushEvent,
    ReleaseBranch,
    Repository,
    Revision,
    Rollback,
    TestRun,
)


@admin.register(Engineer)
class EngineerAdmin(admin.ModelAdmin):
    list_display = ["user", "email", "chat_id", "role", "github_login", "gitlab_username"]
    list_filter = ["role"]
    search_fields = ["user__username", "email", "chat_id", "github_login", "gitlab_username"]
    list_select_related = ["user"]


class FreezeWindowInline(admin.TabularInline):
    model = FreezeWindow
    extra = 0


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "remote_url", "trunk_branch", "time_zone", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["trunk_indexed_sha", "trunk_synced_at"]
    inlines = [FreezeWindowInline]
    fieldsets = [
        (
            None,
            {"fields": ["name", "slug", "remote_url", "trunk_branch", "chat_channel", "is_active"]},
        ),
        (
            "Cadence",
            {
                "fields": [
                    "time_zone",
                    ("cut_weekday", "cut_time"),
                    ("ship_weekday", "ship_time"),
                    "push_weekdays",
                    "push_times",
                    "friday_policy",
                    ("confirm_lead_minutes", "reminder_lead_minutes", "max_rolls"),
                    "keep_branches",
                ]
            },
        ),
        (
            "Tests and deploy",
            {
                "fields": [
                    "test_command",
                    "test_timeout_seconds",
                    "command_env",
                    "deploy_hook",
                    "deploy_hook_allow_http",
                ]
            },
        ),
        (
            "Review tool",
            {
                "fields": [
                    "review_tool",
                    "review_api_url",
                    "review_allow_http",
                    "review_token_env",
                ]
            },
        ),
        (
            "GitHub or GitLab",
            {
                "description": "Webhooks in and picks from pull requests; the review tool's "
                "API and token above are also where the picks' states are written back.",
                "fields": ["forge_project", "webhook_secret_env", "pick_label"],
            },
        ),
        ("Risk", {"fields": ["risk_size_threshold", "risk_churn_threshold", "hot_paths"]}),
        ("Trunk index", {"fields": ["trunk_indexed_sha", "trunk_synced_at"]}),
    ]


@admin.register(Revision)
class TrunkCommitAdmin(admin.ModelAdmin):
    list_display = ["short_sha", "title", "author_name", "committed_at", "position", "repository"]
    list_filter = ["repository"]
    search_fields = ["sha", "title", "author_name", "author_email"]
    list_select_related = ["repository"]
    show_full_result_count = False


@admin.register(ReleaseBranch)
class ReleaseBranchAdmin(admin.ModelAdmin):
    list_display = ["name", "repository", "cut_at", "base_sha", "state"]
    list_filter = ["repository", "state"]
    list_select_related = ["repository"]


@admin.register(Push)
class PushAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "scheduled_at", "state", "tag", "head_sha"]
    list_filter = ["state", "kind", "branch__repository"]
    list_select_related = ["branch"]
    date_hierarchy = "scheduled_at"


class PickEventInline(admin.TabularInline):
    model = PickEvent
    extra = 0
    readonly_fields = ["at", "actor", "from_state", "to_state", "reason"]
    can_delete = False


@admin.register(Pick)
class PickAdmin(admin.ModelAdmin):
    list_display = ["pk", "short_sha", "title", "requestor", "branch", "push", "state"]
    list_filter = ["state", "branch__repository"]
    search_fields = ["sha", "title", "requestor__user__username", "reason"]
    list_select_related = ["requestor__user", "branch", "push__branch"]
    raw_id_fields = ["branch", "push", "requestor", "backup"]
    inlines = [PickEventInline]


@admin.register(PickEvent)
class PickEventAdmin(admin.ModelAdmin):
    list_display = ["pick", "at", "actor", "from_state", "to_state", "reason"]
    list_select_related = ["pick", "actor__user"]
    raw_id_fields = ["pick", "actor"]


@admin.register(PushEvent)
class PushEventAdmin(admin.ModelAdmin):
    list_display = ["push", "at", "actor", "from_state", "to_state", "reason"]
    list_filter = ["to_state"]
    raw_id_fields = ["push", "actor"]


@admin.register(BranchCommit)
class BranchCommitAdmin(admin.ModelAdmin):
    list_display = ["short_sha", "title", "branch", "how", "revision", "pick", "shipped_with"]
    list_filter = ["how"]
    search_fields = ["sha", "revision", "title"]
    raw_id_fields = ["branch", "pick", "shipped_with"]


@admin.register(TestRun)
class TestRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "push", "pick", "command", "state", "exit_code", "started_at"]
    list_filter = ["state"]
    list_select_related = ["push__branch", "pick"]
    raw_id_fields = ["push", "pick"]


@admin.register(FreezeWindow)
class FreezeWindowAdmin(admin.ModelAdmin):
    list_display = ["repository", "starts_at", "ends_at", "reason", "created_by", "lifted_by"]
    list_filter = ["repository"]
    raw_id_fields = ["created_by", "lifted_by"]


@admin.register(Rollback)
class RollbackAdmin(admin.ModelAdmin):
    list_display = ["push", "to_push", "actor", "at", "deployed", "reason"]
    list_select_related = ["push__branch", "to_push__branch", "actor__user"]
    readonly_fields = ["push", "to_push", "actor", "at", "reason", "deployed", "outcome"]

    def has_add_permission(self, request) -> bool:
        return False  # made by the rollback service, which calls the deploy hook


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["engineer", "kind", "created_at", "read_at", "delivered_at", "text"]
    list_filter = ["kind"]
    search_fields = ["engineer__user__username", "text"]
    list_select_related = ["engineer__user"]
    raw_id_fields = ["engineer", "pick", "push"]
