"""The bot's one grammar: a line of text in, a reply out. No Slack here.

Slack (slash command, mention, direct message), the web chat console and
`manage.py bot --as USER` all call `answer`. Commands read through the pushes app's selectors
and write through its services only, and the verbs that move a pick are the moves registry's
(pushes.moves, Channel.CHAT), so a refusal reads the same on every channel.
"""

from __future__ import annotations

import logging

from django.urls import reverse

from chat import blocks, phrasings
from chat.freezes import freeze_commands
from chat.replies import (
    PICK_ID,
    Command,
    Reply,
    UsageError,
    engineer_named,
    reason_text,
    refuse,
    said,
)
from chat.replies import pick_where as _where
from chat.replies import split_raw as _split_raw
from chat.verbs import move_commands
from common.errors import DomainError, NotFound
from common.times import when
from karma.models import MAX_STARS
from karma.selectors import karma_history, karma_may_request
from pushes import selectors, services
from pushes.choices import PickState
from pushes.models import Engineer, Pick, Push, Repository
from pushes.selectors.progress import PushProgress, pushes_in_progress
from pushes.selectors.whom import whom_to_see

log = logging.getLogger(__name__)

NOT_LINKED = (
    "I don't know who you are in Releasebot yet: your account is not linked to an engineer. "
    "Ask an admin to set your Slack id (or the same email address) on your engineer record. "
    "`status` and `help` work for anyone."
)
SORRY = "Sorry, something went wrong on my side answering that. It is logged; try again shortly."
_BACKUP_FLAGS = ("--backup", "—backup", "-backup")
_URGENT_FLAGS = ("urgent", "--urgent")


# --- the entry point ----------------------------------------------------------------------


def answer(text: str, *, engineer: Engineer | None) -> Reply:
    """Answer one line of the grammar as `engineer` (None: someone not linked to one)."""
    name, rest = _command_word(text)
    if not name:
        return help_reply("", engineer)
    command = COMMANDS.get(name)
    if command is None:
        return _unknown(name, engineer, text)
    if command.needs_engineer and engineer is None:
        return refuse(NOT_LINKED)
    try:
        return command.run(rest, engineer)
    except UsageError as error:
        return refuse(str(error), usage=command.usage)
    except DomainError as error:
        return refuse(error.message)
    except Exception:
        log.exception("chat command %r by %s failed", text[:200], engineer)
        return refuse(SORRY)


def is_slow(text: str) -> bool:
    """Commands that run git (a pick request: diff stats and a dry run): channels with a
    deadline (Slack's 3 seconds) queue these instead of answering inline."""
    name, rest = _command_word(text)
    return name == "pick" and bool(rest.strip())


def working_text(text: str) -> str:
    """What a channel shows at once while a slow command runs."""
    rev, _ = _split_raw(_command_word(text)[1])
    return f"Requesting a pick of {rev[:40]}: checking it against the branch…"


def _command_word(text: str) -> tuple[str, str]:
    """The command a line asks for, however it is put (chat.phrasings), and its arguments in
    the command's own syntax."""
    return phrasings.read(text, COMMANDS)


def _listed(engineer: Engineer | None) -> list[Command]:
    """The commands help shows `engineer`: a move's only to those who may make it."""
    return [command for command in COMMANDS.values() if command.listed_for(engineer)]


def _unknown(name: str, engineer: Engineer | None = None, text: str = "") -> Reply:
    """What no phrasing reads: the closest command with an example, else what there is."""
    line = phrasings.tidy(text or name)
    shown = name.replace("`", "")[:30]
    listed = _listed(engineer)
    near = phrasings.closest(line, [c.name for c in listed])
    if near is not None:
        command, example = COMMANDS[near[0]], near[1].replace("`", "")
        return refuse(
            f"I don't know `{shown}`. Did you mean `{command.name}`? For example: `{example}`.",
            usage=command.usage,
        )
    names = ", ".join(f"`{c.name}`" for c in listed)
    lead = f"I don't know `{shown}`." if len(line.split()) < 2 else "I didn't understand that."
    return refuse(
        f"{lead} I know {names}. Try `help`, or ask as you would ask a person, e.g. "
        f"`{phrasings.BY_NAME['status'].said_as()[0]}`"
    )


# --- status -------------------------------------------------------------------------------


def status(rest: str, engineer: Engineer | None) -> Reply:
    """The whole story of a revision, from a SHA, a review URL or a review number."""
    query, _ = _split_raw(rest)
    if not query:
        raise UsageError("Which revision? Give a SHA, a review URL or a review number.")
    try:
        story = selectors.revision_status(query=query)
    except NotFound:
        # "#70?": no review has that number, but pick #70 is what people call #70 here.
        number = PICK_ID.match(query) if query.startswith("#") else None
        pick = selectors.pick_by_id(pick_id=int(number.group(1))) if number else None
        if pick is None:
            raise
        story = selectors.revision_status(query=pick.sha)
    path = reverse("revision", args=[story.revision.sha])
    return Reply(text="\n".join(story.story), blocks=blocks.revision_story(story.story, path=path))


