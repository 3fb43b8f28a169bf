"""One ask, several branches: a repository that keeps an older release branch open (still
deployed) gets one pick per branch named, each with its own state, from one comment or label."""

from __future__ import annotations

import pytest

from forges.models import PullRequestPick
from pushes.models import Pick
from tests.forges.conftest import connect, github_delivery, labeled, run_queued
from tests.forges.payloads import payload
from tests.pushes import test_kept_branches as kept

# The train of two weeks, the older branch kept or closed, as the kept-branches tests build it.
next_monday, two_cuts, OLD, NEW = kept.next_monday, kept.two_cuts, kept.OLD, kept.NEW

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alice, bob):
    alice.github_login, bob.github_login = "alice-gh", "bob-gh"
    alice.save()
    bob.save()
    return alice, bob


def test_a_comment_naming_two_branches_makes_a_pick_on_each(
    client, github, repository, two_cuts, people
):
    old, new, fix = two_cuts(keep=1)
    connect(repository, github)
    github.pull(42, merge_sha=fix, author="alice-gh")
    event = payload("github", "issue_comment.created")
    event["issue"]["number"] = 42
    event["comment"]["body"] = f"/rb pick to {NEW}, {OLD} The EU checkout total is wrong"
    event["comment"]["user"]["login"] = "bob-gh"

    assert github_delivery(client, "issue_comment", event).status_code == 202
    run_queued()

    picks = {p.branch.name: p for p in Pick.objects.select_related("branch")}
    assert set(picks) == {OLD, NEW}
    assert {p.sha for p in picks.values()} == {fix}
    assert PullRequestPick.objects.count() == 2
    (comment,) = github.pulls[42].comments.values()
    assert (
        f"| `{OLD}` | [#{picks[OLD].pk}]" in comment
        and f"| `{NEW}` | [#{picks[NEW].pk}]" in comment
    )
    assert "a push of release/2026-11-22 that release engineering starts" in comment


def test_a_branch_label_asks_for_that_branch_only(client, github, repository, two_cuts, people):
    _, _, fix = two_cuts(keep=1)
    connect(repository, github)
    github.pull(42, merge_sha=fix, labels=[f"pick:{OLD}"])
    github_delivery(client, "pull_request", labeled(fix, label=f"pick:{OLD}"))
    run_queued()
    assert [p.branch.name for p in Pick.objects.select_related("branch")] == [OLD]


def test_a_closed_branch_is_refused_and_the_open_one_still_gets_its_pick(
    client, github, repository, two_cuts, people
):
    _, _, fix = two_cuts(keep=0)
    connect(repository, github)
    github.pull(42, merge_sha=fix)
    event = payload("github", "issue_comment.created")
    event["issue"]["number"] = 42
    event["comment"]["body"] = f"/rb pick to {OLD},{NEW} Needed everywhere"
    event["comment"]["user"]["login"] = "bob-gh"
    github_delivery(client, "issue_comment", event)
    run_queued()
    assert [p.branch.name for p in Pick.objects.select_related("branch")] == [NEW]
    (comment,) = github.pulls[42].comments.values()
    assert f"onto `{OLD}` was refused: {OLD} is closed" in comment
