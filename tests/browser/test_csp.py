"""The Content-Security-Policy in a real Chromium: the main pages load with nothing refused and
no console error, and what htmx and app.js do still works under it."""

from __future__ import annotations

import pytest

from pushes import services
from tests.conftest import make_engineer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs in the page before its own scripts, through DevTools (the policy does not apply to it).
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " "
    + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


class Watched:
    """A page whose console errors and warnings and CSP violations are kept."""

    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        page.add_init_script(LISTEN)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    def _console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.console.append(f"{message.type}: {message.text}")

    def visit(self, url: str) -> list[str]:
        """Load `url`; what went wrong there (violations and console messages)."""
        self.console.clear()
        response = self.page.goto(url)
        assert response is not None and response.status == 200, url
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(300)  # violations are reported asynchronously
        return self.page.evaluate("window.__violations") + self.console


@pytest.fixture
def pick(rel, alice, bob, landed):
    """Alice's pick of the fix, approved onto the next push; Bob's of the feature, waiting."""
    approved = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    services.pick_approve(pick_id=approved.pk, actor=rel)
    services.pick_request(requestor=bob, revision=landed["feature"], reason="Launch")
    approved.refresh_from_db()
    return approved


def test_the_main_pages_load_with_nothing_refused(browser, page_as, live_server, pick, tmp_path):
    visitor = Watched(browser.new_page())
    assert visitor.visit(f"{live_server.url}/login/") == []
    visitor.page.close()

    page = Watched(page_as("rel"))
    pages = [
        "/",
        "/picks/new/",
        pick.get_absolute_url(),
        f"/pushes/{pick.push_id}/",
        "/dashboard/risk/",
        "/dashboard/pushes/",
        "/chat/",
        "/inbox/",
        "/tests/",
        "/api/docs/",
    ]
    problems = {}
    for number, url in enumerate(pages):
        if found := page.visit(live_server.url + url):
            problems[url] = found
        page.page.screenshot(path=str(tmp_path / f"{number:02}.png"), full_page=True)
    make_engineer("root", is_staff=True, is_superuser=True)
    admin = Watched(page_as("root"))
    for url in ("/admin/", "/admin/pushes/pick/", f"/admin/pushes/pick/{pick.pk}/change/"):
        # Django's admin links no icon, so Chromium asks for /favicon.ico: a 404, not the CSP.
        found = [f for f in admin.visit(live_server.url + url) if "status of 404" not in f]
        if found:
            problems[url] = found
    assert problems == {}

    # The push dashboard's charts are styled (their <style> carries the nonce): axis labels in
    # the muted grey pygal's style gives them, not the black of an unstyled SVG.
    page.visit(f"{live_server.url}/dashboard/pushes/")
    fills = page.page.eval_on_selector_all(
        "svg.pygal-chart .axis text", "els => els.map(e => getComputedStyle(e).fill)"
    )
    assert fills and "rgb(0, 0, 0)" not in fills, fills
    page.page.screenshot(path=str(tmp_path / "dashboard-pushes.png"), full_page=True)
    # Swagger UI drew the API from the schema it fetched.
    page.visit(f"{live_server.url}/api/docs/")
    page.page.wait_for_selector(".opblock", timeout=15_000)


def test_htmx_and_app_js_still_work_under_the_policy(page_as, live_server, pick, tmp_path):
    page = Watched(page_as("rel"))
    assert page.visit(f"{live_server.url}/chat/") == []
    page.page.fill(".chat-form input[name=text]", "help")
    page.page.click(".chat-form button[type=submit]")
    page.page.wait_for_selector("#conversation .exchange")
    assert page.page.url == f"{live_server.url}/chat/"  # htmx appended; no full page load
    assert page.page.input_value(".chat-form input[name=text]") == ""  # app.js emptied it
    assert "pick" in page.page.inner_text("#conversation .reply")
    page.page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)

    # The risk table's select-all box (app.js) ticks every pick that can be approved.
    assert page.visit(f"{live_server.url}/dashboard/risk/") == []
    page.page.check("#risk-table thead input[type=checkbox]")
    boxes = page.page.eval_on_selector_all(
        "#risk-table input[name=pick]:not(:disabled)", "els => els.map(e => e.checked)"
    )
    assert boxes and all(boxes)
    # and htmx's request indicator styles come from app.css, not an injected <style>
    assert page.page.evaluate("document.querySelectorAll('style').length") == 0
    assert page.page.evaluate("window.__violations") + page.console == []


def test_go_back_on_a_refusal_goes_back_under_the_policy(page_as, live_server, pick):
    """It was a `javascript:` link, which the policy refuses; app.js's data-back does it."""
    page = Watched(page_as("alice"))
    assert page.visit(f"{live_server.url}/chat/") == []
    page.page.goto(f"{live_server.url}/dashboard/risk/")  # not for engineers: a refusal page
    page.page.click("a[data-back]")
    page.page.wait_for_url(f"{live_server.url}/chat/")
    assert page.page.evaluate("window.__violations") == []


def test_the_risk_table_skips_its_refresh_while_picks_are_ticked(page_as, live_server, pick):
    """The idle check moved from an htmx trigger filter (eval) to app.js: a ticked pick keeps
    the 10 s refresh away; with nothing ticked the table refreshes again."""
    page = Watched(page_as("rel"))
    assert page.visit(f"{live_server.url}/dashboard/risk/") == []
    refreshes: list[str] = []
    page.page.on(
        "request", lambda r: refreshes.append(r.url) if "/dashboard/risk/table/" in r.url else None
    )
    box = "#risk-table input[name=pick]:not(:disabled)"
    page.page.check(box)
    page.page.wait_for_timeout(11_000)
    assert refreshes == [] and page.page.is_checked(box)
    page.page.uncheck(box)
    page.page.click("h1")  # the focus out of the table too
    with page.page.expect_request(lambda r: "/dashboard/risk/table/" in r.url, timeout=12_000):
        pass
    assert page.page.evaluate("window.__violations") + page.console == []
