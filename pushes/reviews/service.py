"""Fetching a pick's review-comment count: risk data, fetched in the background."""

from __future__ import annotations

import logging

from pushes.choices import ReviewStatus
from pushes.models import Pick
from pushes.reviews.adapters import ReviewUnavailable, adapter_for
from pushes.reviews.links import find_review_link

logger = logging.getLogger(__name__)


def pick_review_fetch(*, pick_id: int, final_attempt: bool) -> str:
    """Count the comments of the review a pick links to and store them on the pick.

    Returns the stored review status: "known" with the count, "none" when the pick links no
    review we can read, "unknown" when the tool could not answer on the final attempt. On an
    earlier attempt a ReviewUnavailable is re-raised so the caller (a task) retries; the row is
    left as it was. Writes only review_comments and review_status, in one UPDATE, and only while
    the pick still links the review that was counted; running it twice gives the same row.
    """
    pick = Pick.objects.select_related("branch__repository").filter(pk=pick_id).first()
    if pick is None:  # deleted since the task was queued: nothing to store
        return ReviewStatus.NONE
    row = Pick.objects.filter(pk=pick.pk, review_url=pick.review_url)
    link = find_review_link(pick.review_url) if pick.review_url else None
    adapter = adapter_for(pick.branch.repository, link) if link else None
    if link is None or adapter is None:
        row.update(review_status=ReviewStatus.NONE, review_comments=None)
        return ReviewStatus.NONE
    try:
        count = adapter.count_comments(link)
    except ReviewUnavailable as exc:
        if not final_attempt:
            logger.info("Review comments of pick %s not fetched yet: %s", pick.pk, exc)
            raise
        logger.warning("Review comments of pick %s unknown: %s", pick.pk, exc)
        row.update(review_status=ReviewStatus.UNKNOWN, review_comments=None)
        return ReviewStatus.UNKNOWN
    row.update(review_status=ReviewStatus.KNOWN, review_comments=count)
    return ReviewStatus.KNOWN
