"""Picks asked for where the change lives: a label or a `/rb pick` comment on a merged pull
request asks for its merge commit on behalf of its author, with every check of the web form,
and the pick's state is written back to the pull request: one comment updated in place, the
labels `picked`, `shipped` and `conflict`, and a conflict's hand-over branch and draft."""

from __future__ import annotations

import pytest

from forges import services as forge_services
from forges.choices import AskState
from forges.models import PickAsk, PullRequest, PullRequestPick
from forges.services.writeback import MARKER
from pushes import services
from pushes.choices import PickState, PushState
from pushes.models import Pick
from tests.forges.conftest import (
    connect,
    github_delivery,
    gitlab_delivery,
    labeled,
    run_queued,
)
from tests.forges.payloads import payload
from tests.repos import git

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_gh(alice):
    alice.github_login = "Alice-GH"  # matched without regard to case
    alice.gitlab_username = "alice-gl"
    alice.save()
    return alice


@pytest.fixture
def bob_gh(bob):
    bob.github_login = "bob-gh"
    bob.gitlab_username = "bob-gl"
    bob.save()
    return bob


def _comments(forge, number=42) -> list[str]:
    return list(forge.pulls[number].comments.values())


def test_a_pick_label_on_a_merged_pull_request_asks_for_its_merge_commit_for_its_author(
    client, github, repository, landed, alice_gh
):
    connect(repository, github)
    github.pull(42, merge_sha=landed["fix"], labels=["pick"])

    response = github_delivery(client, "pull_request", labeled(landed["fix"]))
    assert response.status_code == 202
    run_queued()

    pick = Pick.objects.get()
    assert (pick.sha, pick.requestor, pick.state) == (landed["fix"], alice_gh, PickState.REQUESTED)
    assert "Labelled 'pick'" in pick.reason and "pull/42" in pick.reason
    (comment,) = _comments(github)
    assert comment.startswith(MARKER)
    assert f"[#{pick.pk}](http://127.0.0.1:8000/picks/{pick.pk}/)" in comment
    assert "| Requested |" in comment
    assert github.pulls[42].labels == ["pick", "picked"]


def test_the_comment_is_updated_in_place_as_the_pick_moves(
    client, github, repository, landed, alice_gh, rel
):
    connect(repository, github)
    github.pull(42, merge_sha=landed["fix"])
    github_delivery(client, "pull_request", labeled(landed["fix"]))
    run_queued()
    pick = Pick.objects.get()

    services.pick_approve(pick_id=pick.pk, actor=rel)
    run_queued()

    (comment,) = _comments(github)  # the same comment, not a second one
    assert "| Approved |" in comment
    writes = [(r.method, r.path) for r in github.writes()]
    assert writes.count(("POST", "/repos/acme/app/issues/42/comments")) == 1
    assert (
        "PATCH",
        f"/repos/acme/app/issues/comments/{PullRequest.objects.get().comment_id}",
    ) in writes

    forge_services.pull_request_writeback(pull_request_id=PullRequest.objects.get().pk)
    assert len(github.writes()) == len(writes)  # up to date: nothing written again


def test_a_label_before_the_merge_waits_for_it(client, github, repository, landed, alice_gh):
    connect(repository, github)
    github.pull(42, merged=False, state="open")
    response = github_delivery(client, "pull_request", labeled(landed["fix"], merged=False))
    assert response.status_code == 202
    assert response.json()["outcome"] == "1 pick ask(s) wait for the merge"
    run_queued()
    assert not Pick.objects.exists()
    assert "waits for this to be merged" in _comments(github)[0]

    github.pull(42, merge_sha=landed["fix"], labels=["pick"])
    merged = payload("github", "pull_request.closed")
    merged["pull_request"].update(number=42, merged=True, merge_commit_sha=landed["fix"])
    merged["pull_request"]["labels"] = [{"name": "pick"}]
    assert github_delivery(client, "pull_request", merged).status_code == 202
    run_queued()

    assert Pick.objects.get().sha == landed["fix"]
    assert PickAsk.objects.get().state == AskState.DONE
    assert len(_comments(github)) == 1 and "waits for this" not in _comments(github)[0]


