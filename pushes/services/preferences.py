"""How an engineer hears from the bot: direct messages on or off, a copy in the repository's
channel, and quiet hours in which direct messages wait.

One rule, asked by delivery (`pushes.services.notifications`) and shown on the engineer's page
and in the API: `notification_routing` says where a notice goes and whether its direct message
waits; `notification_hold_until` is the quiet-hours part of it. Confirmation requests and their
reminders are never held: the push they ask about does not wait for quiet hours to end.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from common import times
from common.errors import DomainError
from pushes.choices import NotificationKind
from pushes.models import Engineer, Notification, Repository

PREFERENCE_FIELDS = ("notify_direct", "notify_channel", "quiet_from", "quiet_until", "time_zone")
# Asked about a push that goes out at its time: sent at once, quiet hours or not.
NEVER_HELD = (NotificationKind.CONFIRM, NotificationKind.REMINDER)


@dataclass(frozen=True)
class Routing:
    """Where one notice goes now: a direct message (unless `held_until`, the end of the quiet
    hours it waits for) and a copy in `channel` ("" for none)."""

    direct: bool
    held_until: dt.datetime | None
    channel: str

    @property
    def anywhere(self) -> bool:
        return self.direct or bool(self.channel)


def notification_repository(notification: Notification) -> Repository | None:
    """The repository a notice is about: its pick's or its push's; None for neither."""
    about = notification.pick or notification.push
    return about.branch.repository if about else None


def quiet_zone(*, engineer: Engineer, notification: Notification | None = None) -> dt.tzinfo:
    """The zone of the engineer's quiet hours: their own, else the notice's repository's,
    else the site's (`settings.TIME_ZONE`)."""
    repository = notification_repository(notification) if notification else None
    return times.zone(engineer.time_zone or repository)


def quiet_end(*, engineer: Engineer, at: dt.datetime, zone: dt.tzinfo) -> dt.datetime | None:
    """The end of the engineer's quiet hours that `at` falls in, or None if it falls in none.
    Hours that run past midnight (22:00 to 07:00) end the next morning; equal ends mean none."""
    start, end = engineer.quiet_from, engineer.quiet_until
    if start is None or end is None or start == end:
        return None
    local = at.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() + dt.timedelta(days=1 if clock >= end else 0)
    return dt.datetime.combine(day, end, tzinfo=zone)


def notification_hold_until(
    *, engineer: Engineer, notification: Notification, now: dt.datetime
) -> dt.datetime | None:
    """When the direct message of `notification` may go to `engineer`: None for now, else the
    end of the quiet hours `now` falls in. Confirmation requests and reminders: always now."""
    if notification.kind in NEVER_HELD:
        return None
    zone = quiet_zone(engineer=engineer, notification=notification)
    return quiet_end(engineer=engineer, at=now, zone=zone)


def notification_routing(*, notification: Notification, now: dt.datetime) -> Routing:
    """Where a notice goes now, by its engineer's choices (see `Routing`)."""
    engineer = notification.engineer
    repository = notification_repository(notification)
    channel = repository.chat_channel if repository and engineer.notify_channel else ""
    held = (
        notification_hold_until(engineer=engineer, notification=notification, now=now)
        if engineer.notify_direct
        else None
    )
    return Routing(direct=engineer.notify_direct, held_until=held, channel=channel)


def engineer_preferences_update(*, engineer: Engineer, changes: dict[str, object]) -> Engineer:
    """Change how an engineer hears from the bot, all or nothing: every field checked as the
    admin checks it (a known time zone; quiet hours with both ends or neither). Quiet hours
    that start when they end are none, and are stored as none."""
    unknown = sorted(set(changes) - set(PREFERENCE_FIELDS))
    if unknown:
        raise DomainError(f"Not a notification setting: {', '.join(unknown)}.", code="invalid")
    others = [f.name for f in Engineer._meta.fields if f.name not in PREFERENCE_FIELDS]
    with transaction.atomic():
        locked = Engineer.objects.select_for_update().select_related("user").get(pk=engineer.pk)
        for name, value in changes.items():
            setattr(locked, name, value)
        if locked.quiet_from is not None and locked.quiet_from == locked.quiet_until:
            locked.quiet_from = locked.quiet_until = None
        try:
            locked.full_clean(exclude=others, validate_unique=False)
        except ValidationError as error:
            fields = error.message_dict
            name, messages = next(iter(fields.items()))
            where = "" if name == "__all__" else f"{name}: "
            raise DomainError(f"{where}{messages[0]}", code="invalid", details=fields) from None
        locked.save(update_fields=list(PREFERENCE_FIELDS))
    return locked
