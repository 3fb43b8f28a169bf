"""Slack's mrkdwn for the web console: the bot's replies as Slack shows them, as safe HTML.

The bot writes its replies in Slack mrkdwn (chat.blocks): `code`, *bold*, _italic_, ~strike~,
<https://…|links>, "• " bullet lines, "> " quotes, and &amp; &lt; &gt; for the three characters
Slack reserves. `blocks_mrkdwn` flattens a reply's Block Kit into that text, and
`mrkdwn_to_html` renders it. Everything a person or git wrote is escaped for HTML before any
mark is turned into a tag, and the only tags made are the few below: a reason with <script>
in it shows as text, and a link goes only to http(s) or mailto.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Slack's shortcodes the bot's replies and notices use, as the characters Slack shows.
EMOJI = {
    ":no_entry_sign:": "🚫",
    ":no_entry:": "⛔",
    ":warning:": "⚠️",
    ":white_check_mark:": "✅",
    ":x:": "❌",
    ":rocket:": "🚀",
    ":package:": "📦",
    ":raising_hand:": "🙋",
    ":alarm_clock:": "⏰",
    ":arrow_right_hook:": "↪️",
    ":hourglass:": "⌛",
    ":rotating_light:": "🚨",
    ":leftwards_arrow_with_hook:": "↩️",
    ":star:": "⭐",
    ":speech_balloon:": "💬",
}

_CONTROL = re.compile(r"<([^<>\n]*)>")  # <https://…|label>, <@U123>, <#C1|name>, <!here>
_CODE = re.compile(r"`([^`\n]+)`")
_HOLE = re.compile(r"\x00(\d+)\x00")  # a piece already rendered, kept out of later steps
# Bold, italic and strike: the mark next to a word, and not inside one (snake_case stays).
_EDGE_BEFORE = r"(?<![\w*_~])"
_EDGE_AFTER = r"(?![\w*_~])"
_MARKS = [
    (re.compile(_EDGE_BEFORE + r"\*(?=\S)([^*\n]*?\S)\*" + _EDGE_AFTER), "strong"),
    (re.compile(_EDGE_BEFORE + r"_(?=\S)([^_\n]*?\S)_" + _EDGE_AFTER), "em"),
    (re.compile(_EDGE_BEFORE + r"~(?=\S)([^~\n]*?\S)~" + _EDGE_AFTER), "del"),
]
_BULLET = re.compile(r"^\s*(?:•|◦|▪|-|\*)\s+(.*)$")
_QUOTE = re.compile(r"^(?:&gt;|>)\s?(.*)$")
_FENCE = "```"
_SCHEMES = ("https://", "http://", "mailto:")


def blocks_mrkdwn(blocks: Iterable[dict]) -> str:
    """A reply's Block Kit as one mrkdwn text, block by block, as Slack lays it out: a
    section's text (or its fields), a context's elements joined by " · "."""
    parts = []
    for block in blocks:
        if block.get("type") == "section":
            if block.get("text"):
                parts.append(block["text"].get("text", ""))
            parts.extend(item.get("text", "") for item in block.get("fields") or [])
        elif block.get("type") == "context":
            texts = [e.get("text", "") for e in block.get("elements") or [] if e.get("text")]
            parts.append(" · ".join(texts))
    return "\n".join(part for part in parts if part)


def mrkdwn_to_html(text: str) -> SafeString:
    """Slack mrkdwn as HTML: paragraphs of lines, bullet lists, quotes and code blocks, with
    the inline marks inside them. Safe to put in a page as it is."""
    lines = (text or "").replace("\x00", "").replace("\r\n", "\n").split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.lstrip().startswith(_FENCE):
            index, block = _code_block(lines, index)
            out.append(block)
            continue
        for pattern, render in _GROUPS:
            if pattern.match(line):
                group = []
                while index < len(lines) and (found := pattern.match(lines[index])):
                    group.append(found.group(1))
                    index += 1
                out.append(render(group))
                break
        else:
            group = []
            while index < len(lines) and _plain(lines[index]):
                group.append(lines[index])
                index += 1
            if group:
                out.append("<p>" + "<br>".join(inline(item) for item in group) + "</p>")
            else:
                index += 1  # only a fence mark left alone ends up here
    # Safe: every piece of text in it went through escape(); the tags are the ones made here.
    return mark_safe("".join(part for part in out if part))


def _plain(line: str) -> bool:
    return not (
        line.lstrip().startswith(_FENCE) or any(pattern.match(line) for pattern, _ in _GROUPS)
    )


def _bullets(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{inline(item)}</li>" for item in items) + "</ul>"


def _quote(items: list[str]) -> str:
    return "<blockquote>" + "<br>".join(inline(item) for item in items) + "</blockquote>"


_GROUPS: list[tuple[re.Pattern[str], Callable[[list[str]], str]]] = [
    (_BULLET, _bullets),
    (_QUOTE, _quote),
]


def _code_block(lines: list[str], start: int) -> tuple[int, str]:
    """```…``` over one or more lines: shown as written, no marks inside."""
    first = lines[start].lstrip()[len(_FENCE) :]
    body: list[str] = []
    if first.rstrip().endswith(_FENCE) and first.strip() != "":
        body.append(first.rstrip()[: -len(_FENCE)])
        return start + 1, _pre(body)
    if first:
        body.append(first)
    index = start + 1
    while index < len(lines):
        line = lines[index]
        if line.rstrip().endswith(_FENCE):
            body.append(line.rstrip()[: -len(_FENCE)])
            return index + 1, _pre(body)
        body.append(line)
        index += 1
    return index, _pre(body)  # never closed: the rest of the reply is the block


def _pre(body: list[str]) -> str:
    text = "\n".join(body).strip("\n")
    return f"<pre><code>{escape(_unslack(text))}</code></pre>"


def inline(text: str) -> str:
    """One line's inline marks as HTML: `code` (as written), links and mentions, then bold,
    italic and strike in what is left, which is escaped first."""
    held: list[str] = []

    def hold(rendered: str) -> str:
        held.append(rendered)
        return f"\x00{len(held) - 1}\x00"

    text = _CODE.sub(lambda m: hold(f"<code>{escape(_unslack(m.group(1)))}</code>"), text)
    text = _CONTROL.sub(lambda m: hold(_control(m.group(1))), text)
    text = escape(_unslack(text))
    for code, character in EMOJI.items():
        text = text.replace(code, character)
    for pattern, tag in _MARKS:
        text = pattern.sub(rf"<{tag}>\1</{tag}>", text)
    return _HOLE.sub(lambda m: held[int(m.group(1))], text)


def _unslack(text: str) -> str:
    """Slack's three escapes undone (&amp; last, so "&amp;lt;" stays "&lt;")."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _control(inside: str) -> str:
    """What Slack shows for <…>: a link, a mention, a channel; anything else as text."""
    target, _, label = inside.partition("|")
    if target.startswith(("@", "#", "!")):
        name = label or target[1:]
        sigil = "#" if target.startswith("#") else "@"
        name = name.split("^")[0] if target.startswith("!") and not label else name
        return f'<span class="mention">{escape(sigil + _unslack(name))}</span>'
    url = html.unescape(target.strip())
    if url.lower().startswith(_SCHEMES) and not any(c.isspace() for c in url):
        href = _local(url)
        shown = escape(_unslack(label or target))
        return f'<a href="{escape(href)}">{shown}</a>'
    return escape(_unslack(f"<{inside}>"))


def _local(url: str) -> str:
    """A link to this site opens on the site the console is on (its path, not SITE_URL)."""
    site = settings.SITE_URL.rstrip("/")
    if site and url.startswith(site + "/"):
        return url[len(site) :]
    return url
