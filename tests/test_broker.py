"""The embedded broker (releasebot/broker.py): many processes share its folder, and no reader
ever sees half a message or half an exchange table (kombu's own transport: celery/kombu#1551)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from kombu import Connection

from common.tasks import outbox_relay
from releasebot.celery import app
from tests.workers import wait_for, worker_process

TRANSPORT = "releasebot.broker:Transport"
PRODUCERS = 3
MESSAGES = 1500  # per producer
PAD = "x" * 20_000  # a bigger file takes longer to write: a wider window for a torn read


def connect(folder: Path) -> Connection:
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(folder / "control"),
        "polling_interval": 0.01,
    }
    return Connection("filesystem://", transport=TRANSPORT, transport_options=options)


def produce(folder: Path, producer: int) -> None:
    with connect(folder) as connection:
        queue = connection.SimpleQueue("soak")
        for n in range(MESSAGES):
            queue.put({"producer": producer, "n": n, "pad": PAD})


def consume(folder: Path, done: Any, results: Any) -> None:
    seen: list[tuple[int, int]] = []
    error = ""
    with connect(folder) as connection:
        queue = connection.SimpleQueue("soak")
        while True:
            try:
                message = queue.get(timeout=0.05)
            except queue.Empty:
                if done.is_set():
                    break  # every producer has finished and the folder is empty
                continue
            except Exception as exc:  # a torn read: JSONDecodeError with kombu's transport
                error = f"{type(exc).__name__}: {exc} after {len(seen)} messages"
                break
            seen.append((message.payload["producer"], message.payload["n"]))
            message.ack()
    results.put((seen, error))


def test_concurrent_writers_and_readers_never_see_a_partial_message(tmp_path):
    context = multiprocessing.get_context("fork")
    done, results = context.Event(), context.Queue()
    consumers = [context.Process(target=consume, args=(tmp_path, done, results)) for _ in "ab"]
    producers = [context.Process(target=produce, args=(tmp_path, n)) for n in range(PRODUCERS)]
    for process in consumers + producers:
        process.start()
    for process in producers:
        process.join(timeout=60)
    done.set()
    (seen_a, error_a), (seen_b, error_b) = results.get(timeout=60), results.get(timeout=60)
    for process in consumers:
        process.join(timeout=10)
    assert (error_a, error_b) == ("", "")
    seen = seen_a + seen_b
    assert len(seen) == PRODUCERS * MESSAGES, "lost messages"
    assert len(set(seen)) == len(seen), "a message delivered twice"
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == []  # no partial file left


def bind(folder: Path, exchange: str, queue: str) -> None:
    with connect(folder) as connection:
        channel = connection.default_channel
        channel.exchange_declare(exchange, type="fanout")
        channel.queue_bind(queue, exchange=exchange, routing_key=queue)


def test_queues_bound_to_a_new_exchange_at_once_are_all_kept(tmp_path):
    # kombu's transport creates the table with open("wb") before its lock: one binding is lost.
    context = multiprocessing.get_context("fork")
    for round_ in range(40):
        exchange = f"fan{round_}"
        processes = [
            context.Process(target=bind, args=(tmp_path, exchange, f"q{n}")) for n in range(4)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=30)
        with connect(tmp_path) as connection:
            table = connection.default_channel.get_table(exchange)
        assert sorted(row.queue for row in table) == ["q0", "q1", "q2", "q3"], round_


@pytest.mark.skipif(
    not django_settings.CELERY_BROKER_URL.startswith("filesystem"), reason="the suite runs on Redis"
)
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_consumes_through_it_with_remote_control_off(settings):
    assert app.conf.broker_transport == TRANSPORT
    assert app.conf.worker_enable_remote_control is False
    with worker_process(concurrency=2) as worker:
        for _ in range(100):
            outbox_relay.delay()
        wait_for(
            lambda: worker.log.count("succeeded") >= 100,
            timeout=60,
            what=f"100 tasks to finish; worker log:\n{worker.log[-3000:]}",
        )
        assert "Unrecoverable error" not in worker.log
    control = Path(settings.DATA_DIR) / "celery" / "control"
    assert not list(control.glob("*pidbox*"))  # no broadcast table for every process to share
