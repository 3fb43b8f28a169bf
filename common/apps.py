from __future__ import annotations

from django.apps import AppConfig


class CommonConfig(AppConfig):
    """What every app shares: the error shape, API fields and permissions, settings helpers,
    template tags, the stylesheet, and the outbox that queues work after a commit."""

    name = "common"
    verbose_name = "Common"
