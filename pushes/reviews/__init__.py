"""Code-review tools: finding a commit's review link, and (in adapters) counting its comments."""

from __future__ import annotations

from pushes.reviews.adapters import ReviewUnavailable, adapter_for, review_api
from pushes.reviews.links import ReviewLink, find_review_link
from pushes.reviews.service import pick_review_fetch

__all__ = [
    "ReviewLink",
    "ReviewUnavailable",
    "adapter_for",
    "review_api",
    "find_review_link",
    "pick_review_fetch",
]
