"""Confirmations to 3,000 requestors through Celery and the Slack notifier, against a local
stand-in for Slack's Web API (tests/chat/slack_stub.py).

A real worker process (concurrency 2) on the configured broker (Redis when REDIS_URL is set)
delivers the notices; this process opens the push's confirmations with the product's
`push_confirmations_open`, which writes a notice per requestor and queues each delivery after
commit. Timed: from the call to the last `chat.postMessage` the stand-in received.

A push carries one pick per requestor; where the scale has fewer engineers linked to Slack
(1,000 at 1x), the bench adds the people it lacks, and it picks the newest trunk commits,
whichever side of the branch's base they are (the notices do not depend on it).
"""

from __future__ import annotations

import threading
import time

from bench.common import Row, branch_with_push, median_p95

BUDGET_S = 5.0
REQUESTORS = 3000


def run(data, *, requestors: int | None = None, samples: int = 3) -> tuple[list[Row], dict]:
    """Rows and figures for a push whose picks each have another requestor: REQUESTORS of
    them from scale 1 up, the push benchmark's size below (the suite's tiny scale)."""
    if requestors is None:
        requestors = REQUESTORS if data.sizes.scale >= 1 else data.sizes.push_picks
    from django.conf import settings
    from django.test.utils import override_settings

    from bench.processes import celery_worker
    from tests.chat.slack_stub import TOKEN, SlackStub

    _people_enough(requestors)
    stub = SlackStub()
    times: list[float] = []
    lock = threading.Lock()
    answer = stub.answer

    def answer_timed(method: str, body: dict, authorized: bool) -> dict:
        if method == "chat.postMessage":
            with lock:
                times.append(time.perf_counter())
        return answer(method, body, authorized)

    stub.answer = answer_timed  # type: ignore[method-assign]
    broker = "Redis" if settings.CELERY_BROKER_URL.startswith("redis") else "file broker"
    slack = {"SLACK_BOT_TOKEN": TOKEN}
    notifiers = ["chat.notifier.SlackNotifier"]
    totals, opens = [], []
    with stub:
        slack["SLACK_API_URL"] = stub.api_url
        with (
            celery_worker(concurrency=2, env=slack) as worker,
            override_settings(**slack, RELEASEBOT_NOTIFIERS=notifiers),
        ):
            for n in range(samples):
                push = _push(data, requestors, n)
                with lock:
                    times.clear()
                total, opened = _measure(push, requestors, times, lock)
                totals.append(total)
                opens.append(opened)
            memory = worker.memory()
    total, total_p95 = median_p95(totals)
    opened, _ = median_p95(opens)
    figures = {"total_s": total, "open_s": opened, "worker_mb": memory, "broker": broker}
    row = Row(
        name=f"confirmations to {requestors:,} requestors, `push_confirmations_open` to the last "
        f"`chat.postMessage` (Celery on {broker}, worker concurrency 2)",
        samples=samples,
        median_ms=total * 1000,
        p95_ms=total_p95 * 1000,
        baseline="`push_confirmations_open` itself (notices written, deliveries queued)",
        baseline_median_ms=opened * 1000,
        budget=f"<= {BUDGET_S:g} s to the last message",
        note="ok" if total <= BUDGET_S else "MISSED",
    )
    return [row], figures


def _measure(push, requestors: int, times: list[float], lock) -> tuple[float, float]:
    from pushes.services import push_confirmations_open

    started = time.perf_counter()
    push_confirmations_open(push_id=push.pk)
    opened = time.perf_counter() - started
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with lock:
            if len(times) >= requestors:
                return max(times) - started, opened
        time.sleep(0.01)
    raise RuntimeError(f"only {len(times)} of {requestors} confirmations reached Slack")


def _push(data, requestors: int, n: int):
    """A push of `requestors` approved picks, each by another engineer (all linked to Slack)."""

    from pushes.choices import PickState, PushState
    from pushes.models import Engineer, Pick, Revision

    push = branch_with_push(
        data, f"release/bench-confirm-{n}", state=PushState.SCHEDULED, due_in_minutes=30
    )
    branch = push.branch
    newest = Revision.objects.filter(repository=data.repository).order_by("-position")
    commits = newest[:requestors]
    people = Engineer.objects.filter(chat_id__isnull=False).order_by("pk")[:requestors]
    Pick.objects.bulk_create(
        Pick(
            branch=branch,
            push=push,
            sha=commit.sha,
            trunk_position=commit.position,
            title=commit.title,
            author_name=commit.author_name,
            author_email=commit.author_email,
            requestor=engineer,
            reason="Bench",
            state=PickState.APPROVED,
        )
        for commit, engineer in zip(commits, people, strict=True)
    )
    return push


def _people_enough(requestors: int) -> None:
    """At least `requestors` engineers linked to Slack: the bench's own added when the scale's
    are fewer (each with a user, as the product's engineers have)."""
    from django.contrib.auth import get_user_model

    from pushes.models import Engineer

    missing = requestors - Engineer.objects.filter(chat_id__isnull=False).count()
    if missing <= 0:
        return
    User = get_user_model()
    names = [f"confirm{n:05d}" for n in range(missing)]
    User.objects.bulk_create(
        [User(username=name, password="!", email=f"{name}@example.com") for name in names],
        batch_size=2000,
    )
    users = User.objects.filter(username__startswith="confirm").values_list("username", "pk")
    Engineer.objects.bulk_create(
        [
            Engineer(user_id=pk, email=f"{name}@example.com", chat_id=f"UC{name[7:]}")
            for name, pk in users
        ],
        batch_size=2000,
    )
