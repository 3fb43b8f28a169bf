"""The release engineer pages through a crowded risk dashboard in a real browser: fifty picks
a page, the pager's links swapping the page in place (hx-boost), the address and the table's
own refresh following the page; and narrows it with the search box.

RELEASEBOT_SHOTS=docs/screenshots keeps the screenshot of page 2 as dashboard-risk-paged.png.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from karma.services import karma_unlike
from pushes.choices import PickState
from tests.browser.conftest import log_in
from tests.conftest import make_engineer
from tests.pushes.test_dashboard_risk import make_pick

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("RELEASEBOT_SHOTS", "/tmp/helper-risk-shots"))
WHAT = ("Fix rounding in", "Speed up", "Guard against empty", "Log retries in", "Tidy")
WHERE = ("checkout totals", "search suggestions", "the payments webhook", "order export")


@pytest.fixture
def crowded(branch, rel):
    """120 open picks by five engineers over the first two pushes and none: sizes, comments
    and stars vary (dave at three stars); a few large and controversial."""
    people = [make_engineer(name) for name in ("alice", "bob", "dave", "erin", "frank")]
    karma_unlike(user_id=people[2].user_id, actor_id=rel.user_id, reason="Broke search")
    karma_unlike(user_id=people[2].user_id, actor_id=rel.user_id, reason="Missed a push")
    pushes = [*branch.pushes.order_by("scheduled_at", "pk")[:2], None]
    picks = []
    for i in range(120):
        picks.append(
            make_pick(
                branch,
                people[i % 5],
                push=pushes[i % 3],
                state=(PickState.REQUESTED, PickState.APPROVED)[i % 2],
                title=f"{WHAT[i % 5]} {WHERE[i % 4]} ({i + 1})",
                lines_added=(4, 38, 120, 460)[i % 4] + i,
                lines_deleted=(1, 9, 30)[i % 3],
                files_changed=(1, 2, 3, 7)[i % 7 % 4],
                review_comments=(None, 0, 3, 15)[i % 11 % 4],
            )
        )
    return picks


def row_ids(page) -> list[str]:
    return page.locator("#risk-table tr.risk-row").evaluate_all("rows => rows.map(r => r.id)")


TOP, BOTTOM = 'nav[aria-label="Pages (top)"]', 'nav[aria-label="Pages (bottom)"]'


def test_rel_pages_through_the_dashboard_and_the_page_stays_put(browser, live_server, crowded):
    context, page = log_in(browser, live_server, "rel", width=1400)
    try:
        page.goto(f"{live_server.url}/dashboard/risk/")
        # One pager above the table, one below it; the one below is the one clicked through.
        pager = page.locator(BOTTOM)
        expect(pager).to_contain_text("Picks 1–50 of 120 · page 1 of 3")
        expect(page.locator(TOP)).to_contain_text("Picks 1–50 of 120 · page 1 of 3")
        expect(page.locator("h1 + .muted")).to_contain_text("120 picks")
        first = row_ids(page)
        assert len(first) == 50
        assert pager.locator("a[rel=prev]").count() == 0

        pager.locator("a[rel=next]").click()
        expect(page.locator(BOTTOM)).to_contain_text("Picks 51–100 of 120 · page 2 of 3")
        second = row_ids(page)
        assert len(second) == 50 and not set(first) & set(second)
        assert page.url.endswith("/dashboard/risk/?page=2")
        # the table refreshes itself every 10 s: on this page, not back on the first
        table = page.locator("#risk-table")
        assert re.search(r"[?&]page=2\b", table.get_attribute("hx-get") or "")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "dashboard-risk-paged.png"), full_page=True)

        page.locator(f"{BOTTOM} a[rel=next]").click()
        expect(page.locator(BOTTOM)).to_contain_text("Picks 101–120 of 120 · page 3 of 3")
        third = row_ids(page)
        assert len(third) == 20 and len(set(first + second + third)) == 120
        assert page.locator(f"{BOTTOM} a[rel=next]").count() == 0

        page.go_back()  # the browser's Back: page 2 again
        expect(page.locator(BOTTOM)).to_contain_text("page 2 of 3")
        assert row_ids(page) == second
        page.locator(f"{BOTTOM} a[rel=prev]").click()
        expect(page.locator(BOTTOM)).to_contain_text("page 1 of 3")
        assert row_ids(page) == first

        page.fill("#risk-filters input[name=q]", "checkout")  # 30 of the 120
        page.click("#risk-filters button[type=submit]")
        expect(page.locator("h1 + .muted")).to_contain_text("30 picks match")
        assert len(row_ids(page)) == 30 and page.locator("nav.risk-pager").count() == 0
        assert (
            "checkout" in page.locator("#risk-table tr.risk-row td.risk-title").first.inner_text()
        )
    finally:
        context.close()
