"""Benchmark data at a scale: a trunk, its index, engineers, eight weeks of picks and pushes.

Scale 10 is the product's design target (PRODUCT.md, "Scale to design for"): a 100,000-commit
repository, 10,000 engineers and 3,000 picks a day for eight weeks (168,000 picks). Scale 1 is
a tenth of that. The trunk is one `git fast-import` stream (bench.history); it is indexed by
the product's own `services.trunk_sync`, timed, because that is a figure worth knowing. People
go in with `bulk_create`; picks and their events with COPY on PostgreSQL (executemany on
SQLite), because `bulk_create` would overwrite their `created_at` with the present.

Deterministic: seeded generators and a fixed calendar, so a scale always writes the same data.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import random
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.history import History, engineer_name, history_write

if TYPE_CHECKING:  # the models need Django set up, which happens after this module loads
    from pushes.models import Engineer, Push, ReleaseBranch, Repository

UTC = dt.UTC
WEEKS = 8
START = dt.datetime(2026, 8, 30, tzinfo=UTC)  # a Sunday: trunk's first commit
# "Now" in the data: the Friday of the ninth week, 14:00, between the day's two pushes.
NOW = START + dt.timedelta(weeks=9, days=5, hours=14)
SLUG = "bench"
OPEN_FOR = dt.timedelta(days=1)  # picks of the current branch younger than this are still open
TRUNK_ONLY_FROM = 100  # scales from here build trunk and its index only (Sizes.trunk_only)

# Where picks of a closed week ended up, and where the last day's picks are now.
DONE_MIX = {
    "shipped": 58, "reverted": 2, "rejected": 10, "withdrawn": 6, "expired": 14,
    "conflict": 7, "tests-failed": 3,
}  # fmt: skip
OPEN_MIX = {
    "requested": 30, "approved": 25, "awaiting-confirmation": 15, "confirmed": 10,
    "deferred": 5, "picked": 5, "rejected": 5, "withdrawn": 5,
}  # fmt: skip
# The states each pick passed through, in order, to reach its state.
PATHS = {
    "requested": ["requested"],
    "approved": ["requested", "approved"],
    "awaiting-confirmation": ["requested", "approved", "awaiting-confirmation"],
    "confirmed": ["requested", "approved", "awaiting-confirmation", "confirmed"],
    "deferred": ["requested", "approved", "awaiting-confirmation", "deferred"],
    "picked": ["requested", "approved", "awaiting-confirmation", "confirmed", "picked"],
    "shipped": ["requested", "approved", "awaiting-confirmation", "confirmed", "picked",
                "shipped"],
    "reverted": ["requested", "approved", "awaiting-confirmation", "confirmed", "picked",
                 "shipped", "reverted"],
    "rejected": ["requested", "rejected"],
    "withdrawn": ["requested", "approved", "withdrawn"],
    "expired": ["requested", "approved", "awaiting-confirmation", "deferred", "expired"],
    "conflict": ["requested", "approved", "awaiting-confirmation", "confirmed", "conflict"],
    "tests-failed": ["requested", "approved", "awaiting-confirmation", "confirmed", "picked",
                     "tests-failed"],
}  # fmt: skip
ACTIVE = {"requested", "approved", "awaiting-confirmation", "confirmed", "deferred", "picked",
          "shipped"}  # fmt: skip
NEEDS_PUSH = {"picked", "shipped", "reverted", "conflict", "tests-failed"}
REASONS = ["Customers are waiting", "Fixes a crash in checkout", "Security fix",
           "Unblocks the launch", "Revenue impact", "Data loss in rare cases"]  # fmt: skip


@dataclass(frozen=True)
class Sizes:
    scale: float
    commits: int
    engineers: int
    picks_per_day: int
    push_picks: int
    # Only trunk, its index and the release branches (the git, status and sync figures): no
    # engineers' picks, so no push, confirmation or dashboard benchmark. From 100x by default.
    trunk_only: bool = False

    @property
    def picks(self) -> int:
        return 0 if self.trunk_only else self.picks_per_day * 7 * WEEKS

    @property
    def label(self) -> str:
        return f"{self.scale:g}x"


def sizes(scale: float, *, push_picks: int | None = None, trunk_only: bool | None = None) -> Sizes:
    """Scale 1: 10,000 commits, 1,000 engineers, 300 picks a day; scale 10 is the target;
    from TRUNK_ONLY_FROM trunk only. The push benchmark picks 300 commits from scale 1 up,
    fewer below (the suite's scale)."""
    if push_picks is None:
        push_picks = 300 if scale >= 1 else max(10, round(300 * scale))
    return Sizes(
        scale=scale,
        commits=max(20 * push_picks, round(10_000 * scale)),
        engineers=max(push_picks, round(1_000 * scale)),
        picks_per_day=max(5, round(300 * scale)),
        push_picks=push_picks,
        trunk_only=scale >= TRUNK_ONLY_FROM if trunk_only is None else trunk_only,
    )


@dataclass
class BenchData:
    """What `build` made, and how long each part took (seconds)."""

    sizes: Sizes
    root: Path
    remote: Path
    history: History
    repository: Repository
    branch: ReleaseBranch  # the current one
    engineer: Engineer  # an engineer for the bot's replies
    token: str  # an API token
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    first_index: dict[str, float] = field(default_factory=dict)  # bench.sync.index_first


def build(
    scale: float,
    root: Path,
    *,
    push_picks: int | None = None,
    trunk_only: bool | None = None,
    log: Callable = print,
) -> BenchData:
    """Write the trunk under `root` and the data into the configured (empty) database; at a
    trunk-only scale (`Sizes.trunk_only`) one engineer, for the API's token and the bot."""
    from bench.sync import index_first
    from pushes.models import Pick, PickEvent, Push, Repository, Revision
    from pushes.services import clone_path

    size = sizes(scale, push_picks=push_picks, trunk_only=trunk_only)
    timings: dict[str, float] = {}
    remote = root / "remote" / f"{SLUG}.git"
    started = time.perf_counter()
    history = history_write(
        remote,
        commits=size.commits,
        engineers=size.engineers,
        start=START,
        end=NOW - dt.timedelta(minutes=10),
        push_picks=size.push_picks,
    )
    timings["fast-import"] = time.perf_counter() - started
    log(f"  trunk: {size.commits:,} commits by fast-import in {timings['fast-import']:.1f} s")
    repository = Repository.objects.create(
        slug=SLUG, name="Monorepo", remote_url=str(remote), time_zone="UTC"
    )
    shutil.rmtree(clone_path(repository), ignore_errors=True)  # an earlier scale's clone
    first = index_first(repository)
    timings["trunk_sync"] = first["wall_s"]
    log(
        f"  trunk_sync (clone + index), a process of its own: {first['wall_s']:.1f} s, peak "
        f"RSS {first['python_mb']:.0f} MB, its largest git {first['git_mb']:.0f} MB"
    )
    started = time.perf_counter()
    engineers = _people(1 if size.trunk_only else size.engineers)
    timings["people"] = time.perf_counter() - started
    started = time.perf_counter()
    branches = _branches(repository, history)
    pushes = _pushes(branches)
    picks, events = (
        (0, 0) if size.trunk_only else _picks(size, history, branches, pushes, engineers)
    )
    timings["picks"] = time.perf_counter() - started
    log(f"  {len(engineers):,} engineers, {picks:,} picks, {events:,} events: "
        f"{timings['people'] + timings['picks']:.1f} s")  # fmt: skip
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from pushes.choices import PICK_OPEN_STATES, PickState
    from pushes.models import Engineer, ReleaseBranch

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # planner statistics, as a database in service has them

    api_user = get_user_model().objects.get(username=engineer_name_user(0))
    token, _ = Token.objects.get_or_create(user=api_user)
    counts = {
        "trunk commits": Revision.objects.filter(repository=repository).count(),
        "engineers": len(engineers),
        "picks": Pick.objects.count(),
        "pick events": PickEvent.objects.count(),
        "pushes": Push.objects.count(),
        "branches": ReleaseBranch.objects.filter(repository=repository).count(),
        "shipped picks": Pick.objects.filter(state=PickState.SHIPPED).count(),
        "open picks now": Pick.objects.filter(
            branch=branches[-1][0], state__in=PICK_OPEN_STATES
        ).count(),
    }
    return BenchData(
        sizes=size,
        root=root,
        remote=remote,
        history=history,
        repository=repository,
        branch=branches[-1][0],
        engineer=Engineer.objects.select_related("user").get(user=api_user),
        token=token.key,
        timings=timings,
        counts=counts,
        first_index=first,
    )


def engineer_name_user(n: int) -> str:
    return f"eng{n:05d}"


def _people(count: int) -> list[int]:
    """`count` engineers, each with a Slack id; returns their engineer ids."""
    from django.contrib.auth import get_user_model

    from pushes.choices import Role
    from pushes.models import Engineer

    User = get_user_model()
    users = []
    for n in range(count):
        name, email = engineer_name(n)
        first, last = name.split(" ", 1)
        users.append(
            User(username=engineer_name_user(n), password="!", email=email, first_name=first,
                 last_name=last)
        )  # fmt: skip
    User.objects.bulk_create(users, batch_size=2000)
    ids = dict(User.objects.filter(username__startswith="eng").values_list("username", "pk"))
    Engineer.objects.bulk_create(
        [
            Engineer(
                user_id=ids[engineer_name_user(n)],
                email=engineer_name(n)[1],
                chat_id=f"U{n:07d}",
                role=Role.RELEASE_ENGINEER if n < 5 else Role.ENGINEER,
            )
            for n in range(count)
        ],
        batch_size=2000,
    )
    return list(Engineer.objects.order_by("pk").values_list("pk", flat=True))


def _cuts() -> list[dt.datetime]:
    """Sunday 18:00 cuts whose week overlaps the eight weeks of picks."""
    first = NOW - dt.timedelta(weeks=WEEKS)
    cuts = []
    cut = START + dt.timedelta(hours=18)
    while cut <= NOW:
        if cut + dt.timedelta(weeks=1) > first:
            cuts.append(cut)
        cut += dt.timedelta(weeks=1)
    return cuts


def _branches(repository: Repository, history: History) -> list[tuple[ReleaseBranch, range]]:
    """A release branch per cut (in git and the database), with the trunk positions after it
    and before the next cut: the revisions its picks can ask for."""
    from pushes import git
    from pushes.choices import BranchState
    from pushes.models import ReleaseBranch
    from pushes.services import clone_path

    path = clone_path(repository)
    cuts = _cuts()
    made: list[tuple[ReleaseBranch, range]] = []
    for n, cut in enumerate(cuts):
        base = bisect.bisect_right(history.times, cut) - 1
        following = cuts[n + 1] if n + 1 < len(cuts) else NOW
        end = bisect.bisect_right(history.times, following)
        name = f"release/{cut:%Y-%m-%d}"
        git.branch_create(path, name, history.shas[base])
        branch = ReleaseBranch.objects.create(
            repository=repository,
            name=name,
            cut_at=cut,
            base_sha=history.shas[base],
            base_position=base,
            state=BranchState.CLOSED if n + 1 < len(cuts) else BranchState.SHIPPED,
        )
        made.append((branch, range(base + 1, end)))
    return made


def _pushes(branches: Sequence[tuple[ReleaseBranch, range]]) -> dict[int, list[Push]]:
    """Each branch's week of pushes; those before now done, in the minutes they took."""
    from pushes.choices import PushState
    from pushes.models import Push
    from pushes.services import push_schedule

    made: dict[int, list[Push]] = {}
    for branch, _ in branches:
        pushes = push_schedule(branch=branch)
        for push in pushes:
            if push.scheduled_at < NOW:
                push.state = PushState.DONE
                push.started_at = push.scheduled_at
                push.finished_at = push.scheduled_at + dt.timedelta(minutes=12)
                push.tag = f"push/{branch.name}/{push.label}"
                push.head_sha = branch.base_sha
        Push.objects.bulk_update(
            pushes, ["state", "started_at", "finished_at", "tag", "head_sha"], batch_size=500
        )
        made[branch.pk] = sorted(pushes, key=lambda p: p.scheduled_at)
    return made


def _picks(size, history, branches, pushes, engineers) -> tuple[int, int]:
    """3,000 picks a day (at scale 10) for eight weeks, and the events that brought each to
    its state. Returns (picks, events)."""
    from pushes.models import Pick, PickEvent

    rng = random.Random(7)
    first_day = NOW - dt.timedelta(weeks=WEEKS)
    cuts = [b.cut_at for b, _ in branches]
    mixes = {id(mix): (list(mix), list(itertools.accumulate(mix.values())))
             for mix in (OPEN_MIX, DONE_MIX)}  # fmt: skip
    specs = []
    for n in range(size.picks):
        created = first_day + (NOW - first_day) * (n + rng.random()) / size.picks
        index = bisect.bisect_right(cuts, created) - 1
        branch = branches[index][0]
        current = index == len(branches) - 1
        states, weights = mixes[id(OPEN_MIX if current and NOW - created < OPEN_FOR else DONE_MIX)]
        state = rng.choices(states, cum_weights=weights)[0]
        push = _push_for(state, created, pushes[branch.pk])
        if state in NEEDS_PUSH and (push is None or push.scheduled_at >= NOW):
            state, push = "expired", None  # asked too late in its week: the next cut took it
        specs.append([created, branch, state, push, None])
    _revisions(specs, branches, history, rng)
    pick_id = _next_id(Pick)
    event_id = _next_id(PickEvent)
    pick_rows, event_rows = [], []
    for created, branch, state, push, position in specs:
        row, events = _pick_row(
            pick_id, event_id, state, created, push, branch, position, history, engineers, rng
        )
        pick_rows.append(row)
        event_rows += events
        pick_id += 1
        event_id += len(events)
    _insert(Pick, PICK_COLUMNS, pick_rows)
    _insert(PickEvent, EVENT_COLUMNS, event_rows)
    _reset_sequences([Pick, PickEvent])
    return len(pick_rows), len(event_rows)


def _revisions(specs: list[list], branches, history: History, rng: random.Random) -> None:
    """Give each pick a trunk revision after its branch's cut, one active pick per revision
    and branch (the product's constraint). The design target asks for more picks a day than
    trunk has commits, so a branch can run out: the newest picks choose first (the open ones
    stay open) and the rest of an exhausted branch end up expired."""
    reserved = set(history.push_shas)  # the push benchmark's own revisions
    pools, taken = {}, {}
    for branch, positions in branches:
        after = range(positions.start, len(history.shas))
        pool = [p for p in after if history.shas[p] not in reserved] or list(after)
        rng.shuffle(pool)
        pools[branch.pk], taken[branch.pk] = pool, 0
    for spec in reversed(specs):
        _, branch, state, _, _ = spec
        pool = pools[branch.pk]
        if state in ACTIVE and taken[branch.pk] < len(pool):
            spec[4] = pool[taken[branch.pk]]
            taken[branch.pk] += 1
            continue
        if state in ACTIVE:
            spec[2], spec[3] = "expired", None
        spec[4] = rng.choice(pool)


def _push_for(state: str, created: dt.datetime, pushes: Sequence[Push]) -> Push | None:
    after = [p for p in pushes if p.scheduled_at > created]
    if state in NEEDS_PUSH:
        return next((p for p in after if p.scheduled_at < NOW), None)
    if state in ("requested", "approved", "awaiting-confirmation", "confirmed", "deferred"):
        return next((p for p in after if p.scheduled_at >= NOW), None)
    return None


PICK_COLUMNS = [
    "id", "branch_id", "push_id", "sha", "trunk_position", "title", "author_name",
    "author_email", "review_url", "requestor_id", "backup_id", "reason", "state",
    "lines_added", "lines_deleted", "files_changed", "paths", "review_comments",
    "review_status", "rolls", "conflict_files", "predicted_conflicts", "prerequisites",
    "checked_at", "risk_rank", "risk_flagged", "result_sha", "revert_sha", "urgent",
    "confirmed_at", "shipped_at", "shipped_with_id",
    "decided_risk", "created_at", "updated_at",
]  # fmt: skip
EVENT_COLUMNS = ["id", "pick_id", "actor_id", "at", "from_state", "to_state", "reason"]


def _pick_row(pick_id, event_id, state, created, push, branch, position, history, people, rng):
    requestor = rng.choice(people)
    path = history.paths[position]
    times = [created + dt.timedelta(minutes=20 * i) for i in range(len(PATHS[state]))]
    if push is not None and state in NEEDS_PUSH:
        # Confirmed before its push, picked while it ran, shipped when it finished.
        for i, step in enumerate(PATHS[state]):
            if step == "confirmed":
                times[i] = max(times[i - 1], push.scheduled_at - dt.timedelta(minutes=20))
            elif i and step in ("picked", "conflict", "tests-failed", "shipped", "reverted"):
                times[i] = max(times[i - 1], push.finished_at)
    shipped = times[PATHS[state].index("shipped")] if "shipped" in PATHS[state] else None
    confirmed = times[PATHS[state].index("confirmed")] if "confirmed" in PATHS[state] else None
    name, email = engineer_name(history.authors[position])
    comments = rng.choice([None, 0, 1, 2, 3, 5, 8, 13])
    row = (
        pick_id, branch.pk, push.pk if push else None, history.shas[position], position,
        history.titles[position], name, email,
        f"https://phabricator.example.com/D{100_000 + position}", requestor, None,
        rng.choice(REASONS), state, rng.randint(1, 400), rng.randint(0, 120), rng.randint(1, 6),
        json.dumps([path]), comments, "unknown" if comments is None else "known",
        1 if "deferred" in PATHS[state] else 0,
        json.dumps([path] if state == "conflict" else []), "[]", "[]", created,
        None, False,  # risk_rank: computed when the dashboard first asks
        f"{pick_id:040x}" if state in ("picked", "shipped", "reverted") else "", "", False,
        confirmed, shipped, push.pk if push and shipped else None, None, created, times[-1],
    )  # fmt: skip
    events = []
    before = ""
    for i, (step, at) in enumerate(zip(PATHS[state], times, strict=True)):
        actor = requestor if step in ("requested", "confirmed", "withdrawn") else None
        reason = row[11] if step == "requested" else ""
        events.append((event_id + i, pick_id, actor, at, before, step, reason))
        before = step
    return row, events


# --- writing fast -------------------------------------------------------------------------


def _next_id(model) -> int:
    from django.db.models import Max

    return (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1


def _insert(model, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """Rows straight into the model's table: COPY on PostgreSQL, executemany elsewhere."""
    from django.db import connection, transaction

    names = {f.column for f in model._meta.concrete_fields}
    if set(columns) != names:  # the model changed: the bench's column list must follow
        raise RuntimeError(f"{model.__name__} columns differ: {sorted(names ^ set(columns))}")
    table = connection.ops.quote_name(model._meta.db_table)
    listed = ", ".join(connection.ops.quote_name(c) for c in columns)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            if cursor.fetchone()[0]:
                # The rows are generated consistent: skip the foreign-key triggers (a row
                # check each) for this load, as pg_restore can.
                cursor.execute("SET LOCAL session_replication_role = replica")
            with cursor.cursor.copy(f"COPY {table} ({listed}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        adapt = connection.ops.adapt_datetimefield_value
        marks = ", ".join(["%s"] * len(columns))
        converted = (
            tuple(adapt(v) if isinstance(v, dt.datetime) else v for v in row) for row in rows
        )
        cursor.executemany(f"INSERT INTO {table} ({listed}) VALUES ({marks})", list(converted))


def _reset_sequences(models: list) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    statements = connection.ops.sequence_reset_sql(no_style(), models)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
