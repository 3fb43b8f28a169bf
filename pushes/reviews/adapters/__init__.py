"""Counting a review's comments on GitHub, GitLab, Phabricator or Gerrit: one adapter per tool,
all with `count_comments(link) -> int`, and `adapter_for` to pick one for a repository."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from common.outbound import host_of, url_refusal
from common.redact import REVIEW_TOKEN_NAME, REVIEW_TOKEN_PREFIX
from pushes.choices import ReviewTool
from pushes.reviews.adapters.base import ReviewAdapter, ReviewUnavailable
from pushes.reviews.adapters.gerrit import GerritAdapter
from pushes.reviews.adapters.github import GitHubAdapter
from pushes.reviews.adapters.gitlab import GitLabAdapter
from pushes.reviews.adapters.phabricator import PhabricatorAdapter
from pushes.reviews.links import ReviewLink

if TYPE_CHECKING:
    from pushes.models import Repository

logger = logging.getLogger(__name__)

ADAPTERS: dict[str, type[ReviewAdapter]] = {
    ReviewTool.GITHUB: GitHubAdapter,
    ReviewTool.GITLAB: GitLabAdapter,
    ReviewTool.PHABRICATOR: PhabricatorAdapter,
    ReviewTool.GERRIT: GerritAdapter,
}


def adapter_for(repository: Repository, link: ReviewLink) -> ReviewAdapter | None:
    """The adapter that counts `link`'s comments, or None when it must not be fetched.

    Releasebot calls only the API the repository configured (`review_api`). A link is fetched
    only when it is a review on that tool's own web host; a link anywhere else (another tool,
    another host, a host a commit message made up) stays the pick's review link, shown and never
    fetched.
    """
    adapter_class = ADAPTERS.get(repository.review_tool)
    api = review_api(repository)
    if adapter_class is None or api is None or link.tool != repository.review_tool:
        return None
    api_url, token = api
    if host_of(link.url) not in adapter_class.web_hosts(api_url):
        return None
    return adapter_class(api_url, token)


def review_api(repository: Repository) -> tuple[str, str | None] | None:
    """The review tool's API a repository configured, and its token; None when none may be
    called: its `review_api_url`, or that tool's public API when it is blank (api.github.com,
    gitlab.com; Phabricator and Gerrit have none). The API must be HTTPS unless the repository
    allows plain HTTP. Counting comments and writing picks back both call it, nothing else."""
    adapter_class = ADAPTERS.get(repository.review_tool)
    if adapter_class is None:
        return None
    api_url = repository.review_api_url.strip() or adapter_class.default_api_url
    if not api_url:
        return None
    if refusal := url_refusal(api_url, allow_http=repository.review_allow_http):
        logger.warning("Review API of %s not called: %s", repository.slug, refusal)
        return None
    return api_url, _token(repository.review_token_env)


def _token(variable: str) -> str | None:
    """Secrets come from the environment only, from variables named RELEASEBOT_REVIEW_TOKEN_...;
    the row holds the variable's name. Any other name is refused: it could name a secret of the
    worker's that was never meant for a review tool."""
    variable = variable.strip()
    if not variable:
        return None
    if not REVIEW_TOKEN_NAME.match(variable):
        logger.warning(
            "Review token variable %s refused: only %s... variables hold review tokens; "
            "asking anonymously",
            variable,
            REVIEW_TOKEN_PREFIX,
        )
        return None
    token = os.environ.get(variable, "").strip()
    if not token:
        logger.warning("Review token variable %s is not set; asking anonymously", variable)
    return token or None


__all__ = [
    "ADAPTERS",
    "GerritAdapter",
    "GitHubAdapter",
    "GitLabAdapter",
    "PhabricatorAdapter",
    "ReviewAdapter",
    "ReviewUnavailable",
    "adapter_for",
    "review_api",
]
