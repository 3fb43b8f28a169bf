"""The release engineer's risk dashboard, used as rel uses it: filters, sorts, in-place moves
with htmx, bulk approval, unlike; and the same number of queries for 10 picks as for 200."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from karma.models import KarmaEvent
from karma.selectors import karma_stars
from karma.services import karma_unlike
from pushes import services
from pushes.choices import BranchState, PickState, PushState, ReviewStatus
from pushes.models import Pick, PickEvent, Push, ReleaseBranch, Repository
from pushes.risk import pick_risk
from pushes.selectors import pick_rejections
from pushes.selectors.risk_dashboard import RiskFilters, dashboard_risk, dashboard_risk_row
from tests.conftest import make_engineer

HTMX = {"HX-Request": "true"}
_shas = itertools.count(1)


def signed_in(client: Client, engineer) -> Client:
    client.force_login(engineer.user)
    return client


def text(response) -> str:
    return response.content.decode()


def next_push(branch: ReleaseBranch) -> Push | None:
    return branch.pushes.filter(state=PushState.SCHEDULED).order_by("scheduled_at").first()


def make_pick(branch, requestor, *, state=PickState.REQUESTED, push="next", **fields) -> Pick:
    """A pick as pick_request stores it, without asking git: the dashboard never does."""
    n = next(_shas)
    values = {
        "sha": f"{n:040x}",
        "title": f"Change {n}",
        "author_name": "Alice",
        "author_email": "alice@example.com",
        "reason": "Customers are waiting",
        "lines_added": 10,
        "lines_deleted": 2,
        "files_changed": 1,
        "review_comments": 1,
        "review_status": ReviewStatus.KNOWN,
        "review_url": f"https://github.com/shop/shop/pull/{n}",
        **fields,
    }
    return Pick.objects.create(
        branch=branch,
        requestor=requestor,
        state=state,
        push=next_push(branch) if push == "next" else push,
        **values,
    )


def row_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="pick-(\d+)"', html)]


def dashboard(client: Client, **params) -> str:
    response = client.get(reverse("risk-dashboard"), params)
    assert response.status_code == 200
    return text(response)


def act(client: Client, pick: Pick, action: str, reason: str = ""):
    url = reverse("risk-pick-act", args=[pick.pk])
    return client.post(url, {"action": action, "reason": reason}, headers=HTMX)


@pytest.fixture
def train(branch, alice, bob, carol):
    """The current train: alice's flagged pick, bob's small one and one without a push,
    carol's (two stars) awaiting confirmation; and picks the dashboard must leave out."""
    picks = {
        "flagged": make_pick(
            branch, alice, lines_added=480, lines_deleted=40, files_changed=6, review_comments=14
        ),
        "small": make_pick(branch, bob, lines_added=3, lines_deleted=1, review_comments=0),
        "unpushed": make_pick(branch, bob, push=None, review_comments=None, review_url=""),
        "carols": make_pick(
            branch, carol, state=PickState.AWAITING_CONFIRMATION, lines_added=50, files_changed=2
        ),
        "shipped": make_pick(branch, alice, state=PickState.SHIPPED),
        "rejected": make_pick(branch, alice, state=PickState.REJECTED),
    }
    old = ReleaseBranch.objects.create(
        repository=branch.repository,
        name="release/2026-11-15",
        cut_at=branch.cut_at.replace(day=15),
        base_sha="0" * 40,
        state=BranchState.CLOSED,
    )
    picks["old branch"] = make_pick(old, alice, push=None)
    return picks


# --- what rel sees ------------------------------------------------------------------------


def test_rel_sees_every_open_pick_of_the_train_grouped_by_push(client, rel, train):
    page = dashboard(signed_in(client, rel))
    shown = row_ids(page)
    expected = {train[name].pk for name in ("flagged", "small", "unpushed", "carols")}
    assert set(shown) == expected
    push = train["flagged"].push
    assert f'<tbody id="push-{push.pk}"' in page and '<tbody id="no-push"' in page
    assert page.index(f'id="push-{push.pk}"') < page.index('id="no-push"')
    assert page.index(f'id="pick-{train["unpushed"].pk}"') > page.index('id="no-push"')
    assert "No push yet" in page and push.label in page


def test_the_flagged_row_stands_out_with_its_reasons(client, rel, train):
    page = dashboard(signed_in(client, rel))
    flagged = train["flagged"]
    row = re.search(rf'<tr id="pick-{flagged.pk}" class="([^"]*)".*?</tr>', page, re.S)
    assert "hot" in row.group(1).split()
    assert "&#9873;" in row.group(0) and "large and controversial" in row.group(0)
    assert f'href="{flagged.review_url}"' in row.group(0) and ">14</a>" in row.group(0)
    small = re.search(rf'<tr id="pick-{train["small"].pk}" class="([^"]*)"', page)
    assert "hot" not in small.group(1).split()


