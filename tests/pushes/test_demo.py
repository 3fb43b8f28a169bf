"""`python manage.py demo`: a realistic train on a generated repository, built once."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import zoneinfo

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from karma.models import KarmaEvent
from karma.selectors import karma_stars_many
from pushes.choices import PICK_TRANSITIONS, PickState, PushState
from pushes.demo import demo_build, demo_remote
from pushes.models import Engineer, Pick, Push, Repository, Revision

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
def test_it_builds_a_train_once_and_leaves_it_alone_the_second_time(settings, tmp_path, client):
    settings.DATA_DIR = tmp_path / "data"
    settings.DEBUG = True  # the demo runs only so
    out = io.StringIO()
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
    assert "rel / rel (release engineer)" in out.getvalue()

    counts = row_counts()
    again = io.StringIO()
    call_command("demo", stdout=again)
    assert "already there" in again.getvalue()
    assert "carol / carol (two stars: picks refused)" in again.getvalue()
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
