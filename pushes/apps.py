from __future__ import annotations

from django.apps import AppConfig


class PushesConfig(AppConfig):
    name = "pushes"
    verbose_name = "Trains, pushes and picks"