def test_each_row_shows_requestor_stars_size_comments_state_and_confirmation(client, rel, train):
    page = dashboard(signed_in(client, rel))
    carols = re.search(rf'<tr id="pick-{train["carols"].pk}".*?</tr>', page, re.S).group(0)
    assert 'title="2 of 5 stars"' in carols and "2-star requestor" in carols
    assert "+50" in carols and "2 files" in carols
    assert 'data-state="awaiting-confirmation"' in carols and "waiting" in carols
    unpushed = re.search(rf'<tr id="pick-{train["unpushed"].pk}".*?</tr>', page, re.S).group(0)
    assert 'title="No review link">?</span>' in unpushed
    Pick.objects.filter(pk=train["small"].pk).update(
        state=PickState.CONFIRMED, confirmed_at=train["small"].created_at
    )
    small = re.search(rf'<tr id="pick-{train["small"].pk}".*?</tr>', dashboard(client), re.S).group(
        0
    )
    assert "&#10003;" in small


def test_rel_filters_by_requestor_state_risk_and_push(client, rel, train):
    signed_in(client, rel)
    assert set(row_ids(dashboard(client, requestor="bob"))) == {
        train["small"].pk,
        train["unpushed"].pk,
    }
    assert row_ids(dashboard(client, state="awaiting-confirmation")) == [train["carols"].pk]
    assert row_ids(dashboard(client, risk="flagged")) == [train["flagged"].pk]
    assert row_ids(dashboard(client, push="none")) == [train["unpushed"].pk]
    push = train["flagged"].push
    assert train["unpushed"].pk not in row_ids(dashboard(client, push=push.pk))
    assert "No open picks match these filters." in dashboard(client, requestor="nobody")
    page = dashboard(client, state="shipped", push="x")  # not open / not a push: ignored
    assert "Ignored: state" in page and len(row_ids(page)) == 4


def test_rel_sorts_by_size_comments_age_and_requestor(client, rel, train):
    signed_in(client, rel)
    push = train["flagged"].push
    ids = row_ids(dashboard(client, sort="size", push=push.pk))
    assert ids == [train["flagged"].pk, train["carols"].pk, train["small"].pk]
    assert row_ids(dashboard(client, sort="-size", push=push.pk)) == ids[::-1]
    by_comments = row_ids(dashboard(client, sort="comments", push=push.pk))
    assert by_comments[0] == train["flagged"].pk and by_comments[-1] == train["small"].pk
    oldest_first = row_ids(dashboard(client, sort="age", push=push.pk))
    assert oldest_first == sorted(oldest_first)
    by_name = row_ids(dashboard(client, sort="requestor", push=push.pk))
    assert by_name == [train["flagged"].pk, train["small"].pk, train["carols"].pk]
    page = dashboard(client, sort="size", requestor="bob")
    assert 'href="/dashboard/risk/?requestor=bob&amp;sort=-size" class="sorted"' in page


def test_the_table_refreshes_itself_every_10s_keeping_the_filters(client, rel, train):
    page = dashboard(signed_in(client, rel), requestor="bob", sort="age")
    table_url = reverse("risk-table") + "?requestor=bob&amp;sort=age"
    # app.js skips a refresh while someone works in the table (data-poll-when-idle)
    assert f'hx-get="{table_url}" hx-trigger="every 10s" data-poll-when-idle' in page
    fragment = text(client.get(table_url.replace("&amp;", "&"), headers=HTMX)).strip()
    assert fragment.startswith("<table") and "<nav" not in fragment
    assert set(row_ids(fragment)) == {train["small"].pk, train["unpushed"].pk}


def test_every_row_has_the_risk_the_picks_page_shows(client, rel, train):
    Repository.objects.filter(pk=train["small"].branch.repository_id).update(
        hot_paths=["src/pay/*", "*.sql"]
    )
    Pick.objects.filter(pk=train["small"].pk).update(
        paths=["src/app.py", "db/1.sql", "src/pay/a.py", "src/pay/b.py"],
        predicted_conflicts=["src/app.py"],
    )
    make_pick(train["small"].branch, train["small"].requestor, state=PickState.REJECTED,
              sha=train["small"].sha, push=None)  # fmt: skip
    on_dashboard = {
        row.pick.pk: row
        for group in dashboard_risk(filters=RiskFilters()).groups
        for row in group.rows
    }
    for name in ("flagged", "small", "unpushed", "carols", "shipped"):
        pick = Pick.objects.select_related("branch__repository", "push", "requestor__user").get(
            pk=train[name].pk
        )
        stars = karma_stars(user_id=pick.requestor.user_id)
        expected = pick_risk(pick, stars=stars, rejections=pick_rejections(pick=pick))
        row = dashboard_risk_row(pick_id=pick.pk)
        assert (row.risk, row.stars) == (expected, stars), name
        if name != "shipped":
            assert on_dashboard[pick.pk].risk == expected, name
    assert (
        "hot files (db/1.sql, src/pay/a.py…)"
        in dashboard_risk_row(pick_id=train["small"].pk).risk.reasons
    )


