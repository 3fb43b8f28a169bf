"""Review-comment counts: each tool's adapter against a local server of the real API's shape,
and the background fetch that stores the count on a pick."""

from __future__ import annotations

import socket
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.utils import timezone

from pushes.choices import PickState, ReviewStatus, ReviewTool
from pushes.models import Pick, ReleaseBranch, Repository
from pushes.reviews import ReviewUnavailable, adapter_for, find_review_link, pick_review_fetch
from pushes.reviews.adapters import (
    GerritAdapter,
    GitHubAdapter,
    GitLabAdapter,
    PhabricatorAdapter,
    ReviewAdapter,
)
from tests.stubs.review_servers import (
    REVISION_PHID,
    StubServer,
    gerrit_server,
    github_review,
    github_server,
    gitlab_server,
    phabricator_server,
)

GITHUB_TOKEN = "ghp_R3l3as3b0tT0k3nF0rT3st1ngOnly0000"
GITLAB_TOKEN = "glpat-Rel3as3b0tT3stT0k3n"
PHABRICATOR_TOKEN = "api-r3l3as3b0tt3stt0k3nf0rphab"
GERRIT_TOKEN = "releasebot:Gerr1tHttpPassw0rd"
GERRIT_PASSWORD = GERRIT_TOKEN.partition(":")[2]


@dataclass(frozen=True)
class Tool:
    server: Callable[[str], StubServer]
    adapter: type[ReviewAdapter]
    token: str
    link: str
    api_path: str  # where the API lives on the server, as in review_api_url
    comments: int  # what the server's review has

    def adapter_at(self, url: str, *, token: str | None = None, timeout: float = 0.5):
        return self.adapter(url + self.api_path, token or self.token, timeout)


TOOLS = {
    "github": Tool(
        github_server, GitHubAdapter, GITHUB_TOKEN, "https://github.com/acme/app/pull/7", "", 8
    ),
    "gitlab": Tool(
        gitlab_server,
        GitLabAdapter,
        GITLAB_TOKEN,
        "https://gitlab.example.com/group/sub/app/-/merge_requests/12",
        "/api/v4",
        3,
    ),
    "phabricator": Tool(
        phabricator_server,
        PhabricatorAdapter,
        PHABRICATOR_TOKEN,
        "https://phabricator.example.com/D123",
        "",
        3,
    ),
    "gerrit": Tool(
        gerrit_server,
        GerritAdapter,
        GERRIT_TOKEN,
        "https://gerrit.example.com/c/platform/app/+/4567",
        "",
        5,
    ),
}


