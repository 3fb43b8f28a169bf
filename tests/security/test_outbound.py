"""Outbound requests only where configured (issue 14, holes 1 and 3).

A review link in a commit message is the engineer's to write: it names any host it likes. The
review tool's API and token are the repository's settings, so only that API is asked, only over
HTTPS unless the repository allows HTTP, only about reviews on that tool's own host, and the
token is read only from a `RELEASEBOT_REVIEW_TOKEN_...` variable. A deploy hook URL is guarded the
same way, its `user:password@` is sent as Basic auth, and the URL is shown redacted everywhere.
Every remote end is a local server that records what reaches it.
"""

from __future__ import annotations

import base64
import json

import pytest
from django.core.exceptions import ValidationError
from django.forms import modelform_factory
from django.test import Client

from pushes import services
from pushes.choices import PickState, PushState, ReviewTool
from pushes.models import Notification, Pick, Push, Repository
from pushes.reviews import pick_review_fetch
from pushes.selectors.push_dashboard import push_summary
from tests.api import client_for
from tests.pushes import conftest as train_fixtures
from tests.stubs.hook_server import HookServer
from tests.stubs.review_servers import github_server, phabricator_server

TOKEN = "ghp_0utb0undT0k3nThatMustStayHome0000"
VARIABLE = "RELEASEBOT_REVIEW_TOKEN_SHOP"
HOOK_PASSWORD = "Hunter2-deploy-pass"
HOOK_KEY = "K3y-s3cr3t-value-42"

# Sunday's cut of a real repository, on a frozen Monday.
monday, branch = train_fixtures.monday, train_fixtures.branch


@pytest.fixture(autouse=True)
def _no_proxy_for_local_servers(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def configure(repository: Repository, **settings: object) -> Repository:
    for name, value in settings.items():
        setattr(repository, name, value)
    repository.save()
    return repository


def pick_of_commit(remote, repository, alice, message_body: str) -> Pick:
    """Land a commit whose message says `message_body` and ask for it: the real path of a link."""
    sha = remote.commit({"src/checkout.py": "RETRY = 1\n"}, "Fix checkout", body=message_body)
    services.trunk_sync(repository=repository)
    return services.pick_request(requestor=alice, revision=sha, reason="Needed").pick


def assert_never_reached(stub) -> None:
    assert [(s.method, s.path, s.headers.get("authorization")) for s in stub.seen] == []


# -- The review tool -----------------------------------------------------------------------


def test_a_link_to_a_host_a_commit_message_names_gets_no_request_and_no_token(
    monkeypatch, remote, repository, branch, alice, client
):
    """The issue's case: GitHub configured with no API URL, a link to http://127.0.0.1:PORT."""
    monkeypatch.setenv(VARIABLE, TOKEN)
    configure(repository, review_tool=ReviewTool.GITHUB, review_token_env=VARIABLE)
    with github_server(TOKEN) as attacker:
        link = f"{attacker.url}/acme/app/pull/43"
        pick = pick_of_commit(remote, repository, alice, f"Reviewed at {link}")
        status = pick_review_fetch(pick_id=pick.pk, final_attempt=True)

    assert_never_reached(attacker)
    assert status == "none"
    assert Pick.objects.get(pk=pick.pk).review_url == link  # shown, not fetched
    client.force_login(alice.user)
    assert link in client.get(f"/picks/{pick.pk}/").content.decode()


def test_the_configured_api_is_asked_over_https_only_unless_http_is_allowed(
    monkeypatch, remote, repository, branch, alice
):
    monkeypatch.setenv(VARIABLE, TOKEN)
    with github_server(TOKEN) as tool:
        configure(
            repository,
            review_tool=ReviewTool.GITHUB,
            review_api_url=tool.url,  # http://127.0.0.1:PORT, a GitHub Enterprise stand-in
            review_token_env=VARIABLE,
        )
        pick = pick_of_commit(remote, repository, alice, f"See {tool.url}/acme/app/pull/7")
        refused = pick_review_fetch(pick_id=pick.pk, final_attempt=True)
        assert_never_reached(tool)

        configure(repository, review_allow_http=True)
        allowed = pick_review_fetch(pick_id=pick.pk, final_attempt=True)

    assert (refused, allowed) == ("none", "known")
    assert Pick.objects.get(pk=pick.pk).review_comments == 8
    assert tool.seen and {s.headers["authorization"] for s in tool.seen} == {f"Bearer {TOKEN}"}
    with pytest.raises(ValidationError, match="plain HTTP"):
        Repository(
            slug="plain", name="Plain", remote_url="/srv/plain.git", review_api_url=tool.url
        ).full_clean()


def test_a_link_to_another_tool_or_another_host_of_the_tool_is_not_fetched(
    monkeypatch, remote, repository, branch, alice
):
    monkeypatch.setenv(VARIABLE, TOKEN)
    with (
        github_server(TOKEN) as tool,
        github_server(TOKEN) as other,
        phabricator_server(TOKEN) as phab,
    ):
        configure(
            repository,
            review_tool=ReviewTool.GITHUB,
            review_api_url=tool.url,
            review_allow_http=True,
            review_token_env=VARIABLE,
        )
        elsewhere = pick_of_commit(remote, repository, alice, f"See {other.url}/acme/app/pull/7")
        phabricator = pick_of_commit(remote, repository, alice, f"Differential {phab.url}/D123")
        statuses = [
            pick_review_fetch(pick_id=pick.pk, final_attempt=True)
            for pick in (elsewhere, phabricator)
        ]

    assert statuses == ["none", "none"]
    for stub in (tool, other, phab):
        assert_never_reached(stub)


def test_phabricator_has_no_public_api_so_without_an_api_url_nothing_is_fetched(
    monkeypatch, remote, repository, branch, alice
):
    monkeypatch.setenv(VARIABLE, TOKEN)
    with phabricator_server(TOKEN) as phab:
        configure(
            repository,
            review_tool=ReviewTool.PHABRICATOR,
            review_allow_http=True,
            review_token_env=VARIABLE,
        )
        pick = pick_of_commit(remote, repository, alice, f"Differential {phab.url}/D123")
        status = pick_review_fetch(pick_id=pick.pk, final_attempt=True)

    assert status == "none"
    assert_never_reached(phab)


@pytest.mark.parametrize("name", ["SLACK_BOT_TOKEN", "SECRET_KEY", "releasebot_review_token_x"])
def test_a_token_variable_without_the_prefix_is_refused_when_saved(db, name):
    shop = Repository(slug="s", name="S", remote_url="/srv/s.git", review_token_env=name)

    with pytest.raises(ValidationError) as caught:
        shop.full_clean()
    assert "RELEASEBOT_REVIEW_TOKEN_" in str(caught.value.message_dict["review_token_env"])
    form = modelform_factory(Repository, fields=["review_token_env"])({"review_token_env": name})
    assert not form.is_valid() and "review_token_env" in form.errors


def test_a_token_variable_without_the_prefix_is_never_read(
    monkeypatch, remote, repository, branch, alice
):
    """A row saved before the rule (or past validation) naming the bot's token: not sent."""
    slack_token = "xoxb-the-bot-token-of-the-worker"
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_token)
    with github_server(TOKEN) as tool:
        configure(
            repository,
            review_tool=ReviewTool.GITHUB,
            review_api_url=tool.url,
            review_allow_http=True,
        )
        Repository.objects.filter(pk=repository.pk).update(review_token_env="SLACK_BOT_TOKEN")
        pick = pick_of_commit(remote, repository, alice, f"See {tool.url}/acme/app/pull/7")
        pick_review_fetch(pick_id=pick.pk, final_attempt=True)

    assert tool.seen  # asked anonymously, at the configured API
    assert all(slack_token not in json.dumps(s.headers) for s in tool.seen)


