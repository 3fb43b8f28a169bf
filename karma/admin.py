from __future__ import annotations

from django.contrib import admin

from karma.models import Karma, KarmaEvent


@admin.register(Karma)
class KarmaAdmin(admin.ModelAdmin):
    list_display = ["user", "stars", "updated_at"]
    search_fields = ["user__username"]
    list_select_related = ["user"]


@admin.register(KarmaEvent)
class KarmaEventAdmin(admin.ModelAdmin):
    list_display = ["user", "change", "delta", "stars_after", "actor", "reason", "at"]
    list_filter = ["change"]
    search_fields = ["user__username", "reason"]
    list_select_related = ["user", "actor"]
