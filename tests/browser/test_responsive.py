"""Every screen, every person: the main pages of the demo at 360, 768 and 1400 px, as the release
engineer and as an engineer, never scroll sideways, and every link of the bar, the search box
and Log out can be reached (behind the Menu button on a narrow screen). In a real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from pushes.choices import PickState, PushState
from pushes.models import Pick, Push
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (360, 768, 1400)
NARROW = 1080  # app.css folds the bar behind Menu at this width and below


def main_pages(username: str) -> list[str]:
    shipped = Pick.objects.filter(state=PickState.SHIPPED).order_by("-pk").first()
    push = Push.objects.filter(state=PushState.DONE, picks__isnull=False).order_by("-pk").first()
    assert shipped and push, "the demo has a shipped pick and a push that went out"
    pages = ["/", "/dashboard/pushes/", f"/pushes/{push.pk}/", f"/picks/{shipped.pk}/"]
    pages += ["/picks/new/", "/inbox/", "/engineers/", "/chat/", "/tests/"]
    return pages + (["/dashboard/risk/"] if username == "rel" else [])


def sideways(page) -> int:
    """How far the page itself scrolls sideways, in px (0: not at all)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


# The elements that stick out of the window (or whose text does), not inside something that
# scrolls: what to fix.
STICKING_OUT = """() => [...document.querySelectorAll("body *")].filter(e => {
  const box = e.getBoundingClientRect();
  const text = getComputedStyle(e).overflowX === "visible" ? e.scrollWidth : e.clientWidth;
  if (Math.max(box.right, box.left + text) <= window.innerWidth + 1) return false;
  for (let p = e.parentElement; p; p = p.parentElement) {
    if (["auto", "scroll", "hidden"].includes(getComputedStyle(p).overflowX)) return false;
  }
  return true;
}).slice(0, 5).map(e => e.outerHTML.slice(0, 100))"""


def bar_items(page, username: str):
    """Every way on from the bar: its links, the search box and Log out."""
    names = ["Train", "Request a pick", "Inbox", "Chat", "Pushes", "Engineers", "Tests"]
    names += ["Risk"] if username == "rel" else []
    nav = page.locator("nav.nav")
    items = {name: nav.get_by_role("link", name=name, exact=True) for name in names}
    items[username] = nav.get_by_role("link", name=username, exact=True)
    items["search"] = nav.get_by_role("searchbox")
    items["Log out"] = nav.get_by_role("button", name="Log out")
    return items


def assert_reachable(page, username: str, width: int) -> None:
    for name, item in bar_items(page, username).items():
        expect(item, f"{name} at {width} px").to_be_visible()
        box = item.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (name, width, box)
        item.click(trial=True)  # nothing covers it: a click would land on it


@pytest.mark.parametrize("username", ["rel", "alice"])
def test_no_main_page_scrolls_sideways_and_the_bar_reaches_everything(
    browser, live_server, demo, username
):
    overflowing = {}
    for width in WIDTHS:
        context, page = log_in(browser, live_server, username, width)
        for path in main_pages(username):
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == 200, path
            page.wait_for_load_state("networkidle")
            if sideways(page) > 0:
                overflowing[f"{path} at {width} px"] = page.evaluate(STICKING_OUT)
        page.goto(f"{live_server.url}/engineers/")
        toggle = page.get_by_role("button", name="Menu")
        if width <= NARROW:
            expect(page.locator("nav.nav").get_by_role("link", name="Tests")).to_be_hidden()
            expect(toggle).to_have_attribute("aria-expanded", "false")
            toggle.click()
            expect(toggle).to_have_attribute("aria-expanded", "true")
        else:
            expect(toggle).to_be_hidden()
        assert_reachable(page, username, width)
        assert sideways(page) <= 0, f"the open menu at {width} px"
        page.locator("nav.nav").get_by_role("link", name="Tests").click()
        page.wait_for_url(f"{live_server.url}/tests/")
        context.close()
    assert overflowing == {}


def test_the_menu_opens_and_folds_with_the_keyboard(browser, live_server, demo):
    context, page = log_in(browser, live_server, "alice", 360)
    toggle = page.get_by_role("button", name="Menu")
    assert page.evaluate("document.activeElement.tagName") == "BODY"
    for _ in range(5):  # the brand, then the Menu button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.hasAttribute('data-nav-toggle')"):
            break
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")  # into the menu: its first link
    expect(page.locator("#nav-menu").get_by_role("link", name="Train")).to_be_focused()
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(page.locator("#nav-menu")).to_be_hidden()
    page.keyboard.press("Space")
    expect(page.locator("#nav-menu").get_by_role("link", name="Chat")).to_be_visible()
    context.close()


def test_without_script_the_bar_wraps_and_every_link_is_there(browser, live_server, demo):
    context, page = log_in(browser, live_server, "rel", 360, java_script_enabled=False)
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    assert_reachable(page, "rel", 360)
    assert sideways(page) <= 0, page.evaluate(STICKING_OUT)
    context.close()
