"""One small train on a real repository, built once per test module, for the security tests.

The authorization matrix has hundreds of cells and a train costs a quarter of a second to build,
so the rows are made once per module and committed; every test then runs inside pytest-django's
transaction (`db`), which is rolled back, so each cell starts from the same rows and a change one
cell makes is gone before the next. The rows are deleted when the module is done. A test module
imports the fixtures `world_fixture` and `on_world_fixture` (named `world` and `on_world`).

The people are the roles of the matrix: `alice` owns the picks, `bob` is another engineer,
`rel` the release engineer (staff, no admin permissions), and two Django superusers. What the
product means by an admin: a superuser *with* an engineer record (`admin`; the demo's release
engineer is one) is a release engineer everywhere (`Engineer.is_release_engineer`) and sees the
whole Django admin. A superuser made by `createsuperuser`, with no engineer record (`root`),
has the Django admin and can read the pages, but has no identity on the train: every action,
and the whole API, is refused (403, "no engineer record") until an admin adds one.
"""

from __future__ import annotations

import datetime as dt
import functools
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
import time_machine
from celery import Task
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.test import override_settings
from rest_framework.authtoken.models import Token

from common.queue import Queued
from forges.models import Delivery, PickAsk
from karma.models import Karma, KarmaEvent
from karma.services import karma_unlike
from pushes import services
from pushes.choices import Role
from pushes.models import (
    Engineer,
    Notification,
    Pick,
    PickEvent,
    Push,
    ReleaseBranch,
    Repository,
    TestRun,
)
from tests.conftest import make_engineer
from tests.pushes.conftest import MONDAY, SUNDAY_CUT
from tests.repos import RemoteRepo

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The roles of the matrix, in column order, and who plays them.
ANONYMOUS = "anonymous"
OWNER = "owner"  # alice: requested both picks
OTHER = "other-engineer"  # bob: an engineer, not the picks' requestor
RELEASE = "release-engineer"  # rel
ADMIN = "admin"  # a superuser with an engineer record (role: engineer)
BARE = "bare-superuser"  # createsuperuser, no engineer record
ROLES = (ANONYMOUS, OWNER, OTHER, RELEASE, ADMIN, BARE)
ENGINEERS = frozenset({OWNER, OTHER, RELEASE, ADMIN})
SIGNED_IN = ENGINEERS | {BARE}
RELEASE_ENGINEERS = frozenset({RELEASE, ADMIN})
USERNAMES = {OWNER: "alice", OTHER: "bob", RELEASE: "rel", ADMIN: "admin", BARE: "root"}


@dataclass
class World:
    data_dir: Path
    remote: RemoteRepo
    repository: Repository
    branch: ReleaseBranch
    push: Push  # the scheduled push the approved pick is on
    failed: Push  # a later push of the branch that failed: release engineering may retry it
    requested: Pick  # alice's, waiting for release engineering
    approved: Pick  # alice's, approved: hers to confirm or decline
    test_run: TestRun
    free_sha: str  # landed on trunk after the cut; nobody asked for it
    users: dict[str, User]  # role -> user
    tokens: dict[str, str]  # role -> API token key
    carol: Engineer  # an engineer at four stars: one may be restored

    def values(self) -> dict[str, object]:
        """What the matrix's URL templates are filled with."""
        return {
            "requested": self.requested.pk,
            "approved": self.approved.pk,
            "branch": self.branch.pk,
            "push": self.push.pk,
            "failed": self.failed.pk,
            "run": self.test_run.pk,
            "slug": self.repository.slug,
            "sha": self.requested.sha,
            "free": self.free_sha,
            "owner": "alice",
            "carol": self.carol.username,
        }

    def user(self, role: str):
        return self.users.get(role)


def _build(root: Path, data_dir: Path) -> World:
    remote = RemoteRepo(root / "remote", commits=5)
    repository = Repository.objects.create(
        slug="shop", name="Shop", remote_url=remote.url, time_zone="America/Los_Angeles"
    )
    branch = services.branch_cut(repository=repository, at=SUNDAY_CUT)
    fix = remote.commit({"src/module1.py": "VALUE = 100\n"}, "Fix module 1", author="alice")
    docs = remote.commit({"docs/notes.md": "Notes\n"}, "Write notes", author="alice")
    free = remote.commit({"src/feature.py": "ON = True\n"}, "Add feature", author="bob")
    services.trunk_sync(repository=repository)

    alice, bob = make_engineer("alice"), make_engineer("bob")
    rel = make_engineer("rel", role=Role.RELEASE_ENGINEER, is_staff=True)
    admin = make_engineer("admin", is_staff=True, is_superuser=True)
    root_user = get_user_model().objects.create_superuser(
        "root", email="root@example.com", password="root"
    )
    carol = make_engineer("carol")
    karma_unlike(user_id=carol.user_id, actor_id=rel.user_id, reason="Not online for push 1")

    requested = services.pick_request(
        requestor=alice, revision=fix, reason="Search is broken for everyone"
    ).pick
    approved = services.pick_request(
        requestor=alice, revision=docs, reason="The notes are wrong"
    ).pick
    approved = services.pick_approve(pick_id=approved.pk, actor=rel)
    assert approved.push is not None
    failed = branch.pushes.exclude(pk=approved.push.pk).order_by("-scheduled_at").first()
    assert failed is not None
    Push.objects.filter(pk=failed.pk).update(state="failed", error="Pushing failed: refused")
    test_run = TestRun.objects.create(
        push=approved.push, command="make test", state="passed", started_at=MONDAY, log="ok"
    )
    users = {
        OWNER: alice.user,
        OTHER: bob.user,
        RELEASE: rel.user,
        ADMIN: admin.user,
        BARE: root_user,
    }
    tokens = {role: Token.objects.create(user=user).key for role, user in users.items()}
    return World(
        data_dir=data_dir,
        remote=remote,
        repository=repository,
        branch=branch,
        push=approved.push,
        failed=failed,
        requested=requested,
        approved=approved,
        test_run=test_run,
        free_sha=free,
        users=users,
        tokens=tokens,
        carol=carol,
    )