def test_taking_the_label_off_before_the_merge_cancels_the_ask(
    client, github, repository, landed, alice_gh
):
    connect(repository, github)
    github_delivery(client, "pull_request", labeled(landed["fix"], merged=False))
    off = labeled(landed["fix"], merged=False)
    off["action"] = "unlabeled"
    github_delivery(client, "pull_request", off)
    assert PickAsk.objects.get().state == AskState.CANCELLED


def _comment_event(text: str, login: str = "bob-gh") -> dict:
    body = payload("github", "issue_comment.created")
    body["issue"]["number"] = 42
    body["comment"]["body"] = text
    body["comment"]["user"]["login"] = login
    return body


def test_a_pick_comment_names_the_branch_and_the_reason(
    client, github, repository, branch, landed, alice_gh, bob_gh
):
    connect(repository, github)
    github.pull(42, merge_sha=landed["fix"], author="alice-gh")
    text = f"/rb pick to {branch.name} Checkout totals are wrong for every EU customer"

    response = github_delivery(client, "issue_comment", _comment_event(text))
    assert response.status_code == 202
    run_queued()

    pick = Pick.objects.get()
    assert pick.branch == branch and pick.requestor == alice_gh  # the author's, not bob's
    assert pick.reason == "Checkout totals are wrong for every EU customer"
    assert ("GET", "/repos/acme/app/pulls/42") in [(r.method, r.path) for r in github.seen]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("/rb pick", "Say why this pick cannot wait for the next train."),
        ("/rb pick to release-1999-01-01 Urgent", "has no release branch 'release-1999-01-01'"),
        ("/rb pik Urgent", "Releasebot understands `/rb pick [to BRANCH[,BRANCH...]] REASON`"),
    ],
)
def test_a_pick_comment_that_is_refused_is_answered_with_the_reason(
    client, github, repository, landed, alice_gh, bob_gh, text, says
):
    connect(repository, github)
    github.pull(42, merge_sha=landed["fix"])
    github_delivery(client, "issue_comment", _comment_event(text))
    run_queued()
    assert not Pick.objects.exists()
    assert says in _comments(github)[0]


def test_a_comment_by_someone_who_is_not_an_engineer_asks_for_nothing(
    client, github, repository, landed, alice_gh
):
    """Anyone may comment on a public repository; only engineers ask for picks."""
    connect(repository, github)
    github.pull(42, merge_sha=landed["fix"])
    event = _comment_event("/rb pick to `x` Ship my change", login="drive-by")
    github_delivery(client, "issue_comment", event)
    run_queued()
    assert not Pick.objects.exists()
    (comment,) = _comments(github)
    assert "GitHub user @drive-by is not an engineer on Releasebot" in comment
    assert not any(r.path.endswith("/pulls/42") for r in github.seen)  # not even asked


def test_an_ordinary_comment_is_not_a_command(client, github, repository, landed):
    connect(repository, github)
    response = github_delivery(client, "issue_comment", _comment_event("Looks good to me"))
    assert response.json()["outcome"] == "ignored: a comment not for Releasebot"
    assert not PickAsk.objects.exists()


def test_an_author_releasebot_does_not_know_is_told_how_to_be_known(
    client, github, repository, landed, alice
):
    connect(repository, github)
    github.pull(42, merge_sha=landed["feature"], author="stranger")  # bob's, not an engineer
    body = labeled(landed["feature"])
    body["pull_request"]["user"]["login"] = "stranger"
    github_delivery(client, "pull_request", body)
    run_queued()
    assert not Pick.objects.exists()
    assert "GitHub user @stranger is not an engineer on Releasebot" in _comments(github)[0]


