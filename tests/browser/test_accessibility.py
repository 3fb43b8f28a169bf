"""axe-core in real Chromium over the main pages of the demo (every state a pick or push can
be in), as the release engineer and as an engineer, wide and phone-sized: no serious or
critical violation. And the keyboard: every control of a page can be reached with Tab."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from pushes.choices import PickState, PushState
from pushes.models import Pick, Push, TestRun
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERIOUS = {"serious", "critical"}
WIDTHS = (1400, 360)


def main_pages() -> list[tuple[str, str]]:
    """(login, path) of every main page, with ids read from the demo."""
    shipped = Pick.objects.filter(state=PickState.SHIPPED).order_by("-pk").first()
    conflict = Pick.objects.filter(state=PickState.CONFLICT).first()
    push = Push.objects.filter(state=PushState.DONE, picks__isnull=False).order_by("-pk").first()
    run = TestRun.objects.first()
    assert shipped and conflict and push and run, "the demo has every state"
    return [
        ("rel", "/"),
        ("rel", "/dashboard/risk/"),
        ("rel", "/dashboard/pushes/"),
        ("rel", f"/pushes/{push.pk}/"),
        ("rel", f"/branches/{push.branch_id}/"),
        ("rel", f"/picks/{shipped.pk}/"),
        ("rel", f"/picks/{conflict.pk}/"),
        ("rel", "/engineers/"),
        ("rel", "/engineers/carol/"),
        ("rel", "/tests/"),
        ("rel", f"/tests/{run.pk}/"),
        ("rel", "/r/?q=car"),
        ("alice", "/"),
        ("alice", f"/r/{shipped.sha[:10]}/"),
        ("alice", "/picks/new/"),
        ("alice", "/inbox/"),
        ("alice", "/engineers/alice/"),
        ("alice", "/chat/"),
        ("carol", "/picks/new/"),
    ]


def serious_violations(page) -> list[str]:
    """axe's serious and critical findings (axe is injected with page.evaluate: each context
    that runs it bypasses the page's CSP, which allows no eval)."""
    results = Axe().run(page).response
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}: "
        f"{v['nodes'][0].get('failureSummary', '')}"
        for v in results["violations"]
        if v["impact"] in SERIOUS
    ]


def test_axe_finds_no_serious_violation_on_the_main_pages(browser, live_server, demo):
    found = {}
    anonymous = browser.new_context(bypass_csp=True)
    login = anonymous.new_page()
    login.goto(f"{live_server.url}/login/")
    found["/login/"] = serious_violations(login)
    anonymous.close()
    for width in WIDTHS:
        pages: dict[str, object] = {}
        contexts = []
        for username, path in main_pages():
            if username not in pages:
                context, pages[username] = log_in(
                    browser, live_server, username, width, bypass_csp=True
                )
                contexts.append(context)
            page = pages[username]
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            found[f"{path} as {username} at {width} px"] = serious_violations(page)
        for context in contexts:
            context.close()
    bad = {where: v for where, v in found.items() if v}
    assert not bad, "\n".join(f"{where}: {v}" for where, v in bad.items())


# Every control on these pages: the Tab key must reach each one that can be seen.
CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, summary"


@pytest.mark.parametrize("username,which", [("rel", "pick"), ("rel", "risk"), ("alice", "new")])
def test_every_control_is_reached_with_the_tab_key(browser, live_server, demo, username, which):
    shipped = Pick.objects.filter(state=PickState.SHIPPED).order_by("-pk").first()
    path = {"pick": f"/picks/{shipped.pk}/", "risk": "/dashboard/risk/", "new": "/picks/new/"}
    context, page = log_in(browser, live_server, username, 1400, bypass_csp=True)
    page.goto(f"{live_server.url}{path[which]}")
    page.wait_for_load_state("networkidle")
    # Each control gets a mark, so the focused element can be named from outside the page.
    wanted = page.locator(CONTROLS).evaluate_all(
        """els => els.filter(e => e.offsetParent !== null && !e.disabled)
                  .map((e, i) => { e.dataset.a11yMark = String(i); return String(i); })"""
    )
    assert len(wanted) > 5
    reached = set()
    for _ in range(len(wanted) * 3 + 20):
        page.keyboard.press("Tab")
        mark = page.evaluate("document.activeElement && document.activeElement.dataset.a11yMark")
        if mark is not None:
            reached.add(mark)
        if reached >= set(wanted):
            break
    missing = page.locator(CONTROLS).evaluate_all(
        f"""els => els.filter(e => {sorted(set(wanted) - reached)!r}.includes(e.dataset.a11yMark))
                  .map(e => e.outerHTML.slice(0, 120))"""
    )
    context.close()
    assert missing == []
