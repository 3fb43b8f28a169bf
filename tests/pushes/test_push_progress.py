"""A push's live progress, read while a real push runs on a real repository: the step and the
pick the runner records, the polled partial that stops once the push is done, the empty
states of test runs, and durations said the same way everywhere."""

from __future__ import annotations

import datetime as dt
import re
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import Client
from django.urls import reverse

from common.times import duration
from pushes import services
from pushes.choices import PickState, PushState, PushStep
from pushes.git import run as git_run
from pushes.models import Pick, Push, TestRun
from pushes.selectors.progress import (
    pick_test_runs_empty_text,
    push_progress,
    push_test_runs_empty_text,
)
from tests.api import assert_error
from tests.conftest import tasks_queued
from tests.pushes.conftest import LA

SECRET = "hunter2-progress-secret"

# The repository's test command: says it started, prints its log (a secret among it), then
# waits until the test lets it go, so the test reads the push's progress mid-run.
GATED_TEST = """
import pathlib, sys, time
gate = pathlib.Path(sys.argv[1])
n = len(list(gate.glob("started-*")))
print(f"collecting tests for run {n}", flush=True)
print("token=" + (gate / "secret").read_text(), flush=True)
(gate / f"started-{n}").touch()
while not (gate / f"go-{n}").exists():
    time.sleep(0.05)
print("3 passed", flush=True)
"""


def wait_for(check, timeout: float = 20.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def signed_in(engineer) -> Client:
    client = Client()
    client.force_login(engineer.user)
    return client


def confirmed_push(repository, remote, branch, alice, **repo_fields) -> tuple[Push, list[int]]:
    """A daily push with two confirmed picks, in trunk order: a small fix, then a feature."""
    for name, value in repo_fields.items():
        setattr(repository, name, value)
    repository.save()
    fix = remote.commit({"src/module1.py": "VALUE = 100\n"}, "Fix module 1")
    feature = remote.commit({"src/feature.py": "ON = True\n"}, "Add the feature")
    services.trunk_sync(repository=repository)
    push = branch.pushes.filter(kind="daily").order_by("scheduled_at").first()
    picks = []
    for sha in (fix, feature):
        pick = services.pick_request(requestor=alice, revision=sha, reason="Needed").pick
        Pick.objects.filter(pk=pick.pk).update(
            state=PickState.CONFIRMED, push=push, review_comments=0
        )
        picks.append(pick.pk)
    return Push.objects.get(pk=push.pk), picks


class PushInThread:
    """`services.push_run` in a thread of its own, as a worker runs it."""

    def __init__(self, push_id: int) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(push_id,), daemon=True)
        self.thread.start()

    def _run(self, push_id: int) -> None:
        try:
            services.push_run(push_id=push_id)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            self.error = error
        finally:
            connection.close()

    def join(self) -> None:
        self.thread.join(60)
        assert not self.thread.is_alive(), "the push did not finish"
        if self.error:
            raise self.error


@pytest.fixture
def gate(tmp_path) -> Path:
    folder = tmp_path / "gate"
    folder.mkdir()
    (folder / "secret").write_text(SECRET)
    script = tmp_path / "gated_test.py"
    script.write_text(GATED_TEST)
    return folder


