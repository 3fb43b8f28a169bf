from __future__ import annotations

from django.apps import AppConfig


class ForgesConfig(AppConfig):
    name = "forges"
    verbose_name = "GitHub and GitLab"

    def ready(self) -> None:
        from forges import signals  # noqa: F401  (connects the write-back trigger)
