"""The moves registry's verbs: every move whose entry lists Channel.CHAT (pushes.moves) is a
command of the bot, whatever it is made on. The registry says who may make it and from which
states, and its service refuses in the same words on the web, the API and here.

    MOVE PICK|REV [REASON]             a pick's (withdraw, confirm, decline, approve, ...)
    MOVE USER REASON                   an engineer's push karma (unlike)
    MOVE [BRANCH|REPOSITORY] [early]   a branch's (push now): before its slot it asks first
    MOVE PUSH [early] [REASON]         a push's, by its label (2026-11-24.1) or number (#12)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from django.db.models import Q

from chat import blocks
from chat.replies import (
    HEX,
    PICK_ID,
    Command,
    Reply,
    UsageError,
    engineer_named,
    pick_where,
    reason_text,
    refuse,
    said,
    split_raw,
)
from common.errors import DomainError, NotFound
from pushes import selectors, services
from pushes.choices import BranchState, PickState
from pushes.models import Engineer, Pick, Push, ReleaseBranch, Repository
from pushes.moves import MOVES, Channel, Move, Reason, Target, Who, move_refusal
from pushes.services.urgent import pick_urgent_note
from pushes.views.engineers import karma_changed

_PUSH_LABEL = re.compile(r"^(\d{4}-\d{2}-\d{2})\.(\d{1,3})$")
# How the API's "run it early?" question ends; chat says how to go ahead in its own words.
_API_GO_AHEAD = " Run it early to go ahead (early=true)."


def move_commands() -> list[Command]:
    """A command for each move the registry offers in chat, in the registry's order."""
    return [
        Command(
            move_verb(move),
            _USAGES[move.target](move),
            move.summary,
            _RUNS[move.target](move),
            who=move.who,
        )
        for move in MOVES.values()
        if move.takes(Channel.CHAT)
    ]


def move_verb(move: Move) -> str:
    """The command of a move: its name, its words apart ("push now")."""
    return move.name.replace("_", " ")


_REASONS = {Reason.NONE: "", Reason.OPTIONAL: " [REASON]", Reason.REQUIRED: " REASON"}


def _early(move: Move) -> str:
    return " [early]" if move.asks_first else ""


_USAGES: dict[Target, Callable[[Move], str]] = {
    Target.PICK: lambda move: (
        f"{move_verb(move)} {'[PICK]' if move.who == Who.REQUESTOR else 'PICK|REV'}"
        f"{_REASONS[move.reason]}"
    ),
    Target.ENGINEER: lambda move: f"{move_verb(move)} USER{_REASONS[move.reason]}",
    Target.BRANCH: lambda move: f"{move_verb(move)} [BRANCH|REPOSITORY]{_early(move)}",
    Target.PUSH: lambda move: f"{move_verb(move)} PUSH{_early(move)}{_REASONS[move.reason]}",
}


# --- a pick's moves -------------------------------------------------------------------------


def _pick_command(move: Move) -> Callable[[str, Engineer], Reply]:
    """`MOVE PICK|REV [REASON]`; the requestor's moves (confirm, decline) take their only pick
    waiting for it when none is named."""

    def run(rest: str, engineer: Engineer) -> Reply:
        ref, reason = split_raw(rest)
        named = bool(ref) and bool(PICK_ID.match(ref) or HEX.match(ref))
        if named:
            target = _pick_for(ref, engineer, move)
        elif move.who == Who.REQUESTOR and (not ref or move.reason != Reason.NONE):
            reason = rest
            target = _only(selectors.picks_of(engineer=engineer, states=move.from_states), move)
        elif not ref:
            raise UsageError("Which pick? Give its number (#12) or its revision.")
        else:
            raise UsageError(
                f"`{ref[:40]}` is neither a pick (#12) nor a revision (7+ hex digits)."
            )
        given = {} if move.reason == Reason.NONE else {"reason": reason_text(reason)}
        done = move.service_function(pick_id=target.pk, actor=engineer, **given)
        return _PICK_REPLIES.get(move.name, _moved)(done, engineer, move)

    run.__doc__ = move.summary
    return run


