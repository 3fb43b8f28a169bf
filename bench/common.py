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