@pytest.fixture(autouse=True)
def _no_proxy_for_local_servers(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture(params=list(TOOLS))
def tool(request) -> Tool:
    return TOOLS[request.param]


@pytest.fixture
def server(tool) -> Iterator[StubServer]:
    with tool.server(tool.token) as stub:
        yield stub


def serve(name: str) -> StubServer:
    return TOOLS[name].server(TOOLS[name].token)


def link_of(name: str):
    link = find_review_link(f"Fix checkout\n\nReviewed at {TOOLS[name].link}\n")
    assert link is not None and link.tool == name
    return link


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def assert_no_secret(error: BaseException, *secrets: str) -> None:
    # Not in the message, nor anywhere in the traceback a worker would log.
    logged = "".join(traceback.format_exception(error))
    for secret in secrets:
        assert secret not in str(error)
        assert secret not in logged


# -- Counting ------------------------------------------------------------------------------


def test_each_adapter_counts_the_comments_of_its_review(tool, server):
    adapter = tool.adapter_at(server.url)
    link = find_review_link(tool.link)

    assert adapter.count_comments(link) == tool.comments


def test_github_adds_issue_comments_and_reviews_to_review_comments_following_the_link_header():
    with serve("github") as stub:
        count = GitHubAdapter(stub.url, GITHUB_TOKEN).count_comments(link_of("github"))

    assert count == 3 + 2 + 3
    assert [(s.path, s.query) for s in stub.seen] == [
        ("/repos/acme/app/pulls/7/comments", {"per_page": "100"}),
        ("/repositories/1300192/pulls/7/comments", {"page": "2"}),  # the Link header's URL
        ("/repos/acme/app/issues/7/comments", {"per_page": "100"}),
        ("/repos/acme/app/pulls/7/reviews", {"per_page": "100"}),
        ("/repositories/1300192/pulls/7/reviews", {"page": "2"}),
        ("/repositories/1300192/pulls/7/reviews", {"page": "3"}),
        ("/repositories/1300192/pulls/7/reviews", {"page": "4"}),
    ]
    assert {s.headers["authorization"] for s in stub.seen} == {f"Bearer {GITHUB_TOKEN}"}
    assert stub.seen[0].headers["accept"] == "application/vnd.github+json"


def only_reviews(stub: StubServer, *reviews: dict) -> StubServer:
    stub.data |= {"pulls": [], "issues": []}
    if reviews:
        stub.data["reviews"] = list(reviews)
    return stub


def test_github_counts_reviews_with_text_and_not_bare_approvals_or_pending_ones():
    with only_reviews(serve("github")) as stub:
        count = GitHubAdapter(stub.url, GITHUB_TOKEN).count_comments(link_of("github"))

    states = [(r["state"], r["body"].strip() != "") for r in stub.data["reviews"]]
    assert states == [
        ("COMMENTED", False),  # holds only diff comments, counted as review comments
        ("CHANGES_REQUESTED", True),
        ("COMMENTED", True),
        ("APPROVED", False),  # a bare approval
        ("APPROVED", False),  # a body of blanks shows no text either
        ("PENDING", True),  # a draft nobody else sees
        ("APPROVED", True),
    ]
    assert count == 3


def test_github_counts_a_review_whose_body_is_null_as_no_text():
    review = github_review(49, "APPROVED", "") | {"body": None}
    with only_reviews(serve("github"), review) as stub:
        count = GitHubAdapter(stub.url, GITHUB_TOKEN).count_comments(link_of("github"))

    assert count == 0


def test_github_follows_the_reviews_pages_to_the_last_one():
    with only_reviews(serve("github")) as stub:
        adapter = GitHubAdapter(stub.url, GITHUB_TOKEN)
        count = adapter.count_comments(link_of("github"))
        stub.data["reviews"] = stub.data["reviews"][:6]  # without "Ship it.", alone on page 4
        fewer = adapter.count_comments(link_of("github"))

    assert (count, fewer) == (3, 2)
    reviews = [s.query.get("page", "1") for s in stub.seen if s.path.endswith("/7/reviews")]
    assert reviews == ["1", "2", "3", "4", "1", "2", "3"]


def test_gitlab_counts_notes_less_system_notes_over_every_page():
    with serve("gitlab") as stub:
        count = GitLabAdapter(f"{stub.url}/api/v4", GITLAB_TOKEN).count_comments(link_of("gitlab"))

    assert count == 3  # of five notes, two are "added 1 commit" and "approved"
    assert {s.path for s in stub.seen} == {
        "/api/v4/projects/group%2Fsub%2Fapp/merge_requests/12/notes"
    }
    assert [s.query["page"] for s in stub.seen] == ["1", "2", "3"]
    assert {s.headers["private-token"] for s in stub.seen} == {GITLAB_TOKEN}


def test_phabricator_counts_comment_and_inline_transactions_over_the_cursor():
    with serve("phabricator") as stub:
        adapter = PhabricatorAdapter(stub.url, PHABRICATOR_TOKEN)
        count = adapter.count_comments(link_of("phabricator"))

    assert count == 3  # a comment and two inlines; not the removed comment, accept or update
    search, *pages = stub.seen
    assert search.path == "/api/differential.revision.search"
    assert search.form == {"constraints[ids][0]": "123", "api.token": PHABRICATOR_TOKEN}
    assert {p.path for p in pages} == {"/api/transaction.search"}
    assert {p.form["objectIdentifier"] for p in pages} == {REVISION_PHID}
    assert [p.form.get("after") for p in pages] == [None, "6", "4", "2"]


def test_gerrit_strips_the_xssi_guard_and_leaves_out_bot_comments():
    with serve("gerrit") as stub:
        count = GerritAdapter(stub.url, GERRIT_TOKEN).count_comments(link_of("gerrit"))

    assert count == 5  # six published comments, one tagged autogenerated by CI
    assert [s.path for s in stub.seen] == ["/a/changes/platform%2Fapp~4567/comments"]


# -- Failing -------------------------------------------------------------------------------


def test_a_server_error_is_unavailable_without_the_token(tool, server):
    server.fail_status = 500

    with pytest.raises(ReviewUnavailable, match="HTTP 500") as caught:
        tool.adapter_at(server.url).count_comments(find_review_link(tool.link))
    assert_no_secret(caught.value, tool.token, GERRIT_PASSWORD)


def test_a_slow_server_is_unavailable_after_the_timeout(tool, server):
    server.delay = 5

    with pytest.raises(ReviewUnavailable, match="within 0.5 s") as caught:
        tool.adapter_at(server.url, timeout=0.5).count_comments(find_review_link(tool.link))
    assert_no_secret(caught.value, tool.token, GERRIT_PASSWORD)


def test_a_refused_connection_is_unavailable(tool):
    with pytest.raises(ReviewUnavailable, match="cannot reach") as caught:
        tool.adapter_at(closed_port_url()).count_comments(find_review_link(tool.link))
    assert_no_secret(caught.value, tool.token, GERRIT_PASSWORD)


def test_an_answer_that_is_not_json_is_unavailable(tool, server):
    server.garbage = True

    with pytest.raises(ReviewUnavailable, match="not JSON"):
        tool.adapter_at(server.url).count_comments(find_review_link(tool.link))


def test_a_wrong_token_is_unavailable_and_not_repeated(tool, server):
    wrong = "releasebot:WrongPassw0rd" if tool.adapter is GerritAdapter else "api-wr0ngt0k3n0000"
    adapter = tool.adapter_at(server.url, token=wrong)

    with pytest.raises(ReviewUnavailable) as caught:
        adapter.count_comments(find_review_link(tool.link))
    assert_no_secret(caught.value, wrong, "WrongPassw0rd", tool.token)


def test_a_conduit_error_is_unavailable_with_its_code_and_the_quoted_token_scrubbed():
    with serve("phabricator") as stub:
        adapter = PhabricatorAdapter(stub.url, "api-n0tth3r1ghtt0k3n00000000000")
        with pytest.raises(ReviewUnavailable, match="ERR-INVALID-AUTH") as caught:
            adapter.count_comments(link_of("phabricator"))

    assert 'API token "***"' in str(caught.value)
    assert_no_secret(caught.value, "api-n0tth3r1ghtt0k3n00000000000")


def test_a_review_the_tool_does_not_know_is_unavailable():
    with serve("github") as stub:
        link = find_review_link("https://github.com/acme/app/pull/8")
        with pytest.raises(ReviewUnavailable, match="HTTP 404"):
            GitHubAdapter(stub.url, GITHUB_TOKEN).count_comments(link)


def test_a_redirect_to_another_host_does_not_carry_the_gitlab_token():
    with serve("gitlab") as elsewhere, serve("gitlab") as stub:
        stub.redirect_to = elsewhere.url.replace("127.0.0.1", "localhost")
        adapter = GitLabAdapter(f"{stub.url}/api/v4", GITLAB_TOKEN)
        with pytest.raises(ReviewUnavailable, match="HTTP 401"):
            adapter.count_comments(link_of("gitlab"))

    assert stub.seen[0].headers["private-token"] == GITLAB_TOKEN
    assert [s.headers.get("private-token") for s in elsewhere.seen] == [None]


# -- Choosing the adapter ------------------------------------------------------------------


def repository(**review) -> Repository:
    return Repository(slug="shop", name="Shop", remote_url="/srv/git/shop.git", **review)


def test_the_repository_tool_gets_its_api_url_and_its_token_from_the_environment(monkeypatch):
    monkeypatch.setenv("RELEASEBOT_REVIEW_TOKEN_SHOP", GITLAB_TOKEN + "\n")
    shop = repository(
        review_tool=ReviewTool.GITLAB,
        review_api_url="https://gitlab.example.com/api/v4/",
        review_token_env="RELEASEBOT_REVIEW_TOKEN_SHOP",
    )

    adapter = adapter_for(shop, link_of("gitlab"))

    assert isinstance(adapter, GitLabAdapter)
    assert (adapter.api_url, adapter.token, adapter.timeout) == (
        "https://gitlab.example.com/api/v4",
        GITLAB_TOKEN,
        10,
    )
    assert GITLAB_TOKEN not in repr(adapter)


def test_a_repository_without_a_tool_fetches_no_review(monkeypatch):
    monkeypatch.setenv("RELEASEBOT_REVIEW_TOKEN_SHOP", "secret-token")
    shop = repository(review_token_env="RELEASEBOT_REVIEW_TOKEN_SHOP")

    assert adapter_for(shop, link_of("github")) is None


def test_a_link_to_another_tool_is_not_fetched(monkeypatch):
    monkeypatch.setenv("RELEASEBOT_REVIEW_TOKEN_SHOP", PHABRICATOR_TOKEN)
    shop = repository(
        review_tool=ReviewTool.PHABRICATOR,
        review_api_url="https://phabricator.example.com",
        review_token_env="RELEASEBOT_REVIEW_TOKEN_SHOP",
    )

    assert adapter_for(shop, link_of("github")) is None
    assert isinstance(adapter_for(shop, link_of("phabricator")), PhabricatorAdapter)


@pytest.mark.parametrize(
    ("tool", "api_url", "url", "base"),
    [
        ("github", "", "https://github.com/acme/app/pull/7", "https://api.github.com"),
        ("github", "", "https://ghe.example.com/acme/app/pull/7", None),
        (
            "github",
            "https://ghe.example.com/api/v3",
            "https://ghe.example.com/acme/app/pull/7",
            "https://ghe.example.com/api/v3",
        ),
        ("gitlab", "", "https://gitlab.com/g/app/-/merge_requests/1", "https://gitlab.com/api/v4"),
        ("gitlab", "", "https://gitlab.example.com/g/app/-/merge_requests/1", None),
        ("phabricator", "", "https://phabricator.example.com/D123", None),
        ("gerrit", "", "https://review.example.com/gerrit/c/app/+/9", None),
        (
            "gerrit",
            "https://review.example.com/gerrit",
            "https://review.example.com/gerrit/c/app/+/9",
            "https://review.example.com/gerrit",
        ),
    ],
)
def test_the_api_is_the_configured_one_or_the_tools_public_default(tool, api_url, url, base):
    adapter = adapter_for(
        repository(review_tool=tool, review_api_url=api_url), find_review_link(url)
    )

    assert (adapter.api_url if adapter else None) == base


def test_gitlab_under_a_relative_url_root_finds_the_project_path():
    link = find_review_link("https://example.com/gitlab/group/app/-/merge_requests/3")
    adapter = GitLabAdapter("https://example.com/gitlab/api/v4", None)

    assert adapter.project_path(link, adapter.api_url) == "group/app"


# -- Storing it on the pick ----------------------------------------------------------------


@pytest.fixture
def shop(db, monkeypatch) -> Repository:
    monkeypatch.setenv("RELEASEBOT_REVIEW_TOKEN_SHOP", GITHUB_TOKEN)
    return Repository.objects.create(
        slug="shop",
        name="Shop",
        remote_url="/srv/git/shop.git",
        review_tool=ReviewTool.GITHUB,
        review_token_env="RELEASEBOT_REVIEW_TOKEN_SHOP",
        review_allow_http=True,  # the stand-in tools below answer on http://127.0.0.1
    )


@pytest.fixture
def make_pick(shop, alice) -> Callable[..., Pick]:
    branch = ReleaseBranch.objects.create(
        repository=shop, name="release/2025-06-01", cut_at=timezone.now(), base_sha="a" * 40
    )

    def make(review_url: str = "https://github.com/acme/app/pull/7") -> Pick:
        return Pick.objects.create(
            branch=branch,
            sha="b" * 40,
            title="Retry the payment call once",
            author_name="Alice",
            author_email="alice@example.com",
            reason="Checkout fails in Safari",
            requestor=alice,
            state=PickState.REQUESTED,
            review_url=review_url,
            review_status=ReviewStatus.PENDING if review_url else ReviewStatus.NONE,
        )

    return make


def row(pick: Pick) -> dict[str, object]:
    return dict(Pick.objects.filter(pk=pick.pk).values().get())


def test_the_fetch_stores_the_count_as_known_and_nothing_else(shop, make_pick):
    with serve("github") as stub:
        Repository.objects.filter(pk=shop.pk).update(review_api_url=stub.url)
        pick = make_pick(f"{stub.url}/acme/app/pull/7")  # a pull request on the configured host
        before = row(pick)
        status = pick_review_fetch(pick_id=pick.pk, final_attempt=False)
        again = pick_review_fetch(pick_id=pick.pk, final_attempt=False)

    after = row(pick)
    assert status == again == "known"
    assert (after["review_status"], after["review_comments"]) == ("known", 8)
    assert after == before | {"review_status": "known", "review_comments": 8}


def test_the_final_failed_attempt_stores_unknown(shop, make_pick):
    url = closed_port_url()
    Repository.objects.filter(pk=shop.pk).update(review_api_url=url)
    pick = make_pick(f"{url}/acme/app/pull/7")

    assert pick_review_fetch(pick_id=pick.pk, final_attempt=True) == "unknown"
    assert (row(pick)["review_status"], row(pick)["review_comments"]) == ("unknown", None)


def test_an_earlier_failed_attempt_raises_for_a_retry_and_changes_nothing(shop, make_pick):
    url = closed_port_url()
    Repository.objects.filter(pk=shop.pk).update(review_api_url=url)
    pick = make_pick(f"{url}/acme/app/pull/7")
    before = row(pick)

    with pytest.raises(ReviewUnavailable) as caught:
        pick_review_fetch(pick_id=pick.pk, final_attempt=False)
    assert row(pick) == before
    assert_no_secret(caught.value, GITHUB_TOKEN)


def test_a_pick_without_a_review_link_ends_none(make_pick):
    pick = make_pick(review_url="")

    assert pick_review_fetch(pick_id=pick.pk, final_attempt=True) == "none"
    assert (row(pick)["review_status"], row(pick)["review_comments"]) == ("none", None)
