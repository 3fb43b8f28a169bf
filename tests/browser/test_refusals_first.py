"""Carol, at two stars, opens the request form in a real browser: it says at once why she may
not ask and whom to see, takes nothing, and its names lead to the people."""

from __future__ import annotations

import pytest

from pushes.choices import Role
from tests.conftest import make_engineer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_carol_is_refused_before_typing_and_can_reach_the_release_engineers(
    page_as, live_server, carol, rel, repository, landed, tmp_path
):
    make_engineer("dana", role=Role.RELEASE_ENGINEER, last_name="Whitfield")
    repository.chat_channel = "shop-releases"
    repository.save()

    page = page_as("carol")
    page.click("text=Request a pick")
    box = page.locator("#refused-first")
    assert box.is_visible()
    said = box.inner_text()
    assert "Your push karma is 2 of 5 stars" in said
    assert "Dana Whitfield (dana) or rel (release engineers), or ask in #shop-releases." in said
    assert page.is_disabled("button:has-text('Request the pick')")
    assert page.is_disabled("#id_revision") and page.is_disabled("#id_reason")
    page.screenshot(path=str(tmp_path / "pick-new-carol.png"), full_page=True)

    box.locator("a", has_text="Dana Whitfield").click()
    page.wait_for_url(f"{live_server.url}/engineers/dana/")
    assert "Dana Whitfield" in page.inner_text("h1")
