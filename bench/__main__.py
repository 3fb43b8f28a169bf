"""`make bench`: build the benchmark data at 1x, 10x and 100x the seed's scale (10x is the design
target: a 100,000-commit repository, 10,000 engineers, 3,000 picks a day for eight weeks; 100x
is a million-commit trunk with its index and release branches only, for the git, status and
sync figures), run every benchmark each scale builds data for, and write docs/PERFORMANCE.md:
the machine, the command, the tables of medians and p95 with the baselines measured in the same
run, memory, and how each figure grows.

PostgreSQL (database `releasebot_bench`, made and dropped here) when DATABASE_URL is set, else
SQLite; Celery on Redis when REDIS_URL is set, else the file broker. Everything else lives in
a temporary folder removed at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.report import budget_rows, render

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--out", default=str(ROOT / "docs" / "PERFORMANCE.md"))
    parser.add_argument(
        "--scales",
        default="1,10,100",
        help="comma-separated; 10 = the target; from 100 trunk, its index and status only",
    )
    parser.add_argument("--repeats", type=int, default=300, help="warm calls per status figure")
    parser.add_argument("--samples", type=int, default=5, help="pushes and confirmation runs")
    parser.add_argument("--seconds", type=float, default=10, help="of load per HTTP figure")
    parser.add_argument("--profile", metavar="DIR", help="write pyinstrument profiles here")
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    parser.add_argument(
        "--only", metavar="NAMES", help="comma-separated benchmark names, e.g. 'push,HTTP'"
    )
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    data_dir = Path(tempfile.mkdtemp(prefix="releasebot-bench-"))
    os.environ["RELEASEBOT_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasebot.settings")
    from bench.database import database_drop, database_reset, database_url

    given = {key: os.environ[key] for key in ("DATABASE_URL", "REDIS_URL") if key in os.environ}
    os.environ["DATABASE_URL"] = database_url(str(data_dir))
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from bench.common import machine

    # Measured as in service: DEBUG would keep every query of the run in memory.
    settings.DEBUG = False
    started = time.perf_counter()
    results = []
    try:
        for scale in scales:
            print(f"== scale {scale:g}x", flush=True)
            database_reset()
            results.append(run_scale(scale, data_dir / f"{scale:g}x", args))
            # Peak RSS of this process so far, MB (Linux gives KB).
            results[-1]["bench_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        database_drop()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    command = " ".join(
        [f"{key}={value}" for key, value in given.items()]
        + ["make bench" if len(sys.argv) == 1 else "python -m bench"]
        + [shlex.quote(arg) for arg in sys.argv[1:]]
    )
    report = render(
        results,
        info=machine(),
        database=connection.vendor,
        broker="Redis" if settings.CELERY_BROKER_URL.startswith("redis") else "file broker",
        command=_redact(command),
        minutes=(time.perf_counter() - started) / 60,
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report)
    print(report)
    missed = [row.name for row in budget_rows(results) if row.note == "MISSED"]
    for name in missed:
        print(f"MISSED: {name}", file=sys.stderr)
    return 1 if missed else 0


def run_scale(scale: float, root: Path, args) -> dict:
    """Build the data at `scale` and run every benchmark it has data for; rows and figures."""
    from bench import confirm, data, push, status, sync, web

    built = data.build(scale, root, log=print)
    result: dict = {"scale": scale, "sizes": built.sizes, "timings": built.timings}
    result["counts"] = built.counts
    result["first index"] = built.first_index
    rows = []
    profile = Path(args.profile) / f"push-merge-{scale:g}x.txt" if args.profile else None
    # (name, call, key of its figures, runs at a trunk-only scale). "trunk sync" lands new
    # commits on trunk, so it runs last.
    steps = [
        ("revision status", lambda: status.run(built, repeats=args.repeats), None, True),
        ("risk dashboard", lambda: _dashboard(built), "dashboard", False),
        ("push", lambda: push.run(built, samples=args.samples, profile=profile), "push", False),
        ("push resumed", lambda: push.run_resumed(built, samples=args.samples, profile=profile
         and profile.with_name(f"push-resumed-{scale:g}x.txt")), None, False),
        ("confirmations", lambda: confirm.run(built, samples=args.samples), "confirm", False),
        ("HTTP", lambda: web.run(built, status.revisions(built), seconds=args.seconds), "web",
         True),
        ("trunk sync", lambda: sync.run(built, samples=args.samples), "sync", True),
    ]  # fmt: skip
    if built.sizes.trunk_only:
        steps = [step for step in steps if step[3]]
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        steps = [step for step in steps if step[0] in wanted]
    full = [s for s in (float(s) for s in args.scales.split(",")) if not data.sizes(s).trunk_only]
    if not full or scale != max(full):
        steps = [step for step in steps if step[0] != "push resumed"]  # a minute: once
    for name, step, key, _ in steps:
        print(f"  {name} ...", flush=True)
        clock = time.perf_counter()
        try:
            out = step()
        except Exception as error:  # one broken benchmark must not lose the others' figures
            traceback.print_exc()
            result.setdefault("errors", {})[name] = f"{type(error).__name__}: {error}"
            continue
        new_rows, figures = out if isinstance(out, tuple) else (out, None)
        rows += new_rows
        if key:
            result[key] = figures
        for row in new_rows or (figures if isinstance(figures, list) else []):
            print(f"    {row.name}: median {row.median_ms:.1f} ms, p95 {row.p95_ms:.1f} ms, "
                  f"{row.note} ({time.perf_counter() - clock:.0f} s)", flush=True)  # fmt: skip
    result["rows"] = rows
    return result


def _dashboard(built):
    """The risk dashboard (bench/dashboard.py) with 300 open picks a scale unit: its own rows
    at 3,000 (the target), and its figures for the growth table."""
    from bench import dashboard

    picks = round(300 * built.sizes.scale)
    if picks != 3000:
        return [], dashboard.run(picks=picks, repeats=10)
    captured: dict = {}
    original = dashboard.run

    def spy(*args, **kwargs):
        captured.update(original(*args, **kwargs))
        return captured

    dashboard.run = spy
    try:
        rows = dashboard.rows()
    finally:
        dashboard.run = original
    return rows, captured


def _redact(text: str) -> str:
    import re

    return re.sub(r"(://[^:/@\s]+):[^@\s]+@", r"\1:***@", text)


if __name__ == "__main__":
    sys.exit(main())
