"""Bad input at the service layer and in the git layer (the API's own checks are in
tests/pushes/test_api.py): each is refused with a clear error and stores nothing, or is stored
exactly as given; nothing reaches git as an option."""

from __future__ import annotations

import pytest

from pushes import git, services
from pushes.choices import PickState
from pushes.models import Notification, Pick, PickEvent, Revision
from tests.repos import git as run_git

MALFORMED = [
    "", "   ", "xyz", "123456", "a" * 41, "g123456", "HEAD", "HEAD~1", "main", "-rf",
    "--upload-pack=touch pwned", "abc\x00def0", "abcdef0\n--all", "１２３４５６７", "\udcff" * 8,
    "abcdef0 abcdef0", "$(touch pwned)", "abcdef0;ls",
]  # fmt: skip


def nothing_stored() -> None:
    assert not Pick.objects.exists()
    assert not PickEvent.objects.exists()
    assert not Notification.objects.exists()


@pytest.fixture
def train(train_of):
    """A branch with three trunk commits landed after its cut, nothing requested yet."""
    made = train_of(tests=False)
    Pick.objects.all().delete()
    return made


@pytest.mark.django_db
def test_a_malformed_revision_is_refused_and_nothing_is_stored(train, alice):
    for rev in MALFORMED:
        with pytest.raises(services.PickRefused) as refused:
            services.pick_request(requestor=alice, revision=rev, reason="Needed")
        assert refused.value.code == "bad-revision", rev
        message = refused.value.message
        assert "is not a revision" in message or "An empty revision" in message
        assert "\x00" not in message and "\udcff" not in message
    nothing_stored()


@pytest.mark.django_db
def test_an_ambiguous_prefix_lists_its_candidates(train, alice):
    # Two indexed commits sharing a 7-digit prefix (a real collision needs ~16,000 commits).
    for n, suffix in enumerate(("1" * 33, "2" * 33)):
        Revision.objects.create(
            repository=train.repository, sha="abcdef0" + suffix, position=1000 + n,
            author_name="A", author_email="a@example.com", committed_at=train.push.scheduled_at,
            title=f"Candidate {n}",
        )  # fmt: skip
    with pytest.raises(services.PickRefused) as refused:
        services.pick_request(requestor=alice, revision="ABCDEF0", reason="Needed")
    assert refused.value.code == "ambiguous-revision"
    assert "matches 2 commits" in refused.value.message
    candidates = sorted(refused.value.details["candidates"])
    assert candidates == ["abcdef0" + "1" * 33, "abcdef0" + "2" * 33]
    nothing_stored()


@pytest.mark.django_db
def test_an_unknown_revision_is_refused_and_nothing_is_stored(train, alice):
    for rev in ["0" * 40, "deadbee", "fedcba9876543210" * 2]:
        with pytest.raises(services.PickRefused) as refused:
            services.pick_request(requestor=alice, revision=rev, reason="Needed")
        assert (refused.value.code, refused.value.message) == (
            "unknown-revision", f"No commit matches {rev}.",
        )  # fmt: skip
    nothing_stored()


@pytest.mark.django_db
def test_a_revision_not_on_trunk_and_one_already_in_the_branch_are_refused(train, alice):
    bare = train.remote.bare
    tree = run_git(bare, "rev-parse", f"{train.remote.tip}^{{tree}}").strip()
    side = run_git(bare, "commit-tree", tree, "-p", train.remote.tip, "-m", "Side work").strip()
    run_git(bare, "update-ref", "refs/heads/feature", side)
    with pytest.raises(services.PickRefused) as refused:
        services.pick_request(requestor=alice, revision=side[:12], reason="Needed")
    assert refused.value.code == "not-on-trunk"
    with pytest.raises(services.PickRefused) as refused:
        services.pick_request(requestor=alice, revision=train.branch.base_sha, reason="Needed")
    assert refused.value.code == "already-in-branch"
    nothing_stored()


UNSTORABLE = ["a\x00b", "\udcff\udcfe bytes that were not UTF-8", "\ud800"]


