from __future__ import annotations

from django.contrib import admin

from forges.models import Delivery, PickAsk, PullRequest, PullRequestPick


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["received_at", "forge", "event", "delivery_id", "repository", "outcome"]
    list_filter = ["forge", "event", "repository"]
    search_fields = ["delivery_id", "outcome"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # a record of what arrived, never made by hand


class PickAskInline(admin.TabularInline):
    model = PickAsk
    extra = 0
    fields = ("source", "key", "asked_by", "branches", "state", "refusals", "error")
    readonly_fields = fields


class PullRequestPickInline(admin.TabularInline):
    model = PullRequestPick
    extra = 0
    readonly_fields = ["pick", "handover_branch", "handover_url"]


@admin.register(PullRequest)
class PullRequestAdmin(admin.ModelAdmin):
    list_display = ["repository", "number", "title", "author_login", "merged", "write_error"]
    list_filter = ["repository", "merged"]
    search_fields = ["title", "author_login", "url"]
    readonly_fields = ["written_digest", "written_labels", "written_at", "write_attempts"]
    inlines = [PickAskInline, PullRequestPickInline]


@admin.register(PickAsk)
class PickAskAdmin(admin.ModelAdmin):
    list_display = ["pull_request", "source", "key", "asked_by", "state", "created_at"]
    list_filter = ["state", "source"]
    search_fields = ["key", "asked_by", "reason"]
    raw_id_fields = ["pull_request"]


@admin.register(PullRequestPick)
class PullRequestPickAdmin(admin.ModelAdmin):
    list_display = ["pull_request", "pick", "handover_branch", "handover_url"]
    raw_id_fields = ["pull_request", "pick"]
