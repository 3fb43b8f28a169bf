"""The benchmark's trunk: N commits written by ONE `git fast-import` stream into a bare repo.

Deterministic: one seeded generator and fixed dates, so a scale always writes the same shas.
Every commit changes a line or two of the `src/` files; the last `push_picks` commits each
change a different file of `lib/stable/` that nothing else touches after the first commit, so
they cherry-pick cleanly onto any branch cut before them (the push benchmark picks them).
"""

from __future__ import annotations

import datetime as dt
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SEED = 2012
LINES = 16  # lines of each generated file
AREAS = ["checkout", "search", "catalog", "accounts", "orders", "ads", "feed", "photos"]
PHABRICATOR = "https://phabricator.example.com"
THINGS = ["an off-by-one", "a stale cache read", "a race", "a crash", "an N+1 query",
          "a time zone bug", "double counting", "a leaked connection", "a slow path"]  # fmt: skip


@dataclass
class History:
    """What was written: each commit's sha, time, title, author and first file, oldest first."""

    shas: list[str] = field(default_factory=list)
    times: list[dt.datetime] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    authors: list[int] = field(default_factory=list)  # engineer numbers
    paths: list[str] = field(default_factory=list)
    push_picks: int = 0

    @property
    def push_shas(self) -> list[str]:
        """The commits the push benchmark picks: the last `push_picks`, each its own file."""
        return self.shas[len(self.shas) - self.push_picks :]


def engineer_name(n: int) -> tuple[str, str]:
    return f"Engineer {n}", f"eng{n:05d}@bench.example.com"


def _data(raw: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(raw), raw)


def _render(lines: list[int], name: str) -> bytes:
    body = "".join(f"{name.upper()}_{i} = {value}\n" for i, value in enumerate(lines))
    return f'"""{name}."""\n\n{body}'.encode()


def history_write(
    remote: Path,
    *,
    commits: int,
    engineers: int,
    start: dt.datetime,
    end: dt.datetime,
    push_picks: int,
) -> History:
    """Write `commits` commits as `main` of a new bare repository at `remote`."""
    rng = random.Random(SEED)
    files = max(40, commits // 50)
    # Sixteen files to a folder: fast-import writes every tree on a changed path again, so
    # small trees keep a 100,000-commit stream to seconds.
    paths = [
        f"src/{AREAS[i % len(AREAS)]}/pkg_{i // (16 * len(AREAS)):03d}/module_{i:05d}.py"
        for i in range(files)
    ]
    stable = [f"lib/stable/group_{j // 16:02d}/mod_{j:04d}.py" for j in range(push_picks)]
    content = {path: [0] * LINES for path in paths + stable}
    step = (end - start) / commits
    history = History(push_picks=push_picks)
    remote.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(remote)], check=True
    )
    marks = remote / "bench-marks"
    process = _fast_import(remote, marks)
    assert process.stdin is not None
    chunk = bytearray()
    for position in range(commits):
        at = start + step * position
        author = rng.randrange(engineers)
        if position == 0:
            title, changed = "Import the monorepo", list(content)
        elif position >= commits - push_picks:
            changed = [stable[position - (commits - push_picks)]]
            content[changed[0]][LINES // 2] = position
            title = f"stable: fix {rng.choice(THINGS)} in {changed[0].rsplit('/', 1)[1]}"
        else:
            changed = [rng.choice(paths)]
            if rng.random() < 0.1:
                changed.append(rng.choice(paths))
            for path in changed:
                content[path][rng.randrange(LINES)] = position
            area = changed[0].split("/")[1]
            title = f"{area}: fix {rng.choice(THINGS)} in {changed[0].rsplit('/', 1)[1]}"
        name, email = engineer_name(author)
        who = f"{name} <{email}> {int(at.timestamp())} +0000"
        message = (
            f"{title}\n\nSummary: found in production, fixed with a test.\n\n"
            f"Differential Revision: {PHABRICATOR}/D{100_000 + position}\n"
        )
        chunk += b"commit refs/heads/main\nmark :%d\n" % (position + 1)
        chunk += f"author {who}\ncommitter {who}\n".encode() + _data(message.encode())
        for path in dict.fromkeys(changed):
            stem = path.rsplit("/", 1)[1].removesuffix(".py")
            chunk += f"M 100644 inline {path}\n".encode() + _data(_render(content[path], stem))
        chunk += b"\n"
        history.times.append(at)
        history.titles.append(title)
        history.authors.append(author)
        history.paths.append(changed[0])
        if len(chunk) > 1 << 20:
            process.stdin.write(chunk)
            chunk = bytearray()
    process.stdin.write(bytes(chunk) + b"done\n")
    process.stdin.close()
    if process.wait():
        raise RuntimeError("git fast-import failed")
    shas = dict(line.split() for line in marks.read_text().splitlines())
    marks.unlink()
    history.shas = [shas[f":{mark}"] for mark in range(1, commits + 1)]
    return history


def _fast_import(remote: Path, marks: Path) -> subprocess.Popen:
    """`git fast-import` into `remote`, reading its stream on stdin, writing its marks to
    `marks` once the stream says `done`."""
    return subprocess.Popen(
        ["git", "fast-import", "--quiet", f"--export-marks={marks}", "--done"],
        stdin=subprocess.PIPE,
        cwd=remote,
    )


def history_extend(remote: Path, history: History, *, commits: int, at: dt.datetime) -> list[str]:
    """Push `commits` more commits onto `main` of `remote` (as landing on trunk would), each
    adding a file of its own, one second apart from `at`; one `git fast-import` stream. Their
    shas are added to `history` and returned, oldest first."""
    first = len(history.shas)
    marks = remote / "bench-extend-marks"
    process = _fast_import(remote, marks)
    assert process.stdin is not None
    chunk = bytearray()
    for n in range(commits):
        position = first + n
        when = at + dt.timedelta(seconds=n)
        name, email = engineer_name(position % 1000)
        who = f"{name} <{email}> {int(when.timestamp())} +0000"
        path = f"src/landed/group_{position // 1000:05d}/change_{position:07d}.py"
        title = f"landed: change {position}"
        message = f"{title}\n\nDifferential Revision: {PHABRICATOR}/D{100_000 + position}\n"
        chunk += b"commit refs/heads/main\nmark :%d\n" % (n + 1)
        chunk += f"author {who}\ncommitter {who}\n".encode() + _data(message.encode())
        if n == 0:
            chunk += b"from refs/heads/main^0\n"
        chunk += f"M 100644 inline {path}\n".encode() + _data(f"CHANGE = {position}\n".encode())
        chunk += b"\n"
        history.times.append(when)
        history.titles.append(title)
        history.authors.append(position % 1000)
        history.paths.append(path)
    process.stdin.write(bytes(chunk) + b"done\n")
    process.stdin.close()
    if process.wait():
        raise RuntimeError("git fast-import failed")
    shas = dict(line.split() for line in marks.read_text().splitlines())
    marks.unlink()
    added = [shas[f":{mark}"] for mark in range(1, commits + 1)]
    history.shas += added
    return added
