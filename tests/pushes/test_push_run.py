"""One push through its phases on a real repository: policies, failures and the deploy hook."""

from __future__ import annotations

import datetime as dt
import json
import sys

import pytest

from pushes import services
from pushes.choices import FridayPolicy, PickState, PushState, TestRunState
from pushes.models import FreezeWindow, Notification, Pick, Push
from tests.pushes.conftest import LA
from tests.repos import branch_log, git

FRIDAY_11 = dt.datetime(2026, 11, 27, 11, 0, tzinfo=LA)


@pytest.fixture
def confirmed(repository, remote, branch, alice):
    """Two confirmed picks in a push due now: a small fix and a large change."""

    def make(scheduled_at=None, **repo_fields):
        for name, value in repo_fields.items():
            setattr(repository, name, value)
        repository.save()
        small = remote.commit({"src/module1.py": "VALUE = 100\n"}, "Small fix")
        big = remote.commit({"src/big.py": "X = 1\n" * 600}, "Big change")
        services.trunk_sync(repository=repository)
        push = branch.pushes.filter(kind="daily").order_by("scheduled_at").first()
        if scheduled_at:
            Push.objects.filter(pk=push.pk).update(scheduled_at=scheduled_at)
        picks = []
        for sha in (small, big):
            pick = services.pick_request(requestor=alice, revision=sha, reason="Needed").pick
            Pick.objects.filter(pk=pick.pk).update(
                state=PickState.CONFIRMED, push=push, review_comments=0
            )
            picks.append(pick.pk)
        return Push.objects.get(pk=push.pk), picks

    return make


def test_a_careful_friday_ships_only_low_risk_picks(confirmed, rel):
    push, (small, big) = confirmed(scheduled_at=FRIDAY_11, friday_policy=FridayPolicy.CAREFUL)
    push = services.push_run(push_id=push.pk)
    assert push.state == PushState.DONE
    assert Pick.objects.get(pk=small).state == PickState.SHIPPED
    big_pick = Pick.objects.get(pk=big)
    # Held back by a policy, not by its requestor: approval kept, no roll counted.
    assert (big_pick.state, big_pick.rolls) == (PickState.APPROVED, 0)
    assert "Friday policy is careful" in big_pick.events.filter(to_state="approved").get().reason


def test_a_push_inside_a_freeze_window_is_skipped_and_its_picks_move_on(confirmed, repository):
    push, picks = confirmed()
    FreezeWindow.objects.create(
        repository=repository,
        starts_at=push.scheduled_at - dt.timedelta(hours=1),
        ends_at=push.scheduled_at + dt.timedelta(hours=1),
        reason="Black Friday",
    )
    push = services.push_run(push_id=push.pk)
    assert push.state == PushState.SKIPPED
    assert "Black Friday" in push.error
    assert not push.tag
    for pick in Pick.objects.filter(pk__in=picks):
        # Confirmed for a push that did not go out: asked again for the next one, nothing counted.
        assert pick.push_id != push.pk and pick.state == PickState.APPROVED and pick.rolls == 0
        assert "Black Friday" in pick.events.get(to_state=PickState.APPROVED).reason


