"""People and repositories: engineers, a repository on the train, its freezes, and its trunk's
revisions."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from common.outbound import is_url, url_refusal
from common.redact import (
    REVIEW_TOKEN_NAME,
    REVIEW_TOKEN_PREFIX,
    WEBHOOK_SECRET_NAME,
    WEBHOOK_SECRET_PREFIX,
    is_product_secret,
)
from pushes.choices import (
    PICK_OPEN_STATES,
    FridayPolicy,
    ReviewTool,
    Role,
    Weekday,
)
from pushes.statuscache import StatusQuerySet

sha_validator = RegexValidator(r"^[0-9a-f]{40}$", "A full 40-character lowercase hex SHA.")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV_SEPARATORS = re.compile(r"[\s,]+")
validate_review_token_env = RegexValidator(
    REVIEW_TOKEN_NAME,
    f"The name of a variable starting with {REVIEW_TOKEN_PREFIX} (e.g. "
    f"{REVIEW_TOKEN_PREFIX}SHOP), upper case: tokens are read from those variables only.",
)

validate_webhook_secret_env = RegexValidator(
    WEBHOOK_SECRET_NAME,
    f"The name of a variable starting with {WEBHOOK_SECRET_PREFIX} (e.g. "
    f"{WEBHOOK_SECRET_PREFIX}SHOP), upper case: secrets are read from those variables only.",
)
validate_label = RegexValidator(
    r"^[^\s,:][^,:]{0,48}[^\s,:]$|^[^\s,:]$",
    "A label of 1 to 50 characters, without commas or colons, not starting or ending in a space.",
)


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


def command_env_names(value: str) -> list[str]:
    """The variable names in a `command_env` setting, less any Releasebot keeps to itself."""
    names = [name for name in _ENV_SEPARATORS.split(value.strip()) if name]
    return [n for n in names if _ENV_NAME_RE.match(n) and not is_product_secret(n)]


def validate_command_env(value: str) -> None:
    names = [name for name in _ENV_SEPARATORS.split(value.strip()) if name]
    bad = [name for name in names if not _ENV_NAME_RE.match(name)]
    if bad:
        raise ValidationError(f"Not a variable name: {', '.join(bad)}.")
    kept = [name for name in names if is_product_secret(name)]
    if kept:
        raise ValidationError(f"Releasebot's own secrets are never handed on: {', '.join(kept)}.")


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
    github_login = models.CharField(
        "GitHub login",
        max_length=100,
        blank=True,
        db_index=True,
        help_text="Their pull requests' picks are theirs (matched without regard to case).",
    )
    gitlab_username = models.CharField(
        "GitLab username",
        max_length=100,
        blank=True,
        db_index=True,
        help_text="Their merge requests' picks are theirs (matched without regard to case).",
    )
    notify_direct = models.BooleanField(
        "direct messages", default=True, help_text="Notices come as direct messages in chat."
    )
    notify_channel = models.BooleanField(
        "also in the channel",
        default=False,
        help_text="A copy of each notice about a repository goes to its channel too.",
    )
    quiet_from = models.TimeField(
        null=True,
        blank=True,
        help_text="Quiet hours start: direct messages wait until they end. Confirmation "
        "requests go out at once all the same (a push's deadline does not wait).",
    )
    quiet_until = models.TimeField(null=True, blank=True, help_text="Quiet hours end.")
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="The zone of the quiet hours; blank: the zone of each notice's repository "
        "(the site's for a notice about none).",
    )

    objects = StatusQuerySet.as_manager()

    class Meta:
        ordering = ["user__username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quiet_from__isnull=True, quiet_until__isnull=True)
                | Q(quiet_from__isnull=False, quiet_until__isnull=False),
                name="engineer_quiet_hours_whole",
                violation_error_message="Quiet hours need both a start and an end (or neither).",
            )
        ]

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


# The settings a pick's risk is computed from (pushes.risk.pick_risk, pushes.cadence): a write
# of one of these computes the risk ranks of the repository's picks again.
REPOSITORY_RISK_INPUTS = frozenset(
    {
        "risk_size_threshold",
        "risk_churn_threshold",
        "hot_paths",
        "confirm_lead_minutes",
        "time_zone",
    }
)


class RepositoryQuerySet(StatusQuerySet):
    """Repositories whose risk settings change in bulk get their picks' risk ranked again."""

    def update(self, **kwargs) -> int:
        if REPOSITORY_RISK_INPUTS.intersection(kwargs):
            picks_rank_again(branch__repository_id__in=self.values("pk"))
        return super().update(**kwargs)


