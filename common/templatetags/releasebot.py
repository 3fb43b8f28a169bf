"""Small display helpers shared by every page: state badges, short shas, risk badges, times."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django import template
from django.utils.html import format_html

from common import times

register = template.Library()

_TONE = {
    # picks
    "shipped": "ok",
    "picked": "ok",
    "confirmed": "ok",
    "approved": "info",
    "awaiting-confirmation": "warn",
    "requested": "",
    "deferred": "warn",
    "rejected": "bad",
    "conflict": "bad",
    "tests-failed": "bad",
    "reverted": "bad",
    "expired": "",
    "withdrawn": "",
    # pushes and test runs
    "done": "ok",
    "passed": "ok",
    "scheduled": "",
    "confirming": "warn",
    "merging": "info",
    "tagging": "info",
    "pushing": "info",
    "deploying": "info",
    "running": "info",
    "failed": "bad",
    "timed-out": "bad",
    "error": "bad",
    "skipped": "",
    # branches
    "stabilising": "warn",
    "closed": "",
}


@register.simple_tag
def state_badge(state: str, label: str | None = None) -> str:
    return format_html(
        '<span class="badge {}" data-state="{}">{}</span>',
        _TONE.get(state, ""),
        state,
        label or state.replace("-", " "),
    )


@register.filter
def short(sha: str) -> str:
    return (sha or "")[:10]


@register.filter
def without_credentials(url: str) -> str:
    """A remote URL as safe to show: a user and password in it (https://user:token@host/...)
    are dropped. Every engineer sees the repository page; only the admin shows the URL whole."""
    parts = urlsplit(url or "")
    if parts.scheme and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return url


_RISK_TONE = {"low": "ok", "medium": "warn", "high": "bad"}


@register.simple_tag
def risk_badge(risk) -> str:
    """The risk level as a badge; its reasons in the tooltip and beside it."""
    label = f"{risk.level} risk" + (" ⚑" if risk.flagged else "")
    return format_html(
        '<span class="badge {}" title="{}" data-risk="{}">{}</span>',
        _RISK_TONE.get(risk.level, ""),
        risk.summary,
        risk.level,
        label,
    )


# Times: `{{ push.scheduled_at|when:repository }}`, the argument a Repository (or anything with
# a `time_zone`) or a zone name; none, or an empty one, is settings.TIME_ZONE (a time that
# belongs to no repository). Formats and the rule are in common/times.py.


@register.filter
def when(at, place: times.Place = None) -> str:
    """Fri 04 Dec 13:50 PST"""
    return times.when(at or None, place)


@register.filter
def when_year(at, place: times.Place = None) -> str:
    """Fri 04 Dec 2015 13:50 PST"""
    return times.when(at or None, place, year=True)


@register.filter
def when_seconds(at, place: times.Place = None) -> str:
    """Fri 04 Dec 13:50:07 PST"""
    return times.when(at or None, place, seconds=True)


@register.filter
def when_short(at, place: times.Place = None) -> str:
    """Fri 13:50 PST"""
    return times.when_short(at or None, place)


@register.filter
def day(at, place: times.Place = None) -> str:
    """04 Dec 2015, the date in the place's zone"""
    return times.day(at or None, place)


@register.filter
def duration(value, empty: str = "—") -> str:
    """How long something took: `{{ run.duration|duration }}` is "1 min 05 s" (a timedelta or
    seconds; `common.times.duration`, what chat says too); `empty` for None ("—" unless given,
    e.g. `|duration:"running"`)."""
    if value is None or value == "":
        return empty
    return times.duration(value)
