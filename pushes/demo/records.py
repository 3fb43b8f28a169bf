"""Writing the planned train to the database: branches, pushes, picks, their history, test runs
and karma. Called inside the demo's transaction, after git is done."""

from __future__ import annotations

import datetime as dt
import random

from karma.models import KarmaEvent
from karma.services import karma_restore, karma_unlike
from pushes.choices import PickState, PushState, ReviewStatus
from pushes.demo.people import AUTHORS
from pushes.demo.plan import KarmaPlan, PickPlan, PushPlan, TestPlan, TrainPlan
from pushes.models import (
    Engineer,
    Pick,
    PickEvent,
    Push,
    PushEvent,
    ReleaseBranch,
    Repository,
    Revision,
    TestRun,
)
from pushes.services import push_schedule

COMMENTS = [0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 11, 14, 19]


def branches_write(repository: Repository, plan: TrainPlan) -> dict[int, Push]:
    """The branches as cut, their scheduled pushes, and how the past ones went (with each
    one's story, as the push runner tells it); by plan id."""
    pushes = {}
    stories: list[PushEvent] = []
    lead = dt.timedelta(minutes=repository.confirm_lead_minutes)
    for planned in plan.branches:
        branch = ReleaseBranch.objects.create(
            repository=repository,
            name=planned.name,
            cut_at=planned.cut_at,
            base_sha=planned.base.sha,
            base_position=planned.base.position,
            state=planned.state,
        )
        rows = {(push.day, push.number): push for push in push_schedule(branch=branch)}
        for push in planned.pushes:
            row = rows[(push.day, push.number)]
            if push.state != PushState.SCHEDULED:
                fields = ("state", "tag", "head_sha", "started_at", "pushed_at", "finished_at")
                for name in (*fields, "error"):
                    setattr(row, name, getattr(push, name))
                row.save()
                stories += _story(row, push, lead)
            pushes[id(push)] = row
    PushEvent.objects.bulk_create(stories)
    return pushes


def _story(row: Push, push: PushPlan, lead: dt.timedelta) -> list[PushEvent]:
    """The steps `push_state_move` records for a push that ran: asked, started, tagged, pushed
    and deployed, or failed at the remote."""
    assert push.started_at and push.tagged_at and push.finished_at
    steps = [
        (push.scheduled_at - lead, PushState.CONFIRMING, "Confirmations asked for."),
        (push.started_at, PushState.MERGING, "Started."),
        (push.tagged_at, PushState.TAGGING, ""),
        (push.tagged_at, PushState.PUSHING, ""),
    ]
    if push.pushed_at is None:
        steps.append((push.finished_at, PushState.FAILED, push.error))
    else:
        steps.append((push.pushed_at, PushState.DEPLOYING, f"Pushed {push.tag}."))
        steps.append((push.finished_at, PushState.DONE, "Done."))
    events, state = [], PushState.SCHEDULED
    for at, to, reason in steps:
        events.append(PushEvent(push=row, at=at, from_state=state, to_state=to, reason=reason))
        state = to
    return events


