"""The Slack bot over Socket Mode: no public URL needed. The `bot` service runs this."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from slack_bolt.adapter.django.handler import (
    DjangoListenerCompletionHandler,
    DjangoListenerStartHandler,
)
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError

from chat.slack import build_app


class Command(BaseCommand):
    help = (
        "Connect to Slack in Socket Mode and answer /rb, mentions, direct messages and the "
        "confirmation buttons. Needs SLACK_BOT_TOKEN (xoxb-...) and SLACK_APP_TOKEN (xapp-...)."
    )

    def handle(self, *args: object, **options: object) -> None:
        missing = [
            name for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN") if not getattr(settings, name)
        ]
        if missing:
            raise CommandError(
                f"Socket Mode needs {' and '.join(missing)}: set "
                f"{'them' if len(missing) > 1 else 'it'} in the environment (see README, Connect "
                "Slack). Without Slack, Releasebot runs on the web inbox alone."
            )
        if not settings.SLACK_APP_TOKEN.startswith("xapp-"):
            raise CommandError("SLACK_APP_TOKEN must be an app-level token (xapp-...).")
        try:
            app = build_app(verify_token=True)
        except Exception as error:  # Bolt wraps auth.test failures in its own errors
            cause = error.__cause__ if isinstance(error.__cause__, SlackApiError) else error
            raise CommandError(f"Slack refused SLACK_BOT_TOKEN: {cause}") from None
        # Listeners run in Bolt's threads: close their database connections as the Django
        # adapter does in HTTP mode, so none goes stale in this long-lived process.
        app.listener_runner.listener_start_handler = DjangoListenerStartHandler()
        app.listener_runner.listener_completion_handler = DjangoListenerCompletionHandler()
        self.stdout.write("Connecting to Slack in Socket Mode…")
        SocketModeHandler(app, settings.SLACK_APP_TOKEN).start()
