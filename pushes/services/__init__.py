"""Writes of the pushes app: the train, branches, pushes and picks."""

from __future__ import annotations

from pushes.services.branches import branch_cut, branch_cut_due, push_schedule
from pushes.services.freezes import repository_freeze, repository_unfreeze
from pushes.services.notifications import (
    announce,
    karma_suggest,
    notification_deliver,
    notification_mark_read,
    notifications_undelivered,
    notify,
    pick_answered_tell,
    push_announce,
)
from pushes.services.picks import (
    NO_REASON,
    BranchRequest,
    DryRun,
    GitUnavailable,
    PickRequestResult,
    branch_for_pick,
    pick_approve,
    pick_confirm,
    pick_decline,
    pick_defer,
    pick_dry_run,
    pick_reject,
    pick_request,
    pick_request_branches,
    pick_withdraw,
    revision_resolve,
)
from pushes.services.push_requests import (
    EarlyRun,
    PushEarly,
    branch_push_now,
    push_early_run,
    push_request_run,
    push_retry,
    push_retry_request,
    push_start_now,
)
from pushes.services.push_run import (
    PushBusy,
    push_run,
    push_tag_name,
)
from pushes.services.rehearsal import push_rehearse
from pushes.services.repositories import clone_path, repository_fetch, scratch_dir, trunk_sync
from pushes.services.repository_settings import repository_settings_update
from pushes.services.reverts import pick_revert
from pushes.services.rollbacks import push_rollback
from pushes.services.train import (
    pick_ask_confirmation,
    pick_carry,
    pick_roll,
    push_confirmations_open,
    push_remind,
    train_advance,
)
from pushes.services.transitions import IllegalTransition, PickRefused, pick_transition

__all__ = [
    "NO_REASON",
    "BranchRequest",
    "EarlyRun",
    "PushEarly",
    "pick_carry",
    "push_early_run",
    "branch_push_now",
    "announce",
    "push_announce",
    "pick_answered_tell",
    "DryRun",
    "IllegalTransition",
    "GitUnavailable",
    "PickRefused",
    "PickRequestResult",
    "PushBusy",
    "branch_cut",
    "branch_cut_due",
    "branch_for_pick",
    "clone_path",
    "notification_deliver",
    "notification_mark_read",
    "notifications_undelivered",
    "notify",
    "pick_approve",
    "pick_ask_confirmation",
    "pick_confirm",
    "pick_decline",
    "pick_defer",
    "pick_dry_run",
    "pick_reject",
    "pick_request",
    "pick_request_branches",
    "pick_revert",
    "push_rollback",
    "karma_suggest",
    "pick_roll",
    "pick_transition",
    "pick_withdraw",
    "push_confirmations_open",
    "push_rehearse",
    "push_request_run",
    "push_remind",
    "push_retry",
    "push_retry_request",
    "push_run",
    "push_schedule",
    "push_start_now",
    "push_tag_name",
    "repository_fetch",
    "repository_freeze",
    "repository_settings_update",
    "repository_unfreeze",
    "revision_resolve",
    "scratch_dir",
    "train_advance",
    "trunk_sync",
]
