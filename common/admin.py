from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from common.models import OutboxMessage, SideEffect


class ReadOnly(admin.ModelAdmin):
    """What the worker records, to look at: nobody edits it by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnly):
    list_display = ["pk", "what", "task", "created_at", "sent_at", "attempts", "last_error"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["what", "task"]


@admin.register(SideEffect)
class SideEffectAdmin(ReadOnly):
    list_display = ["key", "claimed_at", "done_at", "outcome"]
    search_fields = ["key"]
