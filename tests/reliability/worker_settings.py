"""Settings for a worker in the broker-outage test: Releasebot's, plus a chat notifier that
records each delivery in DATA_DIR/deliveries, so the test can count what reached "chat"."""

from releasebot.settings import *  # noqa: F403

RELEASEBOT_NOTIFIERS = ["tests.reliability.worker_settings.RecordingNotifier"]


class RecordingNotifier:
    """Delivers a notice by appending its id to a file: one line per message a user would see."""

    def deliver(self, notification) -> bool:
        from django.conf import settings
        from django.utils import timezone

        from pushes.models import Notification

        with open(settings.DATA_DIR / "deliveries", "a") as out:
            out.write(f"{notification.pk}\n")
        Notification.objects.filter(pk=notification.pk, delivered_at__isnull=True).update(
            delivered_at=timezone.now()
        )
        return True
