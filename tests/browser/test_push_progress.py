"""A release engineer watches a push run on its page, in a real browser: the step, the pick
under test and the bar move without a reload, and the block stops polling once it is done."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pushes.git import run as git_run
from tests.pushes.test_push_progress import (
    GATED_TEST,
    SECRET,
    PushInThread,
    confirmed_push,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("RELEASEBOT_SHOTS", "/tmp/helper-progress-shots"))


def test_the_push_page_shows_the_push_moving_without_a_reload(
    page_as, live_server, repository, remote, branch, alice, rel, tmp_path, monkeypatch
):
    monkeypatch.setattr(git_run, "OUTPUT_EVERY", 0.5)
    monkeypatch.setenv("RELEASEBOT_REVIEW_TOKEN_SHOP", SECRET)  # a secret the redactor knows
    gate = tmp_path / "gate"
    gate.mkdir()
    (gate / "secret").write_text(SECRET)
    script = tmp_path / "gated_test.py"
    script.write_text(GATED_TEST)
    push, (fix, feature) = confirmed_push(
        repository, remote, branch, alice, test_command=f"{sys.executable} {script} {gate}"
    )
    running = PushInThread(push.pk)
    try:
        wait_for(lambda: (gate / "started-0").exists(), what="the first test run")
        page = page_as("rel")
        page.goto(f"{live_server.url}{push.get_absolute_url()}")
        block = page.locator(f"#push-progress-{push.pk}")
        assert block.get_attribute("hx-trigger") == "every 2s"
        page.evaluate("window.notReloaded = true")  # gone if the page were loaded again
        block.locator(f".push-step a[href='/picks/{fix}/']").wait_for()
        assert "Testing" in block.inner_text()
        assert block.locator("progress").get_attribute("value") == "0"
        block.locator("pre.push-log", has_text="│ token=***").wait_for()  # live log, redacted
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "push-testing-first-pick.png"), full_page=True)

        (gate / "go-0").touch()  # the fix passes; the feature is tested next
        page.wait_for_selector(f"#push-progress-{push.pk} progress[value='1']")
        block.locator(f".push-step a[href='/picks/{feature}/']").wait_for()
        assert "1 of 2 picks" in block.inner_text() and SECRET not in page.content()
        page.screenshot(path=str(SHOTS / "push-testing-second-pick.png"), full_page=True)
        # The train page and the risk dashboard show the same block, live too.
        other = page.context.new_page()
        for name, path in (("train", "/"), ("risk-dashboard", "/dashboard/risk/")):
            other.goto(f"{live_server.url}{path}")
            shown = other.locator(f"#push-progress-{push.pk}")
            assert shown.get_attribute("hx-trigger") == "every 2s"
            assert "Add the feature" in shown.inner_text()
            other.screenshot(path=str(SHOTS / f"{name}-while-pushing.png"), full_page=True)
        other.close()

        (gate / "go-1").touch()
        block.locator("text=Done in").wait_for(timeout=30_000)
        assert block.get_attribute("hx-trigger") is None  # finished: it stopped polling
        assert page.evaluate("window.notReloaded") is True
        page.screenshot(path=str(SHOTS / "push-done.png"), full_page=True)
    finally:
        for n in (0, 1):
            (gate / f"go-{n}").touch()
        running.join()
