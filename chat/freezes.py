"""The bot's deploy lock: `freeze [REPO] REASON` and `unfreeze [REPO] [REASON]`, for release
engineers, with the services' refusals and words (the same as the API's and the pages').

The repository is the first word when it is a repository's slug; with one repository on the
train it may be left out.
"""

from __future__ import annotations

from chat.replies import Command, Reply, UsageError, reason_text, said, split_raw
from common.errors import NotFound
from pushes import services
from pushes.models import Engineer, Repository
from pushes.moves import Who
from pushes.selectors.freezes import freeze_lifted_text, freeze_started_text
from pushes.services.freezes import repository_freeze_allowed

FREEZE_USAGE = "freeze [REPO] REASON"
UNFREEZE_USAGE = "unfreeze [REPO] [REASON]"


def freeze_commands() -> list[Command]:
    """`freeze` and `unfreeze`; help lists them to release engineers."""
    return [
        Command(
            "freeze",
            FREEZE_USAGE,
            "no picks and no pushes until a release engineer unfreezes it",
            freeze,
            who=Who.RELEASE_ENGINEERS,
        ),
        Command(
            "unfreeze",
            UNFREEZE_USAGE,
            "lift the freeze: picks and pushes go on",
            unfreeze,
            who=Who.RELEASE_ENGINEERS,
        ),
    ]


def freeze(rest: str, engineer: Engineer) -> Reply:
    repository_freeze_allowed(actor=engineer)
    repository, reason = _repository_and_rest(rest, usage=FREEZE_USAGE)
    window = services.repository_freeze(repository=repository, actor=engineer, reason=reason)
    return said(freeze_started_text(window))


def unfreeze(rest: str, engineer: Engineer) -> Reply:
    repository_freeze_allowed(actor=engineer)
    repository, reason = _repository_and_rest(rest, usage=UNFREEZE_USAGE)
    windows = services.repository_unfreeze(repository=repository, actor=engineer, reason=reason)
    return said(freeze_lifted_text(repository, windows))


def _repository_and_rest(rest: str, *, usage: str) -> tuple[Repository, str]:
    """The repository the first word names (its slug), else the only one on the train; and
    the rest of the line, the reason."""
    word, after = split_raw(rest)
    # No slug has a NUL in it, and PostgreSQL refuses to compare text that has one.
    named = Repository.objects.filter(slug__iexact=word).first() if word.isprintable() else None
    if named is not None:
        return named, reason_text(after)
    active = list(Repository.objects.filter(is_active=True).order_by("slug")[:10])
    if not active:
        raise NotFound("No repository is on the train yet.")
    if len(active) > 1:
        slugs = ", ".join(r.slug for r in active)
        verb = usage.split()[0]
        raise UsageError(
            f"Which repository? Several are on the train ({slugs}): say which, e.g. "
            f"`{verb} {active[0].slug} ...`."
        )
    return active[0], reason_text(rest)