def picks_write(
    repository: Repository,
    plan: TrainPlan,
    pushes: dict[int, Push],
    engineers: dict[str, Engineer],
) -> dict[int, Pick]:
    """Every planned pick with its risk data, its events and its test runs; by plan id."""
    rng = random.Random(11)
    branches = {b.name: b for b in ReleaseBranch.objects.filter(repository=repository)}
    shas = [p.commit.sha for p in plan.picks]
    index = {c.sha: c for c in Revision.objects.filter(repository=repository, sha__in=shas)}
    rows = []
    for planned in plan.picks:
        commit = index[planned.commit.sha]
        stat = plan.stats[commit.sha]
        rows.append(
            Pick(
                branch=branches[planned.branch],
                push=pushes[id(planned.push)] if planned.push else None,
                sha=commit.sha,
                trunk_position=commit.position,
                title=commit.title,
                author_name=commit.author_name,
                author_email=commit.author_email,
                review_url=commit.review_url,
                requestor=engineers[planned.requestor],
                backup=_backup(rng, planned, engineers),
                reason=planned.reason,
                state=planned.state,
                lines_added=stat.lines_added,
                lines_deleted=stat.lines_deleted,
                files_changed=stat.files_changed,
                paths=list(stat.files),
                **_review(rng, planned, commit.review_url),
                rolls=planned.rolls,
                conflict_files=planned.conflict_files,
                result_sha=planned.result_sha,
                confirmed_at=planned.confirmed_at,
                shipped_at=planned.shipped_at,
                # The push whose pushed tag first carried it: its own (a reverted pick too).
                shipped_with=pushes[id(planned.push)] if planned.shipped_at else None,
            )
        )
    Pick.objects.bulk_create(rows)
    for row, planned in zip(rows, plan.picks, strict=True):
        # auto_now_add stamped them now; they were asked for when their first event says.
        row.created_at = planned.created_at
        row.updated_at = planned.events[-1].at
    Pick.objects.bulk_update(rows, ["created_at", "updated_at"])
    picks = {id(planned): row for row, planned in zip(rows, plan.picks, strict=True)}
    runs = _test_runs_write(plan, pushes, picks)
    PickEvent.objects.bulk_create(
        PickEvent(
            pick=row,
            actor=engineers[event.actor] if event.actor else None,
            at=event.at,
            from_state=event.from_state,
            to_state=event.to_state,
            reason=event.reason.replace("{run}", str(runs.get(row.pk, ""))),
        )
        for row, planned in zip(rows, plan.picks, strict=True)
        for event in planned.events
    )
    return picks


def _review(rng: random.Random, planned: PickPlan, url: str) -> dict[str, object]:
    if not url:
        return {"review_comments": None, "review_status": ReviewStatus.NONE}
    if rng.random() < 0.1:
        return {"review_comments": None, "review_status": ReviewStatus.UNKNOWN}
    comments = rng.choice(COMMENTS)
    if planned.commit.kind == "big":
        comments += rng.randint(12, 24)  # large and argued over: the dashboard flags it
    return {"review_comments": comments, "review_status": ReviewStatus.KNOWN}


def _backup(
    rng: random.Random, planned: PickPlan, engineers: dict[str, Engineer]
) -> Engineer | None:
    if planned.state == PickState.REQUESTED or rng.random() > 0.15:
        return None
    team = [
        p.username
        for p in AUTHORS
        if planned.commit.area in p.areas and p.username not in (planned.requestor, "carol")
    ]
    return engineers[rng.choice(team)] if team else None


def _test_runs_write(
    plan: TrainPlan, pushes: dict[int, Push], picks: dict[int, Pick]
) -> dict[int, int]:
    """Each pick's test run and each weekly ship's; returns the run id of each pick's run."""
    runs = []
    for planned in plan.picks:
        if planned.test and planned.push:
            runs.append(_run(planned.test, pushes[id(planned.push)], picks[id(planned)]))
    for branch in plan.branches:
        for push in branch.pushes:
            if push.test:
                runs.append(_run(push.test, pushes[id(push)], None))
    TestRun.objects.bulk_create(runs)
    return {run.pick_id: run.pk for run in runs if run.pick_id}


def _run(test: TestPlan, push: Push, pick: Pick | None) -> TestRun:
    return TestRun(
        push=push,
        pick=pick,
        command=test.command,
        state=test.state,
        exit_code=test.exit_code,
        started_at=test.started_at,
        finished_at=test.finished_at,
        log=test.log,
    )


def karma_write(
    karma: list[KarmaPlan], picks: dict[int, Pick], engineers: dict[str, Engineer]
) -> None:
    """Unlikes and restores through karma's own services, then dated when they happened."""
    rel = engineers["rel"].user_id
    for planned in karma:
        user = engineers[planned.username].user_id
        if planned.change == "unlike":
            pick = picks.get(id(planned.pick)) if planned.pick else None
            event = karma_unlike(
                user_id=user, actor_id=rel, reason=planned.reason, pick_id=pick.pk if pick else None
            )
        else:
            event = karma_restore(user_id=user, actor_id=rel, reason=planned.reason)
        KarmaEvent.objects.filter(pk=event.pk).update(at=planned.at)
