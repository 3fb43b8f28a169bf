"""`python manage.py demo`: a realistic train on a generated repository, built once."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import zoneinfo

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.utils import timezone

from karma.models import KarmaEvent
from karma.selectors import karma_stars_many
from pushes.choices import PICK_TRANSITIONS, NotificationKind, PickState, PushState
from pushes.demo import LOGINS, demo_build, demo_remote
from pushes.demo.build import demo_deploy_log
from pushes.models import (
    BranchCommit,
    Engineer,
    Notification,
    Pick,
    Push,
    PushEvent,
    Repository,
    Revision,
    Rollback,
)
from pushes.moves import ROLLBACK, Channel, moves_offered
from pushes.selectors import train_overview
from pushes.services import pick_confirm, push_rollback

LA = zoneinfo.ZoneInfo("America/Los_Angeles")


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for app in ("auth", "pushes", "karma")
        for model in apps.get_app_config(app).get_models()
    }


def assert_every_pick_has_its_history(now: dt.datetime) -> None:
    for pick in Pick.objects.prefetch_related("events"):
        events = list(pick.events.all())
        assert events, pick
        assert events[0].to_state == PickState.REQUESTED
        assert events[-1].to_state == pick.state
        for before, after in zip(events, events[1:], strict=False):
            assert after.from_state == before.to_state
            assert after.to_state in PICK_TRANSITIONS[before.to_state]
            assert before.at <= after.at <= now


@pytest.mark.django_db
def test_it_builds_a_train_once_and_leaves_it_alone_the_second_time(
    settings, tmp_path, client, time_machine
):
    settings.DATA_DIR = tmp_path / "data"
    settings.DEBUG = True  # the demo runs only so
    out = io.StringIO()
    # A Saturday: the week's pushes are done, so the window opened at start is a push of its own
    # and every state the demo built is still there.
    time_machine.move_to(dt.datetime(2026, 12, 5, 10, 0, tzinfo=LA))
    call_command("demo", stdout=out)

    repository = Repository.objects.get(slug="shop")
    assert repository.revisions.count() >= 300
    assert repository.revisions.values("author_email").distinct().count() >= 15
    assert set(Pick.objects.values_list("state", flat=True)) == set(PickState.values)
    assert_every_pick_has_its_history(dt.datetime.now(dt.UTC))
    assert not Pick.objects.exclude(sha__in=Revision.objects.values("sha")).exists()

    stars = karma_stars_many(user_ids=Engineer.objects.values_list("user_id", flat=True))
    assert {2, 3, 4, 5} <= set(stars.values())
    carol = Engineer.objects.get(user__username="carol")
    assert stars[carol.user_id] == 2
    assert KarmaEvent.objects.filter(user=carol.user_id).count() == 3
    signed_in = client.post("/login/", {"username": "carol", "password": "carol"})
    assert signed_in.status_code == 302  # the demo's passwords are the usernames

    done = Push.objects.filter(state=PushState.DONE)
    assert done.count() >= 13
    remote = demo_remote()
    tags = subprocess.run(
        ["git", "tag", "-l"], cwd=remote, capture_output=True, text=True, check=True
    ).stdout.split()
    assert set(done.values_list("tag", flat=True)) <= set(tags)
    for pick in Pick.objects.filter(state=PickState.SHIPPED):
        on_branch = ["git", "merge-base", "--is-ancestor", pick.result_sha, pick.branch.name]
        assert subprocess.run(on_branch, cwd=remote).returncode == 0, pick
    # The failed push failed at the remote: its picks are on the managed clone's branch only.
    failed = Push.objects.get(state=PushState.FAILED)
    assert failed.tag not in tags
    states = set(failed.picks.values_list("state", flat=True))
    assert PickState.PICKED in states and PickState.SHIPPED not in states
    for login in LOGINS:  # everyone who can sign in is listed, with a role
        assert login.username in out.getvalue()
        form = {"username": login.username, "password": login.password}
        assert client.post("/login/", form).status_code == 302, login
    assert "rel / rel: release engineer" in out.getvalue()

    counts = row_counts()
    again = io.StringIO()
    call_command("demo", stdout=again)
    assert "already there" in again.getvalue()
    assert "carol / carol: engineer at two stars" in again.getvalue()
    assert row_counts() == counts


@pytest.mark.django_db
def test_it_shows_every_state_even_minutes_after_the_cut(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    now = dt.datetime(2026, 11, 29, 18, 3, tzinfo=LA)  # Sunday, three minutes after the cut

    demo_build(now=now)

    assert set(Pick.objects.values_list("state", flat=True)) == set(PickState.values)
    assert_every_pick_has_its_history(now)
    open_picks = Pick.objects.filter(state__in=[PickState.REQUESTED, PickState.CONFIRMED])
    assert {p.branch.name for p in open_picks} == {"release/2026-11-29"}
    assert {p.push.label for p in open_picks} == {"2026-12-01.1"}  # Tuesday's weekly ship


@pytest.mark.django_db
def test_the_demo_refuses_without_debug_and_creates_nobody(settings, tmp_path):
    """Its people sign in with their username as password: never on a real Releasebot."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DEBUG = False
    before = row_counts()
    with pytest.raises(CommandError, match="only with DEBUG=1"):
        call_command("demo", stdout=io.StringIO())
    assert row_counts() == before
    assert not Engineer.objects.exists()


def open_windows() -> list[Push]:
    return list(Push.objects.filter(state=PushState.CONFIRMING, scheduled_at__gt=timezone.now()))


