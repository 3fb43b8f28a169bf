"""The risk dashboard's index (pushes.services.risk_index): filled for the changed picks
before the dashboard reads, and put right by the ten-minute check when a write escaped it."""

from __future__ import annotations

import logging

from django.db import connection
from django.test.utils import CaptureQueriesContext

from pushes.models import Pick
from pushes.selectors.risk_dashboard import RiskFilters, dashboard_risk
from pushes.selectors.risk_rows import train_branches
from pushes.services.risk_index import picks_risk_check, picks_risk_fill
from pushes.tasks import picks_risk_check as picks_risk_check_task
from tests.pushes.test_dashboard_risk import make_pick


def ranks(*picks: Pick) -> list[tuple[int | None, bool]]:
    return [
        tuple(Pick.objects.filter(pk=p.pk).values_list("risk_rank", "risk_flagged").get())
        for p in picks
    ]


def test_a_fill_computes_only_the_changed_picks_and_then_costs_one_query(branch, alice, bob):
    big = make_pick(branch, alice, lines_added=480, lines_deleted=40, files_changed=6,
                    review_comments=14)  # fmt: skip
    small = make_pick(branch, bob, lines_added=3, lines_deleted=1, review_comments=0)
    assert ranks(big, small) == [(None, False), (None, False)]  # new: not computed yet
    branches = train_branches()
    assert picks_risk_fill(branches=branches) == 2
    assert ranks(big, small) == [(0, True), (2, False)]  # high and flagged; low
    with CaptureQueriesContext(connection) as nothing_to_do:
        assert picks_risk_fill(branches=branches) == 0
    assert len(nothing_to_do) == 1
    # The small pick grows: only it is computed again.
    Pick.objects.filter(pk=small.pk).update(lines_added=900, files_changed=4)
    assert ranks(big, small) == [(0, True), (None, False)]
    assert picks_risk_fill(branches=branches) == 1
    assert ranks(small) == [(1, False)]  # large alone: medium


def test_the_check_puts_right_a_rank_a_write_left_wrong_and_says_so(branch, alice, caplog):
    big = make_pick(branch, alice, lines_added=480, lines_deleted=40, files_changed=6,
                    review_comments=14)  # fmt: skip
    picks_risk_fill(branches=train_branches())
    # A write that bypasses the models (raw SQL) leaves the kept rank wrong.
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{Pick._meta.db_table}" SET "risk_rank" = 2, "risk_flagged" = %s '
            'WHERE "id" = %s',
            [False, big.pk],
        )
    page = dashboard_risk(filters=RiskFilters(risk="low"))
    assert [row.pick.pk for group in page.groups for row in group.rows] == [big.pk]  # wrong
    with caplog.at_level(logging.WARNING, logger="pushes.services.risk_index"):
        picks_risk_check_task.apply()  # the task the beat sends, run here
    assert ranks(big) == [(0, True)]
    assert "1 open picks had a rank their inputs no longer give" in caplog.text
    assert dashboard_risk(filters=RiskFilters(risk="low")).total == 0
    assert dashboard_risk(filters=RiskFilters(risk="high")).total == 1
    assert picks_risk_check() == 0  # run twice: nothing more to put right


def test_the_check_computes_empty_ranks_without_calling_them_wrong(branch, alice, caplog):
    pick = make_pick(branch, alice, lines_added=3, lines_deleted=1, review_comments=0)
    with caplog.at_level(logging.WARNING, logger="pushes.services.risk_index"):
        assert picks_risk_check() == 0
    assert ranks(pick) == [(2, False)] and "had a rank" not in caplog.text


def test_a_rank_emptied_between_the_fill_and_the_counts_still_shows_its_pick(
    branch, alice, rel, client, monkeypatch
):
    """A write that lands while the dashboard reads (after its fill) leaves one rank empty:
    the page still answers, with the pick listed and counted in the total."""
    from pushes.selectors import risk_dashboard

    pick = make_pick(branch, alice, lines_added=3, lines_deleted=1, review_comments=0)
    monkeypatch.setattr(risk_dashboard, "picks_risk_fill", lambda **kwargs: 0)
    page = dashboard_risk(filters=RiskFilters())
    assert page.total == 1 and sum(page.levels.values()) == 0
    assert [row.pick.pk for group in page.groups for row in group.rows] == [pick.pk]
    client.force_login(rel.user)
    assert client.get("/dashboard/risk/").status_code == 200