# --- acting in place ----------------------------------------------------------------------


def test_rel_approves_in_place_and_gets_the_row_back(client, rel, train):
    pick = train["small"]
    response = act(signed_in(client, rel), pick, "approve")
    fragment = text(response).strip()
    assert response.status_code == 200
    assert fragment.startswith(f'<tr id="pick-{pick.pk}"') and fragment.endswith("</tr>")
    assert 'data-state="approved"' in fragment
    assert f"Approved for push {pick.push.label}." in fragment
    pick.refresh_from_db()
    assert pick.state == PickState.APPROVED
    assert PickEvent.objects.filter(pick=pick, to_state=PickState.APPROVED, actor=rel).exists()


def test_a_reject_without_a_reason_shows_the_refusal_in_the_row_and_changes_nothing(
    client, rel, train
):
    pick = train["small"]
    fragment = text(act(signed_in(client, rel), pick, "reject"))
    assert "Say why the pick is rejected: the requestor will read it." in fragment
    assert 'role="alert"' in fragment and 'data-state="requested"' in fragment
    pick.refresh_from_db()
    assert pick.state == PickState.REQUESTED
    assert not PickEvent.objects.filter(pick=pick).exists()

    fragment = text(act(client, pick, "reject", reason="Too big for a Friday"))
    pick.refresh_from_db()
    assert pick.state == PickState.REJECTED and 'data-state="rejected"' in fragment
    assert pick.events.get().reason == "Too big for a Friday"


def test_rel_defers_and_an_illegal_move_is_refused_in_the_row(client, rel, train):
    pick = train["small"]
    act(signed_in(client, rel), pick, "defer")
    pick.refresh_from_db()
    assert pick.state == PickState.DEFERRED
    act(client, pick, "reject", reason="No")
    fragment = text(act(client, pick, "approve"))
    assert f"Pick #{pick.pk} is rejected: it cannot be approved now." in fragment


def test_rel_bulk_approves_three_picks(client, rel, train):
    chosen = [train["flagged"], train["small"], train["unpushed"]]
    signed_in(client, rel)
    page = dashboard(client)
    assert 'id="risk-bulk"' in page and 'form="risk-bulk"' in page
    response = client.post(
        reverse("risk-bulk-approve"), {"pick": [p.pk for p in chosen]}, headers=HTMX
    )
    fragment = text(response)
    assert (
        "Approved 3 picks." in fragment
        and fragment.count('row-note" role="status">Approved for push') == 3
    )
    assert {p.state for p in Pick.objects.filter(pk__in=[p.pk for p in chosen])} == {
        PickState.APPROVED
    }


def test_a_bulk_approval_keeps_refusals_on_their_rows(client, rel, train):
    carols = train["carols"]  # awaiting confirmation: approving again is illegal
    response = signed_in(client, rel).post(
        reverse("risk-bulk-approve") + "?requestor=carol", {"pick": [carols.pk]}, headers=HTMX
    )
    fragment = text(response)
    assert "Approved 0 picks. 1 refused" in fragment
    assert row_ids(fragment) == [carols.pk]  # the filters were kept
    assert f"Pick #{carols.pk} is awaiting confirmation" in fragment


def test_an_unlike_from_the_dashboard_stops_the_requestors_next_pick(client, rel, train, landed):
    dave = make_engineer("dave")
    for reason in ("Broke search", "Not online for the push"):
        karma_unlike(user_id=dave.user_id, actor_id=rel.user_id, reason=reason)
    pick = make_pick(train["small"].branch, dave)
    other = make_pick(train["small"].branch, dave, push=None)

    fragment = text(act(signed_in(client, rel), pick, "unlike"))
    assert "A reason is required." in fragment and karma_stars(user_id=dave.user_id) == 3

    response = act(client, pick, "unlike", reason="Pick broke checkout")
    assert response.headers["HX-Retarget"] == "#risk-table"
    fragment = text(response)
    assert "Took a star off dave: 2 of 5 now." in fragment
    assert karma_stars(user_id=dave.user_id) == 2
    event = KarmaEvent.objects.filter(user=dave.user).first()
    assert (event.actor, event.reason, event.pick_id) == (rel.user, "Pick broke checkout", pick.pk)
    for pk in (pick.pk, other.pk):  # every row of dave's shows the new stars
        row = re.search(rf'<tr id="pick-{pk}".*?</tr>', fragment, re.S).group(0)
        assert 'title="2 of 5 stars"' in row

    client.force_login(dave.user)
    refused = client.post(reverse("pick-new"), {"revision": landed["fix"], "reason": "Urgent"})
    assert refused.status_code == 400
    assert "Talk to release engineering" in text(refused)


