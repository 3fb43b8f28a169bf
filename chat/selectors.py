"""The bot's own reads: the web console's conversation."""

from __future__ import annotations

from chat.models import ConsoleMessage

SHOWN = 50  # exchanges the console shows on load


def console_history(*, user_id: int, limit: int = SHOWN) -> list[ConsoleMessage]:
    """the user's latest `limit` exchanges on the console, oldest first. Nobody else's."""
    latest = ConsoleMessage.objects.filter(user_id=user_id).order_by("-created_at", "-pk")[:limit]
    return list(reversed(latest))


def console_count(*, user_id: int) -> int:
    """How many exchanges the user's console keeps."""
    return ConsoleMessage.objects.filter(user_id=user_id).count()
