"""The Content-Security-Policy and the other headers of a hardened site, on every page.

The policy allows scripts and styles from our own files only, so every page of the project is
also read here for what the policy would refuse: an inline <script>, an on* attribute, htmx's
hx-on (evaluated code), an inline <style> without the page's nonce, a style attribute. A
browser's own word on it is tests/browser/test_csp.py; `check --deploy` is test_deploy.py.
"""

from __future__ import annotations

import re

from django.test import Client

from tests.security.matrix import PAGE_ROWS, fill
from tests.security.world import (
    ADMIN,
    on_world_fixture,  # noqa: F401
    world_fixture,  # noqa: F401
)

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
HARDENED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]*\s(on[a-z]+|hx-on[:\w-]*)\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style\b[^>]*>", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.I)


def directives(policy: str) -> dict[str, str]:
    """A policy by directive (django-csp writes them in no fixed order)."""
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def refused_inline(html: str, nonce: str | None) -> list[str]:
    """What in `html` the policy would refuse (given the page's style nonce, if any)."""
    found = [m.group() for m in INLINE_SCRIPT.finditer(html)]
    found += [m.group(1) for m in HANDLER.finditer(html)]
    found += [m.group() for m in STYLE_ATTRIBUTE.finditer(html)]
    for style in STYLE_ELEMENT.findall(html):
        if nonce is None or f'nonce="{nonce}"' not in style:
            found.append(style)
    return found


def pages(world) -> list[str]:
    """Every page of the project a browser loads (not the partials htmx fetches: the checks
    below read those too)."""
    return sorted({fill(row.url, world.values()) for row in PAGE_ROWS if row.method == "GET"})


def test_every_page_sends_the_policy_and_holds_nothing_it_refuses(on_world):
    client = Client()
    client.force_login(on_world.user(ADMIN))  # a release engineer who sees every page
    checked = []
    for url in pages(on_world):
        response = client.get(url)
        assert response.status_code == 200, url
        if not response["Content-Type"].startswith("text/html"):
            continue
        policy = response["Content-Security-Policy"]
        nonce = None
        if url == "/dashboard/pushes/":  # its charts' <style> elements carry the nonce
            nonce = re.search(r"style-src 'self' 'nonce-([^']+)'", policy).group(1)
            policy = policy.replace(f" 'nonce-{nonce}'", "")
        assert directives(policy) == directives(POLICY), url
        for header, value in HARDENED.items():
            assert response[header] == value, (url, header)
        assert refused_inline(response.content.decode(), nonce) == [], url
        checked.append(url)
    assert {"/", "/picks/new/", "/dashboard/risk/", "/dashboard/pushes/", "/chat/"} <= set(checked)
    assert {"/login/", "/api/docs/", "/dashboard/risk/table/", "/dashboard/pushes/live/"} <= set(
        checked
    )


def test_only_the_push_dashboard_has_a_nonce_and_its_charts_carry_it(on_world):
    client = Client()
    client.force_login(on_world.user(ADMIN))
    first, second = client.get("/dashboard/pushes/"), client.get("/dashboard/pushes/")
    nonces = [
        re.search(r"'nonce-([^']+)'", r["Content-Security-Policy"]).group(1)
        for r in (first, second)
    ]
    assert nonces[0] != nonces[1]  # one per response
    html = first.content.decode()
    charts = re.findall(r'<svg[^>]*class="pygal-chart"', html)
    styled = re.findall(rf'<style[^>]*nonce="{re.escape(nonces[0])}"', html)
    assert len(charts) == 3 and len(styled) >= 3
    assert "nonce" not in client.get("/")["Content-Security-Policy"]


def test_the_api_docs_run_their_script_from_a_file(on_world):
    client = Client()
    client.force_login(on_world.user(ADMIN))
    page = client.get("/api/docs/").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert any("script" in src and src.startswith("/api/docs/") for src in scripts), scripts
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_an_api_answer_and_the_login_page_of_a_visitor_send_the_headers_too(on_world):
    visitor = Client()
    for response in (visitor.get("/login/"), visitor.get("/api/picks/")):
        assert directives(response["Content-Security-Policy"]) == directives(POLICY)
        assert response["X-Content-Type-Options"] == "nosniff"
