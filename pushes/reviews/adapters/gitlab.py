"""GitLab: a merge request's notes, less the system notes ("added 1 commit", "approved this
merge request"), paginated with X-Next-Page."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from pushes.choices import ReviewTool
from pushes.reviews.adapters.base import MAX_PAGES, PAGE_SIZE, ReviewAdapter
from pushes.reviews.links import ReviewLink

MR_MARKER = "/-/merge_requests/"


class GitLabAdapter(ReviewAdapter):
    tool = ReviewTool.GITLAB
    name = "GitLab"

    default_api_url = "https://gitlab.com/api/v4"

    def project_path(self, link: ReviewLink, base: str) -> str:
        """`group/sub/project` from the merge request's URL, less the instance's relative URL
        root (`https://host/gitlab/api/v4` serves `https://host/gitlab/group/project`)."""
        path = urlsplit(link.url).path.split(MR_MARKER, 1)[0]
        root = urlsplit(base).path.rsplit("/api/v4", 1)[0]
        if root and path.startswith(root + "/"):
            path = path[len(root) :]
        return path.strip("/")

    def count_comments(self, link: ReviewLink) -> int:
        base = self.base_for(link)
        project = quote(self.project_path(link, base), safe="")  # the API wants it URL-encoded
        url = f"{base}/projects/{project}/merge_requests/{link.number}/notes"
        count, pages = 0, 0
        page: str | None = "1"
        with self.session() as session:
            if self.token:
                session.headers["PRIVATE-TOKEN"] = self.token
            while page:
                if pages == MAX_PAGES:
                    return self.page_limit_reached(link, count)
                params = {"per_page": PAGE_SIZE, "page": page, "sort": "asc"}
                response = self.request(session, "GET", url, params=params)
                notes = self.expect(self.json_of(response), list, "a notes page")
                count += sum(not self.expect(note, dict, "a note").get("system") for note in notes)
                pages += 1
                # Empty on the last page. Some GitLab versions still send one after the last
                # page (gitlab-org/gitlab#471566): an empty page ends the walk too.
                page = response.headers.get("X-Next-Page", "").strip() if notes else None
        return count