# --- pick ---------------------------------------------------------------------------------


def pick(rest: str, engineer: Engineer) -> Reply:
    """`pick REV [to BRANCH] [--backup @USER] [urgent] REASON`."""
    rev, rest = _split_raw(rest)
    if not rev:
        raise UsageError("Which revision? Give a trunk SHA (7+ hex digits).")
    branch_name = backup_name = None
    urgent = False
    while True:
        word, after = _split_raw(rest)
        if word.lower() == "to" and _is_branch(_split_raw(after)[0]):
            branch_name, rest = _split_raw(after)
        elif word.lower() in _BACKUP_FLAGS and after:
            backup_name, rest = _split_raw(after)
        elif word.lower() in _URGENT_FLAGS and after:
            urgent, rest = True, after
        else:
            break
    reason = reason_text(rest)
    if not reason:
        raise UsageError(services.NO_REASON)
    backup = engineer_named(backup_name) if backup_name else None
    try:
        result = services.pick_request(
            requestor=engineer, revision=rev, reason=reason, branch_name=branch_name,
            backup=backup, urgent=urgent,
        )  # fmt: skip
    except services.PickRefused as refused:
        again = _asked_before(refused, engineer)
        if again is None:
            raise
        return _requested(again, "You asked for this already: ", summary="")
    summary = result.dry_run.summary
    return _requested(result.pick, "", summary=summary, warn=not result.dry_run.applies)


def _is_branch(word: str) -> bool:
    # "to fix the crash" is a reason, "to release/2026-11-22" a branch.
    return bool(word) and ("/" in word or selectors.branch_named(name=word) is not None)


def _asked_before(refused: DomainError, engineer: Engineer) -> Pick | None:
    """The same person asking again (a retried message, a rerun task) gets their pick back."""
    if refused.code != "already-requested" or not isinstance(refused.details, dict):
        return None
    pick_id = refused.details.get("pick")
    existing = selectors.pick_by_id(pick_id=pick_id) if isinstance(pick_id, int) else None
    return existing if existing and existing.requestor_id == engineer.pk else None


def _requested(pick: Pick, lead: str, *, summary: str, warn: bool = False) -> Reply:
    where = f" for push {pick.push.label} ({blocks.when(pick.push)})" if pick.push else ""
    state = pick.get_state_display().lower()
    text = (
        f"{lead}Pick #{pick.pk} of {pick.short_sha} ({pick.title}) on {pick.branch.name}"
        f"{where}: {state}."
    )
    lines = [f"Size: {blocks.size(pick)}."]
    if summary:
        lines.append(("⚠ " if warn else "") + summary)
    if pick.backup:
        lines.append(f"Backup: {pick.backup} may confirm in your place.")
    note = "Release engineering reviews it; I will ask you to confirm before its push."
    if pick.urgent:
        note = (
            "Urgent: once release engineering approves it, a push is started for it and I ask "
            "you to confirm at once."
        )
    return said(text, lines=lines, note=note)


# --- mine, push ---------------------------------------------------------------------------


def mine(rest: str, engineer: Engineer) -> Reply:
    """My open picks (and the ones that need me) with what is expected of me."""
    picks = selectors.picks_mine(engineer=engineer)
    if not picks:
        return said(
            "You have no open picks.", note="Ask for one with `pick REV REASON`, or see `help`."
        )
    lines = [f"#{p.pk} {p.short_sha} {p.title[:60]}: {_expected(p, engineer)}" for p in picks]
    return said(f"Your open picks ({len(picks)}):", lines=lines)


def _expected(pick: Pick, engineer: Engineer) -> str:
    return selectors.pick_next_step(pick, engineer, confirm_with=f"`confirm {pick.pk}`")


def push(rest: str, engineer: Engineer | None) -> Reply:
    """The next push of each current branch: when, its picks, who has not confirmed."""
    sections, lines = [], []
    for repository in Repository.objects.filter(is_active=True).order_by("name"):
        for progress in pushes_in_progress(repository_id=repository.pk):  # what the pages show
            sections.append(_push_running(repository, progress))
        branch = selectors.branch_current(repository=repository)
        nxt = selectors.push_upcoming(branch=branch) if branch else None
        if nxt is None:
            lines.append(f"{repository.name}: no push scheduled.")
            continue
        sections.append(_push_lines(repository, nxt))
    text_parts = [s[0] + "\n" + "\n".join(f"• {line}" for line in s[1]) for s in sections]
    text = "\n".join(text_parts + lines) or "No repository is on the train yet."
    reply_blocks = [blk for head, items in sections for blk in blocks.reply(head, lines=items)]
    reply_blocks += [blocks.section(blocks.escape(line)) for line in lines]
    return Reply(text=text, blocks=blocks.limit(reply_blocks or blocks.reply(text)))


