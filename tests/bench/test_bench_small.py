"""The benchmarks of `make bench` at a tiny scale: each runs end to end on real git, a real
database, a real Celery worker and a real gunicorn, and gives rows with numbers. How fast is
judged by `make bench` and docs/PERFORMANCE.md, never by a timed test."""

from __future__ import annotations

import math

import pytest
from django.conf import settings

from bench import confirm, data, push, status, web
from bench.common import Row
from bench.report import render

TINY = 0.05  # 500 commits, 50 engineers, 15 picks a day for eight weeks; pushes of 15 picks


def assert_numbers(rows: list[Row]) -> None:
    assert rows
    for row in rows:
        assert isinstance(row, Row) and row.name and row.samples > 0
        assert math.isfinite(row.median_ms) and row.median_ms > 0
        assert math.isfinite(row.p95_ms) and row.p95_ms >= row.median_ms
        assert row.note in ("ok", "MISSED", "(for reference)")


@pytest.mark.django_db(transaction=True)
def test_every_benchmark_gives_rows_with_numbers_at_a_tiny_scale(tmp_path):
    built = data.build(TINY, tmp_path / "bench", log=lambda *args: None)
    sizes = built.sizes
    assert built.counts["trunk commits"] == sizes.commits
    assert built.counts["picks"] == sizes.picks == 15 * 7 * data.WEEKS
    assert built.counts["pick events"] > built.counts["picks"]
    assert len(built.history.push_shas) == sizes.push_picks == 15

    rows = status.run(built, repeats=5)
    # selector, API, bot; and the API with the status cache off when it is on (with Redis)
    expected = 4 if settings.RELEASEBOT_STATUS_CACHE_SECONDS else 3
    assert [row.baseline for row in rows] == ["git merge-base --is-ancestor"] * expected
    assert_numbers(rows)

    push_rows, pushed = push.run(built, samples=1)
    assert_numbers(push_rows)
    assert pushed["merge_s"] > 0 and pushed["loop_s"] > 0 and pushed["picks"] == 15

    confirm_rows, confirmed = confirm.run(built, samples=1)
    assert_numbers(confirm_rows)
    assert confirmed["total_s"] >= confirmed["open_s"] > 0
    assert set(confirmed["worker_mb"]) == {"main", "child 1", "child 2"}

    web_rows, served = web.run(built, status.revisions(built), seconds=0.5, tool="python")
    assert_numbers(web_rows)
    assert served["status_rps"] > 0 and served["bare_rps"] > 0
    assert all(mb > 0 for mb in served["web_mb"].values())

    result = {
        "scale": TINY, "sizes": sizes, "timings": built.timings, "counts": built.counts,
        "rows": rows + push_rows + confirm_rows + web_rows,
        "push": pushed, "confirm": confirmed, "web": served,
    }  # fmt: skip
    info = {"cpus": "2", "platform": "Linux", "python": "3.11", "git": "git version 2"}
    page = render([result], info=info, database="sqlite", broker="file", command="x", minutes=1)
    assert "| revision status, API `GET /api/revisions/<rev>/` |" in page
    assert "## How cost grows with the data" in page


@pytest.mark.django_db(transaction=True)
def test_the_risk_dashboard_benchmark_gives_numbers_beside_the_bench_data(tmp_path, settings):
    dashboard = pytest.importorskip("bench.dashboard")
    settings.DEBUG = True  # its query count reads Django's query log
    data.build(TINY, tmp_path / "bench", log=lambda *args: None)
    result = dashboard.run(picks=20, repeats=2)
    assert result["median_ms"] > 0 and result["queries_10"] > 0
