"""Revision status over HTTP under load: gunicorn with 2 workers on the bench database, `wrk`
with 2 threads and 8 connections, against `GET /api/revisions/<rev>/` (with a token, cycling
through 50 revisions) and against a bare Django view in the same server, same run: two
alternating rounds of each, half the time each.

`wrk` comes from Debian's packages; run as root without it, the bench installs it. Without
it all the same, a small Python load generator (8 keep-alive connections in threads) stands
in, and the row says so: its own cost on these two cores lowers both figures.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import Row

BUDGET_RATIO = 0.8
CONNECTIONS = 8
ROUNDS = 2  # of each view, alternating

# A load generator: (base URL, paths to cycle through, header, seconds) -> its figures.
Load = Callable[[str, list[str], str, float], dict]


def wrk_path() -> str | None:
    """wrk, installed with apt-get when missing and this runs as root; None if not to be had."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("  installing wrk (apt-get install -y wrk)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    subprocess.run(install, env=env, capture_output=True)
    if not shutil.which("wrk"):  # an old package list: refresh it once
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        subprocess.run(install, env=env, capture_output=True)
    return shutil.which("wrk")


def run(data, revisions: list[str], *, seconds: float = 10, tool: str | None = None):
    """Rows, and figures: req/s of both views, latency, RSS of the gunicorn workers."""
    from django.conf import settings

    from bench.processes import gunicorn

    wrk = wrk_path() if tool in (None, "wrk") else None
    header = f"Authorization: Token {data.token}"
    paths = [f"/api/revisions/{rev}/" for rev in revisions]
    with gunicorn(workers=2) as server:
        base = f"http://127.0.0.1:{server.port}"
        _check(server.port, paths[0], data.token)
        load = _loader(wrk)
        views = {"bare": ["/bench/bare/"], "status": paths}
        for urls in views.values():
            load(base, urls, header, seconds / 5)  # warm-up
        # Alternating halves (bare, status, bare, status), so that other work on the machine
        # drifting during the run weighs on both views alike.
        rounds: dict[str, list[dict]] = {name: [] for name in views}
        for _ in range(ROUNDS):
            for name, urls in views.items():
                rounds[name].append(load(base, urls, header, seconds / ROUNDS))
        measured = {name: _combined(done) for name, done in rounds.items()}
        memory = server.memory()
    bare, status = measured["bare"], measured["status"]
    ratio = status["rps"] / bare["rps"]
    generator = "wrk -t2 -c8" if wrk else "a Python load generator, 8 connections (no wrk)"
    # Without Redis the status cache is off (pushes/statuscache.py): every request then asks
    # the database, and the row says so.
    cache = "status cache on" if settings.RELEASEBOT_STATUS_CACHE_SECONDS else "status cache OFF"
    figures = {
        "status_rps": status["rps"],
        "bare_rps": bare["rps"],
        "ratio": ratio,
        "status_p50_ms": status["p50"],
        "status_p99_ms": status["p99"],
        "web_mb": memory,
        "generator": generator,
    }
    row = Row(
        name=f"revision status over HTTP ({cache}), gunicorn 2 workers, {generator}, "
        f"{seconds:g} s: {status['rps']:.0f} req/s vs {bare['rps']:.0f} req/s bare = {ratio:.2f} "
        "(median and p99 latency)",
        samples=status["requests"],
        median_ms=status["p50"],
        p95_ms=status["p99"],
        baseline="bare Django view, same server (its median latency)",
        baseline_median_ms=bare["p50"],
        budget=f"req/s >= {BUDGET_RATIO} x bare",
        note="ok" if ratio >= BUDGET_RATIO else "MISSED",
    )
    return [row], figures


def _loader(wrk: str | None) -> Load:
    """`wrk` at that path, or the Python load generator when there is none."""
    if not wrk:
        return _python_load

    def load(base: str, paths: list[str], header: str, seconds: float) -> dict:
        return _wrk(base, paths, header, seconds, wrk)

    return load


def _combined(rounds: list[dict]) -> dict:
    """Rounds of one view as one figure: mean req/s, total requests, the mean of the median
    latencies and the worst p99."""
    return {
        "rps": sum(r["rps"] for r in rounds) / len(rounds),
        "requests": sum(r["requests"] for r in rounds),
        "p50": sum(r["p50"] for r in rounds) / len(rounds),
        "p99": max(r["p99"] for r in rounds),
    }


def _check(port: int, path: str, token: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Authorization": f"Token {token}"})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise RuntimeError(f"wrk reported a latency this cannot read: {text!r}")
    number, unit = match.groups()
    return float(number) * _UNITS[unit]


def _found(pattern: str, out: str) -> str:
    """The first group of `pattern` in wrk's output; a clear error when wrk did not print it."""
    match = re.search(pattern, out)
    if match is None:
        raise RuntimeError(f"no {pattern!r} in wrk's output:\n{out}")
    return match.group(1)


def _wrk(base: str, paths: list[str], header: str, seconds: float, wrk: str) -> dict:
    script = "\n".join(
        [
            "local paths = {" + ", ".join(f'"{p}"' for p in paths) + "}",
            "local i = 0",
            "request = function()",
            "  i = i % #paths + 1",
            "  return wrk.format(nil, paths[i])",
            "end",
        ]
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        duration = f"-d{max(1, round(seconds))}s"  # wrk counts whole seconds
        command = [
            wrk, "-t2", f"-c{CONNECTIONS}", duration, "--latency", "-H", header,
            "-s", handle.name, base + paths[0],
        ]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        Path(handle.name).unlink()
    rps = float(_found(r"Requests/sec:\s+([\d.]+)", out))
    requests = int(_found(r"(\d+) requests in", out))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} failed responses:\n{out}")
    p50 = _ms(_found(r"\s50%\s+(\S+)", out))
    p99 = _ms(_found(r"\s99%\s+(\S+)", out))
    return {"rps": rps, "requests": requests, "p50": p50, "p99": p99}


def _python_load(base: str, paths: list[str], header: str, seconds: float) -> dict:
    name, _, value = header.partition(": ")
    host = base.removeprefix("http://")
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(offset: int) -> None:
        connection = http.client.HTTPConnection(host, timeout=30)
        mine, n = [], offset
        while time.perf_counter() < stop:
            path = paths[n % len(paths)]
            n += 1
            started = time.perf_counter()
            connection.request("GET", path, headers={name: value})
            response = connection.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                failures.append(f"{path}: {response.status}")
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} failed requests, e.g. {failures[0]}")
    ordered = sorted(latencies)
    return {
        "rps": len(ordered) / elapsed,
        "requests": len(ordered),
        "p50": ordered[len(ordered) // 2],
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
    }
