"""Reads of the pushes app, one module per thing read: the train and its pages (`train`),
"where is my revision?" (`revisions`), the release engineer's risk dashboard
(`risk_dashboard`), the push dashboard (`push_dashboard`) with its delivery metrics
(`delivery`), and the test console (`test_console`)."""

from __future__ import annotations

from pushes.selectors.next_steps import next_cut_text, pick_next_step, push_next, what_next
from pushes.selectors.revisions import (
    RevisionStatus,
    revision_held_by,
    revision_lookup,
    revision_pickable,
    revision_status,
)
from pushes.selectors.train import (
    INBOX_SIZE,
    InboxRow,
    TrainSummary,
    branch_current,
    branch_named,
    branch_page,
    engineer_by_chat_id,
    engineer_by_username,
    inbox_rows,
    pick_by_id,
    pick_page,
    pick_rejections,
    pick_time_zones,
    picks_awaiting,
    picks_by_revision,
    picks_mine,
    picks_of,
    push_open_picks,
    push_page,
    push_upcoming,
    train_overview,
)

__all__ = [
    "next_cut_text",
    "pick_next_step",
    "what_next",
    "INBOX_SIZE",
    "InboxRow",
    "RevisionStatus",
    "TrainSummary",
    "branch_current",
    "branch_named",
    "branch_page",
    "engineer_by_chat_id",
    "engineer_by_username",
    "inbox_rows",
    "pick_by_id",
    "pick_page",
    "pick_rejections",
    "pick_time_zones",
    "picks_awaiting",
    "picks_by_revision",
    "picks_mine",
    "picks_of",
    "push_next",
    "push_open_picks",
    "push_page",
    "push_upcoming",
    "revision_held_by",
    "revision_lookup",
    "revision_pickable",
    "revision_status",
    "train_overview",
]
