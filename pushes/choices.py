"""States and options of trains, branches, pushes and picks."""

from __future__ import annotations

from django.db import models


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class FridayPolicy(models.TextChoices):
    NORMAL = "normal", "Normal"
    CAREFUL = "careful", "Careful (low-risk picks only)"
    NO_PUSH = "no-push", "No push"


class ReviewTool(models.TextChoices):
    NONE = "none", "None"
    GITHUB = "github", "GitHub"
    GITLAB = "gitlab", "GitLab"
    PHABRICATOR = "phabricator", "Phabricator"
    GERRIT = "gerrit", "Gerrit"


class Role(models.TextChoices):
    ENGINEER = "engineer", "Engineer"
    RELEASE_ENGINEER = "release-engineer", "Release engineer"


class BranchState(models.TextChoices):
    STABILISING = "stabilising", "Stabilising"  # cut, being tested before the weekly ship
    SHIPPED = "shipped", "Shipped"  # the weekly push went out; daily pushes carry picks
    CLOSED = "closed", "Closed"  # superseded by the next cut: takes no picks


class PushKind(models.TextChoices):
    WEEKLY = "weekly", "Weekly ship"
    DAILY = "daily", "Daily push"


class PushState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CONFIRMING = "confirming", "Confirming"
    MERGING = "merging", "Merging"
    TAGGING = "tagging", "Tagging"
    PUSHING = "pushing", "Pushing"
    DEPLOYING = "deploying", "Deploying"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"  # freeze window or Friday no-push


class PushStep(models.TextChoices):
    """What a running push is doing now, for the people watching it. Applying and testing are
    recorded by the merge as it goes (with the pick); the others follow the push's state."""

    QUEUED = "queued", "Waiting for a worker"
    PREPARING = "preparing", "Bringing the branch in line with origin"
    APPLYING = "applying", "Applying"
    TESTING = "testing", "Testing"
    TAGGING = "tagging", "Tagging"
    PUSHING = "pushing", "Pushing to origin"
    SHIPPING = "shipping", "Shipping"


PUSH_RUNNING_STATES = (
    PushState.MERGING,
    PushState.TAGGING,
    PushState.PUSHING,
    PushState.DEPLOYING,
)
PUSH_FINISHED_STATES = (PushState.DONE, PushState.FAILED, PushState.SKIPPED)
# Not started yet: a pick asked for now can still make one of these.
PUSH_UPCOMING_STATES = (PushState.SCHEDULED, PushState.CONFIRMING)


class PickState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    AWAITING_CONFIRMATION = "awaiting-confirmation", "Awaiting confirmation"
    CONFIRMED = "confirmed", "Confirmed"
    PICKED = "picked", "Picked"
    SHIPPED = "shipped", "Shipped"
    WITHDRAWN = "withdrawn", "Withdrawn"
    DEFERRED = "deferred", "Deferred"
    EXPIRED = "expired", "Expired"
    CONFLICT = "conflict", "Conflict"
    TESTS_FAILED = "tests-failed", "Tests failed"
    REVERTED = "reverted", "Reverted"


# Named sets of pick states. Each is written out in full: none is sliced from another, so
# reordering a tuple never changes what a set means.

# Picks still on their way out: what a dashboard of the current train shows.
PICK_OPEN_STATES = (
    PickState.REQUESTED,
    PickState.APPROVED,
    PickState.AWAITING_CONFIRMATION,
    PickState.CONFIRMED,
    PickState.DEFERRED,
    PickState.PICKED,
)
# Picks that hold their revision on their branch, or are on their way to: a second request for
# the same revision and branch is refused while one of these exists.
PICK_ACTIVE_STATES = (*PICK_OPEN_STATES, PickState.SHIPPED)
# Open picks not yet on their branch.
PICK_WAITING_STATES = (
    PickState.REQUESTED,
    PickState.APPROVED,
    PickState.AWAITING_CONFIRMATION,
    PickState.CONFIRMED,
    PickState.DEFERRED,
)
# Approved for a push and not confirmed yet: asked when the push's confirmations open, rolled
# to the next push when it starts without their answer.
PICK_UNCONFIRMED_STATES = (
    PickState.APPROVED,
    PickState.AWAITING_CONFIRMATION,
    PickState.DEFERRED,
)
# Stopped on the way and waiting for their requestor to do something (a branch-specific change).
PICK_NEEDS_REQUESTOR_STATES = (PickState.CONFLICT, PickState.TESTS_FAILED)
# Picks a push's merge has dealt with, whatever came of them.
PICK_MERGED_STATES = (
    PickState.PICKED,
    PickState.SHIPPED,
    PickState.REVERTED,
    PickState.CONFLICT,
    PickState.TESTS_FAILED,
)

