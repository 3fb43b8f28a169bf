# Pushes made before pushes had a story get one from what their rows say: when they started,
# when they first failed (the failure notice, or their end), when they finished done. The
# delivery metrics read failures from these events, so a push retried before this migration
# still counts as having failed.

from django.db import migrations


def forwards(apps, schema_editor):
    Push = apps.get_model("pushes", "Push")
    PushEvent = apps.get_model("pushes", "PushEvent")
    Notification = apps.get_model("pushes", "Notification")
    failed_at = {}
    for push_id, at in (
        Notification.objects.filter(kind="push-failed", push__isnull=False)
        .order_by("created_at")
        .values_list("push_id", "created_at")
    ):
        failed_at.setdefault(push_id, at)
    events = []
    for push in Push.objects.exclude(state__in=("scheduled", "confirming")).iterator():
        if push.started_at:
            events.append(
                PushEvent(push=push, at=push.started_at, from_state="", to_state="merging")
            )
        failure = failed_at.get(push.pk) or (push.finished_at if push.state == "failed" else None)
        if failure:
            reason = push.error if push.state == "failed" else "Failed; retried later."
            events.append(PushEvent(push=push, at=failure, to_state="failed", reason=reason))
        if push.state in ("done", "skipped") and push.finished_at:
            events.append(
                PushEvent(push=push, at=push.finished_at, to_state=push.state, reason=push.error)
            )
    PushEvent.objects.bulk_create(events, batch_size=2000)


def backwards(apps, schema_editor):
    apps.get_model("pushes", "PushEvent").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("pushes", "0006_branch_index_push_events_decided_risk"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