def picks_rank_again(**where: object) -> None:
    """Empty the kept risk rank (Pick.risk_rank) of the open picks that match `where`: an
    input of their risk changed. Pick is found by name: it refers to this module's models."""
    Pick = apps.get_model("pushes", "Pick")
    Pick.objects.filter(state__in=PICK_OPEN_STATES, **where).update(risk_rank=None)


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
        max_length=1000,
        blank=True,
        help_text="A command, or an https URL to POST to (user:password@ is sent as Basic auth).",
    )
    deploy_hook_allow_http = models.BooleanField(
        "allow a plain-HTTP deploy hook",
        default=False,
        help_text="Only for a hook on a trusted network: over HTTP credentials travel in clear.",
    )
    command_env = models.CharField(
        "command environment",
        max_length=500,
        blank=True,
        validators=[validate_command_env],
        help_text="Names of worker environment variables the test command and deploy hook get, "
        "space- or comma-separated. They always get PATH, HOME, LANG, LC_*, TZ and nothing else.",
    )
    review_tool = models.CharField(
        max_length=16, choices=ReviewTool.choices, default=ReviewTool.NONE
    )
    review_api_url = models.CharField(
        max_length=500,
        blank=True,
        help_text="The tool's API; blank: api.github.com or gitlab.com. Only reviews on this "
        "tool's host are fetched, and the token goes nowhere else.",
    )
    review_allow_http = models.BooleanField(
        "allow a plain-HTTP review API",
        default=False,
        help_text="Only for a tool on a trusted network: over HTTP its token travels in clear.",
    )
    review_token_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_review_token_env],
        help_text=f"Name of the environment variable holding the review tool's token; it "
        f"starts with {REVIEW_TOKEN_PREFIX}.",
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
    forge_project = models.CharField(
        max_length=200,
        blank=True,
        help_text="The repository on the review tool: owner/name on GitHub, the project's path "
        "(group/subgroup/name) on GitLab. Webhooks naming it are this repository's.",
    )
    webhook_secret_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_webhook_secret_env],
        help_text=f"Name of the environment variable holding the webhook secret; it starts "
        f"with {WEBHOOK_SECRET_PREFIX}. Without it every delivery is refused.",
    )
    pick_label = models.CharField(
        max_length=50,
        default="pick",
        validators=[validate_label],
        help_text="The label that asks for a pick of a merged pull request onto the current "
        "branch; LABEL:BRANCH asks for that release branch.",
    )
    keep_branches = models.PositiveSmallIntegerField(
        default=0,
        help_text="Older release branches that stay open for picks after a cut, because they "
        "are still deployed somewhere; 0 closes the previous branch at every cut.",
    )
    chat_channel = models.CharField(
        max_length=64, blank=True, help_text="Slack channel id for each push's summary."
    )
    trunk_indexed_sha = models.CharField(max_length=40, blank=True)
    trunk_synced_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    objects = RepositoryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "repositories"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, update_fields=None, **kwargs) -> None:
        """Saved with a setting risk reads (or whole): its picks' risk ranks are computed
        again."""
        again = not self._state.adding and (
            update_fields is None or REPOSITORY_RISK_INPUTS.intersection(update_fields)
        )
        super().save(*args, update_fields=update_fields, **kwargs)
        if again:
            picks_rank_again(branch__repository_id=self.pk)

    def get_absolute_url(self) -> str:
        return reverse("repository", args=[self.slug])

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def command_env_names(self) -> list[str]:
        return command_env_names(self.command_env)

    def clean(self) -> None:
        """The URLs Releasebot calls: HTTPS unless plain HTTP is allowed for them."""
        errors = {}
        api_url = self.review_api_url.strip()
        if api_url and (refusal := url_refusal(api_url, allow_http=self.review_allow_http)):
            errors["review_api_url"] = f"Not called: {refusal}."
        hook = self.deploy_hook.strip()
        if is_url(hook) and (refusal := url_refusal(hook, allow_http=self.deploy_hook_allow_http)):
            errors["deploy_hook"] = f"Not called: {refusal}."
        if errors:
            raise ValidationError(errors)


class FreezeWindow(models.Model):
    """A stretch of time (a holiday, an incident) in which a repository takes no picks or pushes."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="freezes")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        Engineer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who froze it (empty: planned in the admin).",
    )
    lifted_by = models.ForeignKey(
        Engineer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who unfroze it before its end, if someone did.",
    )

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
    """A revision: one commit on trunk, indexed so status questions never walk git. What people
    pick and ask "where is my revision?" about.

    Trunk's first-parent line numbers the positions; a commit that reached trunk inside a merge
    shares the position of that merge (`merged_by`), so "cut with it" is still a comparison of
    positions.
    """

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="revisions")
    sha = models.CharField(max_length=40, validators=[sha_validator])
    position = models.PositiveIntegerField(help_text="0 for the first commit on trunk.")
    author_name = models.CharField(max_length=200)
    author_email = models.CharField(max_length=254)
    committed_at = models.DateTimeField()
    title = models.CharField(max_length=500)
    review_url = models.CharField(max_length=500, blank=True)
    merged_by = models.CharField(
        max_length=40,
        blank=True,
        help_text="The first-parent merge that brought it to trunk (empty: on that line itself).",
    )

    objects = StatusQuerySet.as_manager()

    class Meta:
        db_table = "pushes_trunkcommit"  # the table from before the model was named Revision
        ordering = ["repository", "-position"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "sha"], name="trunk_commit_unique_sha"),
            models.UniqueConstraint(
                fields=["repository", "position"],
                condition=Q(merged_by=""),
                name="trunk_commit_unique_position",
            ),
        ]
        indexes = [
            models.Index(fields=["sha"], name="trunk_commit_sha"),
            models.Index(fields=["repository", "position"], name="trunk_commit_position"),
            # What a merge brought (status asks for a merge's sides): a few rows of millions.
            models.Index(
                fields=["repository", "merged_by"],
                condition=~Q(merged_by=""),
                name="trunk_commit_merged_by",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sha[:10]} {self.title}"

    @property
    def short_sha(self) -> str:
        return self.sha[:10]
