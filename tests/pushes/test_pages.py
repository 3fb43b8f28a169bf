"""The cherry-pick workflow's web pages, used as people use them: forms, buttons, inbox, search.

Real repositories and the real services behind every page; only the Celery broker is left
out (a queued task is seen as an on-commit callback, not run).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from pushes import services
from pushes.choices import PickState, PushState
from pushes.models import Pick, Push, Revision
from tests.conftest import tasks_queued
from tests.pushes.conftest import MONDAY


def signed_in(client: Client, engineer) -> Client:
    client.force_login(engineer.user)
    return client


def request_pick(client: Client, revision: str, reason: str = "Checkout crashes", **extra):
    return client.post(reverse("pick-new"), {"revision": revision, "reason": reason, **extra})


def flashed(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def alices_pick(alice, landed):
    return services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash fix").pick


# --- requesting a pick --------------------------------------------------------------------


def test_alice_requests_a_pick_by_short_sha_and_sees_the_dry_run(client, alice, bob, landed):
    signed_in(client, alice)
    response = request_pick(client, landed["fix"][:8], backup="bob")
    pick = Pick.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("pick", args=[pick.pk])
    assert (pick.requestor, pick.backup, pick.sha) == (alice, bob, landed["fix"])
    page = client.get(response["Location"])
    assert f"Pick #{pick.pk} of {landed['fix'][:10]} requested" in flashed(page)[0]
    assert "It applies cleanly on the branch now." in flashed(page)[0]
    assert "Applies cleanly" in text(page)


def test_a_conflicting_pick_shows_the_conflicting_file_and_the_prerequisite(client, alice, landed):
    signed_in(client, alice)
    page = client.get(request_pick(client, landed["second"][:10])["Location"])
    message = flashed(page)[0]
    assert "conflicts in src/feature.py" in message
    assert landed["feature"][:10] in message
    assert "Predicted to conflict" in text(page)
    assert reverse("revision", args=[landed["feature"]]) in text(page)


@pytest.mark.parametrize(
    ("revision", "message"),
    [
        ("not-a-sha", "&#x27;not-a-sha&#x27; is not a revision"),
        ("deadbeef12", "No commit matches deadbeef12."),
    ],
)
def test_a_bad_revision_is_refused_on_the_form_keeping_the_input(
    client, alice, landed, revision, message
):
    signed_in(client, alice)
    response = request_pick(client, revision, reason="Keep this reason")
    assert response.status_code == 400
    assert message in text(response)
    assert f'value="{revision}"' in text(response)
    assert "Keep this reason</textarea>" in text(response)
    assert not Pick.objects.exists()


def test_an_already_requested_revision_points_to_the_first_request(
    client, bob, alices_pick, landed
):
    signed_in(client, bob)
    response = request_pick(client, landed["fix"][:7])
    assert response.status_code == 400
    assert f"is already requested for {alices_pick.branch.name} as pick #{alices_pick.pk}" in text(
        response
    )
    assert reverse("pick", args=[alices_pick.pk]) in text(response)
    assert Pick.objects.count() == 1


def test_carol_at_two_stars_is_told_to_talk_to_release_engineering(client, carol, landed):
    signed_in(client, carol)
    response = request_pick(client, landed["fix"])
    assert response.status_code == 400
    assert "Your push karma is 2 of 5 stars" in text(response)
    assert "Talk to release engineering" in text(response)
    assert not Pick.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"reason": "   "}, "Say why this pick cannot wait for the next train."),
        ({"reason": "x" * 2001}, "Keep the reason under 2000 characters (it has 2001)"),
        ({"reason": "why\x00not"}, "Remove the invisible NUL character"),
        ({"revision": "abc\x00def"}, "Remove the invisible NUL character"),
        ({"revision": "a" * 41}, "A revision is at most 40 hex digits"),
        ({"revision": ""}, "Give the trunk revision to pick"),
        ({"backup": "nobody"}, "Nobody here is called &#x27;nobody&#x27;"),
    ],
)
def test_the_form_explains_what_is_wrong_with_a_field(client, alice, fields, message):
    signed_in(client, alice)
    data = {"revision": "abcdef1", "reason": "Crash", **fields}
    response = client.post(reverse("pick-new"), data)
    assert response.status_code == 400
    assert message in text(response)
    assert not Pick.objects.exists()


def test_the_form_is_prefilled_from_rev(client, alice):
    response = signed_in(client, alice).get(reverse("pick-new") + "?rev=3f2a9c1")
    assert 'value="3f2a9c1"' in text(response)


# --- moving a pick from its page ----------------------------------------------------------


def act(client: Client, pick: Pick, action: str, **data):
    return client.post(reverse(f"pick-{action}", args=[pick.pk]), data, follow=True)


def test_rel_sees_the_triage_buttons_and_alice_only_withdraw(client, rel, alice, alices_pick):
    page = text(signed_in(client, rel).get(alices_pick.get_absolute_url()))
    for action in ("approve", "reject", "defer", "withdraw"):
        assert reverse(f"pick-{action}", args=[alices_pick.pk]) in page
    page = text(signed_in(client, alice).get(alices_pick.get_absolute_url()))
    assert reverse("pick-withdraw", args=[alices_pick.pk]) in page
    assert reverse("pick-approve", args=[alices_pick.pk]) not in page
    assert "I'm here" not in page  # not approved yet: nothing to confirm


def test_rel_approves_from_the_pick_page(client, rel, alices_pick):
    response = act(signed_in(client, rel), alices_pick, "approve")
    assert response.redirect_chain[-1][0] == alices_pick.get_absolute_url()
    assert flashed(response)[0].startswith(f"Pick #{alices_pick.pk} approved.")
    alices_pick.refresh_from_db()
    assert alices_pick.state == PickState.APPROVED


def test_a_reject_needs_a_reason(client, rel, alices_pick):
    signed_in(client, rel)
    response = act(client, alices_pick, "reject", reason="  ")
    assert flashed(response) == ["Say why the pick is rejected: the requestor will read it."]
    alices_pick.refresh_from_db()
    assert alices_pick.state == PickState.REQUESTED
    response = act(client, alices_pick, "reject", reason="Too big for a Friday")
    assert "rejected" in flashed(response)[0]
    alices_pick.refresh_from_db()
    assert alices_pick.state == PickState.REJECTED
    assert alices_pick.events.last().reason == "Too big for a Friday"
    assert "Too big for a Friday" in text(response)  # the history shows why


def test_rel_defers_from_the_pick_page(client, rel, alices_pick):
    response = act(signed_in(client, rel), alices_pick, "defer")
    alices_pick.refresh_from_db()
    assert alices_pick.state == PickState.DEFERRED
    assert f"It is now deferred (push {alices_pick.push.label})" in flashed(response)[0]


def test_an_illegal_move_is_refused_with_the_services_words(client, rel, alices_pick):
    signed_in(client, rel)
    act(client, alices_pick, "withdraw")
    response = act(client, alices_pick, "approve")
    assert flashed(response) == [f"Pick #{alices_pick.pk} is withdrawn: it cannot be approved now."]


def test_bob_sees_no_confirm_button_and_a_forged_confirm_is_refused(
    client, rel, alice, bob, alices_pick
):
    services.pick_approve(pick_id=alices_pick.pk, actor=rel)
    assert "I'm here" in text(signed_in(client, alice).get(alices_pick.get_absolute_url()))
    page = text(signed_in(client, bob).get(alices_pick.get_absolute_url()))
    assert "I'm here" not in page and "Withdraw" not in page
    response = act(client, alices_pick, "confirm")
    assert flashed(response) == [f"Only alice can confirm pick #{alices_pick.pk}."]
    alices_pick.refresh_from_db()
    assert alices_pick.state == PickState.APPROVED


def test_engineers_cannot_triage_by_forging_a_post(client, bob, alices_pick):
    response = act(signed_in(client, bob), alices_pick, "approve")
    assert flashed(response) == ["Only release engineers can approve picks."]


# --- the inbox ----------------------------------------------------------------------------


def test_alice_confirms_from_the_inbox(client, rel, alice, alices_pick):
    services.pick_approve(pick_id=alices_pick.pk, actor=rel)
    services.pick_ask_confirmation(pick=Pick.objects.get(pk=alices_pick.pk))
    signed_in(client, alice)
    assert '<span class="count" title="2 unread">2</span>' in text(client.get(reverse("home")))

    inbox = client.get(reverse("inbox"))
    page = text(inbox)
    assert "Are you online to support pick" in page
    assert 'class="waiting"' in page
    assert reverse("pick-confirm", args=[alices_pick.pk]) in page
    assert 'class="count"' not in page  # the visit marked them read
    response = client.post(
        reverse("pick-confirm", args=[alices_pick.pk]), {"next": reverse("inbox")}, follow=True
    )
    assert response.redirect_chain == [(reverse("inbox"), 302)]
    assert "confirmed" in flashed(response)[0]
    assert 'class="waiting"' not in text(response)
    alices_pick.refresh_from_db()
    assert alices_pick.state == PickState.CONFIRMED
    assert 'class="count"' not in text(client.get(reverse("home")))


def test_a_foreign_next_is_not_followed(client, rel, alices_pick):
    signed_in(client, rel)
    response = client.post(
        reverse("pick-approve", args=[alices_pick.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == alices_pick.get_absolute_url()


def test_an_empty_inbox_says_what_will_arrive(client, alice):
    response = signed_in(client, alice).get(reverse("inbox"))
    assert "Nothing here yet" in text(response)


# --- where is my revision? ----------------------------------------------------------------


def test_a_commit_from_before_the_cut_is_in_the_branch_by_the_cut(client, alice, remote, branch):
    sha = remote.log()[1]
    response = signed_in(client, alice).get(reverse("revision", args=[sha[:8]]))
    assert response.status_code == 200
    assert f"In {branch.name} by the cut" in text(response)
    assert reverse("pick-new") + "?rev=" not in text(response)


def test_a_new_trunk_commit_offers_a_prefilled_pick_until_requested(client, alice, landed):
    signed_in(client, alice)
    url = reverse("revision", args=[landed["fix"]])
    assert f"{reverse('pick-new')}?rev={landed['fix']}" in text(client.get(url))
    request_pick(client, landed["fix"])
    page = text(client.get(url))
    assert "?rev=" not in page
    assert "Pick #" in page and "requested" in page.lower()


def test_an_ambiguous_prefix_lists_the_candidates(client, alice, repository, branch):
    for n, sha in enumerate(["abcdef1" + "0" * 33, "abcdef1" + "1" * 33], start=100):
        Revision.objects.create(
            repository=repository, sha=sha, position=n, author_name="A", author_email="a@x",
            committed_at=MONDAY, title=f"Candidate {n}",
        )  # fmt: skip
    response = signed_in(client, alice).get(reverse("revision", args=["abcdef1"]))
    assert response.status_code == 400
    assert "matches 2 commits" in text(response)
    for sha in ("abcdef1" + "0" * 33, "abcdef1" + "1" * 33):
        assert f'href="{reverse("revision", args=[sha])}"' in text(response)


def test_an_unknown_revision_is_a_404_page(client, alice, branch):
    response = signed_in(client, alice).get(reverse("revision", args=["deadbeef12"]))
    assert response.status_code == 404
    assert "No trunk commit matches deadbeef12." in text(response)


def test_the_search_box_goes_to_the_revision_page(client, alice, remote, branch):
    signed_in(client, alice)
    search = reverse("revision-search")
    sha = remote.trunk[1]  # its message links Phabricator's D102
    response = client.get(search, {"q": sha[:9]})
    assert response["Location"] == reverse("revision", args=[sha[:9]])
    response = client.get(search, {"q": "D102"})
    assert response["Location"] == reverse("revision", args=["D102"])
    assert client.get(response["Location"]).context["revision"].sha == sha
    review_url = Revision.objects.get(sha=sha).review_url
    assert client.get(search, {"q": review_url})["Location"] == reverse("revision", args=[sha])
    assert client.get(search, {"q": "no such thing"}).status_code == 400


# --- pushes -------------------------------------------------------------------------------


def test_run_now_is_refused_to_alice_and_queues_for_rel(
    client, rel, alice, branch, django_capture_on_commit_callbacks
):
    push = branch.pushes.order_by("scheduled_at").first()
    run = reverse("push-run", args=[push.pk])
    signed_in(client, alice)
    assert run not in text(client.get(push.get_absolute_url()))
    with django_capture_on_commit_callbacks() as queued:
        assert client.post(run).status_code == 403
    assert queued == []

    signed_in(client, rel)
    assert run in text(client.get(push.get_absolute_url()))
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(run, {"early": "1"}, follow=True)  # due tomorrow: said so
    assert response.redirect_chain == [(push.get_absolute_url(), 302)]
    assert f"Push {push.label} of {branch.name} queued" in flashed(response)[0]
    assert len(tasks_queued(queued)) == 1


def test_push_now_on_the_branch_queues_its_next_push(
    client, rel, alice, branch, django_capture_on_commit_callbacks
):
    url = reverse("branch-push-now", args=[branch.pk])
    assert url not in text(signed_in(client, alice).get(branch.get_absolute_url()))
    assert client.post(url).status_code == 403
    assert url in text(signed_in(client, rel).get(branch.get_absolute_url()))
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(url, {"early": "1"})
    nxt = branch.pushes.order_by("scheduled_at").first()
    assert response["Location"] == nxt.get_absolute_url()
    assert len(tasks_queued(queued)) == 1


def test_a_running_push_polls_its_picks_table_until_it_finishes(client, rel, alices_pick):
    push = alices_pick.push
    signed_in(client, rel)
    partial = reverse("push-picks", args=[push.pk])
    assert "every 3s" not in text(client.get(push.get_absolute_url()))

    Push.objects.filter(pk=push.pk).update(state=PushState.MERGING)
    page = text(client.get(push.get_absolute_url()))
    assert f'hx-get="{partial}" hx-trigger="every 3s"' in page
    assert reverse("push-run", args=[push.pk]) not in page  # running: nothing to start
    response = client.get(partial, headers={"HX-Request": "true"})
    fragment = text(response).strip()
    assert fragment.startswith('<div id="push-picks"') and fragment.endswith("</div>")
    assert "<table" in fragment and "<nav" not in fragment and "<html" not in fragment
    assert f"#{alices_pick.pk}" in fragment

    Push.objects.filter(pk=push.pk).update(state=PushState.DONE)
    assert "hx-trigger" not in text(client.get(partial, headers={"HX-Request": "true"}))


# --- every page ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["rel", "alice"])
def test_every_page_answers(client, request, who, alices_pick, remote):
    engineer = request.getfixturevalue(who)
    signed_in(client, engineer)
    branch = alices_pick.branch
    urls = [
        reverse("home"),
        reverse("repository", args=[branch.repository.slug]),
        branch.get_absolute_url(),
        alices_pick.push.get_absolute_url(),
        reverse("push-picks", args=[alices_pick.push.pk]),
        alices_pick.get_absolute_url(),
        reverse("engineer", args=["alice"]),
        reverse("pick-new"),
        reverse("inbox"),
        reverse("revision-search"),
        reverse("revision", args=[alices_pick.sha]),
        reverse("revision", args=[remote.trunk[0]]),
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_pages_load_htmx_from_our_own_static_files(client, alice):
    page = text(signed_in(client, alice).get(reverse("pick-new")))
    assert "django_htmx/htmx-2.min.js" in page
    assert 'src="http' not in page and 'href="http' not in page


def test_an_account_without_an_engineer_row_is_told_why(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="root")
    response = signed_in(client, type("E", (), {"user": admin})).get(reverse("pick-new"))
    assert response.status_code == 403
    assert "Your account has no engineer record" in text(response)


def test_a_post_without_the_csrf_token_is_refused(alice, alices_pick):
    client = signed_in(Client(enforce_csrf_checks=True), alice)
    assert client.post(reverse("pick-new"), {"revision": "abcdef1", "reason": "r"}).status_code == (
        403
    )
    assert client.post(reverse("pick-withdraw", args=[alices_pick.pk])).status_code == 403
    alices_pick.refresh_from_db()
    assert alices_pick.state == PickState.REQUESTED
