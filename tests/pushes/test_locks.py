"""Locks on git work: a file lock for this host's clone, and on PostgreSQL an advisory lock
that every host sees and that a host's death releases."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from django.db import connection

from pushes.locks import LockTimeout, lock_key, repository_lock
from tests.workers import test_database_url as database_url
from tests.workers import wait_for


def held_elsewhere(settings, folder, name: str, *, timeout: float = 0) -> bool:
    """Whether `name` is held by someone, asked from a "host" with data folder `folder`."""
    settings.DATA_DIR = folder
    try:
        with repository_lock(name, timeout=timeout):
            return False
    except LockTimeout:
        return True


@pytest.mark.django_db(transaction=True)
def test_a_lock_holds_on_this_host_and_on_postgresql_on_every_host(settings, tmp_path):
    here, there = tmp_path / "host-a", tmp_path / "host-b"
    settings.DATA_DIR = here
    taken, release = threading.Event(), threading.Event()

    def holder() -> None:
        with repository_lock("shop"):
            taken.set()
            release.wait(30)
        connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert taken.wait(30)
        assert held_elsewhere(settings, here, "shop")  # the same host: the file lock
        # Another host (its own data folder): held only where the database can say so.
        assert held_elsewhere(settings, there, "shop") == (connection.vendor == "postgresql")
        assert not held_elsewhere(settings, there, "shop.push-1")  # another name: free
    finally:
        release.set()
        thread.join(30)
    assert not held_elsewhere(settings, there, "shop")


HOLD = """
import sys, time, psycopg
connection = psycopg.connect(sys.argv[1], autocommit=True)
connection.execute("SELECT pg_advisory_lock(%s)", [int(sys.argv[2])])
print("held", flush=True)
time.sleep(60)
"""


@pytest.mark.django_db(transaction=True)
def test_a_host_that_dies_holding_a_lock_releases_it_at_once(settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("on SQLite there is one host, and a dead process's file lock goes with it")
    settings.DATA_DIR = tmp_path / "host-b"
    command = [sys.executable, "-c", HOLD, database_url(), str(lock_key("shop"))]
    host_a = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert host_a.stdout is not None and host_a.stdout.readline().strip() == "held"
        assert held_elsewhere(settings, settings.DATA_DIR, "shop")
        host_a.kill()  # SIGKILL: no unlock ran
        host_a.wait(10)
        wait_for(lambda: not held_elsewhere(settings, settings.DATA_DIR, "shop"), timeout=10)
    finally:
        if host_a.poll() is None:
            host_a.kill()


def test_lock_keys_are_stable_and_distinct():
    assert lock_key("shop") == lock_key("shop")
    assert lock_key("shop") != lock_key("shop.push-1")
    assert -(2**63) <= lock_key("shop") < 2**63
