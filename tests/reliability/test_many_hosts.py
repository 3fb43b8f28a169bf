"""Two hosts that share one PostgreSQL and one Redis, each with its own data folder (its own
clones, worktrees and lock files), a web server and a worker: picks of two repositories asked
for, approved and confirmed on both web servers, both pushes run, and the worker host running
one of them SIGKILLed in the middle of it. The other host finishes both: every pick ships,
each exactly once on its branch, and origin and the database agree.

Nothing here is shared but the database, the broker and the remotes, as between machines; only
the PostgreSQL + Redis mode runs it (SQLite is one host by construction).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from pushes import services, tasks
from pushes.choices import PickState, PushState
from pushes.models import Pick, Push
from pushes.services.branch_index import branch_reconcile
from releasebot.celery import app
from tests.ports import free_port
from tests.reliability.conftest import Train, build_train
from tests.reliability.invariants import assert_consistent
from tests.workers import ROOT, _isolate_broker, _reset_pools, wait_for
from tests.workers import test_database_url as database_url

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"), reason="many hosts share a Redis broker (REDIS_URL)"
    ),
    pytest.mark.django_db(transaction=True),
]


@dataclass
class Host:
    name: str
    folder: Path
    port: int
    web: subprocess.Popen
    worker: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self, what: str) -> str:
        return (self.folder / f"{what}.log").read_text(errors="replace")

    def call(self, method: str, path: str, token: str, body: dict | None = None) -> dict:
        import json

        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body or {}).encode(),
            method=method,
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"{}")


@contextmanager
def host(name: str, root: Path, queue: str) -> Iterator[Host]:
    folder = root / name
    folder.mkdir(parents=True)
    env = {
        **os.environ,
        "DEBUG": "1",
        "RELEASEBOT_DATA_DIR": str(folder),
        "DATABASE_URL": database_url(),
        "CELERY_QUEUE": queue,
        "PYTHONUNBUFFERED": "1",
    }
    port = free_port()
    python = sys.executable
    web_command = [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    worker_command = [
        python, "-m", "celery", "-A", "releasebot", "worker", "-Q", queue, "--concurrency", "1",
        "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info",
        "-n", f"{name}-{queue}@%h",
    ]  # fmt: skip
    started = []
    try:
        for command, log in ((web_command, "web"), (worker_command, "worker")):
            with open(folder / f"{log}.log", "wb") as out:
                started.append(
                    subprocess.Popen(
                        command,
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )  # fmt: skip
                )
        running = Host(name, folder, port, *started)
        wait_for(lambda: " ready." in running.log("worker"), timeout=60, what=f"{name}'s worker")
        wait_for(lambda: _answers(running.url), timeout=60, what=f"{name}'s web server")
        yield running
    finally:
        for process in started:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url + "/login/", timeout=2).close()
    except OSError:
        return False
    return True


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def runs_under(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        pid = parent_of(pid)
    return False


def holding_host(train: Train, hosts: list[Host]) -> Host:
    """The host whose worker runs the test script waiting at the held point."""
    found = subprocess.run(
        ["pgrep", "-f", f"run_tests.sh {train.control.quoted}"], capture_output=True, text=True
    ).stdout.split()
    for host_ in hosts:
        if any(runs_under(int(pid), host_.worker.pid) for pid in found):
            return host_
    raise AssertionError(f"no host runs the held test script (pids {found})")


def ask_for_picks(train: Train, hosts: list[Host], tokens: dict[str, str], shas: list[str]):
    """Each pick asked for, approved and confirmed through the web servers, in turn."""
    ids = []
    for n, sha in enumerate(shas):
        web = hosts[n % 2]
        who = ("alice", "bob")[n % 2]
        pick = web.call("POST", "/api/picks/", tokens[who], {"revision": sha, "reason": "Fix"})
        hosts[(n + 1) % 2].call("POST", f"/api/picks/{pick['id']}/approve/", tokens["rel"])
        ids.append((pick["id"], who))
    services.push_confirmations_open(push_id=train.push.pk)  # the tick's T-30
    for n, (pick_id, who) in enumerate(ids):
        hosts[n % 2].call("POST", f"/api/picks/{pick_id}/confirm/", tokens[who])
    return [pick_id for pick_id, _ in ids]


def test_two_hosts_finish_both_pushes_when_one_worker_host_dies_mid_push(
    tmp_path, rel, alice, bob, settings
):
    assert connection.vendor == "postgresql"
    tokens = {e.user.username: Token.objects.create(user=e.user).key for e in (rel, alice, bob)}
    trains, shas = [], []
    for slug in ("shop", "cart"):
        train = build_train(
            tmp_path / slug, [alice, bob], slug=slug, picks=0, push_state=PushState.SCHEDULED,
            scheduled_in=dt.timedelta(minutes=20),
        )  # fmt: skip
        landed = [
            train.remote.commit({f"src/{slug}{n}.py": f"N = {n}\n"}, f"Fix {slug} {n}")
            for n in range(3)
        ]
        services.trunk_sync(repository=train.repository)
        trains.append(train)
        shas.append(landed)

    queue = f"hosts-{uuid.uuid4().hex[:8]}"
    saved = _isolate_broker(Path(settings.DATA_DIR) / "celery" / "queue", queue)
    try:
        with ExitStack() as stack:
            hosts = [stack.enter_context(host(name, tmp_path / "hosts", queue)) for name in "ab"]
            picks = [ask_for_picks(t, hosts, tokens, s) for t, s in zip(trains, shas, strict=True)]
            assert set(Pick.objects.values_list("state", flat=True)) == {PickState.CONFIRMED}

            shop = trains[0]
            shop.control.hold(f"test-{shas[0][1]}")  # shop's second pick, under test
            for n, train in enumerate(trains):  # each push run from a different web server
                path = f"/api/pushes/{train.push.pk}/run/"
                hosts[n].call("POST", path, tokens["rel"], {"early": True})
            shop.control.wait(f"test-{shas[0][1]}", timeout=90)
            dying = holding_host(shop, hosts)
            assert "push_run[" in dying.log("worker")
            os.killpg(dying.worker.pid, signal.SIGKILL)  # the worker host dies mid-push
            dying.worker.wait(10)
            shop.control.release()
            survivor = hosts[1 - hosts.index(dying)]
            time.sleep(0.5)
            tasks.train_tick.delay()  # the reconciler's next tick, taken by the survivor
            wait_for(
                lambda: all(
                    Push.objects.get(pk=t.push.pk).state in (PushState.DONE, PushState.FAILED)
                    for t in trains
                ),
                timeout=120,
                what=f"both pushes to finish; survivor's log:\n{survivor.log('worker')[-4000:]}",
            )
    finally:
        app.conf.task_default_queue = saved["task_default_queue"]
        app.conf.broker_transport_options = saved["broker_transport_options"]
        app.conf.broker_url = saved["broker_url"]
        _reset_pools()

    settings.DATA_DIR = tmp_path / "auditor"  # a third clone, made from origin only
    for train, ids in zip(trains, picks, strict=True):
        push = train.refresh()
        assert (push.state, push.error) == (PushState.DONE, ""), push.error
        assert (
            list(Pick.objects.filter(pk__in=ids).order_by("pk").values_list("state", flat=True))
            == [PickState.SHIPPED] * 3
        )
        services.repository_fetch(repository=train.repository)
        branch_reconcile(
            branch=train.branch,
            path=services.clone_path(train.repository),
            scratch=services.scratch_dir(),
        )
        assert_consistent(train.branch, train.remote.bare)
