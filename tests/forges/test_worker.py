"""From a signed webhook to the pick, the comment and the label, with a real Celery worker:
nothing is run by hand in between."""

from __future__ import annotations

import pytest

from pushes.models import Pick
from tests.forges.conftest import SECRET_ENV, TOKEN, TOKEN_ENV, connect, github_delivery, labeled
from tests.workers import wait_for, worker_process


@pytest.mark.django_db(transaction=True)
def test_a_labelled_merged_pull_request_gets_its_pick_comment_and_label_through_a_worker(
    client, github, repository, landed, alice
):
    alice.github_login = "alice-gh"
    alice.save()
    connect(repository, github)
    github.pull(42, merge_sha=landed["fix"], labels=["pick"])
    with worker_process(env={TOKEN_ENV: TOKEN, SECRET_ENV: "unused-by-the-worker"}) as worker:
        response = github_delivery(client, "pull_request", labeled(landed["fix"]))
        assert response.status_code == 202, response.json()

        wait_for(
            lambda: "picked" in github.pulls[42].labels and github.pulls[42].comments,
            timeout=60,
            what=f"the comment and the label; worker log:\n{worker.log}",
        )
    pick = Pick.objects.get()
    assert pick.requestor == alice and pick.sha == landed["fix"]
    (comment,) = github.pulls[42].comments.values()
    assert f"#{pick.pk}" in comment
    assert TOKEN not in worker.log