def test_the_progress_names_the_pick_under_test_and_stops_polling_once_done(
    transactional_db, repository, remote, branch, alice, rel, gate, monkeypatch
):
    monkeypatch.setattr(git_run, "OUTPUT_EVERY", 0.2)  # the live log, sooner than every 2 s
    monkeypatch.setenv("RELEASEBOT_REVIEW_TOKEN_SHOP", SECRET)  # a secret the redactor knows
    script = gate.parent / "gated_test.py"
    push, (fix, feature) = confirmed_push(
        repository, remote, branch, alice, test_command=f"{sys.executable} {script} {gate}"
    )
    part_url = reverse("push-progress", args=[push.pk])
    client = signed_in(rel)
    before = client.get(part_url).content.decode()
    assert "Not started" in before and "hx-trigger" not in before

    running = PushInThread(push.pk)
    wait_for(lambda: (gate / "started-0").exists(), what="the first test run")
    # The runner recorded the step as it went: testing the fix, nothing dealt with yet.
    progress = wait_for(
        lambda: (p := push_progress(push_id=push.pk)).log and "token" in p.log[-1].text and p,
        what="the running test's output in the log",
    )
    assert (progress.step, progress.pick.pk, progress.done, progress.total) == (
        PushStep.TESTING,
        fix,
        0,
        2,
    )
    assert progress.running and progress.polling
    assert progress.doing == f"Testing #{fix} Fix module 1"
    assert progress.summary.startswith(f"Testing #{fix} Fix module 1: 0 of 2 picks, ")
    texts = [line.text for line in progress.log]
    assert any(text.startswith("Merging: Started") for text in texts)
    assert f"Test run #{TestRun.objects.get(pick_id=fix).pk} after #{fix}" in " ".join(texts)
    assert "│ collecting tests for run 0" in texts and texts[-1] == "│ token=***"
    assert not any(SECRET in text for text in texts)
    # The partial polls itself every 2 s while the push runs, and shows the same.
    part = client.get(part_url).content.decode()
    assert 'hx-trigger="every 2s"' in part and f'hx-get="{part_url}"' in part
    assert f"#{fix}</a>" in part and "Testing" in part and '<progress value="0" max="2"' in part
    assert SECRET not in part

    (gate / "go-0").touch()
    wait_for(lambda: (gate / "started-1").exists(), what="the second test run")
    progress = wait_for(
        lambda: (p := push_progress(push_id=push.pk)).pick and p.pick.pk == feature and p,
        what="the step to move to the feature",
    )
    assert (progress.step, progress.done, progress.total) == (PushStep.TESTING, 1, 2)
    assert '<progress value="1" max="2"' in client.get(part_url).content.decode()

    (gate / "go-1").touch()
    running.join()
    done = push_progress(push_id=push.pk)
    assert done.push.state == PushState.DONE
    assert (done.finished, done.polling, done.done, done.total) == (True, False, 2, 2)
    assert done.outcome.startswith("Done in ") and done.push.tag in done.outcome
    final = client.get(part_url).content.decode()
    assert "hx-trigger" not in final and "Reload the push page" in final
    assert "Done in " in final and SECRET not in final
    # The whole log replaced the live one when the test ended; the tail says how each ended.
    assert "3 passed" in TestRun.objects.get(pick_id=feature).log
    assert any("passed, exit 0, in " in line.text for line in done.log)


def test_run_now_makes_the_push_page_poll_before_a_worker_takes_it(
    repository, branch, rel, django_capture_on_commit_callbacks
):
    push = branch.pushes.order_by("scheduled_at").first()
    client = signed_in(rel)
    page = client.get(push.get_absolute_url()).content.decode()
    assert "push-progress-" not in page  # not started, not queued: nothing to watch
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(reverse("push-run", args=[push.pk]), {"early": "1"})
    assert response.status_code == 302 and len(tasks_queued(queued)) == 1
    page = client.get(push.get_absolute_url()).content.decode()
    assert "Waiting for a worker" in page
    assert f'hx-get="{reverse("push-progress", args=[push.pk])}"' in page
    assert f'hx-get="{reverse("push-picks", args=[push.pk])}"' in page  # the picks table too
    # The API answers with the same reading, and refuses a push that is not there.
    answer = client.get(f"/api/pushes/{push.pk}/progress/").json()
    assert (answer["push"], answer["step"], answer["polling"], answer["pick"]) == (
        push.pk,
        "queued",
        True,
        None,
    )
    assert answer["summary"].startswith("Waiting for a worker (")
    missing = assert_error(client.get("/api/pushes/999999/progress/"), 404, "not-found")
    assert missing["message"] == "There is no push #999999."
    # The train page and the risk dashboard show it as well.
    assert "Waiting for a worker" in client.get(reverse("home")).content.decode()
    assert "Waiting for a worker" in client.get(reverse("risk-dashboard")).content.decode()


