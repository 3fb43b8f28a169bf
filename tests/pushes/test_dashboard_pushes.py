"""The push dashboard and the test console: every metric on a hand-made week with known answers,
and the pages, their filters, their escaping and their query counts.

The week (America/Los_Angeles, frozen at Friday 27 November 2026, 14:00): three branches cut
on Sundays at trunk positions 10, 20 and 30; this week's branch shipped Tuesday, then daily
pushes Wednesday to Friday, two of which failed and one of which failed and was retried.
No git is needed: the metrics read the database only.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, field

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pushes import charts
from pushes.choices import (
    BranchState,
    NotificationKind,
    PickState,
    PushKind,
    PushState,
    TestRunState,
)
from pushes.models import (
    Notification,
    Pick,
    PickEvent,
    Push,
    PushEvent,
    ReleaseBranch,
    Repository,
    Revision,
    TestRun,
)
from pushes.selectors import delivery, push_dashboard
from pushes.selectors.window import Window, weeks_parse, window_for
from tests.conftest import make_engineer

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
NOW = dt.datetime(2026, 11, 27, 14, 0, tzinfo=LA)


def la(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=LA)


def sha(position: int) -> str:
    return f"{position:040x}"


@dataclass
class Week:
    repository: Repository
    branches: dict[str, ReleaseBranch] = field(default_factory=dict)
    pushes: dict[str, Push] = field(default_factory=dict)
    picks: dict[str, Pick] = field(default_factory=dict)


def push_add(week: Week, name: str, branch: str, when: dt.datetime, **fields) -> Push:
    branch_row = week.branches[branch]
    number = fields.pop("number", None) or (
        Push.objects.filter(branch=branch_row, day=when.date()).count() + 1
    )
    push = Push.objects.create(
        branch=branch_row,
        kind=fields.pop("kind", PushKind.DAILY),
        day=when.date(),
        number=number,
        scheduled_at=when,
        **fields,
    )
    # Its story, as running it would have written it.
    if push.started_at:
        push_step(push, PushState.MERGING, push.started_at)
    if push.finished_at and push.state in (PushState.DONE, PushState.FAILED):
        push_step(push, push.state, push.finished_at)
    week.pushes[name] = push
    return push


def push_step(push: Push, state: str, at: dt.datetime) -> None:
    PushEvent.objects.create(push=push, at=at, to_state=state)


def pick_add(week: Week, name: str, requestor, *, position: int, push: str | None, **fields):
    events = fields.pop("events", [])
    pick = Pick.objects.create(
        branch=week.branches[fields.pop("branch", "this")],
        push=week.pushes[push] if push else None,
        sha=fields.pop("sha", sha(position)),
        trunk_position=position,
        title=f"Fix {name}",
        author_name="Alice",
        author_email="alice@example.com",
        requestor=requestor,
        reason="A fix",
        **fields,
    )
    previous = PickState.APPROVED
    for to_state, at in events:
        PickEvent.objects.create(pick=pick, at=at, from_state=previous, to_state=to_state)
        previous = to_state
    week.picks[name] = pick
    return pick


MIN = dt.timedelta(minutes=1)
DAILY, WEEKLY = PushKind.DAILY, PushKind.WEEKLY
DONE, FAILED, SCHEDULED = PushState.DONE, PushState.FAILED, PushState.SCHEDULED
PUSHES = [
    # name, branch, kind, scheduled ("day hh:mm" in November), state, how long it took
    ("W0", "first", WEEKLY, "10 11:00", DONE, 5 * MIN),
    ("W1", "last", WEEKLY, "17 11:00", DONE, 5 * MIN),
    ("old", "last", DAILY, "20 16:00", FAILED, 10 * MIN),
    ("W", "this", WEEKLY, "24 11:00", DONE, 4 * MIN),
    ("D1", "this", DAILY, "25 11:00", DONE, 10 * MIN),
    ("D2", "this", DAILY, "25 16:00", FAILED, 20 * MIN),
    ("D3", "this", DAILY, "26 11:00", DONE, 6 * MIN),
    ("D4", "this", DAILY, "26 16:00", FAILED, 2 * MIN),
    ("D5", "this", DAILY, "27 11:00", DONE, 8 * MIN),
    ("D6", "this", DAILY, "27 16:00", SCHEDULED, None),
    ("D7", "this", DAILY, "27 18:00", SCHEDULED, None),
]
EVENTS = {
    "ask": PickState.AWAITING_CONFIRMATION,
    "confirm": PickState.CONFIRMED,
    "pick": PickState.PICKED,
    "ship": PickState.SHIPPED,
    "conflict": PickState.CONFLICT,
    "fail": PickState.TESTS_FAILED,
    "roll": PickState.DEFERRED,
    "expire": PickState.EXPIRED,
    "revert": PickState.REVERTED,
}
PICKS = [
    # name, branch, push, trunk position, history ("move day hh:mm, ..."): the last is its state
    ("a", "this", "D1", 31, "ask 25 10:30, confirm 25 10:40, pick 25 11:03, ship 25 11:10"),
    ("b", "this", "D1", 32, "ask 25 10:30, confirm 25 10:40, pick 25 11:03, ship 25 11:10"),
    ("c", "this", "D1", 35, "ask 25 10:30, confirm 25 10:40, conflict 25 11:05"),
    ("d", "this", "D2", 36, "ask 25 10:30, roll 25 10:55, ask 25 15:30, confirm 25 15:45, "
     "fail 25 16:10"),
    ("e", "this", "D2", 37, "ask 25 15:30, confirm 25 15:40, pick 25 16:05"),
    ("f", "this", "D3", 33, "ask 26 10:30, confirm 26 10:35, pick 26 11:02, ship 26 11:06, "
     "revert 26 15:00"),
    ("g", "this", "D5", 34, "ask 27 10:30, confirm 27 10:31, pick 27 11:04, ship 27 11:08"),
    ("h", "this", "D6", 38, "ask 27 13:30"),
    # Left behind by Sunday's cut; and one that rolled too often at D4: deferred, then expired.
    ("i", "last", None, 39, "expire 22 18:00"),
    ("j", "this", "D4", 40, "ask 26 15:30, roll 26 16:01, expire 26 16:01"),
    # Shipped Tuesday 22:00 in Los Angeles (Wednesday 06:00 UTC); its revision is not indexed.
    ("x", "this", None, 99, "ship 24 22:00"),
    ("old", "last", None, 21, "ship 18 11:00"),  # before the window
]  # fmt: skip


def at(when: str) -> dt.datetime:
    day, clock = when.split()
    hour, minute = clock.split(":")
    return la(int(day), int(hour), int(minute))


def _history(text: str) -> list[tuple[str, str]]:
    steps = [step.strip().split(" ", 1) for step in text.split(",")]
    return [(word, when) for word, when in steps]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def week(db, alice, frozen) -> Week:
    repository = Repository.objects.create(
        slug="shop", name="Shop", remote_url="/nowhere", time_zone="America/Los_Angeles"
    )
    # Trunk: position p committed at Nov 20 00:00 + (p - 21) hours for 21..30 (this week's cut),
    # earlier ones a month before; 31.. are picked below with their own times.
    commit_times = {p: la(20, 0) + dt.timedelta(hours=p - 21) for p in range(21, 31)}
    commit_times |= {p: la(20, 0, month=10) + dt.timedelta(hours=p) for p in range(0, 21)}
    commit_times |= {31: la(23, 10), 32: la(24, 11, 10), 33: la(25, 23, 6), 34: la(27, 8, 8)}
    commit_times |= {p: la(25, 0) for p in range(35, 41)}
    Revision.objects.bulk_create(
        Revision(
            repository=repository,
            sha=sha(p),
            position=p,
            author_name="Alice",
            author_email="alice@example.com",
            committed_at=at,
            title=f"Commit {p}",
        )
        for p, at in commit_times.items()
    )
    w = Week(repository=repository)
    for name, day, base, branch_state in [
        ("first", 8, 10, BranchState.CLOSED),
        ("last", 15, 20, BranchState.CLOSED),
        ("this", 22, 30, BranchState.SHIPPED),
    ]:
        w.branches[name] = ReleaseBranch.objects.create(
            repository=repository,
            name=f"release/2026-11-{day:02d}",
            cut_at=la(day, 18),
            base_sha=sha(base),
            base_position=base,
            state=branch_state,
        )
    for name, branch, kind, when, state, took in PUSHES:
        scheduled = at(when)
        ran = {"started_at": scheduled, "finished_at": scheduled + took} if took else {}
        push_add(w, name, branch, scheduled, kind=kind, state=state, **ran)
    # D1 failed once and was retried: its story keeps the failure, as does its notice.
    push_step(w.pushes["D1"], PushState.FAILED, la(25, 11, 5))
    Notification.objects.create(
        engineer=alice,
        kind=NotificationKind.PUSH_FAILED,
        text="Push failed",
        push=w.pushes["D1"],
        created_at=la(25, 11, 5),
    )
    for name, branch, push, position, history in PICKS:
        events = [(EVENTS[word], at(when)) for word, when in _history(history)]
        shipped = [moment for state, moment in events if state == PickState.SHIPPED]
        pick_add(
            w,
            name,
            alice,
            branch=branch,
            push=push,
            position=position,
            sha="f" * 40 if name == "x" else sha(position),
            state=events[-1][0],
            shipped_at=shipped[0] if shipped else None,
            events=events,
        )
    return w


def one_week(week: Week) -> Window:
    return window_for(repository=week.repository, weeks=1)


# --- the window -----------------------------------------------------------------------------


def test_the_window_is_whole_days_in_the_repository_time_zone_today_included(week):
    window = one_week(week)
    assert window.since == la(21, 0)
    assert window.until == NOW
    assert window.days[0] == dt.date(2026, 11, 21)
    assert window.days[-1] == dt.date(2026, 11, 27)
    assert len(window_for(repository=week.repository, weeks=4).days) == 28


@pytest.mark.parametrize(
    ("given", "weeks"), [("4", 4), ("1", 1), ("0", 1), ("-3", 1), ("99", 26), ("x", 4), (None, 4)]
)
def test_weeks_are_parsed_and_clamped(given, weeks):
    assert weeks_parse(given) == weeks


def test_percentiles_are_nearest_rank():
    assert delivery.nearest_rank([4, 1, 3, 2], 0.5) == 2
    assert delivery.nearest_rank(list(range(1, 11)), 0.9) == 9
    assert delivery.nearest_rank([7], 0.9) == 7
    assert delivery.nearest_rank([], 0.5) is None


def test_durations_read_as_people_say_them():
    assert delivery.human_duration(dt.timedelta(days=2, hours=4, minutes=3)) == "2 d 4 h"
    assert delivery.human_duration(dt.timedelta(hours=3, minutes=12)) == "3 h 12 min"
    assert delivery.human_duration(dt.timedelta(minutes=4, seconds=35)) == "4 min 35 s"
    assert delivery.human_duration(dt.timedelta(seconds=12)) == "12 s"
    assert delivery.human_duration(None) == "—"


# --- each push's counts ---------------------------------------------------------------------


def counted(week: Week) -> dict[str, push_dashboard.PushCounts]:
    rows = push_dashboard.pushes_counted(Push.objects.filter(branch=week.branches["this"]))
    names = {p.pk: name for name, p in week.pushes.items()}
    return {names[p.push.pk]: p for p in rows}


def test_each_push_counts_its_picks_by_outcome(week):
    rows = counted(week)
    outcome = {
        name: (p.shipped, p.reverted, p.conflict, p.tests_failed, p.picked, p.waiting)
        for name, p in rows.items()
    }
    assert outcome["D1"] == (2, 0, 1, 0, 0, 0)
    assert outcome["D2"] == (0, 0, 0, 1, 1, 0)
    assert outcome["D3"] == (1, 1, 0, 0, 0, 0)  # shipped, then reverted: it did ship
    assert outcome["D5"] == (1, 0, 0, 0, 0, 0)


def test_rolled_counts_the_picks_moved_off_a_push_between_the_previous_push_and_its_end(week):
    rows = counted(week)
    assert {name: p.rolled for name, p in rows.items()} == {
        "W": 0,
        "D1": 1,  # d, not confirmed in time
        "D2": 0,
        "D3": 0,
        "D4": 1,  # j rolled once too often: deferred then expired, one roll
        "D5": 0,
        "D6": 0,
        "D7": 0,
    }


def test_confirmation_is_confirmed_before_the_push_over_asked_for_it(week):
    rows = counted(week)
    asked = {name: (p.confirmed, p.asked) for name, p in rows.items()}
    assert asked["W"] == (0, 0)  # the weekly ship asks no one
    assert asked["D1"] == (3, 4)  # a, b, c confirmed; d rolled
    assert asked["D2"] == (2, 2)  # d (asked again) and e
    assert asked["D4"] == (0, 1)
    assert asked["D6"] == (0, 1)  # the next push: h asked, not confirmed yet
    assert asked["D7"] == (0, 0)  # after the next push: no window yet
    assert rows["D1"].confirm_rate == 0.75
    assert rows["W"].confirm_rate is None


def test_a_running_push_shows_its_progress_pick_by_pick(week, alice):
    push = week.pushes["D6"]
    Push.objects.filter(pk=push.pk).update(state=PushState.MERGING, started_at=NOW)
    Pick.objects.filter(pk=week.picks["h"].pk).update(state=PickState.CONFIRMED)
    for n, state in enumerate([PickState.PICKED, PickState.PICKED, PickState.CONFLICT]):
        pick_add(week, f"run{n}", alice, position=50 + n, push="D6", state=state)
    row = counted(week)["D6"]
    assert row.is_running
    assert (row.progress.done, row.progress.total, row.progress.percent) == (3, 4, 75)


# --- the train's timeline -------------------------------------------------------------------


def test_the_timeline_is_the_current_branch_of_each_active_repository(week):
    Repository.objects.create(slug="idle", name="Idle", remote_url="/nowhere")
    Repository.objects.create(slug="gone", name="Gone", remote_url="/nowhere", is_active=False)
    timelines = {t.repository.slug: t for t in push_dashboard.train_timelines()}
    assert set(timelines) == {"shop", "idle"}
    assert timelines["idle"].branch is None
    shop = timelines["shop"]
    assert shop.branch == week.branches["this"]
    assert shop.weekly.push == week.pushes["W"]
    assert [p.push.pk for p in shop.dailies] == [
        week.pushes[n].pk for n in ("D1", "D2", "D3", "D4", "D5", "D6", "D7")
    ]
    assert shop.next_push_id == week.pushes["D6"].pk
    assert not shop.stabilising_now
    assert not push_dashboard.pushes_running(list(timelines.values()))


# --- picks per day --------------------------------------------------------------------------


def test_picks_per_day_count_each_outcome_on_its_local_day(week):
    per_day = push_dashboard.picks_per_day(repository=week.repository, window=one_week(week))
    # Sat 21, Sun 22, Mon 23, Tue 24, Wed 25, Thu 26, Fri 27
    assert per_day.series == {
        "shipped": [0, 0, 0, 1, 2, 1, 1],  # x shipped Tuesday night, LA time
        "conflict": [0, 0, 0, 0, 1, 0, 0],
        "tests-failed": [0, 0, 0, 0, 1, 0, 0],
        "rolled": [0, 1, 0, 0, 1, 1, 0],  # i expired by the cut; d; j once
    }
    assert per_day.totals == {"shipped": 5, "conflict": 1, "tests-failed": 1, "rolled": 3}


# --- delivery metrics -----------------------------------------------------------------------


def test_deploy_frequency_is_pushes_done_per_week_and_day(week):
    frequency = delivery.deploy_frequency(repository=week.repository, window=one_week(week))
    # W, D1 (retried), D3, D5; D2 and D4 failed, D6 and D7 are to come.
    assert (frequency.done, frequency.weekly, frequency.daily) == (4, 1, 3)
    assert frequency.per_week == 4
    assert frequency.per_day == pytest.approx(4 / 7)


def test_lead_time_of_picks_is_shipped_minus_committed_median_and_p90(week):
    lead = delivery.lead_time_picks(repository=week.repository, window=one_week(week))
    # a: 2 d 1 h 10 min; b: 1 d; f (reverted, it shipped): 12 h; g: 3 h. x is not indexed, and
    # the pick shipped last week is out of the window.
    assert lead.count == 4
    assert lead.median == dt.timedelta(hours=12)
    assert lead.p90 == dt.timedelta(days=2, hours=1, minutes=10)


def test_lead_time_by_the_cut_is_the_weekly_ship_finish_minus_committed(week):
    lead = delivery.lead_time_cut(repository=week.repository, window=one_week(week))
    # Commits 21..30 rode this week's cut; the weekly ship finished Tue 24 11:04, and commit
    # p was made Nov 20 00:00 + (p - 21) h: leads 4 d 11 h 4 min minus 0..9 hours.
    full = dt.timedelta(days=4, hours=11, minutes=4)
    assert (lead.count, lead.ships) == (10, 1)
    assert lead.median == full - dt.timedelta(hours=5)
    assert lead.p90 == full - dt.timedelta(hours=1)


def test_lead_time_by_the_cut_leaves_the_repository_first_cut_out(week):
    window = window_for(repository=week.repository, weeks=4)
    lead = delivery.lead_time_cut(repository=week.repository, window=window)
    assert (lead.count, lead.ships) == (20, 2)  # 11..20 and 21..30; not 0..10


def test_change_failure_rate_is_pushes_failed_or_reverted_over_pushes_finished(week):
    rate = delivery.change_failure_rate(repository=week.repository, window=one_week(week))
    # Finished in the window: W, D1, D2, D3, D4, D5. Failed: D2, D4 and D1 (before its
    # retry); D3 shipped a pick later reverted. The failed push of last week is outside.
    assert (rate.pushes, rate.failed, rate.reverted, rate.failures) == (6, 3, 1, 4)
    assert rate.share == pytest.approx(4 / 6)


def test_time_to_restore_runs_from_a_failure_to_the_branch_next_push_done(week):
    restore = delivery.time_to_restore(repository=week.repository, window=one_week(week))
    durations = [o.duration for o in restore.outages]
    assert durations == [
        dt.timedelta(minutes=5),  # D1 failed at 11:05 and its retry finished at 11:10
        dt.timedelta(hours=18, minutes=46),  # D2 16:20 to D3 11:06
        dt.timedelta(hours=19, minutes=6),  # D4 16:02 to D5 11:08
    ]
    assert restore.median == dt.timedelta(hours=18, minutes=46)
    assert restore.open == []


def test_failures_in_a_row_are_one_outage_and_an_unrestored_one_stays_open(week):
    for name in ("D3", "D5"):
        push = week.pushes[name]
        Push.objects.filter(pk=push.pk).update(state=PushState.FAILED)
        PushEvent.objects.filter(push=push, to_state=PushState.DONE).update(
            to_state=PushState.FAILED
        )
    restore = delivery.time_to_restore(repository=week.repository, window=one_week(week))
    assert [o.failed_push for o in restore.restored] == ["2026-11-25.1"]
    assert [(o.failed_push, o.started_at) for o in restore.open] == [
        ("2026-11-25.2", la(25, 16, 20))  # D2, D3, D4 and D5 failed: one outage, still open
    ]
    assert restore.median == dt.timedelta(minutes=5)


# --- charts ---------------------------------------------------------------------------------


def test_charts_are_self_contained_svg_with_a_title_on_every_bar(week):
    per_day = push_dashboard.picks_per_day(repository=week.repository, window=one_week(week))
    svgs = [
        charts.picks_per_day_chart(per_day.days, per_day.series, push_dashboard.OUTCOMES),
        charts.confirmation_chart(["11-25.1", "11-25.2"], [4, 2], [3, 2]),
        charts.duration_chart(["11-25.1", "11-25.2"], [10.0, 20.0], [False, True]),
    ]
    for svg in svgs:
        assert svg.startswith("<svg")
        assert "<script" not in svg
        assert "kozea.github.io" not in svg and 'href="http' not in svg
    assert "<title>Shipped · Wed 25 Nov: 2</title>" in svgs[0]
    assert "<title>Confirmed before the push · 11-25.1: 3 of 4 confirmed</title>" in svgs[1]
    assert "<title>Failed · 11-25.2: 20 min</title>" in svgs[2]


# --- the dashboard page ---------------------------------------------------------------------


def queries(client, path: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.status_code
    return len(captured), response.content.decode()


def test_the_dashboard_shows_the_train_metrics_with_definitions_and_graphs(client, week, alice):
    client.force_login(alice.user)
    _, page = queries(client, reverse("pushes-dashboard") + "?weeks=1")
    assert "release/2026-11-22" in page
    assert "Weekly ship" in page and "Push 11-25.1" in page
    assert page.count("<svg") >= 3
    assert '4.0 <span class="stat-unit">a week' in page  # deploy frequency
    assert '12 h 00 min <span class="stat-unit">median' in page  # lead time of picks
    assert '66.7 <span class="stat-unit">%' in page  # change failure rate
    assert '18 h 46 min <span class="stat-unit">median' in page  # time to restore
    for definition in (
        "Pushes that finished <em>done</em> in the window",
        "<code>shipped_at − committed_at</code>",
        "shipped a pick that was later reverted",
        "From a push's failure to the next push of the same branch",
    ):
        assert definition in page
    assert "Sat 21 Nov – Fri 27 Nov 2026" in page
    assert 'hx-trigger="every 30s"' in page  # nothing runs: the timeline polls slowly


def test_the_dashboard_polls_every_3_seconds_while_a_push_runs(client, week, alice):
    Push.objects.filter(pk=week.pushes["D6"].pk).update(state=PushState.MERGING, started_at=NOW)
    Pick.objects.filter(pk=week.picks["h"].pk).update(state=PickState.CONFIRMED)
    pick_add(week, "done", alice, position=60, push="D6", state=PickState.PICKED)
    client.force_login(alice.user)
    for name in ("pushes-dashboard", "pushes-live"):
        _, page = queries(client, reverse(name))
        assert 'hx-trigger="every 3s"' in page
        assert "merging 1/2" in page


def test_the_dashboard_takes_as_many_queries_for_50_pushes_as_for_5(client, week, alice):
    client.force_login(alice.user)
    path = reverse("pushes-dashboard") + "?weeks=4"

    def more_pushes(count: int, start: int) -> None:
        for n in range(count):
            number = start + n
            push = push_add(week, f"extra{number}", "this", la(23, 6), number=10 + number)
            Push.objects.filter(pk=push.pk).update(
                state=PushState.DONE, started_at=la(23, 6), finished_at=la(23, 7)
            )
            history = [(PickState.SHIPPED, la(23, 7))]
            pick_add(week, f"p{number}", alice, position=31, sha=f"{number + 1000:040x}",
                     push=f"extra{number}", state=PickState.SHIPPED, shipped_at=la(23, 7),
                     events=history)  # fmt: skip
            TestRun.objects.create(
                push=push, command="pytest", started_at=la(23, 6), state="passed"
            )

    more_pushes(5, 0)
    few, _ = queries(client, path)
    more_pushes(45, 5)
    many, page = queries(client, path)
    assert many == few
    assert page.count(">2026-11-23.") == 50


def test_the_dashboard_is_for_signed_in_engineers(client, week, db):
    response = client.get(reverse("pushes-dashboard"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    nobody = make_engineer("nobody")
    nobody.delete()
    client.force_login(nobody.user)
    assert client.get(reverse("pushes-dashboard")).status_code == 403


def test_the_dashboard_says_so_when_there_is_no_repository(client, alice):
    client.force_login(alice.user)
    _, page = queries(client, reverse("pushes-dashboard"))
    assert "No active repositories" in page


# --- the test console -----------------------------------------------------------------------


def run_links(page: str) -> int:
    return len(re.findall(r'href="/tests/\d+/"', page))


def runs_add(week: Week, count: int, *, push: str = "D1", pick: str | None = None, **fields):
    started = la(25, 11, 1)
    return [
        TestRun.objects.create(
            push=week.pushes[push],
            pick=week.picks[pick] if pick else None,
            command="python3 run_tests.py",
            started_at=started + dt.timedelta(seconds=n),
            finished_at=started + dt.timedelta(seconds=n + 30),
            **{"exit_code": 0, "state": TestRunState.PASSED, "log": "ok\n" * 1000, **fields},
        )
        for n in range(count)
    ]


def test_the_console_lists_runs_newest_first_50_a_page_without_their_logs(client, week, alice):
    runs = runs_add(week, 60, pick="a")
    client.force_login(alice.user)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("test-runs")).content.decode()
    assert '"pushes_testrun"."log"' not in " ".join(q["sql"] for q in captured.captured_queries)
    assert page.index(f"#{runs[-1].pk}<") < page.index(f"#{runs[-2].pk}<")
    assert run_links(page) == 50
    assert "Page 1 of 2" in page
    second = client.get(reverse("test-runs") + "?page=2").content.decode()
    assert run_links(second) == 10


def test_the_console_takes_as_many_queries_for_50_runs_as_for_5(client, week, alice):
    client.force_login(alice.user)
    path = reverse("test-runs") + f"?push={week.pushes['D1'].pk}"
    runs_add(week, 5, pick="a")
    few, _ = queries(client, path)
    runs_add(week, 45, pick="b")
    many, page = queries(client, path)
    assert many == few
    assert run_links(page) == 50


def test_the_console_filters_by_push_pick_and_state(client, week, alice):
    d1 = runs_add(week, 2, pick="a")
    d2 = runs_add(week, 1, push="D2", pick="d", state=TestRunState.FAILED)
    whole = runs_add(week, 1, push="W")
    client.force_login(alice.user)

    def listed(query: str) -> set[int]:
        page = client.get(reverse("test-runs") + query).content.decode()
        return {r.pk for r in d1 + d2 + whole if f'href="/tests/{r.pk}/"' in page}

    assert listed("") == {r.pk for r in d1 + d2 + whole}
    assert listed(f"?push={week.pushes['D1'].pk}") == {r.pk for r in d1}
    assert listed(f"?pick={week.picks['d'].pk}") == {d2[0].pk}
    assert listed("?state=failed") == {d2[0].pk}
    assert listed(f"?state=passed&push={week.pushes['W'].pk}") == {whole[0].pk}
    page = client.get(reverse("test-runs") + "?state=bogus").content.decode()
    assert "left out of the filter" in page
    assert listed("?state=bogus") == {r.pk for r in d1 + d2 + whole}


def test_a_test_run_page_shows_the_whole_log_escaped(client, week, alice):
    run = runs_add(week, 1, pick="a")[0]
    TestRun.objects.filter(pk=run.pk).update(
        log="FAILED test_cart\n<script>alert('x')</script> & more",
        exit_code=3,
        state=TestRunState.FAILED,
    )
    client.force_login(alice.user)
    count, page = queries(client, reverse("test-run", args=[run.pk]))
    log = '<pre class="log" tabindex="0" aria-label="Test output">'
    assert log + "FAILED test_cart\n&lt;script&gt;alert(&#x27;x&#x27;)" in page
    assert "<script>alert" not in page
    assert "&amp; more" in page
    assert ">3</dd>" in page  # the exit code
    assert "<dd>30 s</dd>" in page  # the duration, as people say it
    assert count < 10
    assert client.get(reverse("test-run", args=[999999])).status_code == 404
