"""The navigation's search box: one line of text to a pick, a revision or people.

The rule, as the search page says it:
- `#70`, `pick 70` or `pick #70` is pick 70. When there is no pick 70, `#70` is review number 70
  (as it always was); `pick 70` is then not found.
- `D123`, `PR 42` and `MR 42` are always review numbers, never picks.
- A SHA (7 to 40 hex digits), a bare number and a review URL are revisions, as before.
- Anything else finds people by username or name (first, last or full), any case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from common.errors import DomainError, NotFound
from pushes.models import Engineer, Pick
from pushes.selectors.people import engineers_matching
from pushes.selectors.revisions import revision_lookup

_PICK = re.compile(r"^(?:(pick)\s*#?|#)\s*(\d{1,18})$", re.IGNORECASE)
_PULL_REQUEST = re.compile(r"^(?:PR|MR)\s*#?\s*(\d{1,9})$", re.IGNORECASE)
# What `/r/<rev>/` takes as it is: a SHA or a review number; it says what it found there.
_REVISION_WORD = re.compile(r"^(?:[0-9a-f]{7,40}|D?\d{1,9})$", re.IGNORECASE)
_BIGGEST_ID = 2**63 - 1  # no row has a larger one, and a database refuses to compare it


@dataclass(frozen=True)
class SearchAnswer:
    """Where a search goes: a pick's page, a revision's page (`revision` is what to put in
    `/r/<revision>/`), or a page of the people it matched."""

    pick: Pick | None = None
    revision: str = ""
    people: list[Engineer] = field(default_factory=list)


def search_find(*, query: str) -> SearchAnswer:
    """What the search box's `query` names, by the rule above; a refusal (DomainError) when it
    names nothing: no such pick, revision or person."""
    text = " ".join(query.split())
    if asked := _PICK.match(text):
        return _pick_or_review(text, int(asked.group(2)), said_pick=bool(asked.group(1)))
    if review := _PULL_REQUEST.match(text):
        return SearchAnswer(revision=review.group(1))
    if _REVISION_WORD.match(text):
        return SearchAnswer(revision=text)
    if text.startswith(("http://", "https://")):
        return SearchAnswer(revision=revision_lookup(query=text).sha)
    people = engineers_matching(query=text)
    if not people:
        raise DomainError(
            f"Nothing matches {text[:40]!r}: give a SHA (7+ hex digits), a review URL, a review "
            "number (D123, PR 42), a pick (#70) or a person's username or name.",
            code="nothing-found",
        )
    return SearchAnswer(people=people)


def _pick_or_review(text: str, number: int, *, said_pick: bool) -> SearchAnswer:
    pick = Pick.objects.filter(pk=number).first() if number <= _BIGGEST_ID else None
    if pick is not None:
        return SearchAnswer(pick=pick)
    if said_pick:
        raise NotFound(f"There is no pick #{number}.", code="unknown-pick")
    try:
        return SearchAnswer(revision=revision_lookup(query=f"#{number}").sha)
    except NotFound:
        raise NotFound(
            f"There is no pick #{number}, and no trunk commit has review number {number}.",
            code="unknown-revision",
        ) from None
