"""Revision status ("where is my revision?") from the index, beside raw git on the same repo.

Measured warm on the demo data: the selector the API and the bot share, the bot grammar's
`status` reply when the bot is present, and `git merge-base --is-ancestor` on the demo's
managed clone as the baseline a git-walking answer would start from.
"""

from __future__ import annotations

import random
import subprocess

from bench.common import Row, median_p95, timed


def run(*, repeats: int = 300) -> list[Row]:
    from pushes import selectors
    from pushes.models import Engineer, ReleaseBranch, Repository, TrunkCommit
    from pushes.services import clone_path

    repository = Repository.objects.get(slug="shop")
    shas = list(TrunkCommit.objects.filter(repository=repository).values_list("sha", flat=True))
    picked = random.Random(7).sample(shas, min(len(shas), 50))
    queries = iter([sha[:9] for sha in picked] * (repeats // len(picked) + 10))

    def status() -> None:
        selectors.revision_status(query=next(queries)).story  # noqa: B018

    rows = []
    median, p95 = median_p95(timed(status, repeats))
    path = clone_path(repository)
    branch = ReleaseBranch.objects.filter(repository=repository).order_by("-cut_at").first()
    targets = iter(picked * (repeats // len(picked) + 10))

    def ancestry() -> None:
        subprocess.run(
            ["git", "-C", str(path), "merge-base", "--is-ancestor", next(targets), branch.name],
            capture_output=True,
        )

    base_median, _ = median_p95(timed(ancestry, min(repeats, 100)))
    rows.append(
        Row(
            name="revision status (selector + story), demo data",
            samples=repeats,
            median_ms=median,
            p95_ms=p95,
            baseline="git merge-base --is-ancestor",
            baseline_median_ms=base_median,
            budget="median <= 20 ms, p95 <= 50 ms",
            note="ok" if median <= 20 and p95 <= 50 else "MISSED",
        )
    )
    try:
        from releasebot.chat.commands import run_command
    except ImportError:
        return rows
    engineer = Engineer.objects.select_related("user").get(user__username="alice")

    def bot_status() -> None:
        run_command(f"status {next(queries)}", engineer=engineer)

    median, p95 = median_p95(timed(bot_status, repeats))
    rows.append(
        Row(
            name="bot `status REV` reply, demo data",
            samples=repeats,
            median_ms=median,
            p95_ms=p95,
            baseline="git merge-base --is-ancestor",
            baseline_median_ms=base_median,
            budget="median <= 20 ms, p95 <= 50 ms",
            note="ok" if median <= 20 and p95 <= 50 else "MISSED",
        )
    )
    return rows
