"""A push as it runs, for the people watching it: what it is doing now (applying or testing
which pick, tagging, pushing, shipping), how many of its picks it has dealt with, how long it
has been going, and the tail of its log. One reading for every place that shows it: the push
page, the train page and the risk dashboard (an htmx partial that polls itself every
`POLL_SECONDS` while the push runs), `GET /api/pushes/<id>/progress/` and the bot's `push`.

The runner records its step as it goes (`Push.step`, written by `push_step`); the log is read
from what the run stores anyway (the push's story, its picks' events, its test runs, the
running test's output so far), so watching a push costs the push nothing. Every line passes
through the redactor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from common import times
from common.redact import redact
from pushes.choices import (
    PICK_MERGED_STATES,
    PUSH_FINISHED_STATES,
    PUSH_RUNNING_STATES,
    PUSH_UPCOMING_STATES,
    PickState,
    PushKind,
    PushState,
    PushStep,
    TestRunState,
)
from pushes.models import Pick, PickEvent, Push, PushEvent, TestRun

POLL_SECONDS = 2
LOG_LINES = 20  # lines of the log shown

# The step a push is at when its state says it all.
_STEP_OF_STATE: dict[str, str] = {
    PushState.TAGGING: PushStep.TAGGING,
    PushState.PUSHING: PushStep.PUSHING,
    PushState.DEPLOYING: PushStep.SHIPPING,
}
_MERGE_STEPS = (PushStep.QUEUED, PushStep.PREPARING, PushStep.APPLYING, PushStep.TESTING)


@dataclass(frozen=True)
class LogLine:
    at: dt.datetime
    clock: str  # "13:50:07", in the repository's zone
    text: str


@dataclass(frozen=True)
class PushProgress:
    push: Push
    step: str  # a PushStep, or "" when the push is neither queued nor running
    pick: Pick | None  # the pick being applied or tested
    done: int  # picks the merge has dealt with (applied, or stopped by a conflict or tests)
    total: int  # those and the confirmed picks still to come
    elapsed: dt.timedelta | None  # running: since it started; queued: since it was queued
    log: list[LogLine]

    @property
    def running(self) -> bool:
        return self.push.state in PUSH_RUNNING_STATES and self.step != PushStep.QUEUED

    @property
    def queued(self) -> bool:
        return self.step == PushStep.QUEUED

    @property
    def polling(self) -> bool:
        """Whether its pages should look again: it is queued or running."""
        return self.running or self.queued

    @property
    def finished(self) -> bool:
        return self.push.state in PUSH_FINISHED_STATES

    @property
    def step_label(self) -> str:
        return PushStep(self.step).label if self.step else ""

    @property
    def elapsed_text(self) -> str:
        return times.duration(self.elapsed)

    @property
    def doing(self) -> str:
        """What it is doing now, in words: "Testing #12 Fix the cart" or "Tagging"."""
        if self.step == PushStep.TESTING and self.pick is None:
            return f"Testing the whole of {self.push.branch.name}"
        if self.pick is not None:
            return f"{self.step_label} #{self.pick.pk} {self.pick.title}"
        return self.step_label

    @property
    def counted(self) -> str:
        """ "3 of 7 picks", or what the push carries when it has no picks to merge."""
        if self.total:
            return f"{self.done} of {self.total} pick{'' if self.total == 1 else 's'}"
        if self.push.kind == PushKind.WEEKLY:
            return "the whole branch as cut"
        return "no picks"

    @property
    def outcome(self) -> str:
        """A finished push in one sentence: how it ended and how long it took."""
        push = self.push
        took = f" in {times.duration(push.duration)}" if push.duration else ""
        if push.state == PushState.DONE:
            dealt = f" {self.done} of {self.total} picks dealt with," if self.total else ""
            return f"Done{took}:{dealt} shipped in {push.tag}."
        if push.state == PushState.FAILED:
            first = (push.error or "see the story below").splitlines()[0][:300]
            after = f" after {times.duration(push.duration)}" if push.duration else ""
            return f"Failed{after}: {first}"
        if push.state == PushState.SKIPPED:
            return f"Skipped: {push.error or 'nothing to push'}"
        return push.get_state_display()

    @property
    def summary(self) -> str:
        """One line for chat and the API: "Testing #12 Fix the cart: 3 of 7 picks, 1 min 05 s
        in." (or how it ended)."""
        if self.finished:
            return self.outcome
        if self.queued:
            return f"Waiting for a worker ({self.elapsed_text} so far)."
        if not self.running:
            return f"Not started: {self.push.get_state_display().lower()}."
        return f"{self.doing}: {self.counted}, {self.elapsed_text} in."


def push_progress(*, push_id: int, now: dt.datetime | None = None) -> PushProgress:
    """Where the push is now: step, pick, picks done of total, time taken, the log's tail."""
    now = now or timezone.now()
    push = Push.objects.select_related("branch__repository", "step_pick").get(pk=push_id)
    step = _step(push)
    pick = push.step_pick if step in (PushStep.APPLYING, PushStep.TESTING) else None
    counts = push.picks.aggregate(
        done=Count("pk", filter=Q(state__in=PICK_MERGED_STATES)),
        waiting=Count("pk", filter=Q(state=PickState.CONFIRMED)),
    )
    if step == PushStep.QUEUED:
        elapsed = now - push.step_at if push.step_at else None
    elif push.state in PUSH_RUNNING_STATES and push.started_at:
        elapsed = now - push.started_at
    else:
        elapsed = push.duration
    return PushProgress(
        push=push,
        step=step,
        pick=pick,
        done=counts["done"],
        total=counts["done"] + counts["waiting"],
        elapsed=elapsed,
        log=push_log_tail(push=push),
    )


