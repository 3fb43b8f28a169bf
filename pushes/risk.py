"""How risky a pick is, and why: a level with its reasons, from Releeph's scales.

size  = lines added + lines deleted + 30 x files changed
churn = 7 x review comments + 30 x rejections + 10 x updates
Thresholds are per repository. Pure functions: the caller brings the pick's numbers, the
requestor's stars and how often the revision was rejected before.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass

from pushes import cadence
from pushes.models import Pick

LOW, MEDIUM, HIGH = "low", "medium", "high"
LOW_KARMA = 3  # stars at or below which a requestor is a reason to look closer
# A level as a rank, the riskiest first in ascending order (Pick.risk_rank)
RANK_OF_LEVEL = {HIGH: 0, MEDIUM: 1, LOW: 2}
LEVEL_OF_RANK = {rank: level for level, rank in RANK_OF_LEVEL.items()}


@dataclass(frozen=True)
class Risk:
    level: str
    reasons: tuple[str, ...]
    size: int
    churn: int | None  # None: the review tool could not be asked
    flagged: bool  # large AND controversial: the release engineer looks closely

    @property
    def summary(self) -> str:
        return f"{self.level}: {', '.join(self.reasons)}" if self.reasons else self.level

    def record(self, *, stars: int, at: dt.datetime) -> dict[str, object]:
        """The risk as it stands now, to keep with a pick decided now (Pick.decided_risk)."""
        return {
            "level": self.level,
            "reasons": list(self.reasons),
            "size": self.size,
            "churn": self.churn,
            "flagged": self.flagged,
            "stars": stars,
            "at": at.isoformat(),
        }

    @classmethod
    def from_record(cls, record: dict) -> Risk:
        return cls(
            level=str(record["level"]),
            reasons=tuple(record.get("reasons") or ()),
            size=int(record.get("size") or 0),
            churn=record.get("churn"),
            flagged=bool(record.get("flagged")),
        )


def churn_of(*, comments: int | None, rejections: int = 0, updates: int = 0) -> int | None:
    if comments is None:
        return None
    return 7 * comments + 30 * rejections + 10 * updates


def pick_risk(pick: Pick, *, stars: int, rejections: int = 0, when_pushed: bool = True) -> Risk:
    """The pick's risk level and the reasons behind it, most important first.

    `when_pushed=False` leaves out what depends on the push (Friday, close to the push): the
    pick's own risk, which the Friday `careful` policy judges.
    """
    repository = pick.branch.repository
    size = pick.size
    churn = churn_of(comments=pick.review_comments, rejections=rejections)
    large = size >= repository.risk_size_threshold
    controversial = churn is not None and churn >= repository.risk_churn_threshold
    reasons = []
    if large and controversial:
        reasons.append("large and controversial")
    elif large:
        reasons.append(f"large ({pick.lines_added + pick.lines_deleted} lines, "
                       f"{pick.files_changed} files)")  # fmt: skip
    elif controversial:
        reasons.append(f"controversial ({pick.review_comments} review comments)")
    if stars <= LOW_KARMA:
        reasons.append(f"{stars}-star requestor")
    hot = _hot_paths(pick.paths, repository.hot_paths)
    if hot:
        reasons.append(f"hot files ({', '.join(hot[:2])}{'…' if len(hot) > 2 else ''})")
    if pick.predicted_conflicts:
        reasons.append("predicted to conflict")
    push = pick.push
    if push is not None and when_pushed:
        if cadence.is_friday(repository, push.scheduled_at):
            reasons.append("Friday")
        lead = dt.timedelta(minutes=repository.confirm_lead_minutes)
        if pick.created_at and push.scheduled_at - pick.created_at < lead:
            reasons.append("close to the push")
    level = LOW if not reasons else MEDIUM
    if (large and controversial) or len(reasons) >= 2:
        level = HIGH
    return Risk(
        level=level,
        reasons=tuple(reasons),
        size=size,
        churn=churn,
        flagged=large and controversial,
    )


def _hot_paths(paths: list[str], patterns: list[str]) -> list[str]:
    return [p for p in paths if any(fnmatch.fnmatch(p, pattern) for pattern in patterns)]
