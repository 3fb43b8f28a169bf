"""The bot's own rows: the web console's conversation, per person."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ConsoleMessage(models.Model):
    """One exchange on the web chat console: what a person said, what the bot answered (the
    Slack mrkdwn the console renders), and when. Only that person is ever shown it; both texts
    are redacted before they are stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console_messages"
    )
    said = models.TextField()
    answer = models.TextField(help_text="Slack mrkdwn, as the console shows it.")
    refused = models.BooleanField(default=False, help_text="The bot did not do what was asked.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="chat_console_user_recent")]

    def __str__(self) -> str:
        return f"{self.user}: {self.said[:40]}"
