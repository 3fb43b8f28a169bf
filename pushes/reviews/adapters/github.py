"""GitHub (and GitHub Enterprise Server): a pull request's review comments (on the diff) plus
its issue comments (the conversation), both paginated with Link headers."""

from __future__ import annotations

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
            total = 0
            # Review comments sit on the diff; issue comments are the pull request's thread.
            for kind in ("pulls", "issues"):
                url = f"{base}/repos/{owner}/{repo}/{kind}/{link.number}/comments"
                total += self._count_pages(session, url, link)
        return total

    def _count_pages(self, session: requests.Session, url: str, link: ReviewLink) -> int:
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
            count += len(self.expect(self.json_of(response), list, "a comment page"))
            pages += 1
            next_url = response.links.get("next", {}).get("url")
            params = None  # the next link carries per_page and page itself
        return count
