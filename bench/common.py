"""Shared pieces of the benchmarks: timing, rows of the report, the machine it ran on."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Row:
    """One line of docs/PERFORMANCE.md."""

    name: str
    samples: int
    median_ms: float
    p95_ms: float
    baseline: str = ""
    baseline_median_ms: float | None = None
    budget: str = ""
    note: str = ""

    @property
    def ratio(self) -> str:
        if not self.baseline_median_ms:
            return ""
        return f"{self.median_ms / self.baseline_median_ms:.2f}x"

    @property
    def verdict(self) -> str:
        return self.note


def timed(fn: Callable[[], object], repeats: int, warmup: int = 3) -> list[float]:
    """Milliseconds of `repeats` warm calls of fn."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def median_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def machine() -> dict[str, str]:
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git": git,
    }


def branch_with_push(data, name: str, *, state: str, due_in_minutes: int):
    """A release branch row of its own at the bench branch's base, and one push on it in
    `state`, due `due_in_minutes` from now (negative: due already). Returns the push."""
    import datetime as dt

    from django.utils import timezone

    from pushes.choices import BranchState
    from pushes.models import Push, ReleaseBranch

    source = data.branch
    branch = ReleaseBranch.objects.create(
        repository=data.repository,
        name=name,
        cut_at=source.cut_at,
        base_sha=source.base_sha,
        base_position=source.base_position,
        state=BranchState.SHIPPED,
    )
    now = timezone.now()
    return Push.objects.create(
        branch=branch,
        day=now.date(),
        number=1,
        state=state,
        scheduled_at=now + dt.timedelta(minutes=due_in_minutes),
    )
