"""Counting a review's comments on GitHub, GitLab, Phabricator or Gerrit: one adapter per tool,
all with `count_comments(link) -> int`, and `adapter_for` to pick one for a repository."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

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
    """The adapter that can count `link`'s comments, or None for a tool we do not know.

    The adapter is the link's tool's. The repository's review settings (API URL, token) are for
    the tool it names, so they apply only to links on that tool. A link elsewhere (a github.com
    pull request in a Phabricator shop, or any link when the repository names no tool) is read
    anonymously from the API its own URL implies: a token never goes to a tool it was not
    issued for.
    """
    adapter_class = ADAPTERS.get(link.tool)
    if adapter_class is None:
        return None
    if repository.review_tool != link.tool:
        return adapter_class(adapter_class.api_url_for(link), None)
    api_url = repository.review_api_url.strip() or adapter_class.api_url_for(link)
    return adapter_class(api_url, _token(repository.review_token_env))


def _token(variable: str) -> str | None:
    """Secrets come from the environment only; the row holds the variable's name."""
    variable = variable.strip()
    if not variable:
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
]
