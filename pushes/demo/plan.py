"""What the demo records about its train, planned before anything is written to the database."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from pushes import git
from pushes.choices import PickState, PushKind, PushState, TestRunState
from pushes.demo.history import TEST_COMMAND, DemoCommit

REL = "rel"
BOT = None


@dataclass
class EventPlan:
    at: dt.datetime
    from_state: str
    to_state: str
    actor: str | None
    reason: str = ""


@dataclass
class TestPlan:
    started_at: dt.datetime
    finished_at: dt.datetime
    state: str = TestRunState.PASSED
    exit_code: int = 0
    log: str = ""
    command: str = TEST_COMMAND


@dataclass
class PushPlan:
    branch: str
    kind: str
    day: dt.date
    number: int
    scheduled_at: dt.datetime
    state: str = PushState.SCHEDULED
    tag: str = ""
    head_sha: str = ""
    started_at: dt.datetime | None = None
    tagged_at: dt.datetime | None = None  # merged and tested: tagged
    pushed_at: dt.datetime | None = None  # origin took the branch and tag: then the deploy
    finished_at: dt.datetime | None = None
    error: str = ""
    test: TestPlan | None = None

    @property
    def label(self) -> str:
        return f"{self.day:%Y-%m-%d}.{self.number}"

    @property
    def is_daily(self) -> bool:
        return self.kind == PushKind.DAILY


@dataclass
class PickPlan:
    branch: str
    commit: DemoCommit
    requestor: str
    reason: str
    push: PushPlan | None = None
    state: str = PickState.REQUESTED
    events: list[EventPlan] = field(default_factory=list)
    result_sha: str = ""
    conflict_files: list[str] = field(default_factory=list)
    rolls: int = 0
    test: TestPlan | None = None
    confirmed_at: dt.datetime | None = None
    shipped_at: dt.datetime | None = None

    @property
    def created_at(self) -> dt.datetime:
        return self.events[0].at

    def move(self, at: dt.datetime, to: str, actor: str | None, reason: str = "") -> None:
        """Record a transition; the demo's paths follow PICK_TRANSITIONS."""
        self.events.append(EventPlan(at, self.state if self.events else "", to, actor, reason))
        self.state = to
        if to == PickState.CONFIRMED:
            self.confirmed_at = at
        if to == PickState.SHIPPED:
            self.shipped_at = at


@dataclass
class BranchPlan:
    name: str
    cut_at: dt.datetime
    base: DemoCommit
    state: str
    pushes: list[PushPlan]
    head: str = ""


@dataclass(frozen=True)
class KarmaPlan:
    username: str
    change: str  # "unlike" or "restore"
    reason: str
    at: dt.datetime
    pick: PickPlan | None = None


@dataclass
class TrainPlan:
    branches: list[BranchPlan]
    picks: list[PickPlan] = field(default_factory=list)
    karma: list[KarmaPlan] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # on the remote
    unpushed: list[str] = field(default_factory=list)  # branches the remote has behind the clone
    stats: dict[str, git.DiffStat] = field(default_factory=dict)  # of each pick's revision


REASONS = {
    "checkout": [
        "Customers are charged twice when the card gateway times out; SEV-2 since Tuesday.",
        "Coupon totals are off by a cent for EUR carts and finance flagged the reconciliation.",
        "Checkout returns 500 for anyone with an expired saved card.",
        "The holiday promotion starts Thursday and this flag has to exist on the branch.",
    ],
    "search": [
        "Typeahead returns nothing for queries with accents: the top complaint this week.",
        "Ranking regressed after Sunday's cut; bestsellers fell off page one.",
        "Search p99 doubled since the cut; this restores the shard cache.",
    ],
    "catalog": [
        "Out-of-stock variants still show as buyable; support has 40 tickets.",
        "Product pages time out for bundles with more than 50 items.",
        "Prices in the catalog feed are stale for an hour after every import.",
    ],
    "accounts": [
        "Password-reset links expire immediately for users in UTC+ time zones.",
        "Sessions are dropped on every deploy; users get logged out twice a day.",
        "Login throttling locks out whole offices behind one NAT.",
    ],
    "orders": [
        "Refund emails go out with the wrong amount for partial refunds.",
        "Shipments to Canada are stuck in 'preparing' since the carrier API change.",
        "Order receipts miss the tax line, which is a legal requirement in the EU.",
    ],
    "web": [
        "The cart button is invisible in dark mode; conversion is down 2% on mobile.",
        "Analytics double-counts page views since the cut, which breaks the growth dashboard.",
        "The banner overlaps the checkout button on small screens.",
    ],
    "ops": [
        "Deploy alerts page the wrong on-call rotation since the cut.",
        "The runbook link in every alert is broken; on-call asked for it today.",
    ],
}
GENERIC_REASONS = [
    "Top crasher since the cut; the fix is one line and has a test.",
    "Needed for the partner launch on Thursday; marketing has already announced it.",
    "Fixes a regression from this week's branch; on-call has been paged for it twice.",
]


def reason_for(rng: random.Random, commit: DemoCommit) -> str:
    return rng.choice(REASONS.get(commit.area, []) + GENERIC_REASONS)


def working_time(rng: random.Random, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
    """A moment between `lo` and `hi`: on a weekday from 9:00 to 19:00 there if there is one."""
    if hi <= lo:
        return lo
    for _ in range(40):
        at = lo + (hi - lo) * rng.random()
        local = at.astimezone(lo.tzinfo)
        if local.weekday() < 5 and 9 <= local.hour < 19:
            return at
    return lo + (hi - lo) * rng.random()


def timeline(rng: random.Random, lo: dt.datetime, hi: dt.datetime, n: int) -> list[dt.datetime]:
    """`n` increasing moments between `lo` and `hi`, in working hours where they fit."""
    if hi - lo < dt.timedelta(minutes=4 * n):  # too close for working hours: evenly
        step = max(hi - lo, dt.timedelta(0)) / (n + 1)
        return [lo + step * (i + 1) for i in range(n)]
    times = []
    for i in range(n):
        end = min(hi, lo + (hi - lo) / (n - i) * 1.6)
        lo = working_time(rng, lo + dt.timedelta(minutes=1), end)
        times.append(lo)
    return times


def passing_log(modules: int) -> str:
    """What the shop's `run_tests.py` prints when it passes."""
    return f"checked {modules} modules: no failures\n"


def failing_log(commit: DemoCommit, modules: int) -> str:
    """What it prints for a pick that broke a module (the demo's picks only pretend to)."""
    path = next((p for p in commit.files if p.endswith(".py")), "app/checkout/cart.py")
    return (
        f"FAIL {path}:41: expected an indented block after function definition on line 40\n"
        f"checked {modules} modules: 1 failure\n"
    )