@pytest.mark.django_db
def test_a_reason_no_database_can_store_is_refused_before_any_write(train, alice, rel):
    for text in UNSTORABLE:
        with pytest.raises(services.PickRefused) as refused:
            services.pick_request(requestor=alice, revision=train.shas[0], reason=text)
        assert refused.value.code == "bad-text"
    nothing_stored()
    pick = services.pick_request(requestor=alice, revision=train.shas[0], reason="Needed").pick
    for text in UNSTORABLE:  # and on every later move, e.g. a rejection's reason
        with pytest.raises(services.PickRefused):
            services.pick_reject(pick_id=pick.pk, actor=rel, reason=text)
    assert Pick.objects.get(pk=pick.pk).state == PickState.REQUESTED
    assert PickEvent.objects.filter(pick=pick).count() == 1
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_an_unknown_or_unstorable_branch_name_is_refused(train, alice):
    for name in ["release/\x00", "\udcff", "x" * 10_000, "../../etc/passwd", "-f", "a;b|c"]:
        with pytest.raises(services.PickRefused) as refused:
            services.pick_request(
                requestor=alice, revision=train.shas[0], reason="Needed", branch_name=name
            )
        assert refused.value.code == "unknown-branch"
        assert "\x00" not in refused.value.message and len(refused.value.message) < 200
    nothing_stored()


ODD_TEXT = [
    "x" * 1_000_000,  # 1 MB
    "Ã©tÃ© mojibake, \u202eRTL override\u202c, zero\u200bwidth, emoji 🚀, tab\tand\nnewline",
    "'; DROP TABLE pushes_pick; --",
    "\\x00 written out, not a NUL",
]


@pytest.mark.django_db
def test_huge_and_odd_but_valid_text_is_stored_exactly(train, alice):
    for sha, text in zip(train.shas, ODD_TEXT, strict=False):
        pick = services.pick_request(requestor=alice, revision=sha, reason=text).pick
        assert Pick.objects.get(pk=pick.pk).reason == text.strip()
        assert PickEvent.objects.get(pick=pick).reason == text.strip()


@pytest.mark.django_db
def test_missing_and_extra_fields_are_refused_before_any_write(train, alice):
    sha = train.shas[0]
    for arguments in [{"rev": sha}, {"reason": "x"}, {"rev": sha, "reason": "x", "urgent": True}]:
        with pytest.raises(TypeError):
            services.pick_request(requestor=alice, **arguments)
    with pytest.raises(TypeError):
        services.pick_confirm(pick_id=1)  # no actor: refused before it looks anything up
    nothing_stored()


# --- the git layer ----------------------------------------------------------------------------

OPTIONS = ["--output=pwned", "-n", "--upload-pack=touch pwned", "--exec=touch pwned", "-"]


@pytest.mark.django_db
def test_git_never_takes_user_text_as_an_option(train, tmp_path):
    clone, base = train.clone, train.branch.base_sha
    calls = [
        lambda option: git.rev_parse(clone, option),
        lambda option: git.branch_head(clone, option),
        lambda option: git.diff_stat(clone, option),
        lambda option: git.is_ancestor(clone, option, "HEAD"),
        lambda option: git.find_in_branch(clone, option, train.branch.name, base),
        lambda option: git.tag_create(clone, option, base, "message"),
        lambda option: git.push(clone, [option]),
        lambda option: git.branch_create(clone, option, base),
    ]
    for option in OPTIONS:
        for call in calls:
            with pytest.raises(git.InvalidName):
                call(option)
    assert not list(tmp_path.rglob("pwned*"))


@pytest.mark.django_db
def test_odd_revisions_resolve_to_nothing_or_a_commit_and_run_nothing(train, tmp_path):
    for rev in ["HEAD^{/$(touch pwned)}", "main:$(touch pwned)", "`touch pwned`", "HEAD\x00"]:
        try:
            found = git.rev_parse(train.clone, rev)
        except git.InvalidName:
            found = None
        assert found is None or len(found) == 40
    assert not list(tmp_path.rglob("pwned*"))
