"""Fixtures shared by every test: named people, a data folder per test, a fast hasher."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from karma.services import karma_unlike
from pushes import statuscache
from pushes.choices import Role
from pushes.models import Engineer


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    # The default hasher costs ~0.5 s a login; tests log in a lot.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DATA_DIR = tmp_path / "var"
    settings.DATA_DIR.mkdir()
    statuscache.forget()  # answers a test before kept in this process (the same shas)


@pytest.fixture(scope="session", autouse=True)
def _no_session_left_on_the_test_database(django_db_setup, django_db_blocker):
    """Worker and server processes that tests start may still be closing their connections
    when the run ends, and PostgreSQL refuses to drop a database in use: close them first."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def tasks_queued(callbacks: list) -> list:
    """The Celery tasks among on-commit callbacks: with a shared cache (Redis) the status
    cache's drop on commit is a callback too, and it is not work queued."""
    from common.queue import Queued

    return [c for c in callbacks if isinstance(c, Queued)]


def make_engineer(username: str, *, role: str = Role.ENGINEER, **user_fields) -> Engineer:
    user = get_user_model().objects.create_user(
        username=username,
        password=username,
        email=f"{username}@example.com",
        first_name=username.capitalize(),
        **user_fields,
    )
    return Engineer.objects.create(
        user=user, email=user.email, role=role, chat_id=f"U{username.upper()}"
    )


@pytest.fixture
def rel(db) -> Engineer:
    """The release engineer."""
    return make_engineer("rel", role=Role.RELEASE_ENGINEER, is_staff=True)


@pytest.fixture
def alice(db) -> Engineer:
    return make_engineer("alice")


@pytest.fixture
def bob(db) -> Engineer:
    return make_engineer("bob")


@pytest.fixture
def carol(db, rel) -> Engineer:
    """An engineer down to two stars: her picks are refused."""
    carol = make_engineer("carol")
    for reason in ("Pick broke search on push 1", "Not online for push 2", "Reverted on push 3"):
        karma_unlike(user_id=carol.user_id, actor_id=rel.user_id, reason=reason)
    return carol


@pytest.fixture
def remote(tmp_path):
    """A bare remote with a trunk of five commits by alice, bob and carol."""
    from tests.repos import RemoteRepo

    return RemoteRepo(tmp_path / "remote", commits=5)


@pytest.fixture
def repository(db, remote):
    """The Repository row for `remote`, on Los Angeles time with Releasebot's default cadence."""
    from pushes.models import Repository

    return Repository.objects.create(
        slug="shop", name="Shop", remote_url=remote.url, time_zone="America/Los_Angeles"
    )
