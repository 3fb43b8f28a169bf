from __future__ import annotations

import pytest

from karma.models import KarmaEvent
from karma.selectors import karma_may_request, karma_stars
from karma.services import KarmaError, karma_restore, karma_unlike


def test_a_new_engineer_starts_at_five_stars_and_may_request(alice):
    assert karma_stars(user_id=alice.user_id) == 5
    assert karma_may_request(user_id=alice.user_id).allowed


def test_unlike_takes_a_star_off_and_records_who_and_why(alice, rel):
    event = karma_unlike(user_id=alice.user_id, actor_id=rel.user_id, reason="Broke checkout")
    assert karma_stars(user_id=alice.user_id) == 4
    assert (event.actor_id, event.delta, event.stars_after, event.reason) == (
        rel.user_id,
        -1,
        4,
        "Broke checkout",
    )


def test_at_two_stars_picks_are_refused_with_whom_to_see(carol):
    gate = karma_may_request(user_id=carol.user_id)
    assert not gate.allowed
    assert gate.stars == 2
    assert "Talk to release engineering" in gate.message


def test_an_unlike_without_a_reason_is_refused_and_changes_nothing(alice, rel):
    with pytest.raises(KarmaError, match="reason is required"):
        karma_unlike(user_id=alice.user_id, actor_id=rel.user_id, reason="  ")
    assert karma_stars(user_id=alice.user_id) == 5
    assert not KarmaEvent.objects.exists()


def test_restore_gives_stars_back_but_never_above_five(carol, rel):
    karma_restore(user_id=carol.user_id, actor_id=rel.user_id, reason="Talked it through", stars=2)
    assert karma_stars(user_id=carol.user_id) == 4
    karma_restore(user_id=carol.user_id, actor_id=rel.user_id, reason="Good week", stars=3)
    assert karma_stars(user_id=carol.user_id) == 5
    with pytest.raises(KarmaError, match="all 5 stars already"):
        karma_restore(user_id=carol.user_id, actor_id=rel.user_id, reason="More")
