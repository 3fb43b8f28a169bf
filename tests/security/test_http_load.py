"""1,000 "where is my revision?" questions over HTTP at once, to a real gunicorn.

gunicorn (two worker processes of eight threads, as deployed) serves the test database from its
own processes; 150 client threads, each on its own connection, ask about revisions on trunk,
cut into a branch, picked, shipped, unknown and malformed. Every answer must be the one the
selector gives in this process, none may fail or go missing, and the server must be as healthy
afterwards as before. (tests/reliability/test_load.py asks the selector from threads, without
HTTP.)
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token

from common.errors import DomainError
from pushes import selectors, services
from pushes.api.revision_serializers import RevisionStatusSerializer
from pushes.choices import PickState
from tests import workers
from tests.reliability.conftest import build_train, make_pick
from tests.workers import wait_for

REQUESTS = 1000
CLIENTS = 150


@dataclass
class Server:
    process: subprocess.Popen
    log_path: Path
    host: str
    port: int

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str, token: str) -> tuple[int, bytes]:
        """One request on a connection of its own (closed after), as separate clients make."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.request("GET", path, headers={"Authorization": f"Token {token}"})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


@pytest.fixture
def gunicorn(transactional_db) -> Iterator[Server]:
    """gunicorn on a free port against this test's database, stopped before the database goes
    (PostgreSQL will not drop a database that gunicorn's connections still hold)."""
    log_path = Path(settings.DATA_DIR) / "gunicorn.log"
    env = {
        **os.environ,
        "DEBUG": "1",
        "RELEASEBOT_DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": workers.test_database_url(),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "gunicorn", "releasebot.wsgi:application",
        "--bind", "127.0.0.1:0", "--workers", "2", "--threads", "8",
        "--backlog", "2048", "--timeout", "60", "--no-control-socket",
        "--access-logfile", "-", "--access-logformat", '%(m)s %(U)s %(s)s',
    ]  # fmt: skip
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command, cwd=workers.ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:

        def listening() -> re.Match | None:
            assert process.poll() is None, log_path.read_text()
            text = log_path.read_text()
            if text.count("Booting worker") < 2:
                return None
            return re.search(r"Listening at: \S+:(\d+)", text)

        port = int(wait_for(listening, timeout=30, what="gunicorn to listen").group(1))
        yield Server(process, log_path, "127.0.0.1", port)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def expected_answer(query: str) -> tuple[int, dict]:
    """What the selector says, as the API shows it: the status or the refusal."""
    try:
        found = selectors.revision_status(query=query)
    except DomainError as refusal:
        return refusal.status, refusal.as_dict()
    return 200, json.loads(json.dumps(RevisionStatusSerializer(found).data))


@pytest.mark.slow
def test_1000_concurrent_revision_questions_are_each_answered_right(
    gunicorn, tmp_path, rel, alice, bob
):
    train = build_train(tmp_path, [alice, bob], tests=False)
    services.push_run(push_id=train.push.pk)  # the train's three picks ship
    picked = train.remote.commit({"src/late.py": "LATE = 1\n"}, "Late fix", author="alice")
    on_trunk = train.remote.commit({"src/next.py": "NEXT = 1\n"}, "Next week", author="bob")
    services.trunk_sync(repository=train.repository)
    make_pick(train.branch, None, picked, alice, PickState.APPROVED)
    cut = train.repository.revisions.order_by("position").first().sha
    queries = [
        *train.shas,  # shipped by a pick
        picked[:10],  # picked, not shipped
        on_trunk,  # on trunk only, rides the next cut
        cut[:7],  # in the branch by the cut
        "deadbeef12",  # unknown: 404
        "not-a-sha",  # malformed: 400
    ]
    expected = {query: expected_answer(query) for query in queries}
    statuses = Counter(status for status, _ in expected.values())
    assert statuses == {200: 6, 404: 1, 400: 1}, expected
    assert "shipped" in " ".join(expected[train.shas[0]][1]["story"])
    token = Token.objects.create(user=alice.user).key
    assert gunicorn.get(f"/api/revisions/{cut[:7]}/", token)[0] == 200  # warm, and healthy

    asked = [queries[n % len(queries)] for n in range(REQUESTS)]
    start = threading.Barrier(CLIENTS, timeout=30)

    def ask(chunk: list[str]) -> list[tuple[str, int, bytes]]:
        start.wait()  # every client connects at the same moment
        return [(q, *gunicorn.get(f"/api/revisions/{quote(q)}/", token)) for q in chunk]

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        chunks = pool.map(ask, [asked[n::CLIENTS] for n in range(CLIENTS)])
        answers = [answer for chunk in chunks for answer in chunk]
    took = time.monotonic() - began

    assert len(answers) == REQUESTS
    wrong = [
        (query, status, body[:200])
        for query, status, body in answers
        if (status, json.loads(body)) != expected[query]
    ]
    assert not wrong, wrong[:5]
    assert Counter(query for query, _, _ in answers) == Counter(asked)
    print(f"\n{REQUESTS} revision questions from {CLIENTS} connections over HTTP: {took:.2f} s")

    # The server is healthy: still serving, no worker lost or restarted, every request logged.
    assert gunicorn.get("/api/repositories/", token)[0] == 200
    assert gunicorn.process.poll() is None
    log = wait_for(
        lambda: (text := gunicorn.log).count("GET /api/revisions/") >= REQUESTS + 1 and text,
        timeout=10,
        what="gunicorn's access log",
    )
    assert log.count("GET /api/revisions/") == REQUESTS + 1
    assert log.count("Booting worker") == 2, log[-3000:]
    assert "Traceback" not in log and "WORKER TIMEOUT" not in log, log[-3000:]
