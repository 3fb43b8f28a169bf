"""Writes of the pushes app: the train, branches, pushes and picks."""

from __future__ import annotations

from pushes.services.branches import branch_cut, branch_cut_due, push_schedule
from pushes.services.notifications import notification_deliver, notification_mark_read, notify
from pushes.services.picks import (
    DryRun,
    IllegalTransition,
    PickRefused,
    PickRequestResult,
    branch_for_pick,
    pick_approve,
    pick_confirm,
    pick_decline,
    pick_defer,
    pick_dry_run,
    pick_reject,
    pick_request,
    pick_transition,
    pick_withdraw,
    picks_awaiting,
    push_next,
    revision_resolve,
)
from pushes.services.push_run import (
    PushBusy,
    push_rehearse,
    push_retry,
    push_run,
    push_start_now,
    push_summary,
    push_tag_name,
)
from pushes.services.repositories import clone_path, repository_fetch, scratch_dir, trunk_sync
from pushes.services.train import (
    pick_ask_confirmation,
    pick_roll,
    push_confirmations_open,
    push_remind,
    train_advance,
)

__all__ = [
    "DryRun",
    "IllegalTransition",
    "PickRefused",
    "PickRequestResult",
    "PushBusy",
    "branch_cut",
    "branch_cut_due",
    "branch_for_pick",
    "clone_path",
    "notification_deliver",
    "notification_mark_read",
    "notify",
    "pick_approve",
    "pick_ask_confirmation",
    "pick_confirm",
    "pick_decline",
    "pick_defer",
    "pick_dry_run",
    "pick_reject",
    "pick_request",
    "pick_roll",
    "pick_transition",
    "pick_withdraw",
    "picks_awaiting",
    "push_confirmations_open",
    "push_next",
    "push_rehearse",
    "push_remind",
    "push_retry",
    "push_run",
    "push_schedule",
    "push_start_now",
    "push_summary",
    "push_tag_name",
    "repository_fetch",
    "revision_resolve",
    "scratch_dir",
    "train_advance",
    "trunk_sync",
]
