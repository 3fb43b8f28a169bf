"""Trains, branches, pushes and picks: what Releasebot records about a repository's releases.

The database is the record of what is done and what is due; git is checked against it, and
Celery only triggers work the database says is due.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from pushes.choices import (
    PICK_ACTIVE_STATES,
    PICK_OPEN_STATES,
    PUSH_RUNNING_STATES,
    BranchState,
    FridayPolicy,
    NotificationKind,
    PickState,
    PushKind,
    PushState,
    ReviewStatus,
    ReviewTool,
    Role,
    TestRunState,
    Weekday,
)
from pushes.statuscache import StatusQuerySet

sha_validator = RegexValidator(r"^[0-9a-f]{40}$", "A full 40-character lowercase hex SHA.")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/Berlin).") from None


def validate_weekdays(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(d, int) and 0 <= d <= 6 for d in value):
        raise ValidationError("A list of weekday numbers, Monday = 0 to Sunday = 6.")


def validate_push_times(value: object) -> None:
    if not isinstance(value, list) or not all(
        isinstance(t, str) and _TIME_RE.match(t) for t in value
    ):
        raise ValidationError('A list of "HH:MM" times, e.g. ["11:00", "16:00"].')


def default_push_weekdays() -> list[int]:
    return [Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]


def default_push_times() -> list[str]:
    return ["11:00", "16:00"]


class Engineer(models.Model):
    """A person who requests picks or runs the train; the same person in web, API and chat."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="engineer"
    )
    chat_id = models.CharField(
        "chat id", max_length=64, unique=True, null=True, blank=True, help_text="Slack user id."
    )
    email = models.EmailField(blank=True, db_index=True)
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.ENGINEER)

    objects = StatusQuerySet.as_manager()

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.user.get_username()

    def get_absolute_url(self) -> str:
        return reverse("engineer", args=[self.username])

    @property
    def username(self) -> str:
        return self.user.get_username()

    @property
    def is_release_engineer(self) -> bool:
        return self.role == Role.RELEASE_ENGINEER or self.user.is_superuser


class Repository(models.Model):
    """A codebase on a train: where it lives, its cadence, its tests, deploy hook and review tool.

    Every time and count of the train is a per-repository setting with the product's default.
    """

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    remote_url = models.CharField(
        max_length=500,
        help_text="Where the managed clone fetches from and pushes to (URL or path).",
    )
    trunk_branch = models.CharField(max_length=200, default="main")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    cut_weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, default=Weekday.SUNDAY)
    cut_time = models.TimeField(default=dt.time(18, 0))
    ship_weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.TUESDAY
    )
    ship_time = models.TimeField(default=dt.time(11, 0))
    push_weekdays = models.JSONField(default=default_push_weekdays, validators=[validate_weekdays])
    push_times = models.JSONField(default=default_push_times, validators=[validate_push_times])
    friday_policy = models.CharField(
        max_length=16, choices=FridayPolicy.choices, default=FridayPolicy.NORMAL
    )
    confirm_lead_minutes = models.PositiveSmallIntegerField(default=30)
    reminder_lead_minutes = models.PositiveSmallIntegerField(default=10)
    max_rolls = models.PositiveSmallIntegerField(
        default=3, help_text="Pushes a pick may roll past unconfirmed before it expires."
    )
    test_command = models.CharField(
        max_length=1000, blank=True, help_text="Run after every pick, without a shell."
    )
    test_timeout_seconds = models.PositiveIntegerField(
        default=900, validators=[MinValueValidator(1)]
    )
    deploy_hook = models.CharField(
        max_length=1000, blank=True, help_text="A command, or an http(s) URL to POST to."
    )
    review_tool = models.CharField(
        max_length=16, choices=ReviewTool.choices, default=ReviewTool.NONE
    )
    review_api_url = models.CharField(max_length=500, blank=True)
    review_token_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="Name of the environment variable holding the review tool's token.",
    )
    risk_size_threshold = models.PositiveIntegerField(
        default=400, help_text="Size (lines + 30 x files) at or above which a pick is large."
    )
    risk_churn_threshold = models.PositiveIntegerField(
        default=70, help_text="Churn (7 x comments + ...) at or above which it is controversial."
    )
    hot_paths = models.JSONField(
        default=list,
        blank=True,
        help_text='Glob patterns of risky files, e.g. ["app/checkout/*", "*.sql"].',
    )
    chat_channel = models.CharField(
        max_length=64, blank=True, help_text="Slack channel id for each push's summary."
    )
    trunk_indexed_sha = models.CharField(max_length=40, blank=True)
    trunk_synced_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    objects = StatusQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "repositories"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("repository", args=[self.slug])

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class FreezeWindow(models.Model):
    """A stretch of time (a holiday, an incident) in which a repository takes no picks or pushes."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="freezes")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="freeze_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.repository}: {self.reason}"


class Revision(models.Model):
    """A revision: one commit on trunk's first-parent line, indexed so status questions never
    walk git. What people pick and ask "where is my revision?" about."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="revisions")
    sha = models.CharField(max_length=40, validators=[sha_validator])
    position = models.PositiveIntegerField(help_text="0 for the first commit on trunk.")
    author_name = models.CharField(max_length=200)
    author_email = models.CharField(max_length=254)
    committed_at = models.DateTimeField()
    title = models.CharField(max_length=500)
    review_url = models.CharField(max_length=500, blank=True)

    objects = StatusQuerySet.as_manager()

    class Meta:
        db_table = "pushes_trunkcommit"  # the table from before the model was named Revision
        ordering = ["repository", "-position"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "sha"], name="trunk_commit_unique_sha"),
            models.UniqueConstraint(
                fields=["repository", "position"], name="trunk_commit_unique_position"
            ),
        ]
        indexes = [models.Index(fields=["sha"], name="trunk_commit_sha")]

    def __str__(self) -> str:
        return f"{self.sha[:10]} {self.title}"

    @property
    def short_sha(self) -> str:
        return self.sha[:10]


