"""`make bench`: build the benchmark data in a throwaway folder, run every benchmark, and write
docs/PERFORMANCE.md with the machine, the command and a table of medians and p95."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--out", default=str(ROOT / "docs" / "PERFORMANCE.md"))
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="releasebot-bench-")
    os.environ["RELEASEBOT_DATA_DIR"] = data_dir
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasebot.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench import status
    from bench.common import machine

    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("demo", verbosity=0, stdout=quiet)
    rows = status.run(repeats=args.repeats)
    try:
        from bench import dashboard
    except ImportError:
        dashboard = None
    if dashboard is not None:
        rows += dashboard.rows()
    report = render(rows, machine(), connection.vendor)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report)
    print(report)
    return 1 if any(row.note == "MISSED" for row in rows) else 0


def render(rows, info: dict[str, str], database: str) -> str:
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (`python -m bench`); every figure below comes from the run "
        f"on {dt.date.today():%Y-%m-%d}. Numbers are milliseconds of warm calls in one process; "
        "a baseline is measured in the same run on the same data.",
        "",
        f"Machine: {info['cpus']} CPUs, {info['platform']}, Python {info['python']}, "
        f"{info['git']}, database {database}.",
        "",
        "| benchmark | samples | median ms | p95 ms | baseline | baseline median ms | ratio "
        "| budget | verdict |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        base = f"{row.baseline_median_ms:.2f}" if row.baseline_median_ms else ""
        lines.append(
            f"| {row.name} | {row.samples} | {row.median_ms:.2f} | {row.p95_ms:.2f} | "
            f"{row.baseline} | {base} | {row.ratio} | {row.budget} | {row.note} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
