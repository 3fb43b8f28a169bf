from __future__ import annotations

from django.apps import AppConfig


class CommonConfig(AppConfig):
    """What every app shares: the error shape, API fields and permissions, settings helpers,
    template tags and the stylesheet. No models."""

    name = "common"
    verbose_name = "Common"