def _pick_for(ref: str, engineer: Engineer, move: Move) -> Pick:
    """A pick by number (#12, 12), or the open pick of a revision: the engineer's own, or for
    a release engineer anyone's."""
    number = PICK_ID.match(ref)
    if number:
        found = selectors.pick_by_id(pick_id=int(number.group(1)))
        if found is None:
            raise NotFound(f"There is no pick #{number.group(1)}.")
        return found
    picks = selectors.picks_by_revision(prefix=ref, engineer=engineer, states=move.from_states)
    return _only(picks, move, rev=ref)


_WAITING = {"confirm": "waits for your confirmation", "decline": "is yours to decline"}


def _only(picks: list[Pick], move: Move, *, rev: str = "") -> Pick:
    if len(picks) == 1:
        return picks[0]
    verb = move_verb(move)
    everyone = move.who == Who.RELEASE_ENGINEERS
    if not picks:
        about = f" of {rev[:40]}" if rev else ""
        what = f"can be {move.done} now" if everyone else _WAITING.get(verb, f"is yours to {verb}")
        raise NotFound(f"No pick{about} {what}.")
    listed = "; ".join(f"#{p.pk} {p.short_sha} {p.title[:50]} ({pick_where(p)})" for p in picks)
    there = "There are" if everyone else "You have"
    raise DomainError(
        f"Which one? {there} {len(picks)}: {listed}. Say `{verb} {picks[0].pk}`.",
        code="ambiguous-pick",
        details={"picks": [p.pk for p in picks]},
    )


def _moved(done: Pick, engineer: Engineer, move: Move) -> Reply:
    state = done.get_state_display().lower()
    now = "" if state == move.done else f" It is now {state}."
    return said(f"Pick #{done.pk} ({done.short_sha} {done.title}) is {move.done}.{now}")


def _approved(done: Pick, engineer: Engineer, move: Move) -> Reply:
    """Where the approved pick goes, and whether a push was started for it (urgent)."""
    push = done.push
    if push is None:
        return _moved(done, engineer, move)
    started = pick_urgent_note(pick=done)
    asked = done.state == PickState.AWAITING_CONFIRMATION
    return said(
        f"Pick #{done.pk} ({done.short_sha} {done.title}) was approved for push {push.label} "
        f"({blocks.when(push)}){started}.",
        note=f"{done.requestor} is asked to confirm {'now' if asked else 'before the push'}: "
        "it ships only once confirmed.",
    )


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


_PICK_REPLIES = {"confirm": _confirmed, "decline": _declined, "approve": _approved}


# --- an engineer's push karma ---------------------------------------------------------------


def _engineer_command(move: Move) -> Callable[[str, Engineer], Reply]:
    """`MOVE USER REASON`: karma's own service, after the registry's word on who may."""

    def run(rest: str, engineer: Engineer) -> Reply:
        who, reason = split_raw(rest)
        if not who:
            raise UsageError("Whose push karma? Name the engineer (@bob).")
        person = engineer_named(who)
        refusal = move_refusal(move, person, engineer)
        if refusal is not None:
            raise refusal
        event = move.service_function(
            actor=engineer.user,
            user_id=person.user_id,
            change=move.name,
            reason=reason_text(reason),
        )
        return said(karma_changed(person, event.delta, event.stars_after))

    run.__doc__ = move.summary
    return run


# --- a branch's and a push's: they queue a push ---------------------------------------------


