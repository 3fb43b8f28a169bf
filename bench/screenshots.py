"""`make screenshots`: every main page, rendered from the demo data in headless Chromium, saved
to docs/screenshots/ at 1400 px wide as <name>.png, and the pages people use most on a tablet
(768 px, <name>-768.png) and a phone (360 px, <name>-360.png, and the bar's menu open:
nav-open-360.png). Look at them before calling a page done."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDE = 1400
NARROW = (768, 360)  # the main pages again at these widths
MAIN = {"train", "risk-dashboard", "push", "pick", "request-a-pick", "chat", "engineers"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pages(env: dict[str, str]) -> list[tuple[str, str, str]]:
    """(file name, login, path) of each page, with ids read from the demo data."""
    script = (
        "import django; django.setup()\n"
        "from pushes.models import Pick, Push, TestRun\n"
        "shipped = Pick.objects.filter(state='shipped').order_by('-pk').first()\n"
        "conflict = Pick.objects.filter(state='conflict').first()\n"
        "push = Push.objects.filter(state='done', picks__isnull=False).order_by('-pk').first()\n"
        "run = TestRun.objects.filter(state='failed').first()\n"
        "print(shipped.pk, shipped.sha, conflict.pk, push.pk, push.branch_id, run.pk)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
    )
    pick, sha, conflict, push, branch, run = out.stdout.split()
    return [
        ("train", "rel", "/"),
        ("risk-dashboard", "rel", "/dashboard/risk/"),
        ("push-dashboard", "rel", "/dashboard/pushes/"),
        ("push", "rel", f"/pushes/{push}/"),
        ("branch", "rel", f"/branches/{branch}/"),
        ("pick", "rel", f"/picks/{pick}/"),
        ("pick-conflict", "rel", f"/picks/{conflict}/"),
        ("revision", "alice", f"/r/{sha[:10]}/"),
        ("request-a-pick", "alice", "/picks/new/"),
        ("inbox", "alice", "/inbox/"),
        ("engineer-carol", "rel", "/engineers/carol/"),
        ("engineers", "rel", "/engineers/"),
        ("engineer-me", "alice", "/engineers/alice/"),
        ("test-console", "rel", "/tests/"),
        ("test-run", "rel", f"/tests/{run}/"),
        ("chat", "alice", "/chat/"),
        ("api-docs", "rel", "/api/docs/"),
        ("search-people", "rel", "/r/?q=car"),
    ]


def walk_freeze(page, base: str) -> None:
    """rel freezes the train from its page (the deploy lock), as a release engineer would."""
    page.goto(f"{base}/")
    page.fill("form[action$='/freeze/'] input[name=reason]", "Payments incident INC-42")
    page.click("form[action$='/freeze/'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / "train-frozen.png"), full_page=True)
    print("train-frozen: / after Freeze -> docs/screenshots/train-frozen.png")


def logged_in(browser, base: str, login: str, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", login)
    page.fill("#id_password", login)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def shoot(browser, base: str, shots: list[tuple[str, str, str]]) -> None:
    """Every page wide, the main ones narrow too, then the freeze walk and the login page."""
    sessions = {}
    for width in (WIDE, *NARROW):
        for name, login, path in shots:
            if width != WIDE and name not in MAIN:
                continue
            if (login, width) not in sessions:
                sessions[login, width] = logged_in(browser, base, login, width)
            page = sessions[login, width]
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            file = f"{name}.png" if width == WIDE else f"{name}-{width}.png"
            page.screenshot(path=str(OUT / file), full_page=True)
            print(f"{name}: {path} at {width} px -> docs/screenshots/{file}")
    nav_open(sessions["rel", min(NARROW)], base)
    walk_freeze(sessions["rel", WIDE], base)
    login = browser.new_context(viewport={"width": WIDE, "height": 900}).new_page()
    login.goto(f"{base}/login/")
    login.screenshot(path=str(OUT / "login.png"), full_page=True)
    print("login: /login/ -> docs/screenshots/login.png")


def nav_open(page, base: str) -> None:
    """The bar's menu open on a phone: every link, the search box and Log out."""
    page.goto(f"{base}/")
    page.click("[data-nav-toggle]")
    page.screenshot(path=str(OUT / "nav-open-360.png"))
    print("nav-open-360: / with Menu open -> docs/screenshots/nav-open-360.png")


def main() -> int:
    from playwright.sync_api import sync_playwright

    data = tempfile.mkdtemp(prefix="releasebot-shots-")
    env = {**os.environ, "DEBUG": "1", "RELEASEBOT_DATA_DIR": data}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env["DJANGO_SETTINGS_MODULE"] = "releasebot.settings"
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    subprocess.run([*manage, "demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            shoot(browser, base, pages(env))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
