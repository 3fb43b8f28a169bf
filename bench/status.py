"""Revision status ("where is my revision?") from the index, beside raw git on the same repo.

Measured warm in this process on the bench data: the selector the API and the bot share, the
API's `GET /api/revisions/<rev>/` through Django's test client with a token, and the bot
grammar's `status REV` reply; the baseline is `git merge-base --is-ancestor` of the same
revisions against the current release branch in the managed clone (with its commit-graph),
the first question a git-walking answer would ask. Revisions are asked for as people type
them, ten hex digits; half of them have picks, half are plain trunk commits. The API answers
from the status cache when Redis is configured (pushes/statuscache.py); a second API row
measures it with the cache off.
"""

from __future__ import annotations

import random
import subprocess

from bench.common import Row, median_p95, timed

# (median ms, p95 ms): at the design target, and for a trunk of a million commits and more.
BUDGET_MS = (20.0, 50.0)
BUDGET_MILLION_MS = (10.0, 25.0)
DIGITS = 10


def revisions(data, count: int = 50) -> list[str]:
    """Short shas to ask about: half picked somewhere, half anything on trunk."""
    from pushes.models import Pick

    rng = random.Random(7)
    picked = list(
        Pick.objects.filter(branch__repository=data.repository)
        .order_by("pk")
        .values_list("sha", flat=True)[:5000]
    )
    shas = rng.sample(picked, min(len(picked), count // 2))
    shas += rng.sample(data.history.shas, count - len(shas))
    return [sha[:DIGITS] for sha in shas]


def run(data, *, repeats: int = 300) -> list[Row]:
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings

    from chat.commands import answer
    from pushes import selectors
    from pushes.services import clone_path

    asked = revisions(data)
    most, p95_most = BUDGET_MILLION_MS if data.sizes.commits >= 1_000_000 else BUDGET_MS

    def cycle():
        while True:
            yield from asked

    queries = cycle()
    path = clone_path(data.repository)
    branch = data.branch.name

    def ancestry() -> None:
        subprocess.run(
            ["git", "-C", str(path), "merge-base", "--is-ancestor", next(queries), branch],
            capture_output=True,
        )

    base_median, _ = median_p95(timed(ancestry, min(repeats, 100)))
    host = settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "testserver"
    client = Client(SERVER_NAME=host, HTTP_AUTHORIZATION=f"Token {data.token}")

    def api() -> None:
        response = client.get(f"/api/revisions/{next(queries)}/")
        assert response.status_code == 200, (response.status_code, response.content[:300])

    def bot() -> None:
        reply = answer(f"status {next(queries)}", engineer=data.engineer)
        assert not reply.refused, reply.text

    def uncached(fn):
        def call() -> None:
            with override_settings(RELEASEBOT_STATUS_CACHE_SECONDS=0):
                fn()

        return call

    measured = {
        "selector `revision_status`": lambda: selectors.revision_status(query=next(queries)).story,
        "API `GET /api/revisions/<rev>/`": api,
        "API, status cache off": uncached(api),
        "bot `status REV`": bot,
    }
    if not settings.RELEASEBOT_STATUS_CACHE_SECONDS:
        del measured["API, status cache off"]  # off already: the API row is that
    rows = []
    for name, fn in measured.items():
        median, p95 = median_p95(timed(fn, repeats))
        rows.append(
            Row(
                name=f"revision status, {name}",
                samples=repeats,
                median_ms=median,
                p95_ms=p95,
                baseline="git merge-base --is-ancestor",
                baseline_median_ms=base_median,
                budget=f"median <= {most:g} ms, p95 <= {p95_most:g} ms",
                note="ok" if median <= most and p95 <= p95_most else "MISSED",
            )
        )
    return rows
