"""`freeze` and `unfreeze` in the bot's grammar: the same refusals and words as the API."""

from __future__ import annotations

import pytest

from pushes.models import FreezeWindow, Notification, Repository
from pushes.selectors.freezes import repository_freeze_now
from pushes.services.freezes import NO_FREEZE_REASON, ONLY_RELEASE_ENGINEERS
from tests.chat.said import ok, refused


@pytest.fixture
def blog(db, remote):
    return Repository.objects.create(slug="blog", name="Blog", remote_url=remote.url)


def test_rel_freezes_the_only_repository_and_unfreezes_it(rel, repository, branch):
    assert ok("freeze Checkout is down (incident 42)", rel) == (
        "Shop is frozen until a release engineer unfreezes it (Checkout is down (incident 42)): "
        "no picks and no pushes. The requestors of its open picks are told."
    )
    window = repository_freeze_now(repository=repository)
    assert (window.reason, window.created_by) == ("Checkout is down (incident 42)", rel)

    assert ok("unfreeze All clear", rel) == (
        "Shop is unfrozen: picks and pushes go on. The requestors of its open picks are told."
    )
    assert repository_freeze_now(repository=repository) is None


def test_the_refusals_are_the_services_words(rel, alice, repository, branch):
    assert refused("freeze Mine now", alice) == ONLY_RELEASE_ENGINEERS
    assert refused("unfreeze", alice) == ONLY_RELEASE_ENGINEERS
    assert refused("freeze", rel) == NO_FREEZE_REASON
    assert refused("unfreeze", rel) == "Shop is not frozen."
    ok("freeze Incident 42", rel)
    assert refused("freeze Again", rel) == (
        "Shop is already frozen by rel until a release engineer unfreezes it: Incident 42."
    )
    assert FreezeWindow.objects.count() == 1


def test_with_several_repositories_the_repository_is_named(rel, repository, blog, branch):
    assert refused("freeze Holiday", rel) == (
        "Which repository? Several are on the train (blog, shop): say which, e.g. "
        "`freeze blog ...`.\nUsage: freeze [REPO] REASON"
    )
    assert not FreezeWindow.objects.exists()

    ok("freeze blog Holiday", rel)

    assert repository_freeze_now(repository=blog).reason == "Holiday"
    assert repository_freeze_now(repository=repository) is None
    assert ok("unfreeze BLOG", rel).startswith("Blog is unfrozen")


def test_a_pick_asked_for_while_frozen_is_refused_with_the_reason(
    rel, alice, repository, branch, landed
):
    ok("freeze Incident 42", rel)
    assert refused(f"pick {landed['fix'][:8]} Fixes the crash", alice) == (
        "Shop is frozen until a release engineer unfreezes it (Incident 42): "
        "no picks and no pushes."
    )


def test_the_requestors_hear_of_it(rel, alice, repository, branch, landed):
    ok(f"pick {landed['fix'][:8]} Fixes the crash", alice)
    Notification.objects.all().delete()
    ok("freeze Incident 42", rel)
    assert Notification.objects.get(engineer=alice).text.startswith(
        "Shop is frozen by rel until a release engineer unfreezes it (Incident 42): your pick #"
    )


def test_help_lists_freeze_and_unfreeze_to_release_engineers(rel, alice, repository):
    text = ok("help", rel)
    assert "• freeze [REPO] REASON: " in text
    assert "• unfreeze [REPO] [REASON]: " in text
    assert "freeze" not in ok("help", alice)
    assert ok("help freeze", rel).startswith(
        "freeze [REPO] REASON: no picks and no pushes until a release engineer unfreezes it\n"
        "e.g. `freeze Checkout is down (incident 42)`"
    )
