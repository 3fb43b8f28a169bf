"""A move made while a push runs counts for every pick not recorded yet: a pick withdrawn,
rejected or deferred while a test runs never reaches the branch, the push goes on without it,
and nothing crashes. (Before the fix the branch moved first and the pick was checked after: the
withdrawn pick shipped and the task crashed on IllegalTransition.)

The push runs in a thread while the test holds it inside a pick's test command (faults.py).
"""

from __future__ import annotations

import threading

import pytest

from pushes import services
from pushes.choices import PickState, PushState
from pushes.models import Pick
from tests.repos import git


def _run_in_background(train) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            services.push_run(push_id=train.push.pk)
        except BaseException as error:  # the test reports it
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def _on_remote(train, sha: str, ref: str) -> bool:
    """Whether the remote's `ref` carries a cherry-pick of trunk commit `sha`."""
    log = git(train.remote.bare, "log", "--format=%B", f"{train.branch.base_sha}..{ref}")
    return f"(cherry picked from commit {sha})" in log


MOVES = {
    "withdraw": lambda pick, people: services.pick_withdraw(
        pick_id=pick.pk, actor=people[pick.requestor.username], reason="Fixed by config"
    ),
    "reject": lambda pick, people: services.pick_reject(
        pick_id=pick.pk, actor=people["rel"], reason="Too risky today"
    ),
    "defer": lambda pick, people: services.pick_defer(pick_id=pick.pk, actor=people["rel"]),
}
GONE = {
    "withdraw": PickState.WITHDRAWN,
    "reject": PickState.REJECTED,
    "defer": PickState.DEFERRED,
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("which", ["the pick under test", "the next pick"])
@pytest.mark.parametrize("move", list(MOVES))
def test_a_pick_moved_while_the_push_runs_stays_off_the_branch(
    train_of, rel, alice, bob, move, which
):
    train = train_of(picks=2, tests=True)
    first, second = train.shas
    point = f"test-{first}"
    train.control.hold(point)
    thread, errors = _run_in_background(train)
    try:
        train.control.wait(point)
        moved_id = train.picks[0] if which == "the pick under test" else train.picks[1]
        moved = Pick.objects.select_related("requestor__user").get(pk=moved_id)
        MOVES[move](moved, {"rel": rel, "alice": alice, "bob": bob})
    finally:
        train.control.release()
        thread.join(timeout=90)
    assert not thread.is_alive() and errors == []

    push = train.refresh()
    assert (push.state, push.error) == (PushState.DONE, "")
    kept_id = train.picks[1] if moved_id == train.picks[0] else train.picks[0]
    kept_sha = second if moved_id == train.picks[0] else first
    moved_sha = first if moved_id == train.picks[0] else second
    assert Pick.objects.get(pk=moved_id).state == GONE[move]
    assert Pick.objects.get(pk=kept_id).state == PickState.SHIPPED
    branch_ref = f"refs/heads/{train.branch.name}"
    assert not _on_remote(train, moved_sha, branch_ref)
    assert not _on_remote(train, moved_sha, f"refs/tags/{push.tag}")
    assert _on_remote(train, kept_sha, f"refs/tags/{push.tag}")
