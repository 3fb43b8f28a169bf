"""A push whose worker host died is finished by another host, with a clone of its own that never
saw the dead host's work: what origin has is fetched, what only the dead host's clone had is
merged again from what the database recorded, and git and the database agree afterwards.

Host A is a real Celery worker SIGKILLed at a phase of the push (faults.py holds it there);
host B is this process with a data folder of its own (its own clone, worktrees and locks).
"""

from __future__ import annotations

import time

import pytest

from pushes import services
from pushes.choices import PickState, PushState
from pushes.models import PushEvent
from tests.reliability.invariants import assert_consistent
from tests.reliability.test_worker_killed import POINTS as KILL_POINTS
from tests.reliability.test_worker_killed import kill_at

# Where host A dies, and the state it leaves the push in: one point of each phase.
POINTS = {
    where: KILL_POINTS[where]
    for where in (
        "tests-of-pick-2",
        "tag-written-database-not-told",
        "remote-push-before-the-remote-accepted-it",
        "remote-push-after-the-remote-accepted-it",
        "deploy-hook-running",
    )
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", list(POINTS))
def test_a_push_killed_on_one_host_is_finished_by_another_with_its_own_clone(
    train_of, where, settings, tmp_path
):
    template, left_in = POINTS[where]
    train = train_of(clone_hooks=True, remote_hooks=True, deploy=True)
    kill_at(train, template.format(*train.shas))
    assert train.refresh().state == left_in

    settings.DATA_DIR = tmp_path / "host-b"  # another host: no clone, no worktrees, no locks
    assert not services.clone_path(train.repository).exists()
    push = _resumed(train.push.pk)

    assert (push.state, push.error) == (PushState.DONE, "")
    assert train.pick_states() == [PickState.SHIPPED] * 3
    assert_consistent(train.branch, train.remote.bare)  # host B's clone, origin, the database
    # Merged again only where origin never got the push; where it did, host B finds it there.
    merged_again = PushEvent.objects.filter(push=push, reason__startswith="Resumed on").exists()
    assert merged_again == (
        where in ("tag-written-database-not-told", "remote-push-before-the-remote-accepted-it")
    )


def _resumed(push_id: int):
    """Host B's tick resumes the push. The dead host's database session (and the push's lock it
    held) ends a moment after its process: until then the push is busy, and the tick, as the
    next one would a minute later, tries again."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return services.push_run(push_id=push_id)
        except services.PushBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
