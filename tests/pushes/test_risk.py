"""Risk levels that explain themselves."""

from __future__ import annotations

import datetime as dt

from pushes.models import Pick, Push, ReleaseBranch, Repository
from pushes.risk import HIGH, LOW, MEDIUM, churn_of, pick_risk
from tests.pushes.conftest import LA

WEDNESDAY = dt.datetime(2026, 11, 25, 11, 0, tzinfo=LA)
FRIDAY = dt.datetime(2026, 11, 27, 11, 0, tzinfo=LA)


def pick(**fields) -> Pick:
    repository = Repository(
        slug="shop", name="Shop", time_zone="America/Los_Angeles",
        risk_size_threshold=400, risk_churn_threshold=70, hot_paths=["app/checkout/*"],
    )  # fmt: skip
    branch = ReleaseBranch(repository=repository, name="release/2026-11-22")
    push = Push(branch=branch, scheduled_at=fields.pop("push_at", WEDNESDAY))
    values = dict(
        branch=branch, push=push, lines_added=10, lines_deleted=2, files_changed=1,
        review_comments=1, paths=["app/search/rank.py"],
        created_at=WEDNESDAY - dt.timedelta(days=1),
    )  # fmt: skip
    values.update(fields)
    return Pick(**values)


def test_a_small_quiet_pick_from_a_five_star_requestor_is_low_risk():
    risk = pick_risk(pick(), stars=5)
    assert (risk.level, risk.reasons, risk.flagged) == (LOW, (), False)
    assert risk.size == 10 + 2 + 30


def test_size_counts_thirty_per_file_and_churn_seven_per_comment():
    assert pick(lines_added=100, lines_deleted=50, files_changed=3).size == 240
    assert churn_of(comments=10, rejections=1, updates=2) == 70 + 30 + 20
    assert churn_of(comments=None) is None


def test_large_and_controversial_is_flagged_high():
    risk = pick_risk(pick(lines_added=500, review_comments=12), stars=5)
    assert risk.flagged
    assert risk.level == HIGH
    assert risk.reasons == ("large and controversial",)


def test_each_reason_is_named():
    risk = pick_risk(pick(lines_added=500, paths=["app/checkout/pay.py"], push_at=FRIDAY), stars=2)
    assert risk.reasons == (
        "large (502 lines, 1 files)",
        "2-star requestor",
        "hot files (app/checkout/pay.py)",
        "Friday",
    )
    assert risk.level == HIGH


def test_one_reason_is_medium_and_a_late_request_is_one():
    late = pick(created_at=WEDNESDAY - dt.timedelta(minutes=5))
    risk = pick_risk(late, stars=5)
    assert (risk.level, risk.reasons) == (MEDIUM, ("close to the push",))


def test_unknown_review_discussion_is_not_counted_as_controversial():
    risk = pick_risk(pick(review_comments=None), stars=5)
    assert risk.churn is None and risk.level == LOW


def test_the_picks_own_risk_leaves_out_the_push():
    risk = pick_risk(pick(push_at=FRIDAY), stars=5, when_pushed=False)
    assert risk.level == LOW
