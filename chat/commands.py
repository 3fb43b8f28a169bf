"""The bot's one grammar: a line of text in, a reply out. No Slack here.

Slack (slash command, mention, direct message), the web chat console and
`manage.py bot --as USER` all call `answer`. Commands read through the pushes app's selectors
and write through its services only, and the verbs that move a pick are the moves registry's
(pushes.moves, Channel.CHAT), so a refusal reads the same on every channel.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse

from chat import blocks
from common.errors import DomainError, NotFound
from common.times import when
from karma.models import MAX_STARS
from karma.selectors import karma_history, karma_may_request
from pushes import selectors, services
from pushes.choices import PickState
from pushes.models import Engineer, Pick, Push, Repository
from pushes.moves import Channel, Move, Reason, Target, Who, moves_of

log = logging.getLogger(__name__)

NOT_LINKED = (
    "I don't know who you are in Releasebot yet: your account is not linked to an engineer. "
    "Ask an admin to set your Slack id (or the same email address) on your engineer record. "
    "`status` and `help` work for anyone."
)
SORRY = "Sorry, something went wrong on my side answering that. It is logged; try again shortly."
_PICK_ID = re.compile(r"^#?(\d{1,6})$")
_HEX = re.compile(r"^[0-9a-fA-F]{7,40}$")
_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")
_BACKUP_FLAGS = ("--backup", "—backup", "-backup")


@dataclass(frozen=True)
class Reply:
    """What the bot answers: plain text for any channel, Block Kit for Slack.

    `refused` marks an answer that did not do what was asked (the CLI exits 1 on it).
    """

    text: str
    blocks: list[dict] = field(default_factory=list)
    ephemeral: bool = True
    refused: bool = False


class UsageError(Exception):
    """Bad or missing arguments: answered with the message and the command's usage line."""


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    run: Callable[..., Reply]  # (rest of the line, engineer) -> Reply
    needs_engineer: bool = True


def said(text: str, *, lines: list[str] | None = None, note: str = "") -> Reply:
    full = "\n".join([text, *(f"• {line}" for line in lines or [])] + ([note] if note else []))
    return Reply(text=full, blocks=blocks.reply(text, lines=lines or [], note=note))


def refuse(message: str, *, usage: str = "") -> Reply:
    text = f"{message}\nUsage: {usage}" if usage else message
    return Reply(text=text, blocks=blocks.refusal(message, usage=usage), refused=True)


# --- the entry point ----------------------------------------------------------------------


def answer(text: str, *, engineer: Engineer | None) -> Reply:
    """Answer one line of the grammar as `engineer` (None: someone not linked to one)."""
    name, rest = _command_word(text)
    if not name:
        return help_reply("", engineer)
    command = COMMANDS.get(name)
    if command is None:
        return _unknown(name)
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
    name, rest = _split(text)
    if name in ("rb", "/rb"):  # "rb status …" typed out of habit
        name, rest = _split(rest)
    return name, rest


def _split(text: str) -> tuple[str, str]:
    parts = (text or "").strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0].lower(), parts[1] if len(parts) > 1 else ""


def _unknown(name: str) -> Reply:
    shown = name[:30]
    close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.6)
    if close:
        command = COMMANDS[close[0]]
        return refuse(
            f"I don't know `{shown}`. Did you mean `{command.name}`?", usage=command.usage
        )
    names = ", ".join(f"`{c}`" for c in COMMANDS)
    return refuse(f"I don't know `{shown}`. I know {names}. Try `help`.")


# --- status -------------------------------------------------------------------------------


def status(rest: str, engineer: Engineer | None) -> Reply:
    """The whole story of a revision, from a SHA, a review URL or a review number."""
    query, _ = _split_raw(rest)
    if not query:
        raise UsageError("Which revision? Give a SHA, a review URL or a review number.")
    story = selectors.revision_status(query=query)
    path = reverse("revision", args=[story.revision.sha])
    return Reply(text="\n".join(story.story), blocks=blocks.revision_story(story.story, path=path))


