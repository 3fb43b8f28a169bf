"""Real headless Chromium (Debian's package, driven by Playwright) against a live server."""

from __future__ import annotations

import io
import os
import shutil

import pytest
from django.core.management import call_command

# Playwright's sync API runs an event loop in this thread; Django would refuse ORM calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM):
        return
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright gives each launch a fresh, empty profile of its own.
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def log_in(browser, live_server, username: str, width: int = 1280, height: int = 900, **options):
    """A new browser context signed in as `username` (its password is its name) at `width`
    px, and its page on the train; `options` go to the context (bypass_csp, ...)."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", username)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return context, page


@pytest.fixture
def page_as(browser, live_server):
    """page_as("alice") -> a logged-in page at 1280 x 900."""
    contexts = []

    def open_as(username: str):
        context, page = log_in(browser, live_server, username)
        contexts.append(context)
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def demo(settings, tmp_path):
    """The demo (every state a pick or push can be in) in this test's data folder."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DEBUG = True  # the demo is built only so
    call_command("demo", stdout=io.StringIO())


# The train on a real repository: Sunday's cut and commits landed after it.
from tests.pushes.conftest import branch, landed, monday  # noqa: E402, F401
