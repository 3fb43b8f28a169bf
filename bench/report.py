"""docs/PERFORMANCE.md from one run's results: the budgets at the largest scale, memory, the
growth table, and the profiles and fixes behind the figures."""

from __future__ import annotations

import datetime as dt

from bench.common import Row
from bench.data import TRUNK_ONLY_FROM

HEADER = (
    "| benchmark | samples | median ms | p95 ms | baseline | baseline median ms | ratio "
    "| budget | verdict |\n| --- | ---: | ---: | ---: | --- | ---: | ---: | --- | --- |"
)


def table(rows: list[Row]) -> list[str]:
    lines = [HEADER]
    for row in rows:
        base = f"{row.baseline_median_ms:.2f}" if row.baseline_median_ms else ""
        lines.append(
            f"| {row.name} | {row.samples} | {row.median_ms:.2f} | {row.p95_ms:.2f} | "
            f"{row.baseline} | {base} | {row.ratio} | {row.budget} | {row.note} |"
        )
    return lines


def render(
    results: list[dict],
    *,
    info: dict[str, str],
    database: str,
    broker: str,
    command: str,
    minutes: float,
) -> str:
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (`python -m bench`); every figure below comes from the run on "
        f"{dt.date.today():%Y-%m-%d}, which took {minutes:.1f} minutes. Each scale starts from "
        "an empty database; figures are milliseconds of warm calls unless a row says otherwise, "
        "and a baseline is measured in the same run on the same data.",
        "",
        f"Machine: {info['cpus']} CPUs, {info['platform']}, Python {info['python']}, "
        f"{info['git']}, database {database}, Celery broker {broker}. The machine is shared: "
        "other work running at the same time shows up in every figure, baselines included.",
        "",
        f"Command: `{command}` (`make bench` runs `python -m bench`).",
        "",
        *_budgets(results),
        *_errors(results),
        "## Memory after the run (RSS, MB)",
        "",
        *_memory(results),
        "",
        "## How cost grows with the data",
        "",
        "Scale 1x is a tenth of the design target: 10,000 commits, 1,000 engineers, 300 picks a "
        "day for eight weeks. The push and confirmation figures are 300 picks and 3,000 "
        "requestors at every scale, so they show what the size of the repository and of the "
        "database costs them; the dashboard's open picks grow with the scale (300 a unit).",
        "",
        "The data (`bench/data.py`, `bench/history.py`): trunk is one `git fast-import` stream "
        "(fixed seed and dates, so the same shas every run) spread over almost ten weeks, "
        "indexed by the product's `services.trunk_sync`; a release branch a week cut on Sunday "
        'with its week of pushes, done until the data\'s "now" (a Friday afternoon); picks '
        "with the events of every state they passed through, shipped, rejected, withdrawn, "
        "expired, conflicting, failing tests, reverted, and the last day's still open. The "
        "target asks for more picks a day than trunk has commits, and a revision holds one "
        "active pick a branch, so the oldest picks of a week that ran out of revisions are "
        "expired ones.",
        "",
        f"From {TRUNK_ONLY_FROM}x (a million commits) only trunk, its index and the release "
        "branches are built, for the git, status and sync figures; `n/a` marks what such a "
        "scale does not run.",
        "",
        *_growth(results),
        "",
        *profiles(results),
    ]
    return "\n".join(lines) + "\n"


def budget_results(results: list[dict]) -> list[dict]:
    """The scales whose rows are judged against their budgets: the largest scale with picks
    (the design target) and every larger, trunk-only one."""
    full = [r for r in results if not r["sizes"].trunk_only]
    first = results.index(full[-1]) if full else len(results) - 1
    return results[first:]


def budget_rows(results: list[dict]) -> list[Row]:
    return [row for result in budget_results(results) for row in result["rows"]]


def _budgets(results: list[dict]) -> list[str]:
    lines = []
    for result in budget_results(results):
        lines += [
            f"## Budgets at {result['sizes'].label} ({_describe(result)})",
            "",
            *table(result["rows"]),
            "",
        ]
    return lines