def pushes_in_progress(*, repository_id: int | None = None) -> list[PushProgress]:
    """Every push queued or running now (of one repository, if given), oldest first."""
    pushes = Push.objects.filter(
        Q(state__in=PUSH_RUNNING_STATES) | Q(state__in=PUSH_UPCOMING_STATES, step=PushStep.QUEUED)
    )
    if repository_id is not None:
        pushes = pushes.filter(branch__repository_id=repository_id)
    ids = pushes.order_by("scheduled_at", "pk").values_list("pk", flat=True)
    return [push_progress(push_id=pk) for pk in ids]


def _step(push: Push) -> str:
    if push.state in _STEP_OF_STATE:
        return _STEP_OF_STATE[push.state]
    if push.state == PushState.MERGING:
        return push.step if push.step in _MERGE_STEPS else PushStep.PREPARING
    if push.state in PUSH_UPCOMING_STATES and push.step == PushStep.QUEUED:
        return PushStep.QUEUED
    return ""


def push_log_tail(*, push: Push, lines: int = LOG_LINES) -> list[LogLine]:
    """The last `lines` lines of what the push did, oldest first: its story, what became of
    its picks, its test runs, and the running test's output so far. Redacted."""
    if push.started_at is None:
        return []
    found: list[tuple[dt.datetime, str]] = []
    for event in PushEvent.objects.filter(push=push).order_by("-at", "-pk")[:lines]:
        said = _event_line(event)
        found.append((event.at, said))
    pick_events = (
        PickEvent.objects.filter(pick__push=push, at__gte=push.started_at)
        .select_related("pick")
        .order_by("-at", "-pk")[:lines]
    )
    for e in pick_events:
        found.append((e.at, f"#{e.pick_id} {e.get_to_state_display().lower()}: {e.reason}"))
    for run in TestRun.objects.filter(push=push).order_by("-started_at", "-pk")[:lines]:
        found.extend(_test_run_lines(run, lines))
    found.sort(key=lambda line: line[0])
    kept = found[-lines:]
    if not kept:
        return []
    # One pass of the redactor for the whole tail; lines are single lines (newlines are split).
    texts = redact("\n".join(text.replace("\n", " ") for _, text in kept)).split("\n")
    zone = times.zone(push.branch.repository)
    return [
        LogLine(at=at, clock=f"{at.astimezone(zone):%H:%M:%S}", text=text)
        for (at, _), text in zip(kept, texts, strict=True)
    ]


def _event_line(event: PushEvent) -> str:
    """ "Merging: Started.", "Done." (not "Done: Done."), or a note's own words."""
    if event.from_state == event.to_state:
        return event.reason
    label = event.get_to_state_display()
    if not event.reason or event.reason.rstrip(".") == label:
        return f"{label}."
    return f"{label}: {event.reason}"


def _test_run_lines(run: TestRun, lines: int) -> list[tuple[dt.datetime, str]]:
    after = f"after #{run.pick_id}" if run.pick_id else "on the whole branch"
    said = [(run.started_at, f"Test run #{run.pk} {after}: {run.command}")]
    if run.state == TestRunState.RUNNING:
        # Its output so far, one line each, stamped now-ish: they follow the start line.
        output = [line for line in run.log.splitlines() if line.strip()][-lines:]
        said += [(run.started_at + dt.timedelta(microseconds=n + 1), f"│ {line}")
                 for n, line in enumerate(output)]  # fmt: skip
    elif run.finished_at:
        took = times.duration(run.finished_at - run.started_at)
        code = f", exit {run.exit_code}" if run.exit_code is not None else ""
        said.append((run.finished_at, f"Test run #{run.pk} {run.get_state_display().lower()}"
                     f"{code}, in {took}"))  # fmt: skip
    return said


def push_test_runs_empty_text(*, push: Push) -> str:
    """Why a push has no test runs, in words that fit its state."""
    repository = push.branch.repository
    command = bool(repository.test_command)
    if push.state in PUSH_UPCOMING_STATES:
        if not command:
            return f"No tests will run: {repository.name} has no test command set."
        return "No test runs yet: the test command runs after every pick once the push starts."
    if push.state == PushState.SKIPPED:
        return "No test runs: the push was skipped, so nothing ran."
    if not command:
        return f"No test runs: this push ran no tests ({repository.name} has no test command set)."
    if push.state in PUSH_RUNNING_STATES:
        return "No test runs yet: the first starts once a pick is applied."
    if push.kind == PushKind.DAILY and not push.picks.filter(state__in=PICK_MERGED_STATES).exists():
        if push.state == PushState.FAILED:
            return "No test runs: the push failed before any pick was applied."
        return "No test runs: this push carried no picks to test."
    return "No test runs: none of its picks needed one (each was on the branch already)."


# Pick states that never reach a push's merge, and so never a test.
_NEVER_MERGED = (PickState.REJECTED, PickState.WITHDRAWN, PickState.EXPIRED)


def pick_test_runs_empty_text(*, pick: Pick) -> str:
    """Why a pick has no test runs, in words that fit its state."""
    repository = pick.branch.repository
    if pick.state in _NEVER_MERGED:
        state = pick.get_state_display().lower()
        return f"No test runs: the pick was {state} before any push applied it."
    if pick.state == PickState.CONFLICT:
        return "No test runs: the pick did not apply, so there was nothing to test."
    if not repository.test_command:
        return f"No test runs: {repository.name} has no test command set, so none run."
    if pick.state in (PickState.PICKED, PickState.SHIPPED, PickState.REVERTED):
        return "No test runs: the change was on the branch already, so no test ran for it."
    return "No test runs yet: the tests run after the pick is applied at its push."
