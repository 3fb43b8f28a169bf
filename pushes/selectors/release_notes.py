"""Release notes of one push: every pick it carried or dealt with, grouped by outcome, each with
its review link, requestor and risk. The data once (`release_notes`); Markdown for the API
(`push_notes`); the push page and the Slack summary render the same data their own way.

Which picks belong to a push, and why:

* shipped with it: the picks its pushed tag first carried (`Pick.shipped_with`), whichever push
  picked them (a failed push's picks ship with the next one);
* picked in it: the picks whose push it is (`Pick.push`), whatever came of them, except those
  people withdrew or rejected (the push never carried them);
* left it: picks the push itself moved on while it ran (not confirmed, so rolled; carried
  because it ran early or a Friday policy held them back; expired for rolling too often). A
  pick's history does not record which push it was in, so these are the bot's moves to a later
  push on the push's branch between its start and its end; for a skipped push, the carries
  whose reason names it (`pick_carry` says "Push <label> was skipped").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import quote

from django.db.models import F, Q
from django.utils import timezone

from common import times
from pushes.choices import PUSH_FINISHED_STATES, PickState, PushState
from pushes.models import Pick, PickEvent, Push, Repository
from pushes.risk import Risk
from pushes.selectors.risk_rows import risk_rows

# The outcomes, in the order the notes show them, with their headings.
SHIPPED, CONFLICT, TESTS_FAILED, LEFT_OUT, REVERTED, PENDING = (
    "shipped",
    "conflict",
    "tests-failed",
    "left-out",
    "reverted",
    "pending",
)
OUTCOMES = {
    SHIPPED: "Shipped",
    CONFLICT: "Conflicts",
    TESTS_FAILED: "Tests failed",
    LEFT_OUT: "Left out / rolled to a later push",
    REVERTED: "Reverted",
    PENDING: "Not out yet",
}
_BY_STATE: dict[str, str] = {
    PickState.SHIPPED: SHIPPED,
    PickState.CONFLICT: CONFLICT,
    PickState.TESTS_FAILED: TESTS_FAILED,
    PickState.REVERTED: REVERTED,
    PickState.EXPIRED: LEFT_OUT,
}
# Picked in the push and taken out by people before it ran: never carried by it.
_NOT_CARRIED = (PickState.WITHDRAWN, PickState.REJECTED)
# The bot's moves that take a pick off a running push: a roll (deferred, or expired after too
# many), a carry with its approval kept (approved again), or a carry that keeps the state and
# changes only the push (`pick_carry` records it as an event from the state to itself).
_LEAVING = (
    Q(to_state__in=(PickState.DEFERRED, PickState.EXPIRED))
    | Q(
        to_state=PickState.APPROVED,
        from_state__in=(PickState.AWAITING_CONFIRMATION, PickState.CONFIRMED),
    )
    | Q(
        to_state__in=(PickState.REQUESTED, PickState.APPROVED, PickState.DEFERRED),
        from_state=F("to_state"),
    )
)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>~|&])")


@dataclass(frozen=True)
class NoteLine:
    """One pick in the notes: the pick, its risk (as decided, else as it stands) and a few
    words on what became of it ("" when its group says it all)."""

    pick: Pick
    risk: Risk
    note: str = ""

    @property
    def review_link(self) -> str:
        """The pick's review URL if it is a web address (anything else is not linked)."""
        url = self.pick.review_url.strip()
        return url if url.startswith(("https://", "http://")) else ""

    @property
    def risk_text(self) -> str:
        """ "medium (predicted to conflict)": the reasons in brackets, so that what became of
        the pick, after a colon, is not read as one of them."""
        reasons = ", ".join(self.risk.reasons)
        return f"{self.risk.level} ({reasons})" if reasons else self.risk.level


@dataclass(frozen=True)
class NoteGroup:
    outcome: str
    title: str
    lines: list[NoteLine]


@dataclass(frozen=True)
class ReleaseNotes:
    """A push's notes: the push, its repository, when (in the repository's zone) and the
    groups that have picks, in `OUTCOMES` order."""

    push: Push
    repository: Repository
    when: str
    groups: list[NoteGroup]

    @property
    def title(self) -> str:
        return f"Push {self.push.label} of {self.push.branch.name}"

    @property
    def picks(self) -> int:
        return sum(len(group.lines) for group in self.groups)

    def count(self, outcome: str) -> int:
        return next((len(g.lines) for g in self.groups if g.outcome == outcome), 0)


def release_notes(*, push: Push, now: dt.datetime | None = None) -> ReleaseNotes:
    """The push's notes (a fixed number of queries, whatever the number of picks)."""
    now = now or timezone.now()
    repository = push.branch.repository
    picks = _picks(push)
    left = _left(push, now, exclude={pick.pk for pick in picks})
    picks += [pick for pick in _with_people(Pick.objects.filter(pk__in=left))]
    events = _events([pick.pk for pick in picks])
    rows = {row.pick.pk: row.risk for row in risk_rows(picks, now=now)}
    grouped: dict[str, list[NoteLine]] = {outcome: [] for outcome in OUTCOMES}
    for pick in sorted(picks, key=lambda p: (p.trunk_position or 0, p.pk)):
        outcome = LEFT_OUT if pick.pk in left else _outcome(pick, push)
        note = _note(pick, push, outcome, events.get(pick.pk, []), left=left.get(pick.pk))
        grouped[outcome].append(NoteLine(pick=pick, risk=rows[pick.pk], note=note))
    return ReleaseNotes(
        push=push,
        repository=repository,
        when=_when(push, repository),
        groups=[
            NoteGroup(outcome=outcome, title=OUTCOMES[outcome], lines=lines)
            for outcome, lines in grouped.items()
            if lines
        ],
    )