def _describe(result: dict) -> str:
    sizes, counts = result["sizes"], result["counts"]
    if sizes.trunk_only:
        return (
            f"{counts.get('trunk commits', 0):,} commits on trunk, indexed, with "
            f"{counts.get('branches', 0)} release branches; no picks"
        )
    return (
        f"{sizes.commits:,} commits, {sizes.engineers:,} engineers, "
        f"{counts.get('picks', 0):,} picks with {counts.get('pick events', 0):,} events"
    )


def _errors(results: list[dict]) -> list[str]:
    lines = []
    for result in results:
        for name, error in result.get("errors", {}).items():
            lines.append(f"- At {result['sizes'].label}, {name} did not run: `{error[:300]}`")
    return ["Benchmarks that failed to run:", "", *lines, ""] if lines else []


def _memory(results: list[dict]) -> list[str]:
    labels = [r["sizes"].label for r in results]
    rows: dict[str, list[str]] = {}
    for index, result in enumerate(results):
        first = result.get("first index") or {}
        peaks = {
            "first index: the `trunk_sync` process, peak": first.get("python_mb"),
            "first index: its largest git process, peak": first.get("git_mb"),
            "the bench process, peak so far": result.get("bench_mb"),
        }
        for name, mb in peaks.items():
            if mb:
                rows.setdefault(name, [""] * len(results))[index] = f"{mb:.0f}"
        for key, what in (
            ("web", "gunicorn"),
            ("confirm", "celery worker"),
            ("sync", "celery worker (webhook)"),
        ):
            figures = result.get(key) or {}
            memory = figures.get("web_mb" if key == "web" else "worker_mb") or {}
            for part, mb in memory.items():
                name = f"{what}, {'master' if what == 'gunicorn' and part == 'main' else part}"
                rows.setdefault(name, [""] * len(results))[index] = f"{mb:.0f}"
    lines = ["| process | " + " | ".join(labels) + " |", "| --- |" + " ---: |" * len(labels)]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows.items()]
    lines += [
        "",
        "Peaks are `ru_maxrss`: the first index runs in a process of its own (the product's "
        "`services.trunk_sync`), whose largest git child is the `git log` that streams trunk "
        "(its figure counts the pack file git maps, as RSS does); the bench process's peak "
        "covers everything it built up to that scale. The rest is RSS after the run: gunicorn's "
        "workers after the HTTP load (sync workers, 2), Celery's main process and its two pool "
        "children after the confirmation runs, and the one-child worker of the webhook runs.",
    ]
    return lines


def _figure(result: dict, path: tuple, fmt: str = "{:.1f}") -> str:
    value: object = result
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return "n/a"
        value = value[key]
    return fmt.format(value) if isinstance(value, int | float) else str(value)


def _row_figure(result: dict, prefix: str, fmt: str = "{:.1f} / {:.1f}") -> str:
    for row in result.get("rows", []):
        if row.name.startswith(prefix):
            return fmt.format(row.median_ms, row.p95_ms)
    return "n/a"


