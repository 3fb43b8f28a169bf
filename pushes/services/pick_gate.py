"""The karma refusal of a pick request, said with whom to see by name.

Apart from `pushes.services.picks` (which asks it first, in `request_refusal`) so that the
engineer page can say it of someone else's karma too.
"""

from __future__ import annotations

from karma.selectors import TALK_TO_RELEASE_ENGINEERING, PickGate, karma_may_request
from pushes.models import Engineer, Repository
from pushes.selectors.whom import Part, WhomToSee, whom_to_see
from pushes.services.transitions import PickRefused

NOT_AN_ENGINEER = (
    "Your account has no engineer record, so it cannot request picks. Ask an admin to add one."
)
TALK_LEAD = TALK_TO_RELEASE_ENGINEERING.rstrip(".")  # the names follow it


class KarmaRefused(PickRefused):
    """Picks refused for the requestor's push karma, ending with whom to see by name. `parts`
    is the same sentence with the people marked, for a page to link them."""

    code = "karma"

    def __init__(self, gate: PickGate, whom: WhomToSee, *, whose: str = "Your") -> None:
        self.parts = [Part(f"{gate.reason(whose)} "), *whom.parts(TALK_LEAD)]
        details: dict[str, object] = {"stars": gate.stars, "threshold": gate.threshold}
        details |= {"talk_to": whom.usernames, "channels": list(whom.channels)}
        super().__init__("".join(part.text for part in self.parts), details=details)


def karma_refusal(
    *, engineer: Engineer, repository: Repository | None = None, whose: str = "Your"
) -> KarmaRefused | None:
    """The karma refusal as said of `whose` karma ("carol's" on her page to others), or None."""
    gate = karma_may_request(user_id=engineer.user_id)
    if gate.allowed:
        return None
    return KarmaRefused(gate, whom_to_see(repository=repository), whose=whose)
