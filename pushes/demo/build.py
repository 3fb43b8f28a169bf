"""`demo_build`: the shop's repository, three weeks of its train and the people on it.

Git first (a generated trunk in a bare "remote", branches, real cherry-picks, tags, all pushed),
then the database in one transaction. A demo already there is left alone unless `reset`.
"""

from __future__ import annotations

import datetime as dt
import shlex
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from karma.models import KarmaEvent
from pushes import cadence, git
from pushes.choices import ReviewTool
from pushes.demo.history import TEST_COMMAND, history_generate, history_write
from pushes.demo.people import PEOPLE, REL, people_create, people_delete
from pushes.demo.plan import TrainPlan
from pushes.demo.records import branches_write, karma_write, picks_write
from pushes.demo.stories import closed_picks, karma_stories, open_picks
from pushes.demo.train import TrainWalk, train_branches
from pushes.locks import repository_lock
from pushes.models import Pick, Push, ReleaseBranch, Repository, Revision, TestRun
from pushes.services import clone_path, scratch_dir, trunk_sync
from pushes.services.branch_index import branch_index

SLUG = "shop"
TIME_ZONE = "America/Los_Angeles"
LATEST = "latest"
# The demo's "production": its deploy hook deploys nothing, it writes down what it was handed.
DEPLOY_SCRIPT = (  # double quotes only: the hook reads plainly, in one pair of single quotes
    'import os, sys, time; env = os.environ; line = " ".join([time.strftime("%F %T"), '
    '"deployed", env["RELEASEBOT_TAG"], env["RELEASEBOT_SHA"][:10]]); '
    'print(line); open(sys.argv[1], "a").write(line + chr(10))'
)


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str


# Whose picks each start of the demo asks to confirm (pushes.demo.window), alice's first.
WINDOW_PEOPLE = ("alice", "bob", "priya")
ENGINEER = "engineer"
NOTES = {  # who plays a part in the demo's story, and which
    REL.username: "release engineer, and Django admin at /admin/",
    **{name: "engineer with a pick in the open confirmation window" for name in WINDOW_PEOPLE},
    "carol": "engineer at two stars: her picks are refused",
}
# Everyone the demo creates can sign in: each password is the username (DEBUG only).
LOGINS = [Login(p.username, p.username, NOTES.get(p.username, ENGINEER)) for p in PEOPLE]


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    counts: dict[str, int] = field(default_factory=dict)
    picks: dict[str, int] = field(default_factory=dict)
    pushes: dict[str, int] = field(default_factory=dict)


def demo_remote() -> Path:
    return settings.DATA_DIR / "demo" / f"{SLUG}.git"


def demo_exists() -> bool:
    return Repository.objects.filter(slug=SLUG).exists()


def demo_deploy_log() -> Path:
    """Where the demo's deploy hook writes what it deployed."""
    return settings.DATA_DIR / "demo" / "deploys.log"


def demo_repository() -> Repository:
    """The demo's repository row as it will be saved: the shop, on Phabricator, in California."""
    return Repository(
        slug=SLUG,
        name="Shop",
        remote_url=str(demo_remote()),
        trunk_branch="main",
        time_zone=TIME_ZONE,
        review_tool=ReviewTool.PHABRICATOR,
        test_command=TEST_COMMAND,
        deploy_hook=shlex.join(["python3", "-c", DEPLOY_SCRIPT, str(demo_deploy_log())]),
    )


def demo_delete() -> None:
    """Remove the demo: its repository (with everything on it), its people and its git."""
    with transaction.atomic():
        Repository.objects.filter(slug=SLUG).delete()
        people_delete()
    for path in (demo_remote(), clone_path(demo_repository())):
        shutil.rmtree(path, ignore_errors=True)
    demo_deploy_log().unlink(missing_ok=True)


def demo_build(*, reset: bool = False, now: dt.datetime | None = None) -> DemoSummary:
    """Build the demo, or leave the one already built alone (rebuild it with `reset`)."""
    if reset:
        demo_delete()
    elif demo_exists():
        return demo_summary(created=False)
    now = now or timezone.now()
    repository = demo_repository()
    for path in (demo_remote(), clone_path(repository)):  # left by a run that crashed
        shutil.rmtree(path, ignore_errors=True)
    plan = _git_build(repository, now)
    with transaction.atomic():
        engineers = people_create()
        repository.save()
        trunk_sync(repository=repository)
        pushes = branches_write(repository, plan)
        picks = picks_write(repository, plan, pushes, engineers)
        for branch in ReleaseBranch.objects.filter(repository=repository):
            # What origin's branches hold and which pushed tag first carried each commit, as
            # every fetch and push records it.
            branch_index(branch=branch, path=clone_path(repository))
        karma_write(plan.karma, picks, engineers)
    return demo_summary(created=True)


def _git_build(repository: Repository, now: dt.datetime) -> TrainPlan:
    """Trunk, branches, past pushes and tags in git, pushed to the demo's remote."""
    commits = history_generate(cadence.last_cut_slot(repository, now), now)
    history_write(demo_remote(), commits)
    clone = clone_path(repository)
    with repository_lock(SLUG):
        git.sync(clone, repository.remote_url)
        walk = TrainWalk(clone, repository.remote_url, commits, now, scratch_dir())
        plan = walk.run(train_branches(repository, commits, now))
        closed_picks(walk, plan.branches[-2])
        open_picks(walk, plan.branches[-1])
        plan.karma = karma_stories(walk)
        # As the cut left it: `latest` is where this week's branch started.
        git.branch_move(clone, LATEST, plan.branches[-1].base.sha)
        refs = [f"refs/heads/{b.name}" for b in plan.branches if b.name not in plan.unpushed]
        refs += [f"refs/heads/{LATEST}"] + [f"refs/tags/{tag}" for tag in plan.tags]
        git.push(clone, refs)
        plan.stats = {p.commit.sha: git.diff_stat(clone, p.commit.sha) for p in plan.picks}
    return plan


def demo_summary(*, created: bool) -> DemoSummary:
    repository = Repository.objects.filter(slug=SLUG).first()
    if repository is None:
        return DemoSummary(created=created)
    commits = Revision.objects.filter(repository=repository)
    picks = Pick.objects.filter(branch__repository=repository)
    pushes = Push.objects.filter(branch__repository=repository)
    counts = {
        "trunk commits": commits.count(),
        "authors": commits.values("author_email").distinct().count(),
        "release branches": ReleaseBranch.objects.filter(repository=repository).count(),
        "pushes": pushes.count(),
        "picks": picks.count(),
        "test runs": TestRun.objects.filter(push__branch__repository=repository).count(),
        "karma events": KarmaEvent.objects.count(),
    }
    return DemoSummary(
        created=created,
        counts=counts,
        picks=dict(Counter(picks.values_list("state", flat=True))),
        pushes=dict(Counter(pushes.values_list("state", flat=True))),
    )