# --- who may ------------------------------------------------------------------------------


def test_alice_gets_a_clear_403_and_cannot_act(client, alice, train):
    signed_in(client, alice)
    response = client.get(reverse("risk-dashboard"))
    assert response.status_code == 403
    assert "The risk dashboard is for release engineers." in text(response)
    assert client.get(reverse("risk-table")).status_code == 403
    assert act(client, train["small"], "approve").status_code == 403
    response = client.post(reverse("risk-bulk-approve"), {"pick": [train["small"].pk]})
    assert response.status_code == 403
    train["small"].refresh_from_db()
    assert train["small"].state == PickState.REQUESTED


def test_a_post_without_the_csrf_token_is_refused(rel, train):
    client = signed_in(Client(enforce_csrf_checks=True), rel)
    pick = train["small"]
    assert act(client, pick, "approve").status_code == 403
    pick.refresh_from_db()
    assert pick.state == PickState.REQUESTED

    page = dashboard(client)  # htmx sends the token from the body's hx-headers
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    response = client.post(
        reverse("risk-pick-act", args=[pick.pk]),
        {"action": "approve"},
        headers={**HTMX, "X-CSRFToken": token},
    )
    assert response.status_code == 200
    pick.refresh_from_db()
    assert pick.state == PickState.APPROVED