# -- The deploy hook -----------------------------------------------------------------------


@pytest.fixture
def push_to_deploy(repository, remote, branch, alice):
    """A push due now carrying one confirmed pick; `repository` settings are given first."""

    def make(**settings: object) -> Push:
        configure(repository, **settings)
        sha = remote.commit({"src/module1.py": "VALUE = 100\n"}, "Small fix")
        services.trunk_sync(repository=repository)
        push = branch.pushes.filter(kind="daily").order_by("scheduled_at").first()
        pick = services.pick_request(requestor=alice, revision=sha, reason="Needed").pick
        Pick.objects.filter(pk=pick.pk).update(state=PickState.CONFIRMED, push=push)
        return push

    return make


def test_hook_credentials_go_as_basic_auth_and_are_shown_nowhere(push_to_deploy, rel, alice):
    with HookServer(status=500) as hook:
        url = f"http://deployer:{HOOK_PASSWORD}@127.0.0.1:{hook.port}/hook?api_key={HOOK_KEY}"
        push = push_to_deploy(deploy_hook=url, deploy_hook_allow_http=True)
        push = services.push_run(push_id=push.pk)

    [request] = hook.seen
    expected = base64.b64encode(f"deployer:{HOOK_PASSWORD}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert request.path == f"/hook?api_key={HOOK_KEY}"
    assert json.loads(request.body)["tag"] == push.tag
    # The push's one key: a hook that sees it twice (a run resumed mid-call) can drop one.
    assert request.headers["idempotency-key"] == f"releasebot-push-{push.pk}-deploy"

    assert push.state == PushState.DONE
    shown = f"http://***@127.0.0.1:{hook.port}/hook?api_key=***"
    assert f"deploy hook {shown} failed: HTTP 500" in push.error
    api = client_for(alice).get(f"/api/pushes/{push.pk}/").content.decode()
    page = Client()
    page.force_login(alice.user)
    html = page.get(f"/pushes/{push.pk}/").content.decode()
    summary = push_summary(push=push)
    notices = " ".join(Notification.objects.values_list("text", flat=True))
    reasons = " ".join(push.events.values_list("reason", flat=True))
    assert shown in summary and shown in api and shown in html
    for where in (push.error, api, html, summary, notices, reasons):
        assert HOOK_PASSWORD not in where and HOOK_KEY not in where


def test_a_plain_http_hook_is_not_called_unless_allowed(push_to_deploy):
    with HookServer() as hook:
        push = push_to_deploy(deploy_hook=f"{hook.url}/hook")
        push = services.push_run(push_id=push.pk)

    assert hook.seen == []
    assert push.state == PushState.DONE
    assert "not called: plain HTTP is not allowed" in push.error
    with pytest.raises(ValidationError, match="plain HTTP"):
        Repository(slug="p", name="P", remote_url="/srv/p.git", deploy_hook=hook.url).full_clean()


def test_a_hook_that_answers_a_redirect_is_not_followed_with_its_credentials(push_to_deploy):
    with HookServer(status=302) as hook:
        url = f"http://deployer:{HOOK_PASSWORD}@127.0.0.1:{hook.port}/hook"
        push = services.push_run(
            push_id=push_to_deploy(deploy_hook=url, deploy_hook_allow_http=True).pk
        )

    assert len(hook.seen) == 1
    assert "HTTP 302" in push.error and HOOK_PASSWORD not in push.error
