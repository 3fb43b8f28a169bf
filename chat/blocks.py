"""Block Kit for the bot: pure functions from replies, picks and notices to lists of blocks.

Nothing here talks to Slack or the database beyond the rows it is given; `notifier` and `slack`
send what these build. Text in blocks is Slack mrkdwn, so everything taken from people or git
(titles, reasons, file names) goes through `escape`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.urls import reverse

from common import times
from pushes.choices import NotificationKind, PickState
from pushes.models import Notification, Pick, Push
from pushes.moves import CONFIRM, DECLINE
from pushes.selectors.release_notes import SHIPPED, NoteLine, ReleaseNotes

SECTION_LIMIT = 2900  # Slack refuses section text over 3,000 characters
MAX_BLOCKS = 50
NOTES_LINES = 15  # picks listed per outcome in a push's summary; the rest are counted

# The buttons of a confirmation request are the registry's confirm and decline moves.
CONFIRM_ACTION = f"pick_{CONFIRM.name}"
DECLINE_ACTION = f"pick_{DECLINE.name}"
ANSWERS = {CONFIRM_ACTION: CONFIRM, DECLINE_ACTION: DECLINE}
ASK_KINDS = (NotificationKind.CONFIRM, NotificationKind.REMINDER)

NOTICE_ICONS: dict[str, str] = {
    NotificationKind.CONFIRM: ":raising_hand:",
    NotificationKind.REMINDER: ":alarm_clock:",
    NotificationKind.APPROVED: ":white_check_mark:",
    NotificationKind.REJECTED: ":no_entry:",
    NotificationKind.DEFERRED: ":arrow_right_hook:",
    NotificationKind.ROLLED: ":arrow_right_hook:",
    NotificationKind.EXPIRED: ":hourglass:",
    NotificationKind.CONFLICT: ":warning:",
    NotificationKind.PREDICTED_CONFLICT: ":warning:",
    NotificationKind.TESTS_FAILED: ":x:",
    NotificationKind.SHIPPED: ":rocket:",
    NotificationKind.PUSH_SUMMARY: ":package:",
    NotificationKind.PUSH_FAILED: ":rotating_light:",
    NotificationKind.REVERTED: ":leftwards_arrow_with_hook:",
    NotificationKind.KARMA_SUGGESTION: ":star:",
}


# --- pieces -------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's three control characters, as its docs ask."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}}


def fields(*pairs: tuple[str, str]) -> dict:
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": _clip(f"*{k}*\n{v}", 1990)} for k, v in pairs],
    }


def context(*texts: str) -> dict:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": _clip(t, 1990)} for t in texts if t][:10],
    }


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict:
    element = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def link(path: str, label: str) -> str:
    """A link to a page of this site, by its path."""
    return f"<{settings.SITE_URL}{path}|{escape(label)}>"


def bullets(lines: Iterable[str]) -> str:
    return "\n".join(f"• {line}" for line in lines)


def limit(blocks: list[dict]) -> list[dict]:
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 1], context(f"…and {len(blocks) - MAX_BLOCKS + 1} more.")]


# --- replies of the grammar ---------------------------------------------------------------


def reply(text: str, *, lines: Iterable[str] = (), note: str = "") -> list[dict]:
    """A reply: a lead sentence, optional bullets under it, an optional note in small print.

    Arguments are plain text; they are escaped here.
    """
    body = f"{escape(text)}"
    listed = [escape(line) for line in lines]
    if listed:
        body += "\n" + bullets(listed)
    blocks = [section(body)]
    if note:
        blocks.append(context(escape(note)))
    return blocks


def refusal(message: str, *, usage: str = "") -> list[dict]:
    blocks = [section(f":no_entry_sign: {escape(message)}")]
    if usage:
        blocks.append(context(f"Usage: `{escape(usage)}`"))
    return blocks


def revision_story(story: list[str], *, path: str) -> list[dict]:
    """`status`: the commit in bold, then what happened to it, and a link to its page."""
    head, rest = story[0], story[1:]
    sha, _, title = head.partition(" ")
    blocks = [section(f"*`{escape(sha)}` {escape(title)}*\n" + "\n".join(escape(r) for r in rest))]
    blocks.append(context(link(path, "Open the revision's page")))
    return blocks


# --- confirmation requests ----------------------------------------------------------------


def when(push: Push) -> str:
    return times.when(push.scheduled_at, push.branch.repository)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def size(pick: Pick) -> str:
    return f"+{pick.lines_added} −{pick.lines_deleted} in {plural(pick.files_changed, 'file')}"


def _pick_line(pick: Pick) -> str:
    return f"#{pick.pk} `{escape(pick.short_sha)}` {escape(pick.title)}"


def confirmation(notification: Notification) -> list[dict]:
    """ "Are you online?": the question, the pick, push and time, and the two buttons."""
    pick = notification.pick
    assert pick is not None, "a confirmation request is about a pick"
    push = notification.push or pick.push
    icon = NOTICE_ICONS[notification.kind]
    blocks = [section(f"{icon} {escape(notification.text)}")]
    if push is not None:
        blocks.append(
            fields(
                (
                    "Pick",
                    link(pick.get_absolute_url(), f"#{pick.pk} {pick.short_sha} {pick.title}"),
                ),
                ("Push", f"{escape(push.label)} of {escape(push.branch.name)}"),
                ("When", escape(when(push))),
                ("Size", size(pick)),
            )
        )
    value = str(pick.pk)
    blocks.append(
        {
            "type": "actions",
            "block_id": f"confirmation-{pick.pk}",
            "elements": [
                button(CONFIRM.label, CONFIRM_ACTION, value, "primary"),
                button(DECLINE.label, DECLINE_ACTION, value, "danger"),
            ],
        }
    )
    return blocks


def answer_line(pick: Pick, *, asked_for: Push | None, confirmer: str | None) -> str:
    """What became of a confirmation request for push `asked_for`, in one plain sentence."""
    same_push = asked_for is None or pick.push_id == asked_for.pk
    done = (
        PickState.CONFIRMED,
        PickState.PICKED,
        PickState.SHIPPED,
        PickState.CONFLICT,
        PickState.TESTS_FAILED,
        PickState.REVERTED,
    )
    if pick.state in done and same_push:
        who = confirmer or str(pick.requestor)
        return f"✅ {who} is here for pick #{pick.pk}."
    if pick.state == PickState.WITHDRAWN:
        return f"Pick #{pick.pk} was withdrawn."
    if pick.state == PickState.REJECTED:
        return f"⛔ Pick #{pick.pk} was rejected."
    if pick.state == PickState.EXPIRED:
        return f"⌛ Pick #{pick.pk} expired: it rolled too often. Request it again."
    if pick.push is not None and not same_push:
        return f"↪ Pick #{pick.pk} rolled to the next push: {pick.push.label} at {when(pick.push)}."
    if pick.state == PickState.DEFERRED:
        return f"↪ Pick #{pick.pk} rolled to the next push."
    return f"Pick #{pick.pk} is {pick.get_state_display().lower()}."


def confirmation_answered(answer: str, asked: str = "") -> list[dict]:
    """A confirmation request once answered: the answer, the question in small print."""
    answered = [section(escape(answer))]
    if asked:
        answered.append(context(escape(asked)))
    return answered


# --- notices ------------------------------------------------------------------------------


def notice(notification: Notification, *, buttons: bool = True) -> list[dict]:
    """One notice to one engineer, by kind; confirmation requests get the buttons."""
    if notification.kind in ASK_KINDS and notification.pick_id and buttons:
        return confirmation(notification)
    icon = NOTICE_ICONS.get(notification.kind, ":speech_balloon:")
    blocks = [section(f"{icon} {escape(notification.text)}")]
    pick = notification.pick
    if notification.kind == NotificationKind.CONFLICT and pick and pick.conflict_files:
        files = bullets(f"`{escape(name)}`" for name in pick.conflict_files[:20])
        blocks.append(section(f"*Conflicting files*\n{files}"))
    links = []
    if pick is not None:
        links.append(link(pick.get_absolute_url(), f"Pick #{pick.pk}"))
    if notification.push is not None:
        links.append(link(notification.push.get_absolute_url(), f"Push {notification.push.label}"))
    if notification.kind == NotificationKind.TESTS_FAILED and notification.push is not None:
        links[-1] = link(notification.push.get_absolute_url(), "Test console")
    if links:
        blocks.append(context(" · ".join(links)))
    return blocks


def notice_copy(notification: Notification) -> list[dict]:
    """A notice copied to its repository's channel: whom it is for, then the notice without
    buttons (only its engineer answers, from their own messages)."""
    engineer = notification.engineer
    who = f"<@{escape(engineer.chat_id)}>" if engineer.chat_id else escape(str(engineer))
    return [context(f"For {who}:"), *notice(notification, buttons=False)]


def push_summary(notes: ReleaseNotes) -> list[dict]:
    """A push's summary for its repository's channel: what went out, then its release notes
    (every pick it carried or dealt with, by outcome), any error, and links to the push and to
    the notes in Markdown."""
    push = notes.push
    title = f":package: Push {push.label} of {push.branch.name}"
    outcome = f"{plural(notes.count(SHIPPED), 'pick')} shipped" + (
        f" in `{escape(push.tag)}`" if push.tag else ""
    )
    blocks = [section(f"*{escape(title)}*: {outcome}."), *notes_sections(notes)]
    if push.error:
        blocks.append(section(f":warning: {escape(push.error)}"))
    markdown = reverse("api:push-notes", args=[push.pk])
    blocks.append(
        context(f"{link(push.get_absolute_url(), 'Open the push')} · {link(markdown, 'Markdown')}")
    )
    return limit(blocks)


def notes_sections(notes: ReleaseNotes, *, per_group: int = NOTES_LINES) -> list[dict]:
    """A section per outcome of the notes: its first `per_group` lines, as many as fit in one
    section, and how many more there are."""
    more_link = link(notes.push.get_absolute_url(), "the push")
    sections = []
    for group in notes.groups:
        body, shown = f"*{escape(group.title)}* ({len(group.lines)})", 0
        for line in group.lines[:per_group]:
            longer = f"{body}\n• {notes_line(line)}"
            if len(longer) > SECTION_LIMIT - len(more_link) - 40:
                break
            body, shown = longer, shown + 1
        if len(group.lines) > shown:
            body += f"\n…and {len(group.lines) - shown} more on {more_link}."
        sections.append(section(body))
    return sections


def notes_line(line: NoteLine) -> str:
    """One pick of the notes in mrkdwn: number, short sha, title, review link, requestor and
    risk, then what became of it."""
    pick = line.pick
    parts = [_pick_line(pick)]
    if line.review_link:
        parts.append(f"<{escape(line.review_link).replace('|', '%7C')}|review>")
    parts += [escape(str(pick.requestor)), f"risk {escape(line.risk_text)}"]
    text = " · ".join(parts)
    return f"{text}: {escape(line.note)}" if line.note else text