def test_without_htmx_a_move_flashes_and_comes_back(client, rel, train):
    response = signed_in(client, rel).post(
        reverse("risk-pick-act", args=[train["small"].pk]), {"action": "defer"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("risk-dashboard")
    assert f"Pick #{train['small'].pk}: Deferred" in text(response)


# --- queries ------------------------------------------------------------------------------


def _crowd(branch, picks: int, people: int) -> None:
    """`picks` open picks by `people` engineers over every push and none, some rejected before."""
    engineers = [make_engineer(f"eng{branch.pk}x{picks}x{i}") for i in range(people)]
    pushes = list(branch.pushes.all()) + [None]
    states = [PickState.REQUESTED, PickState.APPROVED, PickState.CONFIRMED, PickState.DEFERRED]
    for i in range(picks):
        made = make_pick(
            branch,
            engineers[i % people],
            push=pushes[i % len(pushes)],
            state=states[i % len(states)],
            review_comments=None if i % 5 == 0 else i % 17,
            paths=[f"src/m{i}.py"],
        )
        if i % 7 == 0:
            Pick.objects.create(
                **{
                    f.attname: getattr(made, f.attname)
                    for f in Pick._meta.concrete_fields
                    if f.attname not in ("id", "state")
                },
                state=PickState.REJECTED,
            )
    for engineer in engineers[::3]:
        karma_unlike(user_id=engineer.user_id, actor_id=None, reason="Broke the build")


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_dashboard_takes_the_same_queries_for_10_picks_as_for_200(client, rel, branch):
    """Counted twice: the first look after picks changed also computes their kept risk."""
    Repository.objects.filter(pk=branch.repository_id).update(hot_paths=["src/m1*.py"])
    signed_in(client, rel)
    urls = [reverse("risk-dashboard"), reverse("risk-table"), reverse("risk-table") + "?sort=age"]
    _crowd(branch, 10, 3)
    few = [_queries(client, url) for url in urls + urls]
    assert len(row_ids(dashboard(client))) == 10
    _crowd(branch, 190, 40)
    many = [_queries(client, url) for url in urls + urls]
    page = dashboard(client)
    assert len(row_ids(page)) == 50 and "200 picks" in page  # a page of 50, all counted
    assert few == many
    assert max(many[3:]) <= 15 and max(many[:3]) <= 25  # as measured: 15 and 25 at most


def test_a_page_within_one_push_reads_its_picks_in_the_index_order_and_sorts_nothing(
    client, rel, branch
):
    _crowd(branch, 420, 10)  # 60 a push and 60 with none: the first page lies in one push
    dashboard_risk(filters=RiskFilters())  # ranks computed
    with CaptureQueriesContext(connection) as queries:
        page = dashboard_risk(filters=RiskFilters())
    assert len(page.groups) == 1 and len(page.groups[0].rows) == 50
    chosen = [q["sql"] for q in queries.captured_queries if "LIMIT 50" in q["sql"]]
    assert len(chosen) == 1, [q["sql"] for q in queries.captured_queries]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE pushes_pick")
            # A small table, where scanning and sorting win: refused, unless nothing else
            # can give the order (then the plan still sorts, and the test fails).
            for method in ("seqscan", "bitmapscan", "sort"):
                cursor.execute(f"SET LOCAL enable_{method} = off")
            cursor.execute(f"EXPLAIN {chosen[0]}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {chosen[0]}")
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "pick_risk_page" in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan


# --- pages of fifty -----------------------------------------------------------------------

PAGER = re.compile(r"Picks (\d+)&ndash;(\d+) of (\d+) &middot; page (\d+) of (\d+)")
SUMMARY = re.compile(r'<div class="muted">The open picks.*?</div>', re.S)


def pager(page: str) -> tuple[int, ...] | None:
    found = PAGER.search(page)
    return tuple(int(n) for n in found.groups()) if found else None


def link(page: str, rel: str) -> str | None:
    """The pager's previous or next link, as the browser follows it."""
    found = re.search(rf'<a class="btn small" href="([^"]*)" rel="{rel}">', page)
    return html.unescape(found.group(1)) if found else None


def levels(page: str) -> tuple[int, ...]:
    found = re.search(r"(\d+) high</span>, <span[^>]*>(\d+) medium</span>, (\d+) low", page)
    assert found, "no counts by level on the page"
    return tuple(int(n) for n in found.groups())


def follow(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return text(response)


def every_page(client: Client, url: str) -> list[list[int]]:
    """The rows of each page, from the first to the last by the pager's next links."""
    pages = []
    at: str | None = url
    while at:
        page = follow(client, at)
        pages.append(row_ids(page))
        at = link(page, "next")
        assert len(pages) <= 10, "the next links do not end"
    return pages


@pytest.fixture
def crowd(branch, alice, bob, carol):
    """120 open picks over the first two pushes and none, sizes and comments repeating (ties
    to break), carol's at two stars; and picks the dashboard must not count."""
    pushes = [*branch.pushes.order_by("scheduled_at", "pk")[:2], None]
    people = [alice, bob, carol]
    picks = []
    for i in range(120):
        picks.append(
            make_pick(
                branch,
                people[i % 3],
                push=pushes[i % 3],
                state=(PickState.REQUESTED, PickState.APPROVED)[i % 2],
                lines_added=(3, 50, 200, 500)[i % 4],
                files_changed=(1, 2, 6)[i % 5 % 3],
                review_comments=(None, 0, 5, 14)[i % 7 % 4],
                title=f"{('Fix', 'Speed up', 'Tidy')[i % 3]} {('checkout', 'search')[i % 2]} {i}",
            )
        )
    for state in (PickState.SHIPPED, PickState.REJECTED, PickState.WITHDRAWN):
        make_pick(branch, alice, state=state)
    return picks


def test_rel_pages_through_120_open_picks_fifty_at_a_time(client, rel, crowd):
    signed_in(client, rel)
    first = dashboard(client)
    assert len(row_ids(first)) == 50 and pager(first) == (1, 50, 120, 1, 3)
    assert "120 picks" in first and sum(levels(first)) == 120
    assert link(first, "prev") is None and link(first, "next") == "/dashboard/risk/?page=2"

    second = follow(client, link(first, "next"))
    assert len(row_ids(second)) == 50 and pager(second) == (51, 100, 120, 2, 3)
    assert SUMMARY.search(second).group(0) == SUMMARY.search(first).group(0)  # all counted
    assert link(second, "prev") == "/dashboard/risk/" and link(second, "next").endswith("page=3")

    third = follow(client, link(second, "next"))
    assert len(row_ids(third)) == 20 and pager(third) == (101, 120, 120, 3, 3)
    assert link(third, "next") is None and link(third, "prev").endswith("page=2")
    back = follow(client, link(third, "prev"))
    assert row_ids(back) == row_ids(second) and pager(back) == pager(second)

    beyond = dashboard(client, page=99)  # past the end: the last page
    assert row_ids(beyond) == row_ids(third) and pager(beyond) == (101, 120, 120, 3, 3)
    assert link(beyond, "prev").endswith("page=2")


def test_a_push_split_over_two_pages_counts_all_its_picks_on_both(client, rel, crowd):
    push = crowd[1].push  # the second push: 40 picks, after the first push's 40
    riding = {p.pk for p in crowd if p.push_id == push.pk}
    signed_in(client, rel)
    for number, shown in ((1, 10), (2, 30)):
        page = dashboard(client, page=number)
        assert len(riding.intersection(row_ids(page))) == shown
        head = re.search(rf'<tbody id="push-{push.pk}".*?</th></tr>', page, re.S).group(0)
        assert f"40 picks ({shown} on this page)" in head, head


@pytest.mark.parametrize("sort", ["risk", "-size"])
def test_the_pages_together_are_the_whole_list_in_order(client, rel, crowd, sort):
    pages = every_page(signed_in(client, rel), f"{reverse('risk-dashboard')}?sort={sort}")
    shown = [pk for page in pages for pk in page]
    assert [len(page) for page in pages] == [50, 50, 20]
    assert len(shown) == len(set(shown)) == 120 and set(shown) == {p.pk for p in crowd}
    whole = dashboard_risk(filters=RiskFilters(sort=sort), per_page=1000)
    assert shown == [row.pick.pk for group in whole.groups for row in group.rows]
    # and it is the order the dashboard promises: next push first, then the sort's key
    picks = {p.pk: p for p in Pick.objects.filter(pk__in=shown).select_related("push")}
    pushes = [p.pk for p in crowd[0].branch.pushes.order_by("scheduled_at", "pk")]
    risks = {row.pick.pk: row.risk for group in whole.groups for row in group.rows}

    def place(pk: int) -> int:
        push = picks[pk].push_id
        return pushes.index(push) if push else len(pushes)

    assert [place(pk) for pk in shown] == sorted(place(pk) for pk in shown)
    rank = {"high": 0, "medium": 1, "low": 2}
    for a, b in itertools.pairwise(shown):
        if place(a) != place(b):
            continue
        if sort == "risk":
            key = lambda pk: (rank[risks[pk].level], not risks[pk].flagged, -picks[pk].size)  # noqa: E731
            assert key(a) < key(b) or (key(a) == key(b) and a < b), (a, b)
        else:
            assert picks[a].size <= picks[b].size, (a, b)


def test_a_sort_link_starts_again_at_page_one(client, rel, crowd):
    page = dashboard(signed_in(client, rel), page=2, sort="age")
    sizes = re.search(r'<a href="([^"]*)"[^>]*>\+/&minus;', page).group(1)
    assert html.unescape(sizes) == "/dashboard/risk/?sort=size"
    assert link(page, "next") == "/dashboard/risk/?sort=age&page=3"
    assert 'hx-get="/dashboard/risk/table/?sort=age&amp;page=2"' in page  # the poll keeps it


# --- repository and search ----------------------------------------------------------------


@pytest.fixture
def tools(rel, alice, bob):
    """A second repository on the train, with its own branch, push and picks."""
    repository = Repository.objects.create(
        slug="tools", name="Tools", remote_url="/tmp/tools.git", time_zone="Europe/Berlin"
    )
    branch = ReleaseBranch.objects.create(
        repository=repository, name="release/t1", cut_at=timezone.now(), base_sha="0" * 40
    )
    Push.objects.create(
        branch=branch,
        day=timezone.localdate(),
        number=1,
        scheduled_at=timezone.now() + dt.timedelta(hours=3),
    )
    return [
        make_pick(branch, alice, title="Fix checkout rounding in tools"),
        make_pick(branch, bob, title="Bump the linter", push=None),
        make_pick(branch, bob, title="Old tool", state=PickState.SHIPPED),
    ]


def test_rel_narrows_by_repository_and_by_words(client, rel, crowd, tools):
    signed_in(client, rel)
    everything = dashboard(client)
    assert "122 picks" in everything and '<option value="tools">Tools</option>' in everything

    page = dashboard(client, repository="tools")
    assert sorted(row_ids(page)) == [tools[0].pk, tools[1].pk]
    assert "2 picks match" in page and pager(page) is None
    assert '<option value="tools" selected>Tools</option>' in page
    shop = dashboard(client, repository="shop")
    assert "120 picks match" in shop and pager(shop) == (1, 50, 120, 1, 3)

    words = dashboard(client, q="CHECKOUT")  # in the title, any case, any repository
    matching = {p.pk for p in crowd if "checkout" in p.title} | {tools[0].pk}
    assert f"{len(matching)} picks match" in words and sum(levels(words)) == len(matching)
    shown = [pk for page in every_page(client, "/dashboard/risk/?q=CHECKOUT") for pk in page]
    assert set(shown) == matching and len(shown) == len(matching)
    assert link(words, "next") == "/dashboard/risk/?q=CHECKOUT&page=2"

    by_name = dashboard(client, q="caro", repository="shop")  # a requestor's name, in part
    carols = {p.pk for p in crowd if p.requestor.user.username == "carol"}
    assert f"{len(carols)} picks match" in by_name
    assert set(row_ids(by_name)) <= carols and len(row_ids(by_name)) == min(len(carols), 50)
    assert "0 picks match" in dashboard(client, q="checkout", repository="tools", requestor="bob")
    nowhere = dashboard(client, repository="nowhere")  # a slug, of no repository
    assert "No open picks match these filters." in nowhere and "Ignored" not in nowhere


@pytest.mark.parametrize(
    "bad",
    [
        {"page": "abc"},
        {"page": "0"},
        {"page": "-3"},
        {"sort": "bogus"},
        {"repository": "not a slug"},
        {"risk": "nope"},
        {"q": "x" * 201},
    ],
    ids=lambda bad: "-".join(f"{k}={v[:10]}" for k, v in bad.items()),
)
def test_a_bad_value_is_named_as_ignored_and_changes_nothing_else(client, rel, crowd, bad):
    signed_in(client, rel)
    ((name, _),) = bad.items()
    clean, page = dashboard(client), dashboard(client, **bad)
    assert re.search(rf"Ignored: {name} \([^)]+\)", page), page[-3000:]
    assert row_ids(page) == row_ids(clean) and pager(page) == pager(clean)
    assert SUMMARY.search(page).group(0) == SUMMARY.search(clean).group(0)
    assert link(page, "next") == "/dashboard/risk/?page=2"  # the bad value is not carried on
    assert 'hx-get="/dashboard/risk/table/" ' in page
    # with a good filter beside it, the good one is obeyed
    good = {"state": "approved"} if name == "q" else {"q": "search"}
    narrowed, both = dashboard(client, **good), dashboard(client, **good, **bad)
    assert row_ids(both) == row_ids(narrowed) and pager(both) == pager(narrowed)
    # the table the page polls answers the same rows
    table = client.get(reverse("risk-table"), bad, headers=HTMX)
    assert table.status_code == 200 and row_ids(text(table)) == row_ids(clean)


def test_every_bad_value_at_once_is_named(client, rel, crowd):
    page = dashboard(
        signed_in(client, rel), page="abc", sort="bogus", repository="not a slug", risk="nope"
    )
    ignored = re.search(r"Ignored: (.*?)</span>", page).group(1)
    assert [n for n in ("risk", "repository", "sort", "page") if f"{n} (" in ignored] == [
        "risk", "repository", "sort", "page"
    ]  # fmt: skip
    assert len(row_ids(page)) == 50 and pager(page) == (1, 50, 120, 1, 3)


# --- risk's inputs change after a look: the order follows ---------------------------------


def levels_of(filters: RiskFilters | None = None) -> dict[int, str]:
    """Each open pick's level as the dashboard orders and counts it: by the risk filter."""
    found = {}
    for level in ("high", "medium", "low"):
        page = dashboard_risk(filters=RiskFilters(risk=level), per_page=1000)
        found.update({row.pick.pk: level for group in page.groups for row in group.rows})
    return found


def risk_now(pk: int):
    pick = Pick.objects.select_related("branch__repository", "push", "requestor__user").get(pk=pk)
    stars = karma_stars(user_id=pick.requestor.user_id)
    return pick_risk(pick, stars=stars, rejections=pick_rejections(pick=pick))


def agrees(pks) -> None:
    """The dashboard's counted level of each pick is the level its own page computes now."""
    counted = levels_of()
    assert {pk: counted.get(pk) for pk in pks} == {pk: risk_now(pk).level for pk in pks}


def test_a_rehearsal_that_predicts_a_conflict_moves_the_pick_up(
    client, rel, alice, repository, remote, branch
):
    from pushes import git as gitlayer
    from pushes.services import clone_path, scratch_dir
    from tests.repos import git

    fix = remote.commit({"src/module1.py": "VALUE = 100\n"}, "Small fix")
    other = remote.commit({"src/other.py": "X = 1\n" * 40}, "A bigger change")
    services.trunk_sync(repository=repository)
    push = branch.pushes.filter(kind="daily").order_by("scheduled_at").first()
    picks = []
    for sha in (fix, other):
        pick = services.pick_request(requestor=alice, revision=sha, reason="Needed").pick
        Pick.objects.filter(pk=pick.pk).update(state=PickState.APPROVED, push=push)
        picks.append(pick.pk)
    signed_in(client, rel)
    assert row_ids(dashboard(client, push=push.pk)) == [picks[1], picks[0]]  # the larger first
    assert levels_of()[picks[0]] == "low"
    # A release engineer lands a branch-only fix on the same line after the request.
    path, name = clone_path(repository), push.branch.name
    head = gitlayer.branch_head(path, name)
    with gitlayer.worktree(path, head, scratch_dir=scratch_dir()) as tree:
        (tree.path / "src/module1.py").write_text("VALUE = 99\n")
        git(tree.path, "commit", "-qam", "Branch-only hotfix")
        gitlayer.branch_advance(path, name, tree.head(), head)

    assert [p.pk for p in services.push_rehearse(push_id=push.pk)] == [picks[0]]

    page = dashboard(client, push=push.pk)
    assert row_ids(page) == [picks[0], picks[1]]  # predicted to conflict: now the riskier
    row = re.search(rf'<tr id="pick-{picks[0]}".*?</tr>', page, re.S).group(0)
    assert 'data-risk="medium"' in row and "predicted to conflict" in row
    assert row_ids(dashboard(client, risk="medium")) == [picks[0]]
    agrees(picks)


def test_hot_paths_changed_through_the_api_reorder_the_dashboard(client, rel, crowd):
    from tests.api import client_for

    signed_in(client, rel)
    before = levels_of()
    touching = next(p for p in crowd if before[p.pk] == "low")
    Pick.objects.filter(pk=touching.pk).update(paths=["app/checkout/pay.py", "README.md"])
    url = f"/api/repositories/{touching.branch.repository.slug}/"

    response = client_for(rel).patch(url, {"hot_paths": ["app/checkout/*"]}, format="json")

    assert response.status_code == 200, response.json()
    after = levels_of()
    assert (before[touching.pk], after[touching.pk]) == ("low", "medium")
    assert {pk: level for pk, level in after.items() if pk != touching.pk} == {
        pk: level for pk, level in before.items() if pk != touching.pk
    }
    page = dashboard(client, q=touching.title)
    row = re.search(rf'<tr id="pick-{touching.pk}".*?</tr>', page, re.S).group(0)
    assert 'data-risk="medium"' in row and "hot files (app/checkout/pay.py)" in row
    agrees([touching.pk])
    client_for(rel).patch(url, {"hot_paths": []}, format="json")
    assert levels_of() == before


def test_an_unlike_moves_every_pick_of_the_requestor(client, rel, crowd, alice):
    signed_in(client, rel)
    alices = [p.pk for p in crowd if p.requestor_id == alice.pk]
    assert "low" in {levels_of()[pk] for pk in alices}
    for reason in ("Broke search", "Missed a push"):
        karma_unlike(user_id=alice.user_id, actor_id=rel.user_id, reason=reason)
    assert "low" not in {levels_of()[pk] for pk in alices}  # three stars: a reason each
    agrees(alices)


def test_a_push_deleted_in_the_admin_leaves_its_picks_ranked_as_now(client, rel, branch, carol):
    """A Friday push: carol's pick on it is high (two stars, Friday); deleted, the pick has no
    push and is medium. Deleting sets the picks' push to NULL without a queryset update."""
    friday = next(p for p in branch.pushes.order_by("scheduled_at") if
                  p.scheduled_at.astimezone(branch.repository.tz).weekday() == 4)  # fmt: skip
    pick = make_pick(branch, carol, push=friday)
    assert levels_of()[pick.pk] == "high"
    rel.user.is_superuser = True
    rel.user.save()
    signed_in(client, rel)

    response = client.post(reverse("admin:pushes_push_delete", args=[friday.pk]), {"post": "yes"})

    assert response.status_code == 302 and not Push.objects.filter(pk=friday.pk).exists()
    assert risk_now(pick.pk).level == "medium"
    agrees([pick.pk])


def test_a_rejection_deleted_in_the_admin_no_longer_counts_against_the_revision(
    client, rel, branch, alice
):
    """2 comments (14) + one rejection (30) reach the churn threshold of 40: controversial,
    medium. The rejection deleted (a mistake put right), the pick is low again."""
    Repository.objects.filter(pk=branch.repository_id).update(risk_churn_threshold=40)
    pick = make_pick(branch, alice, review_comments=2)
    rejected = make_pick(branch, alice, sha=pick.sha, state=PickState.REJECTED, push=None)
    assert levels_of()[pick.pk] == "medium"
    rel.user.is_superuser = True
    rel.user.save()
    signed_in(client, rel)

    url = reverse("admin:pushes_pick_delete", args=[rejected.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302

    assert risk_now(pick.pk).level == "low"
    agrees([pick.pk])
