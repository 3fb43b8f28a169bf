"""Commands run with a clean environment (issue 14, hole 2).

The worker's environment holds the product's secrets; a test command's log is read by every
engineer at /tests/<id>/. The test command and a command deploy hook get PATH, HOME, locale and
TZ, the push's RELEASEBOT_* values, and only the variables the repository names; whatever they
print is redacted before it is stored.
"""

from __future__ import annotations

import json
import sys

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from pushes import services
from pushes.choices import PickState, PushState, TestRunState
from pushes.models import Pick, Push, Repository, TestRun
from tests.pushes import conftest as train_fixtures

monday, branch = train_fixtures.monday, train_fixtures.branch

WORKER_SECRETS = {
    "SLACK_SIGNING_SECRET": "8f14e45fceea167a5a36dedd4bea2543",
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-workerbottoken",
    "SLACK_APP_TOKEN": "xapp-1-A111-workerapptoken",
    "SECRET_KEY": "worker-secret-key-0123456789abcdef",
    "DATABASE_URL": "postgres://releasebot:Pg-w0rker-pass@db.internal:5432/releasebot",
    "RELEASEBOT_REVIEW_TOKEN_SHOP": "ghp_workerReviewToken000",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-worker-aws-key",
}
SECRET_VALUES = ["8f14e45f", "xoxb-", "xapp-", "worker-secret-key", "Pg-w0rker", "ghp_", "wJalr"]
ALLOWED = {"PATH", "HOME", "LANG", "LANGUAGE", "TZ"}


@pytest.fixture
def worker_env(monkeypatch):
    """The worker's environment as production has it, plus two variables of the team's."""
    for name, value in WORKER_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TEST_SHARDS", "4")
    monkeypatch.setenv("NPM_TOKEN", "npm_teamTokenForTheTests")
    monkeypatch.setenv("UNNAMED_SETTING", "not-for-commands")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")


@pytest.fixture
def push_with(repository, remote, branch, alice):
    """A push due now with one confirmed pick; `repository` settings are given first."""

    def make(**settings: object) -> Push:
        for name, value in settings.items():
            setattr(repository, name, value)
        repository.save()
        sha = remote.commit({"src/module1.py": "VALUE = 100\n"}, "Small fix")
        services.trunk_sync(repository=repository)
        push = branch.pushes.filter(kind="daily").order_by("scheduled_at").first()
        pick = services.pick_request(requestor=alice, revision=sha, reason="Needed").pick
        Pick.objects.filter(pk=pick.pk).update(state=PickState.CONFIRMED, push=push)
        return push

    return make


def names_in(log: str) -> set[str]:
    return {line.split("=", 1)[0] for line in log.splitlines() if "=" in line}


def test_a_test_command_printing_its_environment_shows_no_secret(worker_env, push_with, alice):
    push = push_with(test_command="env", command_env="TEST_SHARDS, NPM_TOKEN")
    push = services.push_run(push_id=push.pk)

    run = TestRun.objects.get(push=push)
    assert run.state == TestRunState.PASSED and push.state == PushState.DONE
    names = names_in(run.log)
    assert names - ALLOWED - {"TEST_SHARDS", "NPM_TOKEN"} == {"LC_ALL"}
    assert "PATH" in names and "TEST_SHARDS=4" in run.log
    assert "NPM_TOKEN=***" in run.log  # named, so handed on; secret-looking, so redacted
    client = Client()
    client.force_login(alice.user)
    page = client.get(f"/tests/{run.pk}/").content.decode()
    for secret in [*SECRET_VALUES, "npm_team", "not-for-commands"]:
        assert secret not in run.log and secret not in page
    for name in WORKER_SECRETS:
        assert name not in run.log


def test_a_test_log_is_redacted_before_it_is_stored(worker_env, push_with):
    """Even a secret the command got some other way (a file, a fixture) is stored as ***."""
    script = "print('token leaked: xoxb-1111-2222-workerbottoken; https://u:p4ss@h/x?key=abc')"
    push = push_with(test_command=f'{sys.executable} -c "{script}"')
    push = services.push_run(push_id=push.pk)

    log = TestRun.objects.get(push=push).log
    assert "token leaked: ***; https://***@h/x?key=***" in log


def test_a_command_deploy_hook_gets_the_same_clean_environment(worker_env, push_with, tmp_path):
    out = tmp_path / "env.json"
    hook = tmp_path / "hook.py"
    hook.write_text(f"import json, os\njson.dump(dict(os.environ), open({str(out)!r}, 'w'))\n")
    push = push_with(deploy_hook=f"{sys.executable} {hook}", command_env="TEST_SHARDS")
    push = services.push_run(push_id=push.pk)

    assert push.state == PushState.DONE and not push.error
    env = json.loads(out.read_text())
    push_values = {"RELEASEBOT_REPOSITORY", "RELEASEBOT_BRANCH", "RELEASEBOT_PUSH"}
    push_values |= {"RELEASEBOT_TAG", "RELEASEBOT_SHA", "RELEASEBOT_IDEMPOTENCY_KEY"}
    assert set(env) - ALLOWED - {"LC_ALL"} == push_values | {"TEST_SHARDS"}
    assert env["RELEASEBOT_TAG"] == push.tag
    assert env["RELEASEBOT_IDEMPOTENCY_KEY"] == f"releasebot-push-{push.pk}-deploy"


def test_a_failing_deploy_hook_command_output_is_redacted_in_the_push_error(worker_env, push_with):
    script = "import sys; print('SECRET_KEY=worker-secret-key-0123456789abcdef'); sys.exit(2)"
    push = push_with(deploy_hook=f'{sys.executable} -c "{script}"')
    push = services.push_run(push_id=push.pk)

    assert "deploy hook exited 2: SECRET_KEY=***" in push.error


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("TEST_SHARDS 1BAD", "Not a variable name: 1BAD"),
        ("TEST_SHARDS,SLACK_SIGNING_SECRET", "own secrets are never handed on"),
        ("DATABASE_URL", "own secrets"),
        ("RELEASEBOT_REVIEW_TOKEN_SHOP", "own secrets"),
    ],
)
def test_command_env_names_only_variables_and_never_the_products_secrets(db, value, message):
    shop = Repository(slug="s", name="S", remote_url="/srv/s.git", command_env=value)

    with pytest.raises(ValidationError, match=message):
        shop.full_clean()


def test_command_env_takes_spaces_and_commas(db):
    shop = Repository(slug="s", name="S", remote_url="/srv/s.git", command_env=" A_1, B  C,")
    shop.full_clean()
    assert shop.command_env_names == ["A_1", "B", "C"]
    shop.command_env = "A SECRET_KEY"  # a row written past validation: still never handed on
    assert shop.command_env_names == ["A"]