def test_the_author_is_found_by_the_commits_email_without_a_login(
    client, github, repository, landed, alice
):
    connect(repository, github)
    github.pull(42, merge_sha=landed["fix"], author="someone-else")
    github_delivery(client, "pull_request", labeled(landed["fix"]))
    run_queued()
    assert Pick.objects.get().requestor == alice  # landed["fix"] is alice's commit


def test_a_label_that_arrives_before_trunk_is_indexed_still_finds_its_author_and_commit(
    client, github, repository, remote, landed, alice
):
    """GitHub sends the `push` and the `labeled` deliveries in no set order, and two workers
    take them at once: the label may be handled before the merge commit is indexed. The
    commit is on the remote all the same, so the ask indexes trunk first instead of refusing
    an author it could have found by the commit's e-mail (seen in the outside run)."""
    merged = remote.commit({"src/late.py": "LATE = 1\n"}, "Late fix (#42)", author="alice")
    connect(repository, github)
    github.pull(42, merge_sha=merged, author="someone-else", labels=["pick"])
    github_delivery(client, "pull_request", labeled(merged))
    run_queued()
    pick = Pick.objects.get()
    assert (pick.sha, pick.requestor) == (merged, alice)
    assert github.pulls[42].labels == ["pick", "picked"]


def test_an_engineer_whose_picks_are_refused_hears_why_on_the_pull_request(
    client, github, repository, landed, carol
):
    carol.github_login = "carol-gh"
    carol.save()
    connect(repository, github)
    github.pull(42, merge_sha=landed["fix"], author="carol-gh")
    github_delivery(client, "pull_request", labeled(landed["fix"]))
    run_queued()
    assert not Pick.objects.exists()
    assert "was refused" in _comments(github)[0] and "star" in _comments(github)[0]


def test_a_forge_that_is_down_never_blocks_the_pick_and_is_written_later(
    client, github, repository, landed, alice_gh
):
    connect(repository, github)
    github.pull(42, merge_sha=landed["fix"])
    github.fail_status = 503
    github_delivery(client, "pull_request", labeled(landed["fix"]))  # the payload says merged
    run_queued()

    pick = Pick.objects.get()
    pull_request = PullRequest.objects.get()
    assert (
        pull_request.write_error == "GitHub: HTTP 503 for POST /repos/acme/app/issues/42/comments"
    )
    assert pull_request.write_after is not None

    github.fail_status = None
    PullRequest.objects.filter(pk=pull_request.pk).update(write_after=None)
    asks, due = forge_services.forge_work_due()
    assert due == [pull_request.pk]
    forge_services.pull_request_writeback(pull_request_id=pull_request.pk)
    assert f"#{pick.pk}" in _comments(github)[0]
    assert PullRequest.objects.get().write_error == ""


def _push_now(branch, *shas):
    push = branch.pushes.filter(kind="daily").order_by("scheduled_at").first()
    Pick.objects.filter(sha__in=shas).update(state=PickState.CONFIRMED, push=push)
    return push


def test_a_shipped_pick_is_labelled_shipped(client, github, repository, branch, landed, alice_gh):
    connect(repository, github)
    github.pull(42, merge_sha=landed["fix"], labels=["pick"])
    github_delivery(client, "pull_request", labeled(landed["fix"]))
    run_queued()
    push = _push_now(branch, landed["fix"])

    assert services.push_run(push_id=push.pk).state == PushState.DONE
    run_queued()

    assert github.pulls[42].labels == ["pick", "shipped"]
    assert "| Shipped |" in _comments(github)[0]