def _growth(results: list[dict]) -> list[str]:
    labels = [r["sizes"].label for r in results]
    spec = [
        ("trunk commits", lambda r: f"{r['counts'].get('trunk commits', 0):,}"),
        ("engineers", lambda r: f"{r['counts'].get('engineers', 0):,}"),
        ("picks / pick events", lambda r: f"{r['counts'].get('picks', 0):,} / "
                                          f"{r['counts'].get('pick events', 0):,}"),
        ("picks shipped / open on the current branch",
         lambda r: f"{r['counts'].get('shipped picks', 0):,} / "
                   f"{r['counts'].get('open picks now', 0):,}"),
        ("trunk written by `git fast-import`, s", lambda r: _figure(r, ("timings", "fast-import"))),
        ("`services.trunk_sync` (clone, commit-graph, index), a process of its own, s",
         lambda r: _figure(r, ("timings", "trunk_sync"))),
        ("first index: peak RSS of its process / of its largest git, MB",
         lambda r: f"{_figure(r, ('first index', 'python_mb'), '{:.0f}')} / "
                   f"{_figure(r, ('first index', 'git_mb'), '{:.0f}')}"),
        ("incremental sync of 1,000 commits: median / p95 ms",
         lambda r: f"{_figure(r, ('sync', 'sync_ms'), '{:.0f}')} / "
                   f"{_figure(r, ('sync', 'sync_p95_ms'), '{:.0f}')}"),
        ("trunk push webhook to status: median / p95 ms",
         lambda r: f"{_figure(r, ('sync', 'webhook_ms'), '{:.0f}')} / "
                   f"{_figure(r, ('sync', 'webhook_p95_ms'), '{:.0f}')}"),
        ("engineers, picks and events written, s",
         lambda r: f"{r['timings'].get('people', 0) + r['timings'].get('picks', 0):.1f}"),
        ("status, selector: median / p95 ms",
         lambda r: _row_figure(r, "revision status, selector")),
        ("status, API: median / p95 ms", lambda r: _row_figure(r, "revision status, API `")),
        ("status, API with the cache off: median / p95 ms",
         lambda r: _row_figure(r, "revision status, API, status cache off")),
        ("status, bot: median / p95 ms", lambda r: _row_figure(r, "revision status, bot")),
        ("`git merge-base --is-ancestor`: median ms",
         lambda r: _baseline(r, "revision status, selector")),
        ("risk dashboard: open picks", lambda r: _figure(r, ("dashboard", "picks"), "{:,}")),
        ("risk dashboard: median / p95 ms",
         lambda r: f"{_figure(r, ('dashboard', 'median_ms'))} / "
                   f"{_figure(r, ('dashboard', 'p95_ms'))}"),
        ("risk dashboard: queries for 10 picks / for all",
         lambda r: f"{_figure(r, ('dashboard', 'queries_10'), '{}')} / "
                   f"{_queries(r)}"),
        ("push of 300 picks: merge phase, s", lambda r: _figure(r, ("push", "merge_s"), "{:.2f}")),
        ("shell loop of `git cherry-pick -x`, s",
         lambda r: _figure(r, ("push", "loop_s"), "{:.2f}")),
        ("merge phase / shell loop", lambda r: _figure(r, ("push", "ratio"), "{:.2f}x")),
        ("whole push (merge, tag, push, ship), s",
         lambda r: _figure(r, ("push", "push_s"), "{:.2f}")),
        ("confirmations to 3,000: to the last message, s",
         lambda r: _figure(r, ("confirm", "total_s"), "{:.2f}")),
        ("confirmations to 3,000: `push_confirmations_open` alone, s",
         lambda r: _figure(r, ("confirm", "open_s"), "{:.2f}")),
        ("HTTP: revision status, req/s", lambda r: _figure(r, ("web", "status_rps"), "{:.0f}")),
        ("HTTP: bare view, req/s", lambda r: _figure(r, ("web", "bare_rps"), "{:.0f}")),
        ("HTTP: status / bare", lambda r: _figure(r, ("web", "ratio"), "{:.2f}")),
        ("HTTP: status latency median / p99 ms",
         lambda r: f"{_figure(r, ('web', 'status_p50_ms'))} / "
                   f"{_figure(r, ('web', 'status_p99_ms'))}"),
    ]  # fmt: skip
    lines = ["| figure | " + " | ".join(labels) + " |", "| --- |" + " ---: |" * len(labels)]
    for name, cell in spec:
        lines.append(f"| {name} | " + " | ".join(_safe(cell, r) for r in results) + " |")
    return lines


def _safe(cell, result: dict) -> str:
    try:
        return cell(result)
    except (KeyError, TypeError, ValueError, AttributeError):
        return "n/a"


def _baseline(result: dict, prefix: str) -> str:
    for row in result.get("rows", []):
        if row.name.startswith(prefix) and row.baseline_median_ms:
            return f"{row.baseline_median_ms:.1f}"
    return "n/a"


def _queries(result: dict) -> str:
    figures = result.get("dashboard") or {}
    picks = figures.get("picks")
    return str(figures.get(f"queries_{picks}", "n/a"))


