"""The forges Releasebot talks to, and the states of a pick asked for on a pull request."""

from __future__ import annotations

from django.db import models


class Forge(models.TextChoices):
    GITHUB = "github", "GitHub"
    GITLAB = "gitlab", "GitLab"


class AskState(models.TextChoices):
    WAITING = "waiting", "Waiting for the merge"  # labelled or asked before the merge
    PENDING = "pending", "Pending"  # merged: the worker is to ask for the picks
    HANDLING = "handling", "Being asked for"  # a worker claimed it
    DONE = "done", "Done"  # picks made, or each branch's refusal recorded
    CANCELLED = "cancelled", "Cancelled"  # unlabelled or closed without merging


ASK_OPEN_STATES = (AskState.WAITING, AskState.PENDING, AskState.HANDLING)


class AskSource(models.TextChoices):
    LABEL = "label", "Label"
    COMMENT = "comment", "Comment"


# The labels Releasebot puts on a pull request (and takes off again): one per pick outcome a
# person looks for. The asking label (Repository.pick_label) is the person's own.
LABEL_PICKED = "picked"
LABEL_SHIPPED = "shipped"
LABEL_CONFLICT = "conflict"
MANAGED_LABELS = (LABEL_PICKED, LABEL_SHIPPED, LABEL_CONFLICT)