def test_a_conflict_is_handed_over_as_a_branch_with_a_draft_and_the_commands(
    client, github, repository, branch, remote, alice_gh, tmp_path
):
    connect(repository, github)
    remote.hand_commit(branch.name, tmp_path / "work", "src/module1.py", "VALUE = 7\n", "Hotfix")
    sha = remote.commit({"src/module1.py": "VALUE = 8\n"}, "Change module 1", author="alice")
    services.trunk_sync(repository=repository)
    github.pull(42, merge_sha=sha, labels=["pick"])
    github_delivery(client, "pull_request", labeled(sha))
    run_queued()
    pick = Pick.objects.get()
    push = _push_now(branch, sha)

    services.push_run(push_id=push.pk)
    run_queued()

    assert Pick.objects.get().state == PickState.CONFLICT
    assert github.pulls[42].labels == ["pick", "conflict"]
    link = PullRequestPick.objects.get()
    assert link.handover_branch == f"pick/{pick.pk}"
    content = remote.read(f"pick/{pick.pk}", "src/module1.py")
    assert "<<<<<<<" in content and "VALUE = 7" in content and "VALUE = 8" in content
    message = git(remote.bare, "log", "-1", "--format=%B", f"pick/{pick.pk}")
    assert f"(cherry picked from commit {sha})" in message
    (draft,) = github.created
    assert (draft["head"], draft["base"], draft["draft"]) == (
        link.handover_branch,
        branch.name,
        True,
    )
    comment = _comments(github)[0]
    assert link.handover_url in comment
    assert (
        f"git switch pick/{pick.pk}" in comment and "git commit --all --amend --no-edit" in comment
    )

    forge_services.pull_request_writeback(pull_request_id=link.pull_request_id)
    assert len(github.created) == 1  # run twice: one branch, one draft


# --- GitLab -------------------------------------------------------------------------------


def test_a_gitlab_merge_request_labelled_after_its_merge_gets_its_pick_and_labels(
    client, gitlab, repository, branch, landed, alice_gh
):
    connect(repository, gitlab)
    gitlab.pull(12, merge_sha=landed["fix"], author="alice-gl", labels=["pick"])
    body = payload("gitlab", "merge_request.labeled")
    body["object_attributes"].update(iid=12, state="merged", merge_commit_sha=landed["fix"])

    assert gitlab_delivery(client, body).status_code == 202
    run_queued()

    pick = Pick.objects.get()
    assert pick.requestor == alice_gh
    writes = [(r.method, r.path, r.body) for r in gitlab.writes()]
    mr = "/api/v4/projects/acme/platform/app/merge_requests/12"
    assert writes[0][:2] == ("POST", f"{mr}/notes")
    assert writes[1] == ("PUT", mr, {"add_labels": "picked"})
    assert gitlab.pulls[12].labels == ["pick", "picked"]
    assert f"#{pick.pk}" in _comments(gitlab, 12)[0]

    push = _push_now(branch, landed["fix"])
    services.push_run(push_id=push.pk)
    run_queued()
    assert gitlab.pulls[12].labels == ["pick", "shipped"]


def test_a_gitlab_note_asks_for_a_pick(client, gitlab, repository, landed, alice_gh, bob_gh):
    connect(repository, gitlab)
    gitlab.pull(12, merge_sha=landed["fix"], author="alice-gl")
    body = payload("gitlab", "note.merge_request")
    body["merge_request"].update(iid=12, state="merged", merge_commit_sha=landed["fix"])
    body["object_attributes"]["note"] = "/rb pick Totals are wrong in the EU"
    assert gitlab_delivery(client, body).status_code == 202
    run_queued()
    assert Pick.objects.get().reason == "Totals are wrong in the EU"


def test_a_pick_asked_twice_by_a_label_and_a_comment_is_one_pick(
    client, github, repository, landed, alice_gh, bob_gh
):
    connect(repository, github)
    github.pull(42, merge_sha=landed["fix"])
    github_delivery(client, "pull_request", labeled(landed["fix"]))
    github_delivery(client, "issue_comment", _comment_event("/rb pick Needed in the EU"))
    run_queued()
    assert Pick.objects.count() == 1
    assert "was refused" not in _comments(github)[0]
    assert PullRequestPick.objects.count() == 1
