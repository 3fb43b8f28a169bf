"""The release engineer's risk dashboard, used as rel uses it: filters, sorts, in-place moves
with htmx, bulk approval, unlike; and the same number of queries for 10 picks as for 200."""

from __future__ import annotations

import itertools
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from karma.models import KarmaEvent
from karma.selectors import karma_stars
from karma.services import karma_unlike
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
        row.pick.pk: row for group in dashboard_risk(filters=RiskFilters()) for row in group.rows
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
    Repository.objects.filter(pk=branch.repository_id).update(hot_paths=["src/m1*.py"])
    signed_in(client, rel)
    urls = [reverse("risk-dashboard"), reverse("risk-table"), reverse("risk-table") + "?sort=age"]
    _crowd(branch, 10, 3)
    few = [_queries(client, url) for url in urls]
    assert len(row_ids(dashboard(client))) == 10
    _crowd(branch, 190, 40)
    many = [_queries(client, url) for url in urls]
    assert len(row_ids(dashboard(client))) == 200
    assert few == many
    assert max(many) <= 12
