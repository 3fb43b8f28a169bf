"""GitHub (and GitHub Enterprise Server): what a person reads on a pull request, that is its
review comments (on the diff), its issue comments (the conversation) and its submitted reviews
that carry text ("Looks good, but rename X"); not a bare approval (an empty body shows no text)
nor a PENDING review (a draft only its author sees). All three lists are paginated with Link
headers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from common.outbound import host_of
from pushes.choices import ReviewTool
from pushes.reviews.adapters.base import MAX_PAGES, PAGE_SIZE, ReviewAdapter, same_origin
from pushes.reviews.links import ReviewLink


class GitHubAdapter(ReviewAdapter):
    tool = ReviewTool.GITHUB
    name = "GitHub"

    default_api_url = "https://api.github.com"

    @classmethod
    def web_hosts(cls, api_url: str) -> set[tuple[str, int | None]]:
        # github.com's API has a host of its own; GitHub Enterprise Server's is under /api/v3.
        if host_of(api_url) == ("api.github.com", None):
            return {("github.com", None), ("www.github.com", None)}
        return super().web_hosts(api_url)

    def count_comments(self, link: ReviewLink) -> int:
        segments = urlsplit(link.url).path.strip("/").split("/")
        owner, repo = segments[0], segments[1]
        base = self.base_for(link)
        with self.session() as session:
            session.headers["Accept"] = "application/vnd.github+json"
            session.headers["X-GitHub-Api-Version"] = "2022-11-28"
            if self.token:
                session.headers["Authorization"] = f"Bearer {self.token}"
            at = f"{base}/repos/{owner}/{repo}"
            # Review comments sit on the diff; issue comments are the pull request's thread.
            total = self._count_pages(session, f"{at}/pulls/{link.number}/comments", link, len)
            total += self._count_pages(session, f"{at}/issues/{link.number}/comments", link, len)
            # A review's own body shows in the thread too, when it has one.
            reviews = f"{at}/pulls/{link.number}/reviews"
            total += self._count_pages(session, reviews, link, self._reviews_with_text)
        return total

    def _reviews_with_text(self, reviews: list[Any]) -> int:
        """Submitted reviews whose body shows as text; a pending one is its author's draft."""
        count = 0
        for review in reviews:
            review = self.expect(review, dict, "a review")
            body = self.expect(review.get("body") or "", str, "a review's body")
            if review.get("state") != "PENDING" and body.strip():
                count += 1
        return count

    def _count_pages(
        self,
        session: requests.Session,
        url: str,
        link: ReviewLink,
        count_of: Callable[[list[Any]], int],
    ) -> int:
        count, pages = 0, 0
        next_url: str | None = url
        params: dict[str, int] | None = {"per_page": PAGE_SIZE}
        while next_url:
            if pages == MAX_PAGES:
                return self.page_limit_reached(link, count)
            if not same_origin(next_url, url):
                # The token goes to the API's own host only.
                raise self.unavailable("the next page link leaves the API host")
            response = self.request(session, "GET", next_url, params=params)
            count += count_of(self.expect(self.json_of(response), list, "a page"))
            pages += 1
            next_url = response.links.get("next", {}).get("url")
            params = None  # the next link carries per_page and page itself
        return count