class ReleaseBranch(models.Model):
    """The branch of one weekly cut: trunk's head at cut time, stabilised, shipped, then closed."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="branches")
    name = models.CharField(max_length=200)
    cut_at = models.DateTimeField()
    base_sha = models.CharField(max_length=40, validators=[sha_validator])
    base_position = models.PositiveIntegerField(
        null=True, blank=True, help_text="Trunk position of the base commit."
    )
    state = models.CharField(
        max_length=16, choices=BranchState.choices, default=BranchState.STABILISING
    )

    objects = StatusQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "release branches"
        ordering = ["repository", "-cut_at"]
        get_latest_by = "cut_at"
        constraints = [
            models.UniqueConstraint(fields=["repository", "name"], name="branch_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("branch", args=[self.pk])

    @property
    def takes_picks(self) -> bool:
        return self.state != BranchState.CLOSED


class Push(models.Model):
    """One push of a branch: the weekly ship or a daily push carrying confirmed picks."""

    branch = models.ForeignKey(ReleaseBranch, on_delete=models.CASCADE, related_name="pushes")
    kind = models.CharField(max_length=16, choices=PushKind.choices, default=PushKind.DAILY)
    day = models.DateField(help_text="The day of the push in the repository's time zone.")
    number = models.PositiveSmallIntegerField(help_text="1 for the first push of the day.")
    scheduled_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=PushState.choices, default=PushState.SCHEDULED)
    tag = models.CharField(max_length=200, blank=True)
    head_sha = models.CharField(max_length=40, blank=True, help_text="The branch after the push.")
    reminded_at = models.DateTimeField(null=True, blank=True)
    rehearsed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    objects = StatusQuerySet.as_manager()

    class Meta:
        ordering = ["-scheduled_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "day", "number"], name="push_unique_number_in_day"
            ),
            models.UniqueConstraint(
                fields=["branch"],
                condition=Q(state__in=PUSH_RUNNING_STATES),
                name="push_one_running_per_branch",
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="push_number_positive"),
        ]
        indexes = [models.Index(fields=["state", "scheduled_at"], name="push_due")]

    def __str__(self) -> str:
        return f"{self.branch.name} {self.day:%Y-%m-%d}.{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("push", args=[self.pk])

    @property
    def label(self) -> str:
        return f"{self.day:%Y-%m-%d}.{self.number}"

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class Pick(models.Model):
    """A request to cherry-pick one trunk revision onto a release branch, and how it fared."""

    branch = models.ForeignKey(ReleaseBranch, on_delete=models.CASCADE, related_name="picks")
    push = models.ForeignKey(
        Push, on_delete=models.SET_NULL, null=True, blank=True, related_name="picks"
    )
    sha = models.CharField("revision", max_length=40, validators=[sha_validator])
    trunk_position = models.PositiveIntegerField(null=True, blank=True)
    title = models.CharField(max_length=500)
    author_name = models.CharField(max_length=200)
    author_email = models.CharField(max_length=254)
    review_url = models.CharField(max_length=500, blank=True)
    requestor = models.ForeignKey(Engineer, on_delete=models.PROTECT, related_name="picks")
    backup = models.ForeignKey(
        Engineer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="backed_picks",
        help_text="May confirm in the requestor's place.",
    )
    reason = models.TextField()
    state = models.CharField(max_length=32, choices=PickState.choices, default=PickState.REQUESTED)
    lines_added = models.PositiveIntegerField(default=0)
    lines_deleted = models.PositiveIntegerField(default=0)
    files_changed = models.PositiveIntegerField(default=0)
    paths = models.JSONField(default=list, blank=True, help_text="The files the change touches.")
    review_comments = models.PositiveIntegerField(null=True, blank=True)
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.NONE
    )
    rolls = models.PositiveSmallIntegerField(
        default=0, help_text="Pushes this pick rolled past unconfirmed."
    )
    conflict_files = models.JSONField(default=list, blank=True)
    predicted_conflicts = models.JSONField(
        default=list, blank=True, help_text="Files the last dry run or rehearsal conflicted on."
    )
    prerequisites = models.JSONField(
        default=list,
        blank=True,
        help_text="Trunk commits not on the branch that touched the conflicting files.",
    )
    checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last dry run or rehearsal ran."
    )
    result_sha = models.CharField(
        max_length=40, blank=True, help_text="The commit the pick made on the branch."
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StatusQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "sha"],
                condition=Q(state__in=PICK_ACTIVE_STATES),
                name="pick_one_active_per_revision",
            ),
        ]
        indexes = [
            models.Index(fields=["sha"], name="pick_sha"),
            models.Index(fields=["state", "branch"], name="pick_state_branch"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.sha[:10]} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("pick", args=[self.pk])

    @property
    def short_sha(self) -> str:
        return self.sha[:10]

    @property
    def is_open(self) -> bool:
        return self.state in PICK_OPEN_STATES

    @property
    def size(self) -> int:
        """Releeph's size scale: lines touched plus 30 per file."""
        return self.lines_added + self.lines_deleted + 30 * self.files_changed