def _row(result: dict, prefix: str) -> Row | None:
    return next((row for row in result.get("rows", []) if row.name.startswith(prefix)), None)


def _ms(row: Row | None) -> str:
    return f"{row.median_ms:,.1f} ms" if row else "n/a"


# Issue 19's figures before its fixes ("Performance, the next order of magnitude"), measured
# outside the project on this machine (PostgreSQL, Redis) at 10x, and by the benchmarks of
# this page on the code before each fix where the issue gave none.
BEFORE = {
    "whole push / loop": "1.54x (tag, push and ship added 2.7 s to a 4.5 s merge)",
    "resumed push / loop": "7.0x (the branch searched before every pick)",
    "risk dashboard 10 / 3,000": "28 / 174 ms, every open pick loaded and rendered",
    "risk dashboard 30,000": "about 1.9 s (the 3,000 figure grew linearly)",
    "HTTP": "0.62x of the bare view",
    "confirmations": "30.2 s to the last message (3,000 requestors, the benchmark of this page)",
}


def profiles(results: list[dict]) -> list[str]:
    """What was profiled, what was fixed, before (BEFORE) and after (this run)."""
    top = budget_results(results)[0]  # the design target: the largest scale with picks
    push, web, confirm = (top.get(key) or {} for key in ("push", "web", "confirm"))
    by_size = (top.get("dashboard") or {}).get("by_size") or {}
    resumed = next((row for row in top.get("rows", []) if "resumed" in row.name), None)
    nan = float("nan")
    at = top["sizes"].label

    def board(count: int) -> str:
        figures = by_size.get(count) or {}
        return f"{figures.get('median_ms', nan):.1f} ms ({figures.get('queries', '?')} queries)"

    return [
        "## Profiles and fixes",
        "",
        "Before: issue 19's figures, measured before its fixes on this machine at 10x. After: "
        f"this run, at {at}.",
        "",
        "| figure | before | after |",
        "| --- | --- | --- |",
        f"| whole push of 300 picks / shell loop | {BEFORE['whole push / loop']} | "
        f"{push.get('push_s', nan):.2f} s / {push.get('loop_s', nan):.2f} s = "
        f"{push.get('push_ratio', nan):.2f}x |",
        f"| push resumed after a crash / shell loop | {BEFORE['resumed push / loop']} | "
        f"{resumed.ratio if resumed else 'n/a'} |",
        f"| risk dashboard, first view: 10 / 3,000 open picks | "
        f"{BEFORE['risk dashboard 10 / 3,000']} | {board(10)} / {board(3000)} |",
        f"| risk dashboard, first view: 30,000 open picks | {BEFORE['risk dashboard 30,000']} | "
        f"{board(30000)} |",
        f"| HTTP: status / bare view | {BEFORE['HTTP']} | {web.get('status_rps', nan):,.0f} "
        f"req/s / {web.get('bare_rps', nan):,.0f} req/s = {web.get('ratio', nan):.2f}x |",
        f"| confirmations to 3,000 requestors, to the last message | "
        f"{BEFORE['confirmations']} | {confirm.get('total_s', nan):.2f} s |",
        "",
        *NEXT_ORDER,
        "Over HTTP, the ratio in this run at each scale: "
        + ", ".join(
            f"{(r.get('web') or {}).get('ratio', nan):.2f} at {r['sizes'].label}" for r in results
        )
        + ".",
        "",
        *_trunk(results),
        "",
        "## Earlier rounds",
        "",
        "What the first performance issue profiled and fixed, still how the code works.",
        "",
        *PUSH,
        *STATUS,
        *CONFIRMATIONS,
        *DASHBOARD,
    ]