def _with_people(picks):
    return picks.select_related(
        "requestor__user", "branch__repository", "push__branch", "shipped_with"
    )


def _picks(push: Push) -> list[Pick]:
    """Shipped with the push, or picked in it and not taken out by people."""
    return list(
        _with_people(
            Pick.objects.filter(Q(shipped_with=push) | Q(push=push)).exclude(
                push=push, shipped_with__isnull=True, state__in=_NOT_CARRIED
            )
        )
    )


def _left(push: Push, now: dt.datetime, *, exclude: set[int]) -> dict[int, str]:
    """The picks the push moved on while it ran, each with the reason it gave."""
    events = PickEvent.objects.filter(_LEAVING, pick__branch_id=push.branch_id, actor__isnull=True)
    if push.state == PushState.SKIPPED:
        events = events.filter(reason__startswith=f"Push {push.label} was skipped")
    elif push.started_at is not None:
        end = push.finished_at if push.state in PUSH_FINISHED_STATES else None
        events = events.filter(at__gte=push.started_at, at__lte=end or now)
    else:
        return {}
    left: dict[int, str] = {}
    for pick_id, reason in events.exclude(pick_id__in=exclude).values_list("pick_id", "reason"):
        left.setdefault(pick_id, reason)
    return left


def _events(pick_ids: list[int]) -> dict[int, list[PickEvent]]:
    found: dict[int, list[PickEvent]] = {}
    events = PickEvent.objects.filter(pick_id__in=pick_ids).select_related("actor__user")
    for event in events.order_by("at", "pk"):
        found.setdefault(event.pick_id, []).append(event)
    return found


def _outcome(pick: Pick, push: Push) -> str:
    if pick.shipped_with_id not in (None, push.pk):
        return LEFT_OUT  # picked here, shipped by a later push
    if pick.state in _BY_STATE:
        return _BY_STATE[pick.state]
    if push.state in (PushState.DONE, PushState.SKIPPED):
        return LEFT_OUT  # still waiting after the push went out: a later push takes it
    return PENDING


def _note(
    pick: Pick, push: Push, outcome: str, events: list[PickEvent], *, left: str | None
) -> str:
    """What became of the pick, in a few words: where it went, why it stopped. `left`: the
    reason the push gave when it moved the pick on, if it did."""
    last = {event.to_state: event for event in events}
    later = pick.shipped_with if pick.shipped_with_id not in (None, push.pk) else None
    if outcome == SHIPPED and pick.push_id not in (None, push.pk) and pick.push:
        return f"picked in push {pick.push.label}, which did not get it out"
    confirmed = last.get(PickState.CONFIRMED)
    if outcome == SHIPPED and confirmed and confirmed.actor_id not in (None, pick.requestor_id):
        return f"confirmed by {confirmed.actor} (backup for {pick.requestor})"
    if outcome == CONFLICT and pick.conflict_files:
        return f"conflicts in {', '.join(pick.conflict_files)}"
    if outcome in (TESTS_FAILED, REVERTED, CONFLICT) and pick.state in last:
        return last[pick.state].reason
    if later is not None:
        return f"shipped with push {later.label}"
    if pick.state == PickState.EXPIRED and PickState.EXPIRED in last:
        return f"expired: {last[PickState.EXPIRED].reason}"
    note = left or pick.get_state_display().lower()
    moved_to = pick.push if pick.push_id not in (None, push.pk) else None
    if outcome == LEFT_OUT and moved_to is not None and moved_to.label not in note:
        note = f"{note.rstrip('.')}; now in push {moved_to.label}"
    return note if outcome in (LEFT_OUT, PENDING) else ""


def _when(push: Push, repository: Repository) -> str:
    at, what = push.scheduled_at, "scheduled"
    if push.finished_at and push.state in PUSH_FINISHED_STATES:
        at, what = push.finished_at, "finished"
    elif push.started_at:
        at, what = push.started_at, "started"
    return f"{what} {times.when(at, repository, year=True)}"


# --- Markdown ---------------------------------------------------------------------------------


def push_notes(*, push: Push) -> str:
    """The push's release notes as Markdown (CommonMark): a heading with the push, then a
    section per outcome with a line per pick."""
    return notes_markdown(release_notes(push=push))


def notes_markdown(notes: ReleaseNotes) -> str:
    push = notes.push
    facts = [md(push.get_kind_display()), md(push.get_state_display()), md(notes.when)]
    if push.tag:
        facts.insert(1, f"tag `{push.tag.replace('`', '')}`")
    lines = [f"# {md(notes.title)}", "", " · ".join(facts)]
    if push.error:
        lines += ["", f"> {md(push.error)}"]
    for group in notes.groups:
        lines += ["", f"## {group.title} ({len(group.lines)})", ""]
        lines += [f"- {_markdown_line(line)}" for line in group.lines]
    if not notes.groups:
        lines += ["", "No picks."]
    return "\n".join(lines) + "\n"


def _markdown_line(line: NoteLine) -> str:
    pick = line.pick
    review = f"[review]({quote(line.review_link, safe=_URL_SAFE)})" if line.review_link else ""
    parts = [
        f"#{pick.pk} `{pick.short_sha}` {md(pick.title)}",
        review or "no review link",
        f"requested by {md(str(pick.requestor))}",
        f"risk {md(line.risk_text)}",
    ]
    text = " · ".join(parts)
    return f"{text} — {md(line.note)}" if line.note else text


_URL_SAFE = ":/?#@!$&'*+,;=%~-._"


def md(text: str) -> str:
    """Plain text (titles, reasons, names) as Markdown that shows it as it is: one line, with
    the characters Markdown would read as formatting, links or HTML escaped."""
    flat = " ".join(str(text).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)
