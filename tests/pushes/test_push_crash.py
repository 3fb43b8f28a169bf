"""A real worker SIGKILLed in the middle of a push: the rerun ends with the same branch as a push
that was never interrupted, each pick applied exactly once."""

from __future__ import annotations

import datetime as dt
import sys

import pytest
from django.utils import timezone

from pushes import services, tasks
from pushes.choices import PickState, PushState, TestRunState
from pushes.models import Pick, Push, Repository, TestRun
from tests.pushes.conftest import SUNDAY_CUT
from tests.repos import RemoteRepo, git
from tests.workers import wait_for, worker_process

SLOW_TESTS = "import time, sys; time.sleep(1.0); sys.exit(0)\n"


def train(tmp_path, slug: str, requestor) -> tuple[RemoteRepo, Push, list[int]]:
    """The same remote (identical shas) with a branch and one push of three confirmed picks."""
    remote = RemoteRepo(tmp_path / slug, commits=5)
    remote.commit({"run_tests.py": SLOW_TESTS}, "Add slow tests")
    repository = Repository.objects.create(
        slug=slug, name=slug, remote_url=remote.url, time_zone="America/Los_Angeles",
        test_command=f"{sys.executable} run_tests.py",
    )  # fmt: skip
    branch = services.branch_cut(repository=repository, at=SUNDAY_CUT)
    branch.pushes.all().delete()
    shas = [remote.commit({f"src/fix{n}.py": f"FIX = {n}\n"}, f"Fix number {n}") for n in range(3)]
    services.trunk_sync(repository=repository)
    push = Push.objects.create(
        branch=branch, day=timezone.localdate(), number=1, state=PushState.CONFIRMING,
        scheduled_at=timezone.now() - dt.timedelta(minutes=1),
    )  # fmt: skip
    picks = []
    for position, sha in enumerate(shas, start=6):
        pick = Pick.objects.create(
            branch=branch, push=push, sha=sha, trunk_position=position, title=f"Fix {sha[:7]}",
            author_name="A", author_email="a@example.com", requestor=requestor, reason="r",
            state=PickState.CONFIRMED,
        )  # fmt: skip
        picks.append(pick.pk)
    return remote, push, picks


def branch_story(remote: RemoteRepo, branch: str, base: str) -> tuple[str, list[str]]:
    """What a branch holds, independent of commit dates: its tree and its picks' trailers."""
    tree = git(remote.bare, "rev-parse", f"{branch}^{{tree}}").strip()
    log = git(remote.bare, "log", "--reverse", "--format=%B", f"{base}..{branch}")
    trailers = [line for line in log.splitlines() if line.startswith("(cherry picked from commit")]
    return tree, trailers


@pytest.mark.django_db(transaction=True)
def test_a_push_killed_mid_way_resumes_to_the_same_branch_as_an_uninterrupted_one(tmp_path, alice):
    reference, ref_push, _ = train(tmp_path, "uninterrupted", alice)
    services.push_run(push_id=ref_push.pk)
    ref_push.refresh_from_db()
    assert ref_push.state == PushState.DONE

    remote, push, picks = train(tmp_path, "crashed", alice)
    with worker_process() as worker:
        tasks.push_run.delay(push.pk)
        wait_for(
            lambda: (
                Pick.objects.get(pk=picks[0]).state == PickState.PICKED
                and TestRun.objects.filter(pick_id=picks[1], state=TestRunState.RUNNING).exists()
            ),
            interval=0.02,
            timeout=90,
            what="the first pick on the branch and the second under test",
        )
        worker.kill()
    push.refresh_from_db()
    assert push.state == PushState.MERGING
    assert Pick.objects.get(pk=picks[1]).state == PickState.CONFIRMED

    with worker_process():
        tasks.train_tick.delay()  # the reconciler finds the push half-done and resumes it
        wait_for(
            lambda: Push.objects.get(pk=push.pk).state == PushState.DONE,
            timeout=120,
            what="the resumed push to finish",
        )

    push.refresh_from_db()
    base = push.branch.base_sha
    assert branch_story(remote, push.branch.name, base) == branch_story(
        reference, ref_push.branch.name, ref_push.branch.base_sha
    )
    tree, trailers = branch_story(remote, push.branch.name, base)
    assert len(trailers) == len(set(trailers)) == 3
    assert set(Pick.objects.filter(pk__in=picks).values_list("state", flat=True)) == {
        PickState.SHIPPED
    }
    interrupted = TestRun.objects.get(pick_id=picks[1], state=TestRunState.ERROR)
    assert "Interrupted" in interrupted.log
    assert TestRun.objects.filter(pick_id=picks[1], state=TestRunState.PASSED).count() == 1
    assert git(remote.bare, "rev-parse", f"{push.tag}^{{commit}}").strip() == remote.head(
        push.branch.name
    )
