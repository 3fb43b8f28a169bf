"""Pages of the pushes app, one module per area; urls.py imports them from here."""

from __future__ import annotations

from pushes.views.pages import (
    branch,
    branch_push_now,
    engineer,
    engineer_required,
    home,
    inbox,
    pick,
    pick_act,
    pick_new,
    push,
    push_picks,
    push_run,
    repository,
    revision,
    revision_search,
)

__all__ = [
    "branch",
    "branch_push_now",
    "engineer",
    "engineer_required",
    "home",
    "inbox",
    "pick",
    "pick_act",
    "pick_new",
    "push",
    "push_picks",
    "push_run",
    "repository",
    "revision",
    "revision_search",
]