def _split_raw(text: str) -> tuple[str, str]:
    """Like _split, without lowering the first word (a URL or a branch keeps its case)."""
    parts = (text or "").strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


# --- pick ---------------------------------------------------------------------------------


def pick(rest: str, engineer: Engineer) -> Reply:
    """`pick REV [to BRANCH] [--backup @USER] REASON`."""
    rev, rest = _split_raw(rest)
    if not rev:
        raise UsageError("Which revision? Give a trunk SHA (7+ hex digits).")
    branch_name = backup_name = None
    while True:
        word, after = _split_raw(rest)
        if word.lower() == "to" and _is_branch(_split_raw(after)[0]):
            branch_name, rest = _split_raw(after)
        elif word.lower() in _BACKUP_FLAGS and after:
            backup_name, rest = _split_raw(after)
        else:
            break
    reason = rest.strip()
    if not reason:
        raise UsageError(services.NO_REASON)
    backup = engineer_named(backup_name) if backup_name else None
    try:
        result = services.pick_request(
            requestor=engineer, revision=rev, reason=reason, branch_name=branch_name, backup=backup
        )
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
    return said(text, lines=lines, note=note)


# --- the moves of a pick: withdraw, confirm, decline (the registry's chat verbs) ------------


def _move_command(move: Move) -> Callable[[str, Engineer], Reply]:
    """`MOVE PICK|REV [REASON]`; the requestor's moves (confirm, decline) take their only pick
    waiting for it when none is named."""

    def run(rest: str, engineer: Engineer) -> Reply:
        ref, reason = _split_raw(rest)
        named = bool(ref) and bool(_PICK_ID.match(ref) or _HEX.match(ref))
        if named:
            target = _pick_for(ref, engineer, states=move.from_states, verb=move.name)
        elif move.who == Who.REQUESTOR and (not ref or move.reason != Reason.NONE):
            reason = rest
            target = _only(
                selectors.picks_of(engineer=engineer, states=move.from_states), move.name
            )
        elif not ref:
            raise UsageError("Which pick? Give its number (#12) or its revision.")
        else:
            raise UsageError(
                f"`{ref[:40]}` is neither a pick (#12) nor a revision (7+ hex digits)."
            )
        given = {} if move.reason == Reason.NONE else {"reason": reason.strip()}
        done = move.service_function(pick_id=target.pk, actor=engineer, **given)
        return _MOVE_REPLIES.get(move.name, _moved)(done, engineer, move)

    run.__doc__ = move.summary
    return run


def _moved(done: Pick, engineer: Engineer, move: Move) -> Reply:
    state = done.get_state_display().lower()
    now = "" if state == move.done else f" It is now {state}."
    return said(f"Pick #{done.pk} ({done.short_sha} {done.title}) is {move.done}.{now}")


def _confirmed(done: Pick, engineer: Engineer, move: Move) -> Reply:
    push = f"push {done.push.label} at {blocks.when(done.push)}" if done.push else "its push"
    for_whom = "" if done.requestor_id == engineer.pk else f" (for {done.requestor})"
    return said(
        f"✅ You are down for pick #{done.pk}{for_whom} in {push}.",
        note="Be online then: I will tell you how it went.",
    )


def _declined(done: Pick, engineer: Engineer, move: Move) -> Reply:
    if done.state == PickState.EXPIRED:
        return said(f"Pick #{done.pk} expired: it has no push left to roll to. Request it again.")
    if done.push is None:
        then = selectors.next_cut_text(branch=done.branch)
        return said(f"↪ Not this time: pick #{done.pk} waits for {then}.")
    return said(
        f"↪ Not this time: pick #{done.pk} rolls to push {done.push.label} at "
        f"{blocks.when(done.push)}."
    )


_MOVE_REPLIES = {"confirm": _confirmed, "decline": _declined}


def _move_usage(move: Move) -> str:
    pick = "[PICK]" if move.who == Who.REQUESTOR else "PICK|REV"
    reason = {Reason.NONE: "", Reason.OPTIONAL: " [REASON]", Reason.REQUIRED: " REASON"}
    return f"{move.name} {pick}{reason[move.reason]}"


