"""The release engineer approves on the risk dashboard and unlikes a requestor down to two
stars; that requestor's next pick is refused. In a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from karma.selectors import karma_stars
from karma.services import karma_unlike
from pushes import services
from pushes.choices import PickState
from pushes.models import Pick
from tests.conftest import make_engineer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rel_approves_and_unlikes_and_the_requestor_is_refused(page_as, live_server, rel, landed):
    dave = make_engineer("dave")
    karma_unlike(user_id=dave.user_id, actor_id=rel.user_id, reason="Broke search on push 1")
    karma_unlike(user_id=dave.user_id, actor_id=rel.user_id, reason="Missed push 2")
    pick = services.pick_request(requestor=dave, revision=landed["fix"], reason="Crash fix").pick

    page = page_as("rel")
    page.click("text=Risk")
    row = page.locator(f"#pick-{pick.pk}")
    row.locator("button[value=approve]").click()
    # (a locator, not wait_for_function: the page's CSP refuses the eval that one runs)
    expect(page.locator(f"#pick-{pick.pk}")).to_contain_text("Approved")
    assert Pick.objects.get(pk=pick.pk).state == PickState.APPROVED

    page.goto(f"{live_server.url}/engineers/dave/")
    page.fill("#unlike-reason", "Not online for the Wednesday push")
    page.click("button:has-text('Unlike')")
    with page.expect_navigation():  # the registry has it asked first
        page.click("#confirm-dialog button[value=confirm]")
    assert karma_stars(user_id=dave.user_id) == 2
    assert "Not online for the Wednesday push" in page.inner_text("main")

    dave_page = page_as("dave")
    dave_page.click("text=Request a pick")
    # Refused before typing anything: the form says why and takes nothing.
    refusal = dave_page.inner_text("#refused-first")
    assert "2 of 5 stars" in refusal and "Talk to release engineering" in refusal
    assert dave_page.is_disabled("button:has-text('Request the pick')")
    assert dave_page.is_disabled("#id_revision")
    assert not Pick.objects.filter(sha=landed["feature"]).exists()
