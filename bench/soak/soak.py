"""Soak a broker: a real Celery worker, N tasks sent over T seconds, the worker killed once.

    .venv/bin/python -m bench.soak.soak --tasks 2880 --seconds 240            # embedded broker
    SOAK_BROKER=kombu-files .venv/bin/python -m bench.soak.soak ...           # kombu's own
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python -m bench.soak.soak   # Redis

No web server and no database: a worker (`celery -A releasebot worker`, concurrency 2) and
`--publishers` processes sending `soak_record(n)`, which appends n to a file. Half-way, the
worker's whole process group is SIGKILLed and a new worker started, as bin/run would. A worker
that exits by itself is counted, and restarted too. At the end every n is counted: done once,
twice (duplicates) or never (lost: on these brokers a killed worker's reserved messages are
gone, or, on Redis, back only after the visibility timeout; the product's tick re-drives such
work from the database).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def child_env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "bench.soak.settings",
        "RELEASEBOT_DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
    }


class Worker:
    """`celery worker` on the soak's queue, started again by the soak when it exits."""

    queue = "soak"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.number = data_dir, -1
        self.errors: list[str] = []
        self.process = self.start()

    def start(self) -> subprocess.Popen:
        self.number += 1
        command = [
            sys.executable, "-m", "celery", "-A", "releasebot", "worker", "-Q", self.queue,
            "--concurrency", "2", "-l", "info", "-n", f"soak{self.number}@%h",
        ]  # fmt: skip
        log = open(self.log(), "wb")  # noqa: SIM115
        return subprocess.Popen(
            command, cwd=ROOT, env=child_env(self.data_dir), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,  # the kill takes its pool too
        )  # fmt: skip

    def log(self) -> Path:
        return self.data_dir / f"worker-{self.number}.log"

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.time() + timeout
        while " ready." not in self.log().read_text(errors="replace"):
            if time.time() > deadline:
                raise SystemExit(f"not ready after {timeout} s; see {self.log()}")
            time.sleep(0.2)

    def check(self, elapsed: float) -> None:
        """Restart it if it exited by itself, and say why it did."""
        if self.process.poll() is not None:
            self.errors.append(f"{elapsed:.0f} s: {first_error(self.log())}")
            self.process = self.start()

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = self.start()  # as bin/run would

    def stop(self) -> None:
        self.process.terminate()  # the main process only: it stops its pool (as bin/run does)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class BinRun(Worker):
    """`make run` itself (bin/run: web, worker and beat) on a free port; it restarts the worker."""

    queue = "celery"  # the queue bin/run's worker reads

    def start(self) -> subprocess.Popen:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {**child_env(self.data_dir), "PORT": str(port)}
        env["RELEASEBOT_VENV"] = str(Path(sys.executable).parent.parent)
        log = open(self.log(), "wb")  # noqa: SIM115
        return subprocess.Popen(
            ["bash", "bin/run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    kills = 0

    def log(self) -> Path:
        return self.data_dir / "bin-run.log"

    def check(self, elapsed: float) -> None:
        """Count the services bin/run says exited, less the kills (it restarted them all)."""
        said = self.log().read_text(errors="replace").splitlines()
        exits = [line for line in said if line.startswith("bin/run: ") and " exited (" in line]
        while len(self.errors) + self.kills < len(exits):
            self.errors.append(f"about {elapsed:.0f} s: {exits[len(self.errors) + self.kills]}")
        if self.process.poll() is not None:
            raise SystemExit("bin/run stopped:\n" + "\n".join(said[-40:]))

    def kill(self) -> None:
        """SIGKILL the worker's process group (main and pool), found in bin/run's session."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with suppress(OSError):
                session = int(stat.read_text().rsplit(")", 1)[1].split()[3])
                command = (stat.parent / "cmdline").read_bytes()
                pid = int(stat.parent.name)
                if session == self.process.pid and b"worker" in command and os.getpgid(pid) == pid:
                    os.killpg(pid, signal.SIGKILL)
                    self.kills += 1
                    return
        raise SystemExit("no worker to kill in bin/run's session")

    def stop(self) -> None:
        # TERM stops it as Ctrl-C does; SIGINT may be ignored here (a background job's is).
        self.process.terminate()
        self.process.wait(timeout=60)


def publish(first: int, count: int, step: int, interval: float, start: float, queue: str) -> None:
    """Send tasks first, first+step, ... on a fixed timetable from `start`."""
    from releasebot.celery import app

    for i in range(count):
        delay = start + i * interval - time.time()
        if delay > 0:
            time.sleep(delay)
        app.send_task("bench.soak.tasks.soak_record", (first + i * step, time.time()), queue=queue)


def read_done(data_dir: Path) -> list[tuple[int, float, float]]:
    """(n, latency in ms, finished at) for each task run."""
    path = data_dir / "soak-done.log"
    if not path.exists():
        return []
    rows = (line.split() for line in path.read_text().splitlines())
    return [(int(n), float(ms), float(at)) for n, ms, at in rows]


def first_error(log: Path) -> str:
    lines = log.read_text(errors="replace").splitlines()
    found = [line for line in lines if "Unrecoverable error" in line or "Error" in line[:80]]
    return (found or lines[-1:] or ["(no output)"])[0][:160]


def soak(args: argparse.Namespace, data_dir: Path) -> dict[str, object]:
    os.environ.update(child_env(data_dir))
    worker = (BinRun if args.bin_run else Worker)(data_dir)
    worker.wait_ready()  # so the first tasks' latency is the broker's, not the start-up's
    time.sleep(args.warmup)
    start = time.time() + 0.5
    step = args.publishers
    per = [len(range(p, args.tasks, step)) for p in range(step)]
    context = multiprocessing.get_context("spawn")
    publishers = [
        context.Process(
            target=publish, args=(p, n, step, args.seconds / max(n, 1), start, worker.queue)
        )
        for p, n in enumerate(per)
    ]
    for process in publishers:
        process.start()
    killed = False
    last_progress, last_count = time.time(), -1
    while True:
        time.sleep(0.2)
        now = time.time()
        worker.check(now - start)
        if not killed and args.kill and now - start >= args.seconds / 2:
            worker.kill()
            killed = True
        done = len(read_done(data_dir))
        if done != last_count:
            last_progress, last_count = now, done
        sending = any(p.is_alive() for p in publishers)
        if not sending and (done >= args.tasks or now - last_progress > args.drain):
            break
    worker.stop()
    rows = read_done(data_dir)
    counts = Counter(n for n, _, _ in rows)
    latencies = sorted(ms for _, ms, _ in rows)
    busy = max((at for _, _, at in rows), default=start) - start
    return {
        "sent": args.tasks,
        "done once": sum(1 for c in counts.values() if c == 1),
        "twice or more": sum(1 for c in counts.values() if c > 1),
        "lost": args.tasks - len(counts),
        "worker kills": int(killed),
        "exits by itself": len(worker.errors),
        "median ms": round(statistics.median(latencies)) if latencies else "-",
        "p95 ms": round(latencies[int(len(latencies) * 0.95)]) if latencies else "-",
        "tasks/s": round(len(rows) / busy, 1) if busy > 0 else "-",
        "errors": worker.errors,
    }


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its children (the worker's pool), from /proc."""
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for each in [pid, *map(int, children)]:
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def idle_cpu(seconds: float, data_dir: Path) -> float:
    """Percent of one core an idle worker uses over `seconds`."""
    os.environ.update(child_env(data_dir))
    worker = Worker(data_dir)
    try:
        worker.wait_ready()
        time.sleep(5)
        before = cpu_seconds(worker.process.pid)
        time.sleep(seconds)
        return (cpu_seconds(worker.process.pid) - before) / seconds * 100
    finally:
        worker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak.soak", description=__doc__)
    parser.add_argument("--tasks", type=int, default=2880, help="tasks to send (2880)")
    parser.add_argument("--seconds", type=float, default=240, help="spread over this long (240)")
    parser.add_argument("--publishers", type=int, default=2, help="sending processes (2)")
    parser.add_argument("--drain", type=float, default=20, help="give up after this long idle")
    parser.add_argument("--warmup", type=float, default=2, help="seconds to wait once it is ready")
    parser.add_argument(
        "--no-kill", dest="kill", action="store_false", help="do not kill the worker half-way"
    )
    parser.add_argument(
        "--bin-run", action="store_true", help="run bin/run (web, worker, beat), not a worker"
    )
    parser.add_argument("--idle", type=float, help="only measure an idle worker's CPU this long")
    parser.add_argument("--data-dir", help="a folder to use (default: a new temporary one)")
    args = parser.parse_args()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="soak-")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    broker = "redis" if os.environ.get("REDIS_URL") else os.environ.get("SOAK_BROKER", "files")
    if broker != "redis" and os.environ.get("SOAK_POLLING"):
        broker += f" (polling {os.environ['SOAK_POLLING']} s)"
    if args.idle:
        print(f"{broker}: an idle worker used {idle_cpu(args.idle, data_dir):.2f} % of a core")
        return 0
    result = soak(args, data_dir)
    errors = result.pop("errors")
    print(f"| broker | {' | '.join(result)} |")
    print(f"|---|{'---|' * len(result)}")
    print(f"| {broker} | {' | '.join(str(v) for v in result.values())} |")
    for line in errors:  # type: ignore[attr-defined]
        print(f"  worker exited by itself at {line}")
    print(f"  data folder (worker logs): {data_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
