"""The demo: a generated shop repository on the train, for `python manage.py demo`."""

from __future__ import annotations

from pushes.demo.build import (
    LOGINS,
    DemoSummary,
    demo_build,
    demo_delete,
    demo_exists,
    demo_remote,
    demo_summary,
)

__all__ = [
    "LOGINS",
    "DemoSummary",
    "demo_build",
    "demo_delete",
    "demo_exists",
    "demo_remote",
    "demo_summary",
]