# Every legal move of a pick. Anything else is refused with IllegalTransition. Any open pick
# can expire: rolled too often, or its branch closed under it by the next cut.
PICK_TRANSITIONS: dict[str, tuple[str, ...]] = {
    PickState.REQUESTED: (
        PickState.APPROVED,
        PickState.REJECTED,
        PickState.DEFERRED,
        PickState.WITHDRAWN,
        PickState.EXPIRED,
    ),
    PickState.APPROVED: (
        PickState.AWAITING_CONFIRMATION,
        PickState.CONFIRMED,
        PickState.REJECTED,
        PickState.DEFERRED,
        PickState.WITHDRAWN,
        PickState.EXPIRED,
    ),
    PickState.AWAITING_CONFIRMATION: (
        PickState.CONFIRMED,
        PickState.APPROVED,  # carried to the next push: it ran early, or was skipped
        PickState.DEFERRED,
        PickState.REJECTED,
        PickState.WITHDRAWN,
        PickState.EXPIRED,
    ),
    PickState.CONFIRMED: (
        PickState.APPROVED,  # carried to the next push: Friday's careful policy, a skipped push
        PickState.PICKED,
        PickState.CONFLICT,
        PickState.TESTS_FAILED,
        PickState.DEFERRED,
        PickState.REJECTED,
        PickState.WITHDRAWN,
        PickState.EXPIRED,
    ),
    PickState.DEFERRED: (
        PickState.APPROVED,
        PickState.AWAITING_CONFIRMATION,
        PickState.EXPIRED,
        PickState.REJECTED,
        PickState.WITHDRAWN,
    ),
    # A picked pick no longer applies when origin's branch moved by hand before it was pushed.
    PickState.PICKED: (PickState.SHIPPED, PickState.TESTS_FAILED, PickState.CONFLICT),
    PickState.SHIPPED: (PickState.REVERTED,),
}


class ReviewStatus(models.TextChoices):
    NONE = "none", "No review link"
    PENDING = "pending", "Fetching"
    KNOWN = "known", "Known"
    UNKNOWN = "unknown", "Unknown (review tool unreachable)"


class TestRunState(models.TextChoices):
    __test__ = False  # a model's states, not a pytest test class
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    TIMED_OUT = "timed-out", "Timed out"
    ERROR = "error", "Error"


class NotificationKind(models.TextChoices):
    CONFIRM = "confirm", "Confirm you are online"
    REMINDER = "reminder", "Reminder to confirm"
    APPROVED = "approved", "Pick approved"
    REJECTED = "rejected", "Pick rejected"
    DEFERRED = "deferred", "Pick deferred"
    ROLLED = "rolled", "Rolled to the next push"
    CARRIED = "carried", "Carried to the next push, nothing counted"
    EXPIRED = "expired", "Pick expired"
    CONFLICT = "conflict", "Pick conflicted"
    PREDICTED_CONFLICT = "predicted-conflict", "Pick predicted to conflict"
    TESTS_FAILED = "tests-failed", "Tests failed"
    SHIPPED = "shipped", "Pick shipped"
    PUSH_SUMMARY = "push-summary", "Push summary"
    PUSH_FAILED = "push-failed", "Push failed"
    REVERTED = "reverted", "Pick reverted"
    KARMA_SUGGESTION = "karma-suggestion", "Karma suggestion"
