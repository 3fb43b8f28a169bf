from __future__ import annotations

from django.apps import AppConfig


class KarmaConfig(AppConfig):
    name = "karma"
    verbose_name = "Push karma"
