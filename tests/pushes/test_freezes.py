"""The deploy lock: a release engineer freezes a repository (no picks, no pushes) until one
unfreezes it, and the requestors of its open picks are told both times."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from common.errors import Conflict, DomainError, Forbidden
from pushes import services
from pushes.choices import NotificationKind, PickState, PushState
from pushes.models import FreezeWindow, Notification, Pick, Push
from pushes.selectors.freezes import (
    OPEN_ENDED,
    UNTIL_UNFROZEN,
    repository_freeze_now,
    repository_frozen,
)
from pushes.services.freezes import NO_FREEZE_REASON, ONLY_RELEASE_ENGINEERS
from tests.pushes.conftest import LA, MONDAY


def freeze(repository, actor, reason="Incident 42: checkout is down"):
    return services.repository_freeze(repository=repository, actor=actor, reason=reason)


def notices() -> list[tuple[str, str, str]]:
    return list(
        Notification.objects.order_by("pk").values_list("engineer__user__username", "kind", "text")
    )


@pytest.fixture
def picks(alice, bob, rel, landed):
    """Alice's two open picks and Bob's one on the current branch, and Bob's withdrawn one."""
    fix = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    feature = services.pick_request(requestor=alice, revision=landed["feature"], reason="Go").pick
    services.pick_approve(pick_id=feature.pk, actor=rel)
    second = services.pick_request(requestor=bob, revision=landed["second"], reason="Off").pick
    Notification.objects.all().delete()
    return {"fix": fix, "feature": feature, "second": second}


# --- freezing -----------------------------------------------------------------------------


def test_a_release_engineer_freezes_a_repository_until_one_unfreezes_it(rel, repository, branch):
    window = freeze(repository, rel)

    now = window.starts_at
    assert abs(now - MONDAY) < dt.timedelta(minutes=1)
    assert window.ends_at - now == OPEN_ENDED
    assert (window.created_by, window.lifted_by, window.reason) == (
        rel,
        None,
        "Incident 42: checkout is down",
    )
    assert repository_freeze_now(repository=repository) == window
    frozen = repository_frozen(repository=repository)
    assert (frozen.by, frozen.until, frozen.until_text) == ("rel", None, UNTIL_UNFROZEN)
    assert frozen.banner == "Frozen by rel since Mon 10:00 PST: Incident 42: checkout is down"


def test_a_pick_request_while_frozen_is_refused_with_the_reason_until_unfrozen(
    alice, rel, repository, branch, landed
):
    freeze(repository, rel)

    with pytest.raises(services.PickRefused) as refused:
        services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash")

    assert refused.value.code == "branch-closed"
    assert refused.value.message == (
        "Shop is frozen until a release engineer unfreezes it (Incident 42: checkout is down): "
        "no picks and no pushes."
    )
    assert not Pick.objects.exists()


def test_a_window_planned_in_the_admin_says_when_it_ends(alice, repository, branch, landed):
    FreezeWindow.objects.create(
        repository=repository,
        starts_at=MONDAY - dt.timedelta(hours=1),
        ends_at=dt.datetime(2026, 11, 27, 10, 0, tzinfo=LA),
        reason="Black Friday",
    )
    with pytest.raises(services.PickRefused) as refused:
        services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash")
    assert refused.value.message == (
        "Shop is frozen until Fri 27 Nov 10:00 PST (Black Friday): no picks and no pushes."
    )
    frozen = repository_frozen(repository=repository)
    assert (frozen.by, frozen.until) == (None, dt.datetime(2026, 11, 27, 10, 0, tzinfo=LA))
    assert frozen.banner == ("Frozen since Mon 09:00 PST until Fri 27 Nov 10:00 PST: Black Friday")


def test_the_requestors_of_open_picks_are_told_once_each_with_their_picks(
    rel, repository, branch, picks
):
    freeze(repository, rel)

    fix, feature, second = picks["fix"].pk, picks["feature"].pk, picks["second"].pk
    assert notices() == [
        (
            "alice",
            NotificationKind.DEFERRED,
            "Shop is frozen by rel until a release engineer unfreezes it (Incident 42: checkout "
            f"is down): your picks #{fix} and #{feature} are held: no picks and no pushes until "
            "then.",
        ),
        (
            "bob",
            NotificationKind.DEFERRED,
            "Shop is frozen by rel until a release engineer unfreezes it (Incident 42: checkout "
            f"is down): your pick #{second} is held: no picks and no pushes until then.",
        ),
    ]


def test_a_closed_pick_is_not_told(rel, bob, repository, branch, picks):
    services.pick_withdraw(pick_id=picks["second"].pk, actor=bob)
    Notification.objects.all().delete()

    freeze(repository, rel)

    assert [who for who, _, _ in notices()] == ["alice"]


# --- refusals change nothing --------------------------------------------------------------


def test_only_release_engineers_freeze_or_unfreeze(alice, rel, repository, branch, picks):
    with pytest.raises(Forbidden) as refused:
        freeze(repository, alice)
    assert refused.value.message == ONLY_RELEASE_ENGINEERS
    assert not FreezeWindow.objects.exists()

    window = freeze(repository, rel)
    told = notices()
    with pytest.raises(Forbidden):
        services.repository_unfreeze(repository=repository, actor=alice, reason="Fixed")
    window.refresh_from_db()
    assert (window.ends_at - window.starts_at, window.lifted_by) == (OPEN_ENDED, None)
    assert notices() == told


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("", "no-reason"),
        ("   ", "no-reason"),
        ("x" * 201, "reason-too-long"),
        ("a\x00b", "bad-text"),
    ],
)
def test_a_freeze_needs_a_reason_that_can_be_stored(rel, repository, branch, picks, reason, code):
    with pytest.raises(DomainError) as refused:
        freeze(repository, rel, reason=reason)
    assert refused.value.code == code
    if code == "no-reason":
        assert refused.value.message == NO_FREEZE_REASON
    assert not FreezeWindow.objects.exists()
    assert notices() == []