NEXT_ORDER = [
    "### Push: tag, push and ship; a resumed push",
    "",
    "Profiled (pyinstrument, `push_run` of 300 picks): after the merge, shipping was one "
    "`pick_transition` and one notice a pick (a locking select, a full-row save, an event, a "
    "notice, a write-back signal: 300 times), and recording each pick as picked was one "
    "transaction a pick. A resumed push ran `merge_one` for every pick, and each searched the "
    "branch since the cut (`git log --grep`, two `git log -p | git patch-id`), so its cost grew "
    "with the square of the picks. Fixed in `pushes/services/push_run.py`, "
    "`pushes/services/push_merge.py` and `pushes/git/picks.py`:",
    "",
    "- Shipping is one locked select, one conditional update, one bulk insert of events and one "
    "of notices for all the picks the tag carries (`push_ship.picks_ship`, `notify_many`), and one "
    "`picks_moved` signal for the forges' write-back (`pushes/signals.py`).",
    "- A chunk of up to 20 applied picks is recorded in one transaction "
    "(`pick_records.picks_record_picked`: the picks locked, then the ones still confirmed, "
    "in order up to the first that is not, recorded by one statement), and the branch moves "
    "once, to the last recorded one's commit, never past a pick not recorded. git starts on "
    "the next chunk as soon as it made the last commit of this one.",
    "- A resumed push asks the branch once for all its picks (`git.branch_carries`: one "
    "`git log` of the trailers, and `git log -p | git patch-id` once for the branch and once "
    "for the picks not found otherwise), records where each one already is, applies again the "
    "ones recorded without their commit, and merges the rest as a fresh push does "
    "(`merge_resumed`). `tests/pushes/test_push_resume.py` (Hypothesis: random crash points, "
    "hand commits and withdrawals, the branch then checked pick by pick) and the SIGKILL tests "
    "of `tests/reliability/test_worker_killed.py` judge it.",
    "",
    "### Risk dashboard",
    "",
    "Profiled (the page at 3,000 and 30,000 open picks): every open pick was loaded, its risk "
    "computed and its row rendered; at 30,000 that is seconds. Paging on the server needs the "
    "order and the counts from the database. A first attempt wrote `pick_risk` as SQL "
    "expressions (the rule in two places); SQLite evaluated them at 40 to 80 ms a scan of "
    "30,000 rows, twice a view (counts and page), over budget. Fixed instead with a kept "
    "index: each pick's risk level and flag as `pick_risk` says (`Pick.risk_rank`, "
    "`Pick.risk_flagged`, migration `0015_pick_risk_index`), emptied by every write that "
    "changes an input (the pick's numbers, files, push or requestor; a rejection of its "
    "revision; its push's time; the repository's risk settings; the requestor's stars; "
    "deletions) and computed again for the changed picks before the dashboard reads "
    "(`pushes/services/risk_index.py`); `picks_risk_check` recomputes every open pick every ten "
    "minutes and logs any a write missed. The page then reads one page of 50 picks (ORDER BY "
    "... LIMIT over the index) and counts by push, state, level and flag (one GROUP BY), the "
    "same 15 queries for 10 or 30,000 open picks; repository, search and page filters are on "
    "the server, and a bad value is named as ignored. The benchmark writes its picks in bulk, "
    "with no rank, as a migration leaves existing picks: its first request computes them all, "
    "timed apart (`index_fill_ms` in `python -m bench.dashboard`, 1.5 s for 30,000). "
    "Whether any rank is to compute is a partial index (`pick_risk_stale`), so a view with "
    "none costs no scan. On PostgreSQL the benchmark runs ANALYZE after writing its picks, as "
    "autovacuum would: without statistics the planner took the 30,000 fresh picks for none and "
    "read them by the wrong index, 88 ms a view in the first run of this page. "
    "`tests/pushes/test_risk_order.py` (Hypothesis: random trains, then random changes made "
    "the way the product makes them) holds the page's order, counts and filters to "
    "`pick_risk` after every change.",
    "",
    "### Revision status over HTTP",
    "",
    "Profiled (cProfile, CPU a request, the answer kept in memory): of 0.51 ms, DRF's request "
    "wrapper, authentication, content negotiation and JSON rendering were two thirds. Fixed in "
    "`pushes/api/views.py` (`revision_status`): when the token's row is kept in memory and "
    "names an active engineer (the view's permission) and an answer for the revision is kept, "
    "the kept JSON bytes go out with DRF's headers, without DRF; anything else (nothing kept, "
    "another method or Accept header, `?format=`, a session) is the DRF view, refusals "
    "included. `tests/pushes/test_statuscache.py` holds the two paths to the same bytes and "
    "headers and sends refusals through DRF in its error shape. The cache is off "
    "without Redis (a process would never hear of another's change): then every question goes "
    "through DRF and the database, and the ratio is far below 0.8 (the `cache off` row).",
    "",
    "### Confirmations to 3,000 requestors",
    "",
    "Profiled (py-spy on the worker, pyinstrument on the open): the delivery task asked "
    "`what_next` (the push's train) once a notice, redacted each text alone, claimed each "
    "message alone, opened a Slack DM conversation (`conversations.open`) for every message, "
    "and published tasks of 20 notices. Fixed in `chat/notifier.py`, "
    "`pushes/services/notifications.py`, "
    "`common/redact.py` and `common/effects.py`: one `what_next` a push, one redaction pass a "
    "chunk, tasks of 100 notices, each engineer's DM channel id kept by Slack user and "
    "workspace (a relinked account is another key), and the messages of a chunk claimed in "
    "one write before any is sent and closed together after (`side_effects_claim` / "
    "`side_effects_finish`), so a task run twice still sends nothing twice. "
    "`tests/chat/test_notifier.py` runs the deliveries against a local "
    "Slack Web API stand-in.",
    "",
]


