"""The bot's own writes: the web console's conversation."""

from __future__ import annotations

from django.db import transaction

from chat.models import ConsoleMessage
from common.redact import redact

KEPT = 200  # exchanges kept per person; older ones are dropped as new ones come


def console_exchange_record(
    *, user_id: int, said: str, answer: str, refused: bool
) -> ConsoleMessage:
    """Keep one exchange of the user's console, with any secret in it masked, and drop what is
    beyond the last KEPT."""
    with transaction.atomic():
        message = ConsoleMessage.objects.create(
            user_id=user_id, said=redact(said), answer=redact(answer), refused=refused
        )
        older = ConsoleMessage.objects.filter(user_id=user_id).order_by("-created_at", "-pk")[KEPT:]
        dropped = list(older.values_list("pk", flat=True))
        if dropped:
            ConsoleMessage.objects.filter(pk__in=dropped).delete()
    return message


def console_history_clear(*, user_id: int) -> int:
    """Forget the user's whole console conversation; how many exchanges went."""
    deleted, _ = ConsoleMessage.objects.filter(user_id=user_id).delete()
    return deleted
