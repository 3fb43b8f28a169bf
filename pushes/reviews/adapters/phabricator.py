"""Phabricator (and Phorge) Differential, over Conduit: find the revision's PHID with
`differential.revision.search`, then count its comment and inline-comment transactions with
`transaction.search`, following the result cursor."""

from __future__ import annotations

from typing import Any

import requests

from pushes.choices import ReviewTool
from pushes.reviews.adapters.base import MAX_PAGES, PAGE_SIZE, ReviewAdapter
from pushes.reviews.links import ReviewLink

COMMENT_TYPES = ("comment", "inline")


class PhabricatorAdapter(ReviewAdapter):
    tool = ReviewTool.PHABRICATOR
    name = "Phabricator"

    def count_comments(self, link: ReviewLink) -> int:
        base = self.base_for(link)
        count, pages = 0, 0
        after: str | None = ""
        with self.session() as session:
            phid = self._revision_phid(session, base, link.number)
            while after is not None:
                if pages == MAX_PAGES:
                    return self.page_limit_reached(link, count)
                fields = {"objectIdentifier": phid, "limit": str(PAGE_SIZE)}
                if after:
                    fields["after"] = after
                result = self.call(session, base, "transaction.search", fields)
                xactions = self.expect(result.get("data"), list, "result.data")
                count += sum(1 for xaction in xactions if is_comment(xaction))
                pages += 1
                cursor = self.expect(result.get("cursor") or {}, dict, "result.cursor")
                after = str(cursor["after"]) if cursor.get("after") is not None else None
        return count

    def _revision_phid(self, session: requests.Session, base: str, number: str) -> str:
        revision_id = number.lstrip("D")
        fields = {"constraints[ids][0]": revision_id}
        result = self.call(session, base, "differential.revision.search", fields)
        revisions = self.expect(result.get("data"), list, "result.data")
        if not revisions:
            raise self.unavailable(f"no revision D{revision_id} visible to this token")
        return str(self.expect(revisions[0], dict, "a revision")["phid"])

    def call(
        self, session: requests.Session, base: str, method: str, fields: dict[str, str]
    ) -> dict[str, Any]:
        """One Conduit call, form-encoded with `api.token`. Conduit answers errors with HTTP 200
        and an `error_code`, whose `error_info` may quote the token back (scrubbed here)."""
        data = dict(fields)
        if self.token:
            data["api.token"] = self.token
        # The token is in the body: never follow a redirect that would replay it elsewhere.
        response = self.request(
            session, "POST", f"{base}/api/{method}", data=data, allow_redirects=False
        )
        body = self.expect(self.json_of(response), dict, "the Conduit answer")
        if body.get("error_code"):
            raise self.unavailable(
                f"{method} failed: {body['error_code']}: {body.get('error_info') or ''}".strip()
            )
        return self.expect(body.get("result"), dict, "result")


def is_comment(xaction: Any) -> bool:
    """A comment or inline comment that is still there. Phabricator keeps every version of a
    comment; the newest one says whether it was removed."""
    if not isinstance(xaction, dict):
        return False
    comments = [c for c in xaction.get("comments") or [] if isinstance(c, dict)]
    if comments and max(comments, key=lambda c: c.get("version", 0)).get("removed"):
        return False
    if "type" not in xaction:  # Conduit before transaction types: any transaction with text
        return bool(comments)
    return xaction["type"] in COMMENT_TYPES
