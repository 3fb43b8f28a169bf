"""JSON bodies with a depth limit: the API's parser, and the check Slack's endpoint shares.

Python's json module recurses once per level: a 6 KB body nested 3,000 deep raises
RecursionError (a 500) in json.loads. No body this product reads is nested more than a few
levels (Slack's Block Kit payloads the most), so anything deeper than MAX_DEPTH is refused with
a 400 after a scan that does not recurse, before json.loads sees it. The body's size is capped
before that, by Django's DATA_UPLOAD_MAX_MEMORY_SIZE (DRF reads JSON through request.body).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

MAX_DEPTH = 32

# A JSON string (escapes included, unrolled so the regex does not backtrack) or one bracket.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def json_too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether `text` opens more than `limit` arrays and objects inside one another.

    Brackets inside strings do not count. Text that is not JSON may be over-counted (an
    unterminated string's brackets): json.loads refuses it anyway."""
    if text.count("[") + text.count("{") <= limit:
        return False  # the common case, at C speed
    depth = 0
    for token in _TOKEN.finditer(text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            if depth > limit:
                return True
        elif mark in "]}":
            depth -= 1
    return False


def json_loads_limited(text: str, limit: int = MAX_DEPTH) -> Any:
    """json.loads, refusing (ValueError) text nested deeper than `limit` before parsing it."""
    if json_too_deep(text, limit):
        raise ValueError(f"nested deeper than {limit} levels")
    return json.loads(text, parse_constant=strict_constant)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with the depth limit and a 400 for a body that cannot be decoded.

    Kept a subclass of DRF's: DRF then reads the body through request.body, which enforces
    DATA_UPLOAD_MAX_MEMORY_SIZE (common.api turns that refusal into a 413)."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding") or settings.DEFAULT_CHARSET
        try:
            text = stream.read().decode(encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise ParseError(f"JSON parse error - cannot decode the body: {error}") from None
        try:
            return json_loads_limited(text)
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None
