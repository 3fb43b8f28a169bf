"""Webhook payloads and REST API answers of GitHub and GitLab, kept as JSON test fixtures.

The files sit in ``github/`` and ``gitlab/`` next to this module, one payload each, shaped
after the examples in each forge's documentation (README.md names the page behind every
file and the values all of them share, such as ``acme/app`` and pull request 42).
"""

from __future__ import annotations

import json
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def payload(forge: str, name: str) -> dict:
    """Return the fixture ``<forge>/<name>.json`` as a new dict.

    ``payload("github", "push")`` reads ``github/push.json`` and
    ``payload("gitlab", "merge_request.labeled")`` reads ``gitlab/merge_request.labeled.json``.
    The file is parsed again on every call, so a test may change what it gets freely.
    """
    return json.loads((_HERE / forge / f"{name}.json").read_text(encoding="utf-8"))