def _pick_for(ref: str, engineer: Engineer, *, states: frozenset[str], verb: str) -> Pick:
    """A pick by number (#12, 12), or the open pick of a revision that is the engineer's."""
    number = _PICK_ID.match(ref)
    if number:
        found = selectors.pick_by_id(pick_id=int(number.group(1)))
        if found is None:
            raise NotFound(f"There is no pick #{number.group(1)}.")
        return found
    picks = selectors.picks_by_revision(prefix=ref, engineer=engineer, states=states)
    return _only(picks, verb, rev=ref)


def _only(picks: list[Pick], verb: str, *, rev: str = "") -> Pick:
    if len(picks) == 1:
        return picks[0]
    if not picks:
        about = f" of {rev[:40]}" if rev else ""
        waiting = {"confirm": "waits for your confirmation", "decline": "is yours to decline"}
        raise NotFound(f"No pick{about} {waiting.get(verb, f'is yours to {verb}')}.")
    listed = "; ".join(f"#{p.pk} {p.short_sha} {p.title[:50]} ({_where(p)})" for p in picks)
    raise DomainError(
        f"Which one? You have {len(picks)}: {listed}. Say `{verb} {picks[0].pk}`.",
        code="ambiguous-pick",
        details={"picks": [p.pk for p in picks]},
    )


def _where(pick: Pick) -> str:
    state = pick.get_state_display().lower()
    return f"{state}, push {pick.push.label}" if pick.push else state


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
        lead += " Picks are refused at this level: talk to release engineering."
    history = karma_history(user_id=target.user_id, limit=5)
    zones = selectors.pick_time_zones(pick_ids=[e.pick_id for e in history])
    lines = [
        f"{e.delta:+d} on {when(e.at, zones.get(e.pick_id), year=True)} by {e.actor or 'the bot'}: "
        f"{e.reason}"
        for e in history
    ]
    note = "" if history else "No changes yet: everyone starts with five stars."
    return said(lead, lines=lines, note=note)


def engineer_named(word: str) -> Engineer:
    """@bob, bob or a Slack mention <@U123>."""
    mention = _MENTION.match(word)
    if mention:
        found = selectors.engineer_by_chat_id(chat_id=mention.group(1))
    else:
        found = selectors.engineer_by_username(username=word.lstrip("@"), exact=False)
    if found is None:
        raise NotFound(f"I don't know {word[:40]}: no engineer has that name or chat account.")
    return found


def help_reply(rest: str, engineer: Engineer | None) -> Reply:
    name, _ = _split(rest)
    if name:
        command = COMMANDS.get(name)
        if command is None:
            return _unknown(name)
        return said(f"{command.usage}: {command.summary}", note=EXAMPLES.get(name, ""))
    lines = [f"{c.usage}: {c.summary}" for c in COMMANDS.values()]
    note = (
        "PICK is a pick's number (#12). REV is a SHA (7+ hex digits); status also takes a "
        "review URL or number."
    )
    return said("I answer these:", lines=lines, note=note)


EXAMPLES = {
    "status": "e.g. `status 3f2a9c1`, `status https://github.com/acme/app/pull/123`, `status D123`",
    "pick": "e.g. `pick 3f2a9c1 Fixes the checkout crash`, "
    "`pick 3f2a9c1 to release/2026-11-22 --backup @bob Fixes the crash`",
    "withdraw": "e.g. `withdraw #12`, `withdraw 3f2a9c1 Fixed by a config change`",
    "confirm": "e.g. `confirm`, `confirm #12`",
    "decline": "e.g. `decline`, `decline #12 On a plane`",
    "karma": "e.g. `karma`, `karma @alice`",
}

_PICK_MOVES = {
    move.name: Command(move.name, _move_usage(move), move.summary, _move_command(move))
    for move in moves_of(Target.PICK, Channel.CHAT)
}
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
            "pick REV [to BRANCH] [--backup @USER] REASON",
            "ask for a trunk revision on the current release branch",
            pick,
        ),
        *_PICK_MOVES.values(),
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