PUSH = [
    "### Push of 300 picks",
    "",
    "Profiled (pyinstrument, 1x) in two rounds. First: 49.5 s against 5.7 s for the shell loop "
    "(8.6x); each pick spent 114 ms in `git.find_in_branch` (two `rev-parse`, "
    "`merge-base --is-ancestor`, a `log --grep` over the branch since the cut and two "
    "`git log -p | git patch-id`, one over the branch since the cut, so it grew with every "
    "pick), 43 ms in `Worktree.cherry_pick` (three git processes), 35 ms in `branch_advance` "
    "(four), 32 ms in `pick_transition` and 11 ms in `branch_head`: seventeen git processes a "
    "pick. Fixed then, in `pushes/services/push_merge.py` and `pushes/git/`: the exactly-once "
    "search runs only when a push resumes (`_merge` reads the branch's `-x` trailers once; a "
    "pick of this push among them, or one recorded or under test, sends the run down the "
    "per-pick path, `merge_one`, unchanged); a pick that comes out empty or conflicting, or "
    "names a revision from before the cut, still gets the full search; the branch moves by "
    "compare-and-swap through one long-lived `git update-ref --stdin` (`git.branch_mover`); "
    "CONFIRMED to PICKED and its event are one conditional statement "
    "(`pick_record_picked`), written while git already works on the next pick, and the branch "
    "never moves past a pick that is not recorded, so a crash leaves what it always left.",
    "",
    "That gave the 1.33x of the before column: one `git cherry-pick` process a pick, as the "
    "loop, plus the record. Second round: with no test command to run between picks, git "
    "cherry-picks up to 20 picks in one process (`git.worktree_picks_start`, "
    "`push_merge.CHUNK`); the branch still moves to each pick's commit in turn, recorded before "
    "it moves again, while git works on the next 20. A stop (a conflict, an empty pick) is "
    "undone in the worktree and that pick gets the full search, the rest go on. With a test "
    "command, a chunk is one pick, as tests run after each. "
    "`tests/pushes/test_push_run.py::test_more_picks_than_one_git_process_takes_merge_once_each_"
    "in_trunk_order` (25 picks with a conflict, a change already there and a merge) and the "
    "SIGKILL tests of `tests/reliability/test_worker_killed.py` judge it.",
    "",
]

