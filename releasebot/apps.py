from __future__ import annotations

from django.apps import AppConfig


class ReleasebotConfig(AppConfig):
    name = "releasebot"
    verbose_name = "Releasebot"