def test_freezing_a_frozen_repository_names_who_froze_it_and_why(rel, repository, branch, picks):
    freeze(repository, rel)
    told = notices()

    with pytest.raises(Conflict) as refused:
        freeze(repository, rel, reason="Again")

    assert (refused.value.code, refused.value.status) == ("already-frozen", 409)
    assert refused.value.message == (
        "Shop is already frozen by rel until a release engineer unfreezes it: "
        "Incident 42: checkout is down."
    )
    assert FreezeWindow.objects.count() == 1
    assert notices() == told


def test_unfreezing_a_repository_that_is_not_frozen_is_refused(rel, repository, branch, picks):
    with pytest.raises(Conflict) as refused:
        services.repository_unfreeze(repository=repository, actor=rel)
    assert (refused.value.code, refused.value.message) == ("not-frozen", "Shop is not frozen.")
    assert notices() == []


# --- unfreezing ---------------------------------------------------------------------------


def test_unfreezing_ends_every_window_in_force_and_records_who_lifted_it(
    rel, repository, branch, picks
):
    planned = FreezeWindow.objects.create(
        repository=repository,
        starts_at=MONDAY - dt.timedelta(hours=1),
        ends_at=MONDAY + dt.timedelta(days=2),
        reason="Thanksgiving",
    )
    later = FreezeWindow.objects.create(
        repository=repository,
        starts_at=MONDAY + dt.timedelta(days=20),
        ends_at=MONDAY + dt.timedelta(days=21),
        reason="Christmas",
    )
    Notification.objects.all().delete()

    ended = services.repository_unfreeze(repository=repository, actor=rel, reason="All clear")

    assert [window.pk for window in ended] == [planned.pk]
    planned.refresh_from_db()
    assert planned.lifted_by == rel
    assert abs(planned.ends_at - MONDAY) < dt.timedelta(minutes=1)
    later.refresh_from_db()
    assert (later.ends_at, later.lifted_by) == (MONDAY + dt.timedelta(days=21), None)
    assert repository_freeze_now(repository=repository) is None
    second = picks["second"].pk
    assert notices()[-1] == (
        "bob",
        NotificationKind.CARRIED,
        f"Shop is unfrozen by rel (All clear): your pick #{second} goes on with the next push.",
    )


def test_a_freeze_lifted_at_the_instant_it_began_is_over(rel, repository, branch):
    with time_machine.travel(MONDAY, tick=False):
        freeze(repository, rel)
        services.repository_unfreeze(repository=repository, actor=rel)
        assert repository_freeze_now(repository=repository) is None
        freeze(repository, rel, reason="Once more")  # not "already frozen"


def test_a_pick_may_be_requested_again_once_unfrozen(alice, rel, repository, branch, landed):
    freeze(repository, rel)
    services.repository_unfreeze(repository=repository, actor=rel)

    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick

    assert pick.state == PickState.REQUESTED


# --- the push run -------------------------------------------------------------------------


def test_the_push_run_skips_while_frozen_and_the_next_push_goes_once_unfrozen(
    alice, rel, repository, remote, branch, landed
):
    first, second = branch.pushes.filter(kind="daily").order_by("scheduled_at")[:2]
    shas = [landed["fix"], landed["feature"]]
    picks = [services.pick_request(requestor=alice, revision=sha, reason="Go").pick for sha in shas]
    Pick.objects.filter(pk__in=[p.pk for p in picks]).update(
        state=PickState.CONFIRMED, push=first, review_comments=0
    )
    freeze(repository, rel, reason="Incident 42")

    skipped = services.push_run(push_id=first.pk)

    assert skipped.state == PushState.SKIPPED
    assert "frozen: Incident 42" in skipped.error
    assert remote.head(branch.name) == branch.base_sha
    for pick in Pick.objects.filter(pk__in=[p.pk for p in picks]):
        assert (pick.state, pick.push_id, pick.rolls) == (PickState.APPROVED, second.pk, 0)

    services.repository_unfreeze(repository=repository, actor=rel, reason="Fixed")
    Pick.objects.filter(pk__in=[p.pk for p in picks]).update(state=PickState.CONFIRMED)
    shipped = services.push_run(push_id=second.pk)

    assert shipped.state == PushState.DONE
    assert set(Pick.objects.values_list("state", flat=True)) == {PickState.SHIPPED}
    assert Push.objects.get(pk=first.pk).state == PushState.SKIPPED


def test_an_overdue_push_from_before_the_freeze_does_not_go_out_while_it_holds(
    alice, rel, repository, remote, branch, landed
):
    """The freeze is a deploy lock: a push whose slot came before it (a worker was down, or
    someone presses Run now) is skipped too, not only the pushes whose slot falls inside it."""
    push = branch.pushes.filter(kind="daily").order_by("scheduled_at").first()
    Push.objects.filter(pk=push.pk).update(scheduled_at=timezone.now() - dt.timedelta(hours=1))
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Go").pick
    Pick.objects.filter(pk=pick.pk).update(state=PickState.CONFIRMED, push=push)
    freeze(repository, rel, reason="Incident 43")

    skipped = services.push_run(push_id=push.pk)

    assert skipped.state == PushState.SKIPPED and "frozen: Incident 43" in skipped.error
    assert remote.head(branch.name) == branch.base_sha
