"""The demo: a generated shop repository on the train, for `python manage.py demo`."""

from __future__ import annotations

from pushes.demo.build import (
    ENGINEER,
    LOGINS,
    WINDOW_PEOPLE,
    DemoSummary,
    demo_build,
    demo_delete,
    demo_exists,
    demo_remote,
    demo_summary,
)
from pushes.demo.tips import TryThis, demo_mode, demo_try_this
from pushes.demo.window import DemoWindow, demo_window_open

__all__ = [
    "ENGINEER",
    "LOGINS",
    "WINDOW_PEOPLE",
    "DemoSummary",
    "DemoWindow",
    "TryThis",
    "demo_build",
    "demo_delete",
    "demo_exists",
    "demo_remote",
    "demo_mode",
    "demo_summary",
    "demo_try_this",
    "demo_window_open",
]