STATUS = [
    "### Revision status, in process and over HTTP",
    "",
    "Profiled (pyinstrument on the API view): the lookup by a short sha was "
    "`sha LIKE 'prefix%'`, which no index of `pushes_trunkcommit` answers (PostgreSQL's btree "
    "needs `varchar_pattern_ops` or the C collation for LIKE), so every status read the whole "
    "trunk index and grew with trunk: 20, 28 and 47 ms for the selector at 1x, 3x and 10x. "
    "Fixed in `pushes/selectors/revisions.py`: the prefix is a range, "
    "`sha__range=(prefix, prefix + 'g')`, which the existing sha index answers; the selector and "
    "the bot stay flat with trunk now.",
    "",
    "Over HTTP the rest was the price of any ORM work beside an empty view: with two sync "
    "workers on two cores that wrk, PostgreSQL and Redis share, a request that asks the "
    "database for the token, the user and the engineer and then four queries for the answer "
    "cost 40 bare views. Profiled in process (cProfile, CPU time a request): bare view 0.19 ms, "
    "status API 7.1 ms without a cache; with the answer kept in Redis 1.5 ms, of which the "
    "token query (built by the ORM each time) was 1.0 ms and two Redis round trips 0.4 ms. "
    "Fixed:",
    "",
    "- `releasebot/authentication.py`: the token, its user and the engineer in one query "
    "written once from the models' fields (the engineer was a second query on every API call).",
    "- `pushes/statuscache.py`: each web process keeps status answers and token rows in memory "
    "beside a generation kept in Redis. Any save or delete of a trunk commit, branch, push, "
    "pick, repository, engineer, user or token, and any bulk write through those models' "
    "querysets, replaces the generation (now, and again when its transaction commits); a "
    "process trusts the generation it read for 50 ms, so an answer is at most 50 ms stale and "
    "a deleted token or a deactivated user is refused within 50 ms. Nothing is kept from inside "
    "a transaction. `tests/pushes/test_statuscache.py` changes each kind of thing and asks again.",
    "",
    "CPU a request after (the same cProfile-free measure, a quiet machine): 0.51 ms, 0.23 ms "
    "for the bare view; the request is read (validated) only when no answer is kept for it. "
    "The API row of the table is the answer as served, from memory once asked; the row with "
    "the cache off is what a first question costs.",
    "",
]

CONFIRMATIONS = [
    "### Confirmations to 300 requestors",
    "",
    "Profiled (pyinstrument on `push_confirmations_open`, py-spy on the worker, 1x): the open "
    "spent 7.8 s under the profiler, 4.3 s of it in 300 `pick_transition` calls (a locking "
    "five-table select, a full-row save, an event), 1.4 s in two lazy loads a requestor for the "
    "push time, 0.5 s in notice inserts and 1.1 s publishing 300 delivery tasks one by one in "
    "commit hooks. The worker ran 300 tasks of 36 ms on two children, a quarter of it fetching "
    "the notice over a new PostgreSQL connection each time. Fixed in "
    "`pushes/services/train.py`, `pushes/services/notifications.py` and `pushes/tasks.py`: "
    "the open locks the waiting picks in one `select_for_update`, moves them with one "
    "conditional update, writes the same events and notices as before with two bulk inserts, "
    "and one commit hook publishes the deliveries twenty notices a task "
    "(`notifications_deliver`, which reads its notices in one query, checks each is still "
    "undelivered just before it is sent, and leaves one that fails to the tick, which retries "
    "it on its own). The push claim still makes a second run do nothing; "
    "`tests/pushes/test_train.py`, `tests/chat/test_notifier.py` and "
    "`tests/reliability/test_worker_killed.py` judge the rows and the kill inside the bulk "
    "transaction. Not done: `CELERY_DB_REUSE_MAX` (no gain beyond noise once deliveries are "
    "chunked, and it would keep a connection across a database restart) and keeping each "
    "engineer's Slack channel id (stale when an engineer is linked to another account).",
    "",
]

DASHBOARD = [
    "### Risk dashboard",
    "",
    "The before figure was measured with DEBUG on: the benchmark turned it on to read Django's "
    "query log, and DEBUG also turns on the template engine's debug mode, which tracks every "
    "node as it renders 3,000 rows. The page itself did not change: `bench/dashboard.py` now "
    "counts queries with `CaptureQueriesContext` (which logs whatever DEBUG says) on a first "
    "request and times the page with DEBUG off, as it is served. The query count is the same "
    "for 10 and for 3,000 picks.",
]