def asked(push: Push) -> dict[str, Pick]:
    """Whose picks in the push wait for their "I'm here", by username."""
    waiting = push.picks.filter(state=PickState.AWAITING_CONFIRMATION).select_related(
        "requestor__user"
    )
    return {pick.requestor.user.username: pick for pick in waiting}


@pytest.mark.django_db
def test_every_start_has_one_confirmation_window_open_now_that_alice_can_answer(
    settings, tmp_path, time_machine
):
    settings.DATA_DIR = tmp_path / "data"
    settings.DEBUG = True
    out = io.StringIO()
    # Wednesday morning: the day's first push is hours away, so the window is a push of its own.
    time_machine.move_to(dt.datetime(2026, 12, 2, 9, 0, tzinfo=LA), tick=False)
    call_command("demo", stdout=out)

    [window] = open_windows()
    lead = dt.timedelta(minutes=window.branch.repository.confirm_lead_minutes)
    assert timezone.now() < window.scheduled_at <= timezone.now() + lead
    people = asked(window)
    assert {"alice", "bob", "priya"} <= set(people)
    alice = people["alice"]
    # Asked as the train asks: the step in her pick's history, the notice in her inbox.
    assert alice.events.filter(to_state=PickState.AWAITING_CONFIRMATION, actor=None).exists()
    notice = Notification.objects.get(pick=alice, kind=NotificationKind.CONFIRM)
    assert notice.engineer == alice.requestor and notice.push == window
    assert f"push {window.label}" in out.getvalue()
    assert f"alice (pick #{alice.pk})" in out.getvalue()

    pushes, picks = Push.objects.count(), Pick.objects.count()
    again = io.StringIO()
    call_command("demo", stdout=again)  # a second start keeps the window open
    assert open_windows() == [window] and "still open" in again.getvalue()
    assert (Push.objects.count(), Pick.objects.count()) == (pushes, picks)

    confirmed = pick_confirm(pick_id=alice.pk, actor=alice.requestor)
    assert confirmed.state == PickState.CONFIRMED

    # Started again after its slot (nobody ran the worker): a new window, due from now.
    later = timezone.now() + lead + dt.timedelta(minutes=5)
    time_machine.move_to(later, tick=False)
    call_command("demo", stdout=io.StringIO())
    [reopened] = open_windows()
    assert reopened != window
    assert later < reopened.scheduled_at <= later + lead
    assert {"alice", "bob", "priya"} <= set(asked(reopened))
    assert asked(reopened)["alice"].pk != alice.pk  # hers, confirmed, is not asked again


@pytest.mark.django_db
def test_its_pushes_record_what_real_pushes_record_and_the_last_one_rolls_back(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    demo_build()

    shipped = Pick.objects.filter(state__in=[PickState.SHIPPED, PickState.REVERTED])
    assert shipped.exists()
    for pick in shipped.select_related("push", "shipped_with"):
        assert pick.shipped_with == pick.push and pick.shipped_with.pushed_at, pick
    assert not Pick.objects.exclude(pk__in=shipped).filter(shipped_with__isnull=False).exists()
    [train] = train_overview()
    counted = {p.pk: p.shipped for p in train.recent_pushes}
    for push in Push.objects.filter(pk__in=counted):
        assert counted[push.pk] == push.shipped_picks.count(), push
    assert any(counted.values())
    # Origin's branches indexed: every pick on them is a commit the pushed tags carried.
    for pick in shipped:
        commit = BranchCommit.objects.get(sha=pick.result_sha)
        assert commit.pick == pick and commit.shipped_with == pick.shipped_with
    # Each push that ran has its story, ending where the push is.
    for push in Push.objects.exclude(state=PushState.SCHEDULED):
        story = list(PushEvent.objects.filter(push=push).order_by("at", "pk"))
        assert story[0].from_state == PushState.SCHEDULED and story[-1].to_state == push.state
        assert all(a.to_state == b.from_state for a, b in zip(story, story[1:], strict=False))

    rel = Engineer.objects.get(user__username="rel")
    last = Push.objects.filter(state=PushState.DONE).latest("pushed_at")
    assert ROLLBACK in moves_offered(last, rel, Channel.PAGE)
    push_rollback(push_id=last.pk, actor=rel, reason="Checkout errors doubled.")
    rollback = Rollback.objects.get(push=last)
    assert rollback.deployed, rollback.outcome
    assert f"deployed {rollback.to_push.tag} " in demo_deploy_log().read_text()


@pytest.mark.django_db
def test_the_train_page_says_what_to_try_as_each_person_in_demo_mode_only(
    settings, tmp_path, client
):
    settings.DATA_DIR = tmp_path / "data"
    settings.DEBUG = True
    call_command("demo", stdout=io.StringIO())
    [window] = open_windows()
    expected = {
        "alice": [asked(window)["alice"].get_absolute_url(), "/picks/new/"],
        "rel": ["/dashboard/risk/", window.get_absolute_url(), "/repositories/shop/"],
        "carol": ["/engineers/carol/", "/picks/new/"],
    }
    for username, links in expected.items():
        client.force_login(Engineer.objects.get(user__username=username).user)
        page = client.get("/").content.decode()
        assert f"Try this as {username}" in page
        panel = page[page.index('class="card callout try-this"') : page.index("</section>")]
        for link in links:
            assert f'href="{link}"' in panel, (username, link)
        for href in re.findall(r'href="([^"]+)"', panel):
            assert client.get(href).status_code == 200, (username, href)
    assert "at 2 stars" in page  # carol's: why her picks are refused

    settings.DEBUG = False  # not demo mode: no panel
    assert "Try this" not in client.get("/").content.decode()
