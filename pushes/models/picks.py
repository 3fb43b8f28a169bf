"""Picks, their histories and test runs, and the notices people get."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from pushes.choices import (
    PICK_ACTIVE_STATES,
    PICK_OPEN_STATES,
    NotificationKind,
    PickState,
    ReviewStatus,
    TestRunState,
)
from pushes.models.repositories import Engineer, sha_validator
from pushes.models.train import Push, ReleaseBranch
from pushes.statuscache import StatusQuerySet

# What a pick's risk is computed from, of its own fields (pushes.risk.pick_risk): a write of
# one of these empties its risk_rank. The rest of risk's inputs live elsewhere (stars, earlier
# rejections, the push's time, the repository's settings): see pushes.services.risk_index.
RISK_INPUTS = frozenset(
    {
        "lines_added",
        "lines_deleted",
        "files_changed",
        "review_comments",
        "paths",
        "predicted_conflicts",
        "push",
        "push_id",
        "requestor",
        "requestor_id",
        "branch",
        "branch_id",
        "sha",
        "created_at",
    }
)
_RISK_KEPT = frozenset({"risk_rank", "risk_flagged"})


class PickQuerySet(StatusQuerySet):
    """Bulk writes of picks that change a risk input empty the risk rank in the same statement;
    a revision rejected empties the rank of its other open picks (risk counts rejections)."""

    def update(self, **kwargs) -> int:
        if RISK_INPUTS.intersection(kwargs):
            kwargs["risk_rank"] = None
        revisions: list[tuple[int, str]] = []
        if "state" in kwargs or "sha" in kwargs:  # a rejection made, undone, or moved
            rejected = (
                self
                if kwargs.get("state") == PickState.REJECTED
                else self.filter(state=PickState.REJECTED)
            )
            revisions = list(rejected.values_list("branch__repository_id", "sha"))
        if _RISK_KEPT.issuperset(kwargs):  # the index itself: no status shows it
            rows = models.QuerySet.update(self, **kwargs)
        else:
            rows = super().update(**kwargs)
        _rejected(revisions)
        return rows

    def bulk_update(self, objs, fields, *args, **kwargs) -> int:
        if RISK_INPUTS.intersection(fields):
            objs = list(objs)
            for pick in objs:
                pick.risk_rank = None
            fields = [*fields, "risk_rank"]
        return super().bulk_update(objs, fields, *args, **kwargs)


def _rejected(revisions) -> None:
    """Revisions were just rejected: the open picks of each in its repository rank again."""
    wanted = Q()
    for repository_id, sha in set(revisions):
        wanted |= Q(branch__repository_id=repository_id, sha=sha)
    if wanted:
        Pick.objects.filter(wanted, state__in=PICK_OPEN_STATES).update(risk_rank=None)


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
    # The risk dashboard's index: the pick's risk as `pushes.risk.pick_risk` says, kept so that
    # the dashboard orders, counts and pages thousands of open picks in the database. Emptied
    # by every write that changes an input (`PickQuerySet`, `save`), computed again before
    # the dashboard reads: pushes.services.risk_index.
    risk_rank = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="The risk level by rank (0 high, 1 medium, 2 low); empty: to compute again.",
    )
    risk_flagged = models.BooleanField(
        default=False, editable=False, help_text="Large and controversial (with risk_rank)."
    )
    result_sha = models.CharField(
        max_length=40, blank=True, help_text="The commit the pick made on the branch."
    )
    revert_sha = models.CharField(
        max_length=40, blank=True, help_text="The commit that reverted it on the branch."
    )
    urgent = models.BooleanField(
        default=False,
        help_text="Asked for as urgent: once approved it goes to a push started now, its "
        "requestor still confirming first.",
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    shipped_with = models.ForeignKey(
        Push,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shipped_picks",
        help_text="The push whose pushed tag first carried it (not always the push it was "
        "picked in: a failed push's picks ship with the next one).",
    )
    decided_risk = models.JSONField(
        null=True,
        blank=True,
        help_text="Its risk as it stood when release engineering decided (level, reasons, "
        "stars): shown from then on, never recomputed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PickQuerySet.as_manager()

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
            # What the risk dashboard's counts and first page read: it scans this, not the table.
            models.Index(
                fields=[
                    "branch",
                    "state",
                    "push",
                    "risk_rank",
                    "risk_flagged",
                    "lines_added",
                    "lines_deleted",
                    "files_changed",
                ],
                name="pick_risk_index",
            ),
            # The risk dashboard's page, push by push in its default order (riskiest first):
            # a page reads its 50 picks in this order, not a sort of every open pick.
            models.Index(
                F("push"),
                F("risk_rank"),
                F("risk_flagged").desc(),
                (F("lines_added") + F("lines_deleted") + 30 * F("files_changed")).desc(),
                F("id"),
                condition=Q(state__in=PICK_OPEN_STATES),
                name="pick_risk_page",
            ),
            # The picks whose kept rank is to compute again: the dashboard asks on every view.
            models.Index(
                fields=["branch"], condition=Q(risk_rank__isnull=True), name="pick_risk_stale"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.sha[:10]} {self.title}"

    def save(self, *args, update_fields=None, **kwargs) -> None:
        """Saved with a risk input (or whole): its risk rank is computed again; a rejection
        made or undone (or its revision changed): so are the revision's other picks'."""
        if update_fields is None or RISK_INPUTS.intersection(update_fields):
            self.risk_rank = None
            if update_fields is not None:
                update_fields = {*update_fields, "risk_rank"}
        super().save(*args, update_fields=update_fields, **kwargs)
        loaded = getattr(self, "_loaded", {})
        if update_fields is None or {"state", "sha"}.intersection(update_fields):
            revisions = []
            if self.state == PickState.REJECTED:
                revisions.append((self.branch.repository_id, self.sha))
            if loaded.get("state") == PickState.REJECTED:
                revisions.append((self.branch.repository_id, loaded.get("sha") or self.sha))
            _rejected(revisions)
        self._loaded = {"state": self.state, "sha": self.sha}

    def get_absolute_url(self) -> str:
        return reverse("pick", args=[self.pk])

    @classmethod
    def from_db(cls, db, field_names, values):
        pick = super().from_db(db, field_names, values)
        pick._loaded = {name: pick.__dict__.get(name) for name in ("state", "sha")}
        return pick

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
