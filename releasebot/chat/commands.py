"""The bot's one grammar: a line of text in, a reply out. No Slack here.

Slack (slash command, mention, direct message), the web chat console and
`manage.py bot --as USER` all call `run_command`, and the commands call the same services and
selectors as the pages and the API, so a refusal reads the same on every channel.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from karma.models import MAX_STARS
from karma.selectors import karma_history, karma_stars
from pushes import selectors, services
from pushes.choices import PICK_ACTIVE_STATES, PICK_OPEN_STATES, BranchState, PickState, PushState
from pushes.models import Engineer, Pick, Push, ReleaseBranch, Repository
from releasebot.chat import blocks
from releasebot.errors import DomainError, NotFound

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


def answer(text: str, *, lines: list[str] | None = None, note: str = "") -> Reply:
    full = "\n".join([text, *(f"• {line}" for line in lines or [])] + ([note] if note else []))
    return Reply(text=full, blocks=blocks.reply(text, lines=lines or [], note=note))


def refuse(message: str, *, usage: str = "") -> Reply:
    text = f"{message}\nUsage: {usage}" if usage else message
    return Reply(text=text, blocks=blocks.refusal(message, usage=usage), refused=True)


# --- the entry point ----------------------------------------------------------------------


def run_command(text: str, *, engineer: Engineer | None) -> Reply:
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
    path = reverse("revision", args=[story.commit.sha])
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
        raise UsageError("Say why this pick cannot wait for the next train.")
    backup = engineer_named(backup_name) if backup_name else None
    try:
        result = services.pick_request(
            requestor=engineer, rev=rev, reason=reason, branch_name=branch_name, backup=backup
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
    return bool(word) and ("/" in word or ReleaseBranch.objects.filter(name=word).exists())


def _asked_before(refused: DomainError, engineer: Engineer) -> Pick | None:
    """The same person asking again (a retried message, a rerun task) gets their pick back."""
    if refused.code != "already-requested" or not isinstance(refused.details, dict):
        return None
    existing = _picks().filter(pk=refused.details.get("pick")).first()
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
    return answer(text, lines=lines, note=note)


# --- withdraw, confirm, decline -----------------------------------------------------------

_CONFIRMABLE = (PickState.APPROVED, PickState.AWAITING_CONFIRMATION)
_DECLINABLE = (*_CONFIRMABLE, PickState.CONFIRMED)


def withdraw(rest: str, engineer: Engineer) -> Reply:
    """`withdraw PICK|REV [REASON]`."""
    ref, reason = _split_raw(rest)
    if not ref:
        raise UsageError("Which pick? Give its number (#12) or its revision.")
    target = _pick_for(ref, engineer, states=PICK_ACTIVE_STATES[:-2], verb="withdraw")
    done = services.pick_withdraw(pick_id=target.pk, actor=engineer, reason=reason.strip())
    return answer(f"Pick #{done.pk} ({done.short_sha} {done.title}) is withdrawn.")


def confirm(rest: str, engineer: Engineer) -> Reply:
    """`confirm [PICK]`: I am online to support the push."""
    ref, _ = _split_raw(rest)
    if ref:
        target = _pick_for(ref, engineer, states=_CONFIRMABLE, verb="confirm")
    else:
        target = _only(services.picks_awaiting(engineer=engineer), "confirm")
    done = services.pick_confirm(pick_id=target.pk, actor=engineer)
    push = f"push {done.push.label} at {blocks.when(done.push)}" if done.push else "its push"
    for_whom = "" if done.requestor_id == engineer.pk else f" (for {done.requestor})"
    return answer(
        f"✅ You are down for pick #{done.pk}{for_whom} in {push}.",
        note="Be online then: I will tell you how it went.",
    )


def decline(rest: str, engineer: Engineer) -> Reply:
    """`decline [PICK] [REASON]`: not this time; the pick rolls to the next push."""
    ref, reason = _split_raw(rest)
    if ref and (_PICK_ID.match(ref) or _HEX.match(ref)):
        target = _pick_for(ref, engineer, states=_DECLINABLE, verb="decline")
    else:
        reason = rest
        mine = _picks().filter(_theirs(engineer), state__in=_DECLINABLE)
        target = _only(list(mine.order_by("push__scheduled_at", "pk")), "decline")
    done = services.pick_decline(pick_id=target.pk, actor=engineer, reason=reason.strip())
    if done.state == PickState.EXPIRED:
        return answer(f"Pick #{done.pk} expired: it has no push left to roll to. Request it again.")
    where = f"push {done.push.label} at {blocks.when(done.push)}" if done.push else "a later push"
    return answer(f"↪ Not this time: pick #{done.pk} rolls to {where}.")


def _picks():
    return Pick.objects.select_related(
        "push__branch__repository", "branch__repository", "requestor__user", "backup__user"
    )


def _theirs(engineer: Engineer) -> Q:
    return Q(requestor=engineer) | Q(backup=engineer)


def _pick_for(ref: str, engineer: Engineer, *, states: tuple[str, ...], verb: str) -> Pick:
    """A pick by number (#12, 12), or the open pick of a revision that is the engineer's."""
    number = _PICK_ID.match(ref)
    if number:
        found = _picks().filter(pk=int(number.group(1))).first()
        if found is None:
            raise NotFound(f"There is no pick #{number.group(1)}.")
        return found
    if not _HEX.match(ref):
        raise UsageError(f"`{ref[:40]}` is neither a pick (#12) nor a revision (7+ hex digits).")
    candidates = _picks().filter(sha__startswith=ref.lower(), state__in=states)
    theirs = candidates.filter(_theirs(engineer))
    if theirs.exists() or not engineer.is_release_engineer:
        candidates = theirs
    return _only(list(candidates.order_by("pk")[:10]), verb, rev=ref)


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

_NEEDS_ACTION = (PickState.CONFLICT, PickState.TESTS_FAILED)


def mine(rest: str, engineer: Engineer) -> Reply:
    """My open picks (and the ones that need me) with what is expected of me."""
    picks = list(
        _picks()
        .filter(_theirs(engineer))
        .filter(
            Q(state__in=PICK_OPEN_STATES)
            | Q(state__in=_NEEDS_ACTION) & ~Q(branch__state=BranchState.CLOSED)
        )
        .order_by("created_at", "pk")[:30]
    )
    if not picks:
        return answer(
            "You have no open picks.", note="Ask for one with `pick REV REASON`, or see `help`."
        )
    lines = [f"#{p.pk} {p.short_sha} {p.title[:60]}: {_expected(p, engineer)}" for p in picks]
    return answer(f"Your open picks ({len(picks)}):", lines=lines)


def _expected(pick: Pick, engineer: Engineer) -> str:
    push = f"push {pick.push.label} at {blocks.when(pick.push)}" if pick.push else "a later push"
    backup = f" (backup for {pick.requestor})" if pick.requestor_id != engineer.pk else ""
    files = ", ".join(pick.conflict_files[:3]) or "some files"
    expected: dict[str, str] = {
        PickState.REQUESTED: "requested, waiting for release engineering to approve it",
        PickState.APPROVED: f"approved for {push}; I will ask you to confirm before it",
        PickState.AWAITING_CONFIRMATION: (
            f"confirm you are online for {push}: `confirm {pick.pk}`, or it rolls to the next push"
        ),
        PickState.CONFIRMED: f"confirmed: be online for {push}",
        PickState.DEFERRED: f"rolled to {push}; I will ask again before it",
        PickState.PICKED: f"on {pick.branch.name}; it ships with {push}",
        PickState.CONFLICT: (
            f"did not apply ({files}): prepare a change for {pick.branch.name} and request that"
        ),
        PickState.TESTS_FAILED: "broke the tests and was taken back off: fix it and ask again",
    }
    return expected.get(pick.state, pick.get_state_display().lower()) + backup


def push(rest: str, engineer: Engineer | None) -> Reply:
    """The next push of each current branch: when, its picks, who has not confirmed."""
    sections, lines = [], []
    for repository in Repository.objects.filter(is_active=True).order_by("name"):
        branch = selectors.branch_current(repository=repository)
        nxt = _next_push(branch) if branch else None
        if nxt is None:
            lines.append(f"{repository.name}: no push scheduled.")
            continue
        sections.append(_push_lines(repository, nxt))
    text_parts = [s[0] + "\n" + "\n".join(f"• {line}" for line in s[1]) for s in sections]
    text = "\n".join(text_parts + lines) or "No repository is on the train yet."
    reply_blocks = [blk for head, items in sections for blk in blocks.reply(head, lines=items)]
    reply_blocks += [blocks.section(blocks.escape(line)) for line in lines]
    return Reply(text=text, blocks=blocks.limit(reply_blocks or blocks.reply(text)))


def _next_push(branch: ReleaseBranch) -> Push | None:
    return (
        Push.objects.filter(branch=branch, state__in=(PushState.SCHEDULED, PushState.CONFIRMING))
        .select_related("branch__repository")
        .order_by("scheduled_at")
        .first()
    )


def _push_lines(repository: Repository, nxt: Push) -> tuple[str, list[str]]:
    head = (
        f"{repository.name}: push {nxt.label} of {nxt.branch.name} at {blocks.when(nxt)} "
        f"({nxt.get_kind_display().lower()}, {nxt.get_state_display().lower()})."
    )
    picks = list(
        _picks()
        .filter(push=nxt, state__in=PICK_OPEN_STATES)
        .exclude(state=PickState.REQUESTED)
        .order_by("trunk_position", "pk")
    )
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
    stars = karma_stars(user_id=target.user_id)
    shown = "★" * stars + "☆" * (MAX_STARS - stars)
    lead = f"{target} has {shown} ({stars} of {MAX_STARS} stars)."
    if stars <= settings.KARMA_PICK_THRESHOLD:
        lead += " Picks are refused at this level: talk to release engineering."
    history = karma_history(user_id=target.user_id, limit=5)
    lines = [
        f"{e.delta:+d} on {timezone.localtime(e.at):%d %b %Y} by {e.actor or 'the bot'}: {e.reason}"
        for e in history
    ]
    note = "" if history else "No changes yet: everyone starts with five stars."
    return answer(lead, lines=lines, note=note)


def engineer_named(word: str) -> Engineer:
    """@bob, bob or a Slack mention <@U123>."""
    mention = _MENTION.match(word)
    query = Engineer.objects.select_related("user")
    if mention:
        found = query.filter(chat_id=mention.group(1)).first()
    else:
        found = query.filter(user__username__iexact=word.lstrip("@")).first()
    if found is None:
        raise NotFound(f"I don't know {word[:40]}: no engineer has that name or chat account.")
    return found


def help_reply(rest: str, engineer: Engineer | None) -> Reply:
    name, _ = _split(rest)
    if name:
        command = COMMANDS.get(name)
        if command is None:
            return _unknown(name)
        return answer(f"{command.usage}: {command.summary}", note=EXAMPLES.get(name, ""))
    lines = [f"{c.usage}: {c.summary}" for c in COMMANDS.values()]
    note = (
        "PICK is a pick's number (#12). REV is a SHA (7+ hex digits); status also takes a "
        "review URL or number."
    )
    return answer("I answer these:", lines=lines, note=note)


EXAMPLES = {
    "status": "e.g. `status 3f2a9c1`, `status https://github.com/acme/app/pull/123`, `status D123`",
    "pick": "e.g. `pick 3f2a9c1 Fixes the checkout crash`, "
    "`pick 3f2a9c1 to release/2026-11-22 --backup @bob Fixes the crash`",
    "withdraw": "e.g. `withdraw #12`, `withdraw 3f2a9c1 Fixed by a config change`",
    "confirm": "e.g. `confirm`, `confirm #12`",
    "decline": "e.g. `decline`, `decline #12 On a plane`",
    "karma": "e.g. `karma`, `karma @alice`",
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
        Command("withdraw", "withdraw PICK|REV [REASON]", "take back a pick request", withdraw),
        Command("confirm", "confirm [PICK]", "I'm online to support my pick's push", confirm),
        Command(
            "decline", "decline [PICK] [REASON]", "not this time: roll to the next push", decline
        ),
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