def _branch_command(move: Move) -> Callable[[str, Engineer], Reply]:
    """`MOVE [BRANCH|REPOSITORY] [early]`: with one repository on the train, its branch."""

    def run(rest: str, engineer: Engineer) -> Reply:
        words = rest.split()
        early = move.asks_first and bool(words) and words[-1].lower() == "early"
        named = words[:-1] if early else words
        if len(named) > 1:
            raise UsageError("Name one branch or one repository, or none.")
        branch = _branch_for(named[0] if named else "")
        given = {"early": early} if move.asks_first else {}
        try:
            push = move.service_function(branch_id=branch.pk, actor=engineer, **given)
        except services.PushEarly as question:
            return _asked_first(question, " ".join([move_verb(move), *named]))
        return said(f"Push {push.label} of {push.branch.name} {move.done}: it starts in a moment.")

    run.__doc__ = move.summary
    return run


def _asked_first(question: DomainError, said_before: str) -> Reply:
    """The service's question (who would be left behind), and how to go ahead all the same."""
    message = question.message.removesuffix(_API_GO_AHEAD)
    return refuse(f"{message} Send `{said_before} early` to go ahead.")


def _branch_for(word: str) -> ReleaseBranch:
    """A release branch by name, or a repository's (by slug or name) current branch; with no
    word, the current branch of the one repository on the train."""
    if word:
        branch = selectors.branch_named(name=word)
        if branch is not None:
            return branch
    repositories = Repository.objects.filter(is_active=True).order_by("name")
    if word:
        repositories = repositories.filter(Q(slug__iexact=word) | Q(name__iexact=word))
    current = [(repo, selectors.branch_current(repository=repo)) for repo in repositories]
    if not current:
        known = f" or repository {word[:60]}" if word else ""
        raise NotFound(f"I know no release branch{known}: no repository is on the train.")
    if len(current) > 1:
        names = ", ".join(f"{r.slug} ({b.name if b else 'no open branch'})" for r, b in current)
        raise UsageError(f"Which one? Name a repository or a branch: {names}.")
    repository, branch = current[0]
    if branch is None:
        raise NotFound(f"{repository.name} has no open release branch.")
    return branch


def _push_command(move: Move) -> Callable[[str, Engineer], Reply]:
    """`MOVE PUSH [early] [REASON]`."""

    def run(rest: str, engineer: Engineer) -> Reply:
        ref, rest = split_raw(rest)
        if not ref:
            raise UsageError("Which push? Give its label (2026-11-24.1) or its number (#12).")
        word, after = split_raw(rest)
        early = move.asks_first and word.lower() == "early"
        given: dict[str, object] = {"early": early} if move.asks_first else {}
        if move.reason != Reason.NONE:
            given["reason"] = reason_text(after if early else rest)
        push = _push_for(ref)
        try:
            done = move.service_function(push_id=push.pk, actor=engineer, **given)
        except services.PushEarly as question:
            return _asked_first(question, f"{move_verb(move)} {ref}")
        return said(f"Push {done.label} of {done.branch.name} {move.done}.")

    run.__doc__ = move.summary
    return run


def _push_for(ref: str) -> Push:
    """A push by number (#12), or by label on the branches still open."""
    pushes = Push.objects.select_related("branch__repository")
    number, label = PICK_ID.match(ref), _PUSH_LABEL.match(ref)
    if number:
        found = list(pushes.filter(pk=int(number.group(1))))
    elif label:
        day = dt.date.fromisoformat(label.group(1))
        found = list(
            pushes.filter(day=day, number=int(label.group(2)))
            .exclude(branch__state=BranchState.CLOSED)
            .order_by("branch__repository__name")
        )
    else:
        raise UsageError(f"`{ref[:40]}` is neither a push's label (2026-11-24.1) nor its #number.")
    if not found:
        raise NotFound(f"There is no push {ref[:40]}.")
    if len(found) > 1:
        listed = "; ".join(f"#{p.pk} of {p.branch.name}" for p in found)
        raise UsageError(f"Which one? {len(found)} pushes are {ref}: {listed}.")
    return found[0]


_RUNS: dict[Target, Callable[[Move], Callable[[str, Engineer], Reply]]] = {
    Target.PICK: _pick_command,
    Target.ENGINEER: _engineer_command,
    Target.BRANCH: _branch_command,
    Target.PUSH: _push_command,
}