class PickEvent(models.Model):
    """One transition of a pick: who moved it, when, from which state to which, and why."""

    pick = models.ForeignKey(Pick, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        Engineer, on_delete=models.SET_NULL, null=True, blank=True, help_text="Empty: the bot."
    )
    at = models.DateTimeField()
    from_state = models.CharField(max_length=32, choices=PickState.choices, blank=True)
    to_state = models.CharField(max_length=32, choices=PickState.choices)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.pick_id}: {self.from_state or '-'} -> {self.to_state}"


class TestRun(models.Model):
    """The repository's test command run after a pick (or over a whole push) and its log."""

    __test__ = False  # a model, not a pytest test class

    push = models.ForeignKey(Push, on_delete=models.CASCADE, related_name="test_runs")
    pick = models.ForeignKey(
        Pick, on_delete=models.SET_NULL, null=True, blank=True, related_name="test_runs"
    )
    command = models.CharField(max_length=1000)
    state = models.CharField(
        max_length=16, choices=TestRunState.choices, default=TestRunState.RUNNING
    )
    exit_code = models.IntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    log = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.command} ({self.state})"

    @property
    def duration(self) -> dt.timedelta | None:
        if self.finished_at:
            return self.finished_at - self.started_at
        return None


class Notification(models.Model):
    """A message to one engineer. The web inbox shows every one; chat delivers them when set up.

    Written in the same transaction as the change it announces, so a change is never announced
    twice or lost; delivery to chat happens after commit and records where it went.
    """

    engineer = models.ForeignKey(Engineer, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    text = models.TextField()
    pick = models.ForeignKey(
        Pick, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    push = models.ForeignKey(
        Push, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(
        null=True, blank=True, help_text="When a confirmation request was answered."
    )
    chat_channel = models.CharField(max_length=64, blank=True)
    chat_ts = models.CharField(max_length=64, blank=True, help_text="Slack message timestamp.")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["engineer", "-created_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return f"{self.engineer}: {self.get_kind_display()}"
