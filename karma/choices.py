"""Kinds of change to an engineer's push karma."""

from __future__ import annotations

from django.db import models


class KarmaChange(models.TextChoices):
    UNLIKE = "unlike", "Unlike"
    RESTORE = "restore", "Restore"
