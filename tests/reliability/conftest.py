"""A small train on a real repository, wired with the hooks of faults.py, for fault tests.

Celery workers in these tests are real processes running on the real clock, so the branch is
cut at the repository's last real cut slot (a tick's `branch_cut_due` finds it made) and only
the pushes a test creates exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import timezone

from pushes import cadence, services
from pushes.choices import PickState, PushKind, PushState
from pushes.models import Engineer, Pick, Push, ReleaseBranch, Repository, Revision
from tests.reliability.faults import Control
from tests.repos import RemoteRepo
from tests.workers import WorkerProcess, worker_process


@contextmanager
def worker(**options) -> Iterator[WorkerProcess]:
    """worker_process, stopped with SIGKILL once the test is done with it.

    By then it is idle (what the test waited for is committed), and a warm shutdown of a worker
    on the filesystem broker takes about six seconds.
    """
    with worker_process(**options) as process:
        yield process
        process.kill()


@dataclass
class Train:
    remote: RemoteRepo
    repository: Repository
    branch: ReleaseBranch
    push: Push
    picks: list[int]
    shas: list[str]
    control: Control
    extra: dict = field(default_factory=dict)

    @property
    def clone(self) -> Path:
        return services.clone_path(self.repository)

    def refresh(self) -> Push:
        self.push.refresh_from_db()
        return self.push

    def pick_states(self) -> list[str]:
        by_pk = dict(Pick.objects.filter(pk__in=self.picks).values_list("pk", "state"))
        return [by_pk[pk] for pk in self.picks]


def make_pick(
    branch: ReleaseBranch, push: Push | None, sha: str, requestor: Engineer, state: str
) -> Pick:
    commit = Revision.objects.get(repository=branch.repository, sha=sha)
    return Pick.objects.create(
        branch=branch, push=push, sha=sha, trunk_position=commit.position, title=commit.title,
        author_name=commit.author_name, author_email=commit.author_email, requestor=requestor,
        reason="Needed for the reliability tests", state=state,
    )  # fmt: skip


def build_train(
    root: Path,
    requestors: list[Engineer],
    *,
    slug: str = "shop",
    picks: int = 3,
    state: str = PickState.CONFIRMED,
    push_state: str = PushState.CONFIRMING,
    scheduled_in: dt.timedelta = dt.timedelta(minutes=-1),
    tests: bool = True,
    deploy: bool = False,
    clone_hooks: bool = False,
    remote_hooks: bool = False,
) -> Train:
    """A branch cut at the last real cut slot, ``picks`` new trunk commits and one push."""
    control = Control(root / f"{slug}-control")
    remote = RemoteRepo(root / slug, commits=3)
    remote.commit({"run_tests.sh": control.test_script()}, "Add the test runner")
    repository = Repository.objects.create(
        slug=slug, name=slug.capitalize(), remote_url=remote.url, time_zone="America/Los_Angeles",
        test_command=f"sh run_tests.sh {control.quoted}" if tests else "",
        test_timeout_seconds=60,
        deploy_hook=control.deploy_hook() if deploy else "",
    )  # fmt: skip
    slot = cadence.last_cut_slot(repository, timezone.now())
    branch = services.branch_cut(repository=repository, at=slot)
    branch.pushes.all().delete()  # only the push below exists: no other is due on the tick
    shas = [
        remote.commit({f"src/fix{n}.py": f"FIX = {n}\n"}, f"Fix number {n}", author="bob")
        for n in range(picks)
    ]
    services.trunk_sync(repository=repository)
    push = Push.objects.create(
        branch=branch, day=timezone.localdate(), number=1, state=push_state,
        kind=PushKind.DAILY, scheduled_at=timezone.now() + scheduled_in,
    )  # fmt: skip
    pick_ids = [
        make_pick(branch, push, sha, requestors[n % len(requestors)], state).pk
        for n, sha in enumerate(shas)
    ]
    if clone_hooks:
        control.install_clone_hooks(services.clone_path(repository))
    if remote_hooks:
        control.install_remote_hooks(remote.bare)
    return Train(remote, repository, branch, push, pick_ids, shas, control)


@pytest.fixture
def train_of(tmp_path, rel, alice, bob):
    """``train_of(**options)``: build_train with alice and bob as requestors, rel watching."""

    def make(**options) -> Train:
        return build_train(tmp_path, [alice, bob], **options)

    return make