# Before the fixes of "Trunk at a million commits": HEAD's trunk index and status selector
# (2026-12-05, this machine, PostgreSQL, Redis), at 1,000,000 commits.
# The machine was busier then (a test run beside it; load average about 7).
BEFORE_TRUNK = {
    "first": "227.5 s, peak RSS 94 MB",
    "sync": "1,069 / 1,339 ms (3 runs)",
    "status": "179.5 / 383.5 ms",
}


def _trunk(results: list[dict]) -> list[str]:
    """The million-commit trunk: before (BEFORE_TRUNK) and after (this run's largest scale)."""
    top = results[-1]
    sync = top.get("sync") or {}
    first = top.get("first index") or {}
    nan = float("nan")
    return [
        "### Trunk at a million commits",
        "",
        f"Before: the code before these fixes at 1,000,000 commits, with the machine busier "
        f"(a test run beside it). After: this run at {top['sizes'].label} "
        f"({top['counts'].get('trunk commits', 0):,} commits).",
        "",
        "| figure | before | after |",
        "| --- | --- | --- |",
        f"| first index (`trunk_sync`: clone, commit-graph, index) | {BEFORE_TRUNK['first']} | "
        f"{first.get('wall_s', nan):.1f} s, peak RSS {first.get('python_mb', nan):.0f} MB |",
        f"| incremental sync of 1,000 commits: median / p95 | {BEFORE_TRUNK['sync']} | "
        f"{sync.get('sync_ms', nan):.0f} / {sync.get('sync_p95_ms', nan):.0f} ms |",
        f"| status, selector: median / p95 | {BEFORE_TRUNK['status']} | "
        f"{_row_figure(top, 'revision status, selector')} ms |",
        f"| trunk push webhook to status: median / p95 | (not measured before) | "
        f"{sync.get('webhook_ms', nan):.0f} / {sync.get('webhook_p95_ms', nan):.0f} ms |",
        "",
        *TRUNK,
    ]


TRUNK = [
    "Profiled (pyinstrument, the first index of 1,000,000 commits, 175 s under the profiler): "
    "106 s in `Revision.objects.bulk_create` (Django builds a parameter list from each of a "
    "million model instances), 24 s building those instances, 15 s parsing `git log`, 10 s "
    "writing the commit-graph. Fixed in `pushes/services/repositories.py`: the index streams "
    "`git log` as before and inserts plain rows, 5,000 a statement: on PostgreSQL one "
    "`INSERT ... SELECT * FROM unnest(...)` of one array a column, elsewhere `executemany`; "
    "both `ON CONFLICT DO NOTHING`, as `bulk_create(ignore_conflicts=True)` was. Kept status "
    "answers are dropped with each batch, as the bulk write did through `StatusQuerySet`. A "
    "trunk rewritten by a forced push drops its index with one `DELETE` rather than "
    "`QuerySet.delete()`, which loads every row to send its delete signal.",
    "",
    "An incremental sync asked git only for `last-indexed..trunk` already; what it costs now "
    "is mostly `git fetch` with its commit-graph layer.",
    "",
    'Status at a million commits: the question "which commits did this merge bring?" '
    "(`Revision.merged_by`, asked for every revision) had no index and read the whole table, "
    "180 ms at a million rows. Fixed with the partial index `trunk_commit_merged_by` on "
    "`(repository, merged_by)` where `merged_by` is set (migration "
    "`pushes/migrations/0014_revision_merged_by_index.py`), a few rows of a million; the "
    "selector spells out the index's condition, and asks for no order, so that SQLite uses it "
    "too (`tests/pushes/test_trunk_scale.py` reads the query plan). What was left was Django "
    "building seven queries (under cProfile, 55% of a status was `as_sql`): the branch cut "
    "with the revision and its first pushed tag are one query now (a subquery), and what "
    "origin's branches carry of it and what reverted that are another, five in all.",
    "",
    "Memory: the indexing process stays near 100 MB at a million commits, as it streams `git "
    "log` and holds 5,000 rows at a time; its largest git child is that `git log`, whose "
    "figure is mostly the pack it maps (840 MB for this fast-import trunk, never repacked).",
]
