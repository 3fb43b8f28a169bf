"""The train page's "Try this" panel in demo mode: for whoever is signed in, a few things to try
as them, each with a link to where it is done, built from the demo's records as they are now."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from common import times
from karma.selectors import karma_may_request
from pushes import moves
from pushes.choices import PUSH_UPCOMING_STATES, PickState, PushState
from pushes.demo.build import SLUG, demo_deploy_log, demo_exists
from pushes.demo.window import demo_window
from pushes.models import Engineer, Pick, Push, Repository

# The picks that cost a requestor stars: what carol can read about.
_COSTLY = (PickState.EXPIRED, PickState.TESTS_FAILED, PickState.REVERTED)


@dataclass(frozen=True)
class Tip:
    text: str
    url: str
    link: str  # the link's words


@dataclass(frozen=True)
class TryThis:
    who: str  # "alice, an engineer"
    tips: list[Tip]


def demo_mode() -> bool:
    """Demo mode: DEBUG is on and the demo is loaded (`manage.py demo`). Only then does a page
    show what the demo's people can try."""
    return bool(settings.DEBUG) and demo_exists()


def demo_try_this(*, engineer: Engineer | None) -> TryThis | None:
    """What `engineer` could try now in the demo, or None outside demo mode."""
    if engineer is None or not demo_mode():
        return None
    repository = Repository.objects.get(slug=SLUG)
    username = engineer.user.username
    if engineer.is_release_engineer:
        return TryThis(f"{username}, a release engineer", _release_engineer(repository, engineer))
    gate = karma_may_request(user_id=engineer.user_id)
    if not gate.allowed:
        who = f"{username}, an engineer at {gate.stars} stars"
        return TryThis(who, _refused(repository, engineer, gate.stars, gate.threshold))
    return TryThis(f"{username}, an engineer", _engineer(repository, engineer))


def _release_engineer(repository: Repository, rel: Engineer) -> list[Tip]:
    waiting = Pick.objects.filter(
        branch__repository=repository, state__in=(PickState.REQUESTED, PickState.DEFERRED)
    ).count()
    tips = [
        Tip(
            f"{waiting} pick(s) wait for a decision. Approve one: its requestor is asked to "
            "confirm when its push's window opens (at once if it is open).",
            reverse("risk-dashboard"),
            "Risk dashboard",
        )
    ]
    push = demo_window(repository=repository).push or _next_push(repository)
    if push is not None:
        tips.append(
            Tip(
                f"Push {push.label} is due {times.when(push.scheduled_at, repository)}. Run it "
                "now from its page: before its slot it says who is left behind and carries the "
                "confirmed picks only.",
                push.get_absolute_url(),
                f"Push {push.label}",
            )
        )
    tips.append(
        Tip(
            f"Freeze {repository.name} (an incident, a holiday): no picks and no pushes until "
            "you unfreeze it. The Freeze form is just below, and on the repository's page.",
            repository.get_absolute_url(),
            f"{repository.name}'s page",
        )
    )
    shipped = _rollback_target(repository, rel)
    if shipped is not None:
        tips.append(
            Tip(
                f"Roll back push {shipped.label}: the demo's deploy hook deploys the push "
                f"before it again and writes a line to {demo_deploy_log()}.",
                shipped.get_absolute_url(),
                f"Push {shipped.label}",
            )
        )
    return tips


def _refused(repository: Repository, engineer: Engineer, stars: int, threshold: int) -> list[Tip]:
    username = engineer.user.username
    tips = [
        Tip(
            f"You are at {stars} stars, at or below the threshold of {threshold}: every "
            "channel refuses your picks. Your page says who took each star and why.",
            reverse("engineer", args=[username]),
            "Your push karma",
        ),
        Tip(
            "Ask for a pick anyway: the form, the API and the bot all answer with the same "
            "refusal, and nothing is stored.",
            reverse("pick-new"),
            "Request a pick",
        ),
    ]
    costly = (
        Pick.objects.filter(branch__repository=repository, requestor=engineer, state__in=_COSTLY)
        .order_by("-updated_at", "-pk")
        .first()
    )
    if costly is not None:
        tips.append(
            Tip(
                f"Pick #{costly.pk} ({costly.short_sha}) is {costly.get_state_display().lower()}: "
                "its history shows what happened, step by step.",
                costly.get_absolute_url(),
                f"Pick #{costly.pk}",
            )
        )
    return tips


def _engineer(repository: Repository, engineer: Engineer) -> list[Tip]:
    tips = []
    window = demo_window(repository=repository)
    mine = [p for p in window.waiting if p.requestor_id == engineer.pk]
    if window.push is not None and mine:
        pick, when = mine[0], times.when(window.push.scheduled_at, repository)
        tips.append(
            Tip(
                f"Push {window.push.label} goes out {when} and asks whether you are online to "
                f"support your pick #{pick.pk} ({pick.short_sha} {pick.title}). Press "
                "\u201cI'm here\u201d on it, or in your inbox.",
                pick.get_absolute_url(),
                f"Pick #{pick.pk}",
            )
        )
    shipped = (
        Pick.objects.filter(
            branch__repository=repository, requestor=engineer, state=PickState.SHIPPED
        )
        .order_by("-shipped_at", "-pk")
        .first()
    )
    if shipped is not None:
        tips.append(
            Tip(
                f"Ask where a revision is: {shipped.short_sha} ({shipped.title}) is on trunk, "
                "picked and shipped; the answer tells the whole story.",
                reverse("revision", args=[shipped.short_sha]),
                f"Where is {shipped.short_sha}?",
            )
        )
    tips.append(
        Tip(
            "Request a pick of a trunk revision: the dry run says at once whether it applies.",
            reverse("pick-new"),
            "Request a pick",
        )
    )
    tips.append(
        Tip(
            "Ask the bot what is expected of you: type \u201cmine\u201d, or \u201cpush\u201d for "
            "the next push.",
            reverse("chat"),
            "Chat",
        )
    )
    return tips[:4]


def _next_push(repository: Repository) -> Push | None:
    return (
        Push.objects.filter(branch__repository=repository, state__in=PUSH_UPCOMING_STATES)
        .select_related("branch__repository")
        .order_by("scheduled_at")
        .first()
    )


def _rollback_target(repository: Repository, rel: Engineer) -> Push | None:
    """The latest push that went out, if the registry offers rolling it back."""
    push = (
        Push.objects.filter(branch__repository=repository, state=PushState.DONE)
        .exclude(pushed_at__isnull=True)
        .select_related("branch__repository")
        .order_by("-pushed_at", "-pk")
        .first()
    )
    if push is None or not moves.move_offered(moves.ROLLBACK, push, rel):
        return None
    return push