def test_a_push_without_a_test_command_says_why_it_has_no_test_runs(
    repository, remote, branch, alice, rel
):
    push, (fix, _) = confirmed_push(repository, remote, branch, alice, test_command="true")
    expected = "No test runs yet: the test command runs after every pick once the push starts."
    assert push_test_runs_empty_text(push=push) == expected
    repository.test_command = ""
    repository.save()
    push = Push.objects.get(pk=push.pk)
    assert (
        push_test_runs_empty_text(push=push) == "No tests will run: Shop has no test command set."
    )
    push = services.push_run(push_id=push.pk)
    assert push.state == PushState.DONE
    page = signed_in(rel).get(push.get_absolute_url()).content.decode()
    assert "No test runs: this push ran no tests (Shop has no test command set)." in page
    assert "once the push starts" not in page
    took = re.search(r"took ([^<]+)</span>", page).group(1)  # a human duration, no timedelta
    assert took == duration(push.duration) and re.fullmatch(r"(under 1|\d+) s", took)
    pick_page = signed_in(rel).get(reverse("pick", args=[fix])).content.decode()
    assert "No test runs: Shop has no test command set, so none run." in pick_page


def test_a_done_push_that_carried_no_picks_says_so(repository, branch, rel):
    repository.test_command = "true"
    repository.save()
    push = branch.pushes.filter(kind="daily").order_by("scheduled_at").first()
    push = services.push_run(push_id=push.pk)
    assert push.state == PushState.DONE
    assert push_test_runs_empty_text(push=push) == (
        "No test runs: this push carried no picks to test."
    )
    skipped = branch.pushes.filter(kind="daily").order_by("scheduled_at")[1]
    Push.objects.filter(pk=skipped.pk).update(state=PushState.SKIPPED)
    skipped.refresh_from_db()
    assert push_test_runs_empty_text(push=skipped) == (
        "No test runs: the push was skipped, so nothing ran."
    )


def test_a_picks_empty_test_runs_fit_its_state(repository, remote, branch, alice):
    _, (fix, feature) = confirmed_push(repository, remote, branch, alice, test_command="true")
    pick = Pick.objects.select_related("branch__repository").get(pk=fix)
    assert pick_test_runs_empty_text(pick=pick) == (
        "No test runs yet: the tests run after the pick is applied at its push."
    )
    Pick.objects.filter(pk=feature).update(state=PickState.CONFLICT)
    assert pick_test_runs_empty_text(pick=Pick.objects.get(pk=feature)) == (
        "No test runs: the pick did not apply, so there was nothing to test."
    )
    Pick.objects.filter(pk=fix).update(state=PickState.WITHDRAWN)
    assert pick_test_runs_empty_text(pick=Pick.objects.get(pk=fix)) == (
        "No test runs: the pick was withdrawn before any push applied it."
    )


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (0, "0 s"),
        (0.4, "under 1 s"),
        (59.9, "59 s"),
        (61, "1 min 01 s"),
        (dt.timedelta(minutes=1, seconds=5), "1 min 05 s"),
        (3600, "1 h 00 min"),
        (dt.timedelta(hours=1, minutes=2, seconds=59), "1 h 02 min"),
        (dt.timedelta(days=2, hours=4, minutes=3), "2 d 4 h"),
        (-3, "0 s"),
        (None, ""),
    ],
)
def test_durations_are_said_the_way_people_say_them(value, said):
    assert duration(value) == said
    shown = Template("{% load releasebot %}{{ value|duration }}").render(Context({"value": value}))
    assert shown == (said or "—")


def test_the_duration_filter_takes_what_to_say_for_nothing():
    template = Template('{% load releasebot %}{{ value|duration:"running" }}')
    assert template.render(Context({"value": None})) == "running"
    assert template.render(Context({"value": dt.timedelta(seconds=2.312045)})) == "2 s"


def test_the_bot_says_what_a_running_push_is_doing(repository, branch, alice, rel):
    from chat.commands import push as push_command

    push = branch.pushes.filter(kind="daily").order_by("scheduled_at").first()
    started = dt.datetime.now(LA) - dt.timedelta(seconds=65)
    Push.objects.filter(pk=push.pk).update(
        state=PushState.MERGING, started_at=started, step=PushStep.PREPARING
    )
    reply = push_command("", rel).text
    assert f"Shop: push {push.label} of {branch.name} is running." in reply
    assert "Bringing the branch in line with origin: no picks, 1 min 0" in reply