def _push_running(repository: Repository, progress: PushProgress) -> tuple[str, list[str]]:
    push = progress.push
    what = "is waiting for a worker" if progress.queued else "is running"
    return f"{repository.name}: push {push.label} of {push.branch.name} {what}.", [progress.summary]


def _push_lines(repository: Repository, nxt: Push) -> tuple[str, list[str]]:
    head = (
        f"{repository.name}: push {nxt.label} of {nxt.branch.name} at {blocks.when(nxt)} "
        f"({nxt.get_kind_display().lower()}, {nxt.get_state_display().lower()})."
    )
    picks = selectors.push_open_picks(push=nxt)
    if not picks:
        return head, ["No approved picks in it yet."]
    items = [f"#{p.pk} {p.short_sha} {p.title[:50]} ({p.requestor}): {_where(p)}" for p in picks]
    waiting = [p for p in picks if p.state in (PickState.APPROVED, PickState.AWAITING_CONFIRMATION)]
    if waiting:
        names = ", ".join(f"{p.requestor} (#{p.pk})" for p in waiting)
        items.append(f"Not confirmed yet: {names}.")
    else:
        items.append("Everyone has confirmed.")
    return head, items


# --- karma, help --------------------------------------------------------------------------


def karma(rest: str, engineer: Engineer | None) -> Reply:
    """`karma [@USER]`: stars and the latest changes, with who and why."""
    who, _ = _split_raw(rest)
    if who:
        target = engineer_named(who)
    elif engineer is None:
        return refuse(NOT_LINKED)
    else:
        target = engineer
    gate = karma_may_request(user_id=target.user_id)
    stars = gate.stars
    shown = "★" * stars + "☆" * (MAX_STARS - stars)
    lead = f"{target} has {shown} ({stars} of {MAX_STARS} stars)."
    if not gate.allowed:
        lead += " Picks are refused at this level. " + whom_to_see().text()
    history = karma_history(user_id=target.user_id, limit=5)
    zones = selectors.pick_time_zones(pick_ids=[e.pick_id for e in history])
    lines = [
        f"{e.delta:+d} on {when(e.at, zones.get(e.pick_id), year=True)} by {e.actor or 'the bot'}: "
        f"{e.reason}"
        for e in history
    ]
    note = "" if history else "No changes yet: everyone starts with five stars."
    return said(lead, lines=lines, note=note)


def help_reply(rest: str, engineer: Engineer | None) -> Reply:
    """Every command with its usage and a way to say it; or one command with its examples,
    all from the phrasings table (chat.phrasings)."""
    name, _ = _command_word(rest)
    if name:
        command = COMMANDS.get(name)
        if command is None:
            return _unknown(name, engineer, rest)
        verb = phrasings.BY_NAME[name]
        note = "e.g. " + ", ".join(f"`{e}`" for e in verb.examples)
        if verb.said_as():
            note += "\nOr say it as you would: " + ", ".join(f"`{e}`" for e in verb.said_as())
        return said(f"{command.usage}: {command.summary}", note=note)
    lines = [f"{c.usage}: {c.summary}{_said_as(c.name)}" for c in _listed(engineer)]
    note = (
        "PICK is a pick's number (#12). REV is a SHA (7+ hex digits); status also takes a "
        "review URL or number. Ask as you would ask a person: please, questions and "
        "@-mentions are fine."
    )
    return said("I answer these:", lines=lines, note=note)


def _said_as(name: str) -> str:
    natural = phrasings.BY_NAME[name].said_as()
    return f" (or `{natural[0]}`)" if natural else ""


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in [
        Command(
            "status",
            "status REV",
            "where a revision is: trunk, branch, pick, push, shipped",
            status,
            needs_engineer=False,
        ),
        Command(
            "pick",
            "pick REV [to BRANCH] [--backup @USER] [urgent] REASON",
            "ask for a trunk revision on the current release branch",
            pick,
        ),
        *move_commands(),  # the moves registry's verbs (chat.verbs)
        *freeze_commands(),  # the deploy lock (chat.freezes)
        Command("mine", "mine", "my open picks and what is expected of me", mine),
        Command(
            "push",
            "push",
            "the next push, its picks, who has not confirmed",
            push,
            needs_engineer=False,
        ),
        Command(
            "karma",
            "karma [@USER]",
            "push karma: stars, and who changed them why",
            karma,
            needs_engineer=False,
        ),
        Command(
            "help", "help [COMMAND]", "this list, or one command", help_reply, needs_engineer=False
        ),
    ]
}
