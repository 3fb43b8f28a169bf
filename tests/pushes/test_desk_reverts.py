"""A release engineer's bad day: a shipped pick reverted on the branch (git revert, carried by
the next push), and a push rolled back (the previous tag deployed again). On real repositories,
through the API, the page and chat, as a release engineer would."""

from __future__ import annotations

import json
import sys

import pytest

from chat.commands import answer
from pushes import services
from pushes.choices import PickState, PushState
from pushes.models import Notification, Pick, Push, Rollback
from pushes.selectors.delivery import change_failure_rate, time_to_restore
from pushes.selectors.window import window_for
from tests.api import assert_error, client_for
from tests.repos import git

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(repository, remote, branch, alice):
    """Alice's fix shipped by the first daily push (origin's branch and tag carry it)."""
    fix = remote.commit({"src/module1.py": "VALUE = 100\n"}, "Fix module 1", author="alice")
    services.trunk_sync(repository=repository)
    pick = services.pick_request(requestor=alice, revision=fix, reason="Crash").pick
    push = branch.pushes.filter(kind="daily").order_by("scheduled_at").first()
    Pick.objects.filter(pk=pick.pk).update(state=PickState.CONFIRMED, push=push)
    assert services.push_run(push_id=push.pk).state == PushState.DONE
    pick.refresh_from_db()
    assert pick.state == PickState.SHIPPED and remote.read(branch.name, "src/module1.py") == (
        "VALUE = 100\n"
    )
    return pick


def test_a_revert_lands_on_origins_branch_and_the_next_push_carries_it(
    shipped, remote, branch, rel, alice
):
    response = client_for(rel).post(
        f"/api/picks/{shipped.pk}/revert/", {"reason": "Broke payments"}, format="json"
    )
    assert response.status_code == 200, response.json()

    pick = Pick.objects.get(pk=shipped.pk)
    assert pick.state == PickState.REVERTED and pick.revert_sha
    assert remote.head(branch.name) == pick.revert_sha
    assert remote.read(branch.name, "src/module1.py") == "VALUE = 1\n"
    message = git(remote.bare, "log", "-1", "--format=%B", branch.name)
    assert f"This reverts commit {pick.result_sha}." in message and "Broke payments" in message
    told = Notification.objects.get(engineer=alice, kind="reverted").text
    assert "reverted by rel: Broke payments" in told and pick.revert_sha[:10] in told
    assert Notification.objects.filter(engineer=rel, kind="karma-suggestion").exists()

    following = branch.pushes.filter(state=PushState.SCHEDULED).order_by("scheduled_at").first()
    done = services.push_run(push_id=following.pk)
    assert done.state == PushState.DONE
    assert remote.read(done.tag, "src/module1.py") == "VALUE = 1\n"  # deployed without it


def test_a_revert_asked_twice_is_made_once(shipped, remote, branch, rel):
    services.pick_revert(pick_id=shipped.pk, actor=rel, reason="Broke payments")
    head = remote.head(branch.name)
    Pick.objects.filter(pk=shipped.pk).update(state=PickState.SHIPPED)  # its record was lost
    services.pick_revert(pick_id=shipped.pk, actor=rel, reason="Broke payments")
    assert remote.head(branch.name) == head
    assert Pick.objects.get(pk=shipped.pk).revert_sha == head


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        ("alice", {"reason": "Mine, broken"}, 403, "forbidden"),
        ("rel", {}, 400, "invalid"),
        ("rel", {"reason": "  "}, 400, "invalid"),
    ],
)
def test_a_refused_revert_changes_nothing(shipped, remote, branch, rel, alice, who, body,
                                          status, code):  # fmt: skip
    head = remote.head(branch.name)
    engineer = {"rel": rel, "alice": alice}[who]
    response = client_for(engineer).post(f"/api/picks/{shipped.pk}/revert/", body, format="json")
    assert_error(response, status, code)
    assert remote.head(branch.name) == head
    assert Pick.objects.get(pk=shipped.pk).state == PickState.SHIPPED


def test_a_revert_that_conflicts_with_a_later_hand_change_is_refused(
    shipped, remote, branch, rel, tmp_path
):
    remote.hand_commit(branch.name, tmp_path / "work", "src/module1.py", "VALUE = 7\n", "Hotfix")
    head = remote.head(branch.name)
    response = client_for(rel).post(
        f"/api/picks/{shipped.pk}/revert/", {"reason": "Broke payments"}, format="json"
    )
    body = assert_error(response, 409, "revert-conflict")
    assert body["details"] == {"files": ["src/module1.py"]}
    assert remote.head(branch.name) == head
    assert Pick.objects.get(pk=shipped.pk).state == PickState.SHIPPED


