"""The benchmarks of `make bench` at a tiny scale: each runs end to end on real git, a real
database, a real Celery worker and a real gunicorn, and gives rows with numbers. How fast is
judged by `make bench` and docs/PERFORMANCE.md, never by a timed test."""

from __future__ import annotations

import math

import pytest
from django.conf import settings

from bench import confirm, data, push, status, sync, web
from bench.common import Row
from bench.report import budget_rows, render
from pushes.models import Revision

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


@pytest.mark.django_db(transaction=True)
def test_a_trunk_only_scale_gives_the_index_status_and_sync_figures(tmp_path):
    built = data.build(TINY, tmp_path / "bench", trunk_only=True, log=lambda *args: None)
    assert built.sizes.trunk_only
    assert built.counts["trunk commits"] == built.sizes.commits
    assert built.counts["picks"] == 0 and built.counts["engineers"] == 1
    assert built.counts["branches"] > 0
    first = built.first_index  # the first trunk_sync, in a process of its own
    assert first["added"] == built.sizes.commits
    assert first["wall_s"] >= first["sync_s"] > 0 and first["python_mb"] > 0
    assert first["git_mb"] > 0

    rows = status.run(built, repeats=5)
    assert_numbers(rows)
    sync_rows, synced = sync.run(built, samples=1)
    assert_numbers(sync_rows)
    assert [row.name.split(" ")[0] for row in sync_rows] == ["first", "incremental", "trunk"]
    # Every new commit is indexed and answered by the status API.
    assert built.counts["trunk commits"] + 1000 + 5 * sync.PUSHED == len(built.history.shas)
    assert Revision.objects.filter(sha=built.history.shas[-1]).exists()
    assert synced["webhook_ms"] > 0 and set(synced["worker_mb"]) == {"main", "child 1"}

    result = {
        "scale": TINY, "sizes": built.sizes, "timings": built.timings, "counts": built.counts,
        "first index": first, "rows": rows + sync_rows, "sync": synced, "bench_mb": 100.0,
    }  # fmt: skip
    info = {"cpus": "2", "platform": "Linux", "python": "3.11", "git": "git version 2"}
    page = render([result], info=info, database="sqlite", broker="file", command="x", minutes=1)
    assert "no picks) |" not in page and "no picks)\n" in page  # the budgets' heading
    assert "| incremental trunk sync of 1,000 new commits" in page
    assert "| first index: the `trunk_sync` process, peak |" in page
    assert "### Trunk at a million commits" in page


def test_the_budgets_are_those_of_the_target_and_of_every_trunk_only_scale():
    def result(scale: float) -> dict:
        return {"sizes": data.sizes(scale), "rows": [Row(f"at {scale:g}", 1, 1.0, 1.0)]}

    results = [result(1), result(10), result(100)]
    assert [r.name for r in budget_rows(results)] == ["at 10", "at 100"]
    assert [r.name for r in budget_rows(results[:2])] == ["at 10"]
    assert [r.name for r in budget_rows(results[2:])] == ["at 100"]
