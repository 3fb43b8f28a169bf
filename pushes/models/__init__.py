"""Trains, branches, pushes and picks: what Releasebot records about a repository's releases.

The database is the record of what is done and what is due, and an index of what git holds;
git (the remote) is the truth it is checked against, and Celery only triggers work the database
says is due. One module per part: repositories (people, repositories, revisions), train
(branches, what the remote branch holds, pushes), picks (picks, test runs, notices).
"""

from __future__ import annotations

from pushes.models.picks import Notification, Pick, PickEvent, TestRun
from pushes.models.repositories import (
    Engineer,
    FreezeWindow,
    Repository,
    Revision,
    default_push_times,
    default_push_weekdays,
    sha_validator,
    validate_push_times,
    validate_time_zone,
    validate_weekdays,
)
from pushes.models.train import BranchCommit, Push, PushEvent, ReleaseBranch, Rollback

__all__ = [
    "BranchCommit",
    "Engineer",
    "FreezeWindow",
    "Notification",
    "Pick",
    "PickEvent",
    "Push",
    "PushEvent",
    "ReleaseBranch",
    "Repository",
    "Revision",
    "Rollback",
    "TestRun",
    "default_push_times",
    "default_push_weekdays",
    "sha_validator",
    "validate_push_times",
    "validate_time_zone",
    "validate_weekdays",
]