def _tear_down(world: World) -> None:
    Repository.objects.filter(pk=world.repository.pk).delete()  # branches, pushes, picks ...
    usernames = [*USERNAMES.values(), world.carol.username]
    get_user_model().objects.filter(username__in=usernames).delete()  # engineers, karma, tokens


@pytest.fixture(scope="module", name="world")
def world_fixture(django_db_setup, django_db_blocker, tmp_path_factory):
    """The train, committed for the module (see the module's docstring)."""
    root = tmp_path_factory.mktemp("security-world")
    data_dir = root / "var"
    data_dir.mkdir()
    with (
        django_db_blocker.unblock(),
        override_settings(DATA_DIR=data_dir, PASSWORD_HASHERS=FAST_HASHERS),
        time_machine.travel(MONDAY, tick=False),
    ):
        built = _build(root, data_dir)
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            _tear_down(built)


@pytest.fixture(name="on_world")
def on_world_fixture(world, db, settings):
    """The world, in a rolled-back transaction, on its Monday morning, with its clone."""
    settings.DATA_DIR = world.data_dir
    with time_machine.travel(MONDAY + dt.timedelta(minutes=5), tick=True):
        yield world


def db_state() -> dict[str, list]:
    """Everything a request could change that matters, as plain values to compare."""
    User = get_user_model()
    return {
        "picks": list(
            Pick.objects.order_by("pk").values_list(
                "pk", "state", "push_id", "backup_id", "rolls", "confirmed_at"
            )
        ),
        "pick events": list(PickEvent.objects.order_by("pk").values_list("pk", "to_state")),
        "pushes": list(
            Push.objects.order_by("pk").values_list("pk", "state", "scheduled_at", "started_at")
        ),
        "branches": list(ReleaseBranch.objects.order_by("pk").values_list("pk", "state")),
        "notifications": list(
            Notification.objects.order_by("pk").values_list("pk", "read_at", "answered_at")
        ),
        "karma": list(Karma.objects.order_by("pk").values_list("pk", "stars")),
        "karma events": list(KarmaEvent.objects.order_by("pk").values_list("pk")),
        "users": list(
            User.objects.order_by("pk").values_list(
                "pk", "is_active", "is_staff", "is_superuser", "password"
            )
        ),
        "engineers": list(
            Engineer.objects.order_by("pk").values_list(
                "pk", "role", "notify_direct", "notify_channel", "quiet_from", "quiet_until"
            )
        ),
        "tokens": list(Token.objects.order_by("key").values_list("key", "user_id")),
        "repositories": list(
            Repository.objects.order_by("pk").values_list(
                "pk", "remote_url", "is_active", *FORGE_FIELDS
            )
        ),
        "deliveries": list(Delivery.objects.order_by("pk").values_list("pk", "delivery_id")),
        "pick asks": list(PickAsk.objects.order_by("pk").values_list("pk", "state")),
    }


FORGE_FIELDS = (
    "review_tool",
    "review_api_url",
    "review_token_env",
    "forge_project",
    "webhook_secret_env",
    "pick_label",
    "keep_branches",
)


def tasks_queued(callbacks: list) -> list[str]:
    """The Celery tasks among on-commit callbacks (`enqueue` or `delay_on_commit`), by name;
    other callbacks (a cache's, say) are not tasks."""
    names: list[str] = []
    for callback in callbacks:
        sender = callback.func if isinstance(callback, functools.partial) else None
        if isinstance(callback, Queued):
            names.append(callback.task)
        elif getattr(sender, "__name__", "") in ("delay", "apply_async"):
            # A task's own `delay` or `apply_async`, bound to the task.
            assert isinstance(sender, types.MethodType), sender
            task = sender.__self__
            assert isinstance(task, Task), task
            names.append(task.name)
    return names
