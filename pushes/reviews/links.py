"""Find the code review a commit message links to: a GitHub pull request, a GitLab merge
request, a Phabricator Differential revision or a Gerrit change."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pushes.choices import ReviewTool


@dataclass(frozen=True)
class ReviewLink:
    tool: str
    url: str
    number: str  # "45" for a pull request, "D123" for Differential, "123" for Gerrit


_PATTERNS = [
    (ReviewTool.GITHUB, re.compile(r"(https?://[^\s/]+/[\w.-]+/[\w.-]+/pull/(\d+))")),
    (ReviewTool.GITLAB, re.compile(r"(https?://[^\s]+?/-/merge_requests/(\d+))")),
    (ReviewTool.PHABRICATOR, re.compile(r"(https?://[^\s/]+/(D\d+))\b")),
    (ReviewTool.GERRIT, re.compile(r"(https?://[^\s]+/c/[^\s]+/\+/(\d+))")),
]


def find_review_link(message: str) -> ReviewLink | None:
    """The first review link in a commit message, or None."""
    best: tuple[int, ReviewLink] | None = None
    for tool, pattern in _PATTERNS:
        match = pattern.search(message)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), ReviewLink(tool=tool, url=match.group(1), number=match.group(2)))
    return best[1] if best else None