def test_an_unreachable_remote_fails_the_push_cleanly_and_tells_release_engineering(
    confirmed, repository, remote, rel, tmp_path
):
    push, picks = confirmed()
    before = remote.head(push.branch.name)
    from pushes.services import clone_path

    git(clone_path(repository), "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    Push.objects.filter(pk=push.pk).update(state=PushState.TAGGING)  # merged; now tag + push
    push = services.push_run(push_id=push.pk)
    assert push.state == PushState.FAILED
    assert "Pushing failed" in push.error
    assert remote.head(push.branch.name) == before  # nothing half-pushed
    assert Notification.objects.filter(engineer=rel, kind="push-failed", push=push).exists()
    # Once the remote is back, a retry finishes from the remote push.
    git(clone_path(repository), "remote", "set-url", "origin", remote.url)
    assert services.push_retry(push_id=push.pk).state == PushState.DONE


def test_a_hanging_test_command_times_out_and_the_pick_comes_back_off(confirmed, remote):
    push, (small, big) = confirmed(
        test_command=f"{sys.executable} -c 'import time; time.sleep(30)'",
        test_timeout_seconds=1,
    )
    push = services.push_run(push_id=push.pk)
    assert push.state == PushState.DONE
    assert set(Pick.objects.filter(pk__in=(small, big)).values_list("state", flat=True)) == {
        PickState.TESTS_FAILED
    }
    run = Pick.objects.get(pk=small).test_runs.get()
    assert run.state == TestRunState.TIMED_OUT
    assert "timed out after 1 s" in run.log
    assert remote.head(push.branch.name) == push.branch.base_sha


def test_the_deploy_hook_is_called_with_the_push_it_deploys(confirmed, tmp_path):
    out = tmp_path / "deployed.json"
    hook = tmp_path / "hook.py"
    hook.write_text(
        "import json, os, sys\n"
        "keys = ['RELEASEBOT_TAG', 'RELEASEBOT_SHA', 'RELEASEBOT_BRANCH']\n"
        f"json.dump({{k: os.environ[k] for k in keys}}, open({str(out)!r}, 'w'))\n"
    )
    push, _ = confirmed(deploy_hook=f"{sys.executable} {hook}")
    push = services.push_run(push_id=push.pk)
    assert push.state == PushState.DONE and not push.error
    assert json.loads(out.read_text()) == {
        "RELEASEBOT_TAG": push.tag,
        "RELEASEBOT_SHA": push.head_sha,
        "RELEASEBOT_BRANCH": push.branch.name,
    }


def test_a_failing_deploy_hook_is_reported_but_the_push_stays_shipped(confirmed):
    push, picks = confirmed(deploy_hook="false")
    push = services.push_run(push_id=push.pk)
    assert push.state == PushState.DONE
    assert "deploy hook exited 1" in push.error
    assert Pick.objects.get(pk=picks[0]).state == PickState.SHIPPED


def test_running_a_finished_push_again_changes_nothing(confirmed, remote):
    push, _ = confirmed()
    push = services.push_run(push_id=push.pk)
    head = remote.head(push.branch.name)
    again = services.push_run(push_id=push.pk)
    assert (again.state, again.tag, remote.head(push.branch.name)) == (
        PushState.DONE, push.tag, head,
    )  # fmt: skip


def test_a_rehearsal_warns_a_requestor_whose_pick_no_longer_applies(confirmed, repository):
    from pushes import git as gitlayer
    from pushes.services import clone_path, scratch_dir

    push, (small, _) = confirmed()
    Pick.objects.filter(pk=small).update(state=PickState.APPROVED)
    # A release engineer lands a branch-only fix on the same line after the request.
    path = clone_path(repository)
    branch = push.branch.name
    head = gitlayer.branch_head(path, branch)
    with gitlayer.worktree(path, head, scratch_dir=scratch_dir()) as tree:
        (tree.path / "src/module1.py").write_text("VALUE = 99\n")
        git(tree.path, "commit", "-qam", "Branch-only hotfix")
        gitlayer.branch_advance(path, branch, tree.head(), head)
    warned = services.push_rehearse(push_id=push.pk)
    assert [p.pk for p in warned] == [small]
    notice = Notification.objects.get(kind="predicted-conflict", pick_id=small)
    assert "conflicts in src/module1.py" in notice.text
    assert Pick.objects.get(pk=small).predicted_conflicts == ["src/module1.py"]
    # Rehearsing again does not warn twice.
    assert services.push_rehearse(push_id=push.pk) == []


def test_more_picks_than_one_git_process_takes_merge_once_each_in_trunk_order(
    repository, remote, branch, alice
):
    """No test command: git cherry-picks push_merge.CHUNK picks a process. Among 25 picks, one
    conflicts, one brings a change the branch already has and one is a merge; git ends with
    exactly the clean picks in trunk order, each once with its trailer."""
    from pushes.services.push_merge import CHUNK

    picked, names = [], {}
    for i in range(25):
        if i == 2:
            names["first"] = remote.commit({"src/dup.py": "SAME = 1\n"}, "Add dup")
        elif i == 5:
            remote.commit({"src/module1.py": "VALUE = 2\n"}, "Unpicked change")
            names["conflict"] = remote.commit({"src/module1.py": "VALUE = 3\n"}, "Conflicts")
        elif i == 12:
            remote.commit({"src/dup.py": None}, "Unpicked removal")
            names["again"] = remote.commit({"src/dup.py": "SAME = 1\n"}, "Add dup again")
        elif i == 18:
            names["merge"] = remote.merge({"src/merged.py": "M = 1\n"}, "Merged feature")
        else:
            names[f"file {i}"] = remote.commit({f"src/f{i}.py": f"N = {i}\n"}, f"File {i}")
        picked.append(remote.tip)
    assert len(picked) > CHUNK
    services.trunk_sync(repository=repository)
    push = branch.pushes.filter(kind="daily").order_by("scheduled_at").first()
    ids = {}
    for sha in picked:
        pick = services.pick_request(requestor=alice, revision=sha, reason="Needed").pick
        Pick.objects.filter(pk=pick.pk).update(state=PickState.CONFIRMED, push=push)
        ids[sha] = pick.pk

    assert services.push_run(push_id=push.pk).state == PushState.DONE

    states = {sha: Pick.objects.get(pk=pk).state for sha, pk in ids.items()}
    assert states.pop(names["conflict"]) == PickState.CONFLICT
    assert set(states.values()) == {PickState.SHIPPED}
    carried = [sha for sha in picked if sha not in (names["conflict"], names["again"])]
    trailers = [
        line.removeprefix("(cherry picked from commit ").removesuffix(")")
        for message in reversed(branch_log(remote.bare, branch.name, branch.base_sha))
        for line in message.splitlines()
        if line.startswith("(cherry picked from commit ")
    ]
    assert trailers == carried
    assert remote.read(branch.name, "src/merged.py") == "M = 1\n"
    assert remote.read(branch.name, "src/dup.py") == "SAME = 1\n"
    again = Pick.objects.get(pk=ids[names["again"]])
    first = Pick.objects.get(pk=ids[names["first"]])
    where = again.events.get(to_state="picked").reason
    assert where == f"Found on the branch as {first.result_sha[:10]} (patch-id)."
