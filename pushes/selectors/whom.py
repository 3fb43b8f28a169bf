"""Whom to see: the one sentence every refusal that sends someone to release engineering ends
with, naming the release engineers and the repository's release channel.

The sentence is built once, as parts: words and people. Plain text (the API's message, chat,
Slack, a forge comment) writes each person as their name and username; a page links each one to
their engineer page. No "@" in the words: on GitHub or GitLab that would ping whoever owns that
login there, and the same words go everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Q

from pushes.choices import Role
from pushes.models import Engineer, Repository

# More release engineers than this are counted, not named: the sentence stays one sentence.
NAMED_MAX = 4
# A Slack channel id (C…, G… for a private one) rather than a name.
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")


@dataclass(frozen=True)
class Part:
    """A piece of the sentence: words, or a person (linked on a page)."""

    text: str
    username: str = ""


@dataclass(frozen=True)
class WhomToSee:
    """The release engineers to talk to (or, with none, the admins who can name one) and the
    release channels to ask in."""

    release_engineers: tuple[Engineer, ...]
    more: int  # release engineers beyond those named
    admins: tuple[str, ...]  # usernames of staff who can give the role, when nobody has it
    channels: tuple[str, ...]  # as people read them: "#shop-releases"

    def parts(self, lead: str = "Talk to release engineering") -> list[Part]:
        """`lead`, then whom: "Talk to release engineering: Rosa Ellis (rel) or dana (release
        engineers), or ask in #shop-releases." """
        parts = [Part(f"{lead}: ")]
        if self.release_engineers:
            names = [_person(engineer) for engineer in self.release_engineers]
            if self.more:
                names.append(Part(f"{self.more} more"))
            parts += _joined(names, "or")
            one = len(self.release_engineers) == 1 and not self.more
            parts.append(Part(" (release engineer)" if one else " (release engineers)"))
        else:
            parts.append(Part("nobody has the release engineer role yet; "))
            if self.admins:
                parts.append(Part("ask an admin ("))
                parts += _joined([Part(name) for name in self.admins], "or")
                parts.append(Part(") to give it to someone"))
            else:
                parts.append(Part("ask whoever runs Releasebot to give it to someone in the admin"))
        if self.channels:
            parts.append(Part(", or ask in "))
            parts += _joined([Part(channel) for channel in self.channels], "or")
        parts.append(Part("."))
        return parts

    def text(self, lead: str = "Talk to release engineering") -> str:
        """The sentence in plain words, for every channel but a page."""
        return "".join(part.text for part in self.parts(lead))

    @property
    def usernames(self) -> list[str]:
        """The people named, for machines (the API's error details)."""
        return [engineer.username for engineer in self.release_engineers] or list(self.admins)


def whom_to_see(*, repository: Repository | None = None) -> WhomToSee:
    """Release engineering for `repository`: the people with the role (superusers have it too)
    and its channel. No repository (a refusal before one is known): every active one's channel."""
    holders = Engineer.objects.filter(
        Q(role=Role.RELEASE_ENGINEER) | Q(user__is_superuser=True), user__is_active=True
    )
    found = list(holders.select_related("user").order_by("user__username")[: NAMED_MAX + 1])
    more = holders.count() - NAMED_MAX if len(found) > NAMED_MAX else 0
    admins: tuple[str, ...] = ()
    if not found:
        staff = get_user_model().objects.filter(is_staff=True, is_active=True)
        admins = tuple(staff.order_by("username").values_list("username", flat=True)[:NAMED_MAX])
    repositories = (
        [repository]
        if repository is not None
        else list(Repository.objects.filter(is_active=True).exclude(chat_channel=""))
    )
    channels = tuple(
        dict.fromkeys(channel_shown(r.chat_channel) for r in repositories if r.chat_channel)
    )
    return WhomToSee(tuple(found[:NAMED_MAX]), more, admins, channels)


def channel_shown(channel: str) -> str:
    """A repository's chat channel as people read it: "#shop-releases" for a name; a Slack id
    (C0123ABCD), which only Slack can turn into a name, as "the Slack channel C0123ABCD"."""
    channel = channel.strip()
    if _CHANNEL_ID.match(channel):
        return f"the Slack channel {channel}"
    return channel if channel.startswith("#") else f"#{channel}"


def _person(engineer: Engineer) -> Part:
    full = engineer.user.get_full_name().strip()
    shown = f"{full} ({engineer.username})" if full and full.lower() != engineer.username else ""
    return Part(shown or engineer.username, engineer.username)


def _joined(parts: list[Part], word: str) -> list[Part]:
    """a; a or b; a, b or c."""
    out: list[Part] = []
    for i, part in enumerate(parts):
        if i:
            out.append(Part(f" {word} " if i == len(parts) - 1 else ", "))
        out.append(part)
    return out
