"""docs/PERFORMANCE.md from one run's results: the budgets at the largest scale, memory, the
growth table, and the profiles and fixes behind the figures."""

from __future__ import annotations

import datetime as dt

from bench.common import Row

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
    top = results[-1]
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
        f"## Budgets at {top['sizes'].label} ({_describe(top)})",
        "",
        *table(top["rows"]),
        "",
        *_errors(results),
        "## Memory after the run (RSS, MB)",
        "",
        *_memory(results),
        "",
        "## How cost grows with the data",
        "",
        "Scale 1x is a tenth of the design target: 10,000 commits, 1,000 engineers, 300 picks a "
        "day for eight weeks. The push and confirmation figures are 300 picks and 300 "
        "requestors at every scale, so they show what the size of the repository and of the "
        "database costs them; the dashboard's open picks grow with the scale (300 a unit).",
        "",
        *_growth(results),
        "",
        *profiles(results),
    ]
    return "\n".join(lines) + "\n"


def _describe(result: dict) -> str:
    sizes, counts = result["sizes"], result["counts"]
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
    rows = {}
    for index, result in enumerate(results):
        for key, what in (("web", "gunicorn"), ("confirm", "celery worker")):
            figures = result.get(key) or {}
            memory = figures.get("web_mb" if key == "web" else "worker_mb") or {}
            for part, mb in memory.items():
                name = f"{what}, {'master' if what == 'gunicorn' and part == 'main' else part}"
                rows.setdefault(name, [""] * len(results))[index] = f"{mb:.0f}"
    lines = ["| process | " + " | ".join(labels) + " |", "| --- |" + " ---: |" * len(labels)]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows.items()]
    lines += [
        "",
        "gunicorn's workers after the HTTP load (sync workers, 2), Celery's main process and "
        "its two pool children after the confirmation runs.",
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
        ("trunk written by `git fast-import`, s", lambda r: _figure(r, ("timings", "fast-import"))),
        ("`services.trunk_sync` (clone + index), s",
         lambda r: _figure(r, ("timings", "trunk_sync"))),
        ("engineers, picks and events written, s",
         lambda r: f"{r['timings'].get('people', 0) + r['timings'].get('picks', 0):.1f}"),
        ("status, selector: median / p95 ms",
         lambda r: _row_figure(r, "revision status, selector")),
        ("status, API: median / p95 ms", lambda r: _row_figure(r, "revision status, API")),
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
        ("confirmations to 300: to the last message, s",
         lambda r: _figure(r, ("confirm", "total_s"), "{:.2f}")),
        ("confirmations to 300: `push_confirmations_open` alone, s",
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


def profiles(results: list[dict]) -> list[str]:
    """What was profiled, what was fixed, and what the profiles say about what still misses.
    Figures in brackets come from this run; the "before" of the push from the fixing session."""
    top = results[-1]
    push = top.get("push") or {}
    resumed = next((row for row in top.get("rows", []) if "resumed" in row.name), None)
    lines = [
        "## Profiles and fixes",
        "",
        "### Push of 300 picks: profiled and fixed",
        "",
        "Before (1x, PostgreSQL, this machine, while it was fixed): the merge phase took "
        "49.5 s against 5.7 s for the shell loop (8.6x). In a run under pyinstrument (74.6 s) "
        "each pick spent 114 ms in `git.find_in_branch` (two `rev-parse`, "
        "`merge-base --is-ancestor`, a `log --grep` over the branch since the cut and two "
        "`git log -p | git patch-id`, one of them over the branch since the cut, so it grew "
        "with every pick), 43 ms in `Worktree.cherry_pick` (three git processes), 35 ms in "
        "`branch_advance` (four), 32 ms in `pick_transition` (a `SELECT ... FOR UPDATE` joining "
        "five tables, a full-row save, the event) and 11 ms in `branch_head`; each call opened "
        "a GitPython `Repo`. Seventeen git processes a pick.",
        "",
        "Fixed, in `pushes/services/push_run.py` (`_merge` and helpers next to it) and new "
        "functions at the end of `pushes/git.py`:",
        "",
        "- The exactly-once search runs only when a push resumes. `_merge` reads the `-x` "
        "trailers of the branch once (`git.branch_picks`, one `git log`); a pick of this push "
        "among them, or one already recorded or under test, means an earlier run got somewhere, "
        "and the run takes the per-pick path as before (`_merge_one`, unchanged). Otherwise "
        "(`_merge_fresh`) a clean cherry-pick is a pick not yet on the branch; a pick that comes "
        "out empty or conflicting, or asks for a revision from before the cut, still gets the "
        "full search, so a change already there is found and named as before.",
        "- One git process a pick: every pick's parents in one `rev-list` (a merge is picked "
        "with `-m 1`, as before), the cherry-pick itself, the new HEAD read from the worktree's "
        "HEAD file, and the branch's compare-and-swap through one long-lived "
        "`git update-ref --stdin` (`git.branch_mover`: one ref transaction a pick, refused with "
        "`BranchMoved` like `branch_advance`; a branch moved under the run sends the rest down "
        "the per-pick path).",
        "- The record: CONFIRMED to PICKED and its event as one conditional update and an "
        "insert (`_picked`) instead of `pick_transition`'s locking join (a pick no longer "
        "confirmed goes through `pick_transition`, which refuses it as before), written while git "
        "already cherry-picks the next pick; the branch never moves before the pick before it "
        "is recorded, so a crash leaves what it always left.",
        "",
        f"After, in this run at {top['sizes'].label}: the merge phase "
        f"[{push.get('merge_s', float('nan')):.2f} s] against the loop "
        f"[{push.get('loop_s', float('nan')):.2f} s], "
        f"[{push.get('ratio', float('nan')):.2f}x]; the resumed push, which still searches "
        f"before every pick, [{_ms(resumed)}]. What is left a pick is the record (two "
        "statements and a commit on PostgreSQL, overlapped with git) and the process start; "
        "when other work loads the machine the database write outlasts the cherry-pick and "
        "shows.",
        "",
        *_status_section(results),
        *ANALYSIS,
    ]
    return lines


def _status_section(results: list[dict]) -> list[str]:
    lines = [
        "### Revision status: profiled; the fix is outside this change",
        "",
        "pyinstrument on the API view: the lookup by a short sha is `sha LIKE 'prefix%'`, "
        "which no index of `pushes_trunkcommit` can answer (PostgreSQL's btree needs "
        "`varchar_pattern_ops` or the C collation for LIKE; SQLite's LIKE is case-insensitive), "
        "so every status reads the whole trunk index and grows with trunk. The rest is five more "
        "queries (the token, the engineer, the branch, the weekly push, the picks with four "
        "joins) and DRF's serializer, about 10 to 15 ms of Python a request on these cores.",
        "",
        "The fix belongs in `pushes/selectors.py` (`sha__range=(prefix, prefix + 'g')`, which "
        "any btree answers) or a migration (a `varchar_pattern_ops` index). Tried in this run "
        "on the bench's own database, with such an index added and dropped again:",
        "",
        "| figure | " + " | ".join(r["sizes"].label for r in results) + " |",
        "| --- |" + " ---: |" * len(results),
    ]
    for label, prefix in (("selector", "revision status, selector"),
                          ("API", "revision status, API"),
                          ("bot", "revision status, bot")):  # fmt: skip
        cells, fixed = [], []
        for result in results:
            cells.append(_ms(_row(result, prefix)))
            indexed = {"rows": result.get("indexed") or []}
            fixed.append(_ms(_row(indexed, prefix)))
        lines.append(f"| {label}, as shipped: median | " + " | ".join(cells) + " |")
        lines.append(f"| {label}, with a prefix index: median | " + " | ".join(fixed) + " |")
    return [*lines, ""]


ANALYSIS = [
    "### Revision status over HTTP: profiled; out of reach of a tuning",
    "",
    "Each request does what the in-process API row does (six queries and a serializer); the "
    "bare view does no query. With two sync workers on two cores that wrk and PostgreSQL "
    "share, requests a second are about two over the service time, so half the bare view's "
    "rate would need the status view to cost about twice an empty view: no ORM query at all. "
    "Only an answer cached per revision (and dropped when one of its picks moves) gets there; "
    "the prefix index above removes the part that grows with trunk.",
    "",
    "### Confirmations to 300 requestors: profiled; fixes proposed",
    "",
    "pyinstrument on `push_confirmations_open` (it runs before the first message can leave): "
    "per requestor a `pick_transition` (the locking five-table join, a full-row save, the "
    "event), two lazy loads in `_when` (`pick.push.branch.repository`, an N+1), the notice, "
    "and after commit 300 Celery publishes one by one. py-spy on the worker's children: every "
    "`notification_deliver` opens a new PostgreSQL connection (Celery's Django fix-up closes "
    "connections after each task unless `CELERY_DB_REUSE_MAX` is set), fetches the notice "
    "with five joins, loads the push's repository again lazily in `blocks.when`, then makes "
    "two Slack calls. Proposed (files outside this change): `CELERY_DB_REUSE_MAX` in "
    "settings, `select_related('push__branch__repository')` where the notice and the "
    "confirmation text are built, the confirmations opened with one conditional update and a "
    "`bulk_create` of events and notices, and the deliveries published in one after-commit "
    "hook.",
    "",
    "### Risk dashboard",
    "",
    "Measured by `bench/dashboard.py` (its own train of open picks, in a transaction rolled "
    "back, beside the bench data). Its query count reads Django's query log, so `make bench` "
    "runs it with DEBUG on, as it runs on its own.",
]