def test_the_pick_page_offers_revert_to_a_release_engineer_and_it_works(client, shipped, rel):
    client.force_login(rel.user)
    page = client.get(f"/picks/{shipped.pk}/").content.decode()
    assert f"/picks/{shipped.pk}/revert/" in page
    client.post(f"/picks/{shipped.pk}/revert/", {"reason": "Broke payments"})
    assert Pick.objects.get(pk=shipped.pk).state == PickState.REVERTED


def test_chat_reverts_for_a_release_engineer(shipped, rel):
    reply = answer(f"revert #{shipped.pk} Broke payments", engineer=rel)
    assert Pick.objects.get(pk=shipped.pk).state == PickState.REVERTED, reply.text
    assert "reverted" in reply.text


# --- rollback ------------------------------------------------------------------------------


@pytest.fixture
def two_pushes(shipped, repository, branch, remote, tmp_path):
    """A second push after the first, and a deploy hook that writes down what it deployed."""
    out = tmp_path / "deployed.jsonl"
    hook = tmp_path / "hook.py"
    hook.write_text(
        "import json, os\n"
        f"open({str(out)!r}, 'a').write(json.dumps(os.environ['RELEASEBOT_TAG']) + '\\n')\n"
    )
    repository.deploy_hook = f"{sys.executable} {hook}"
    repository.save()
    first = Push.objects.get(state=PushState.DONE)
    second = branch.pushes.filter(state=PushState.SCHEDULED).order_by("scheduled_at").first()
    assert services.push_run(push_id=second.pk).state == PushState.DONE
    return first, Push.objects.get(pk=second.pk), out


def test_a_rollback_deploys_the_previous_tag_and_counts_as_an_outage(two_pushes, rel, repository):
    first, second, out = two_pushes
    response = client_for(rel).post(
        f"/api/pushes/{second.pk}/rollback/", {"reason": "Checkout errors"}, format="json"
    )
    assert response.status_code == 200, response.json()

    assert [json.loads(line) for line in out.read_text().splitlines()][-1] == first.tag
    rollback = Rollback.objects.get()
    assert (rollback.push, rollback.to_push, rollback.deployed) == (second, first, True)
    window = window_for(repository=repository, weeks=4)
    assert change_failure_rate(repository=repository, window=window).failures == 1
    (outage,) = time_to_restore(repository=repository, window=window).restored
    assert outage.restored_at == rollback.at and "rolled back" in outage.failed_push
    assert (
        "was rolled back by rel: Checkout errors"
        in Notification.objects.filter(engineer=rel).latest("pk").text
    )


def test_the_first_push_has_nothing_to_roll_back_to(shipped, rel, repository):
    repository.deploy_hook = "true"
    repository.save()
    push = Push.objects.get(state=PushState.DONE)
    response = client_for(rel).post(f"/api/pushes/{push.pk}/rollback/", {"reason": "x"},
                                    format="json")  # fmt: skip
    assert_error(response, 409, "no-previous-push")
    assert not Rollback.objects.exists()


def test_a_rollback_the_hook_refuses_is_recorded_as_not_deployed(two_pushes, rel, repository):
    _, second, _ = two_pushes
    repository.deploy_hook = "false"
    repository.save()
    response = client_for(rel).post(
        f"/api/pushes/{second.pk}/rollback/", {"reason": "Checkout errors"}, format="json"
    )
    assert_error(response, 409, "rollback-failed")
    assert Rollback.objects.get().deployed is False


def test_only_release_engineers_roll_back(two_pushes, alice):
    _, second, _ = two_pushes
    response = client_for(alice).post(
        f"/api/pushes/{second.pk}/rollback/", {"reason": "x"}, format="json"
    )
    assert_error(response, 403, "forbidden")
    assert not Rollback.objects.exists()


def test_a_revert_asked_while_a_push_of_the_branch_runs_waits_for_it(shipped, remote, branch, rel):
    from pushes.locks import repository_lock

    head = remote.head(branch.name)
    with repository_lock(f"{branch.repository.slug}.push-{branch.pk}"):  # a push running
        response = client_for(rel).post(
            f"/api/picks/{shipped.pk}/revert/",
            {"reason": "Broke payments"},
            format="json",
        )
    assert_error(response, 409, "push-busy")
    assert remote.head(branch.name) == head
    assert Pick.objects.get(pk=shipped.pk).state == PickState.SHIPPED
