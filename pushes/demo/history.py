"""Trunk of the demo's shop: about five weeks of commits by twenty people, written at once by
`git fast-import` into a bare repository.

Deterministic: one seeded generator, and every date is a function of the week's cut, so two
runs in the same week write the same shas. Only commits before "now" are written.
"""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from pushes.demo import code
from pushes.demo.people import AUTHORS, Person

SEED = 2012
DAYS_BEFORE_CUT = 35  # trunk history starts five weeks before this week's cut
MIN_AFTER_CUT = 24  # commits after this week's cut, so the current branch has picks to take
PHABRICATOR = "https://phabricator.example.com"

# Files of the shop at its first commit, by area.
TREE = {
    "checkout": ["app/checkout/cart.py", "app/checkout/payment.py", "app/checkout/coupons.py",
                 "app/checkout/tax.py", "web/static/checkout.js", "web/templates/checkout.html",
                 "tests/test_checkout.py", "docs/checkout.md"],
    "search": ["app/search/index.py", "app/search/ranking.py", "app/search/query.py",
               "app/search/typeahead.py", "web/static/search.js", "web/templates/search.html",
               "tests/test_search.py", "docs/search.md"],
    "catalog": ["app/catalog/products.py", "app/catalog/inventory.py", "app/catalog/pricing.py",
                "web/static/product.js", "web/templates/product.html", "tests/test_catalog.py"],
    "accounts": ["app/accounts/auth.py", "app/accounts/profile.py", "app/accounts/sessions.py",
                 "web/static/account.js", "tests/test_accounts.py"],
    "orders": ["app/orders/fulfilment.py", "app/orders/refunds.py", "app/orders/emails.py",
               "tests/test_orders.py", "docs/orders.md"],
    "web": ["web/static/css/shop.css", "web/static/analytics.js", "web/templates/base.html"],
    "ops": ["app/settings.py", "docs/deploy.md", "docs/oncall.md"],
}  # fmt: skip
TEST_COMMAND = "python3 run_tests.py"
RUN_TESTS = '''\
"""The shop's smoke test: every module parses and the required files are there."""

import ast
import pathlib
import sys

REQUIRED = ["app/__init__.py", "app/settings.py", "web/templates/base.html"]


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent
    failures = [f"missing {name}" for name in REQUIRED if not (root / name).is_file()]
    modules = sorted(root.glob("app/**/*.py")) + sorted(root.glob("tests/*.py"))
    for path in modules:
        try:
            ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as exc:
            failures.append(f"{path.relative_to(root)}:{exc.lineno}: {exc.msg}")
    for failure in failures:
        print("FAIL", failure)
    count = len(failures) or "no"
    print(f"checked {len(modules)} modules: {count} failure{'' if count == 1 else 's'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
'''
STATIC = {
    "README.md": "# Shop\n\nThe shop: catalog, search, checkout and orders.\n\n"
    "Run the tests with `python3 run_tests.py`.\n",
    "run_tests.py": RUN_TESTS,
    "app/__init__.py": '"""The shop."""\n\nfrom app import cache, metrics, settings  # noqa\n',
    "app/cache.py": '"""A process-local cache."""\n\n_store = {}\n\n\ndef get(key, default=None):\n'
    "    return _store.get(key, default)\n",
    "app/metrics.py": '"""Counters."""\n\n\ndef incr(name, by=1):\n    return name, by\n',
    ".gitignore": "__pycache__/\n*.pyc\n.venv/\n",
}

FIXES = [
    "fix {problem} in {func}", "handle {edge} in {func}", "guard {func} against {edge}",
    "stop {func} from {failure}",
]  # fmt: skip
PROBLEMS = [
    "an off-by-one", "a rounding error", "a race on concurrent updates", "a stale cache read",
    "a crash", "double counting", "a time zone bug", "an N+1 query", "a leaked connection",
]  # fmt: skip
EDGES = ["empty {noun}s", "a missing {noun}", "expired {noun}s", "non-ASCII {noun} names",
         "duplicate {noun}s", "a slow {noun} backend", "a zero {noun}"]  # fmt: skip
FAILURES = ["retrying forever", "logging every {noun} at ERROR", "blocking on the {noun} lock",
            "dropping the {noun} currency"]  # fmt: skip
FEATURES = ["add {thing} to {func}", "support {edge} in {func}", "put {func} behind a flag"]
THINGS = ["retries with backoff", "metrics", "a timeout", "a kill switch", "request tracing",
          "structured logging"]  # fmt: skip
REFACTORS = [
    "simplify {func}",
    "split {func} into smaller helpers",
    "remove dead {noun} code near {func}",
    "rename {noun} helpers in {module}",
]
SYMPTOMS = ["returned the wrong total", "raised KeyError", "timed out under load",
            "logged at ERROR for every request", "ignored the feature flag",
            "showed stale {noun}s"]  # fmt: skip
CONDITIONS = [
    "the {noun} was empty",
    "a {noun} expired mid-request",
    "two requests raced",
    "the {noun} used a non-default currency",
    "the {noun} backend was slow",
]
ACTIONS = ["This checks for it up front and returns early.",
           "This moves the lookup out of the loop and caches it.",
           "This keeps the old behaviour behind the flag for a week.",
           "This adds a regression test that failed before the change."]  # fmt: skip
MARKUP_SYMPTOMS = ["rendered off-grid on small screens", "clashed with the dark theme",
                   "showed raw template tags when the {noun} was empty"]  # fmt: skip
MARKUP_TITLES = {
    "css": ["restyle {func}", "tighten spacing in {func}", "fix contrast of {func} in dark mode"],
    "html": ["show the {noun} in the {func} block", "move {func} markup into an include",
             "fix escaping in the {func} block"],
    "md": ["docs: describe {func}"],
}  # fmt: skip
TEST_PLANS = [
    "python3 run_tests.py",
    "Ran run_tests.py; clicked through checkout on a devserver.",
    "Unit tests; canaried on one web host for an hour.",
    "Added a test; replayed an hour of production traffic against a sandbox.",
]


@dataclass
class DemoCommit:
    """One trunk commit as written: who, when, what, and which earlier commit it follows up."""

    position: int
    author: Person
    at: dt.datetime
    area: str
    kind: str  # initial, fix, feature, refactor, docs, follow-up, big
    title: str
    message: str
    files: dict[str, str]  # path -> full new content
    follows: int | None = None
    sha: str = ""


def commit_times(cut: dt.datetime, now: dt.datetime) -> list[dt.datetime]:
    """When trunk commits land: weekdays in working hours, a few evenings and weekends."""
    rng = random.Random(SEED)
    tz = cut.tzinfo
    assert isinstance(tz, zoneinfo.ZoneInfo)
    start = cut.date() - dt.timedelta(days=DAYS_BEFORE_CUT)
    times = [dt.datetime.combine(start, dt.time(10, 0), tzinfo=tz)]  # the import
    for offset in range(1, DAYS_BEFORE_CUT + 7):
        day = start + dt.timedelta(days=offset)
        weekday = day.weekday() < 5
        count = rng.randint(11, 17) if weekday else rng.choice([0, 0, 1, 2])
        minutes = []
        for _ in range(count):
            if weekday and rng.random() > 0.08:
                minutes.append(rng.triangular(9 * 60 + 30, 18 * 60 + 30, 14 * 60))
            else:
                minutes.append(rng.uniform(19 * 60, 23 * 60 + 30))
        midnight = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
        times += sorted(
            midnight + dt.timedelta(minutes=int(m), seconds=rng.randrange(60)) for m in minutes
        )
    # Ten minutes ago; but just after the cut, most of the time since it.
    latest = now - min(dt.timedelta(minutes=10), max(now - cut, dt.timedelta(0)) * 0.3)
    times = [t for t in times if t <= latest]
    after = [t for t in times if t > cut]
    if len(after) < MIN_AFTER_CUT and latest > cut:
        # Early in the week: squeeze enough commits in, so the current branch has picks.
        span = (latest - cut) / MIN_AFTER_CUT
        times = [t for t in times if t <= cut]
        times += [cut + span * (i + 1) for i in range(MIN_AFTER_CUT)]
    return times


class _Trunk:
    def __init__(self) -> None:
        self.rng = random.Random(SEED + 1)
        self.writer = code.Writer(random.Random(SEED + 2))
        self.files: dict[str, code.SourceFile] = {}
        self.touches: list[tuple[int, code.Touch]] = []
        self.diff = 41000

    def _author(self) -> Person:
        return self.rng.choices(AUTHORS, weights=[6 - i % 5 for i in range(len(AUTHORS))])[0]

    def _fill(self, template: str, area: str, func: str, path: str) -> str:
        noun = self.rng.choice(code.NOUNS[area]).replace("_", " ")
        text = template.format(
            problem=self.rng.choice(PROBLEMS), edge=self.rng.choice(EDGES),
            failure=self.rng.choice(FAILURES), thing=self.rng.choice(THINGS),
            func=func, module=path.rsplit("/", 1)[-1], noun=noun,
        )  # fmt: skip
        return text.format(noun=noun)

    def _message(self, title: str, commit: DemoCommit, func: str, path: str) -> str:
        rng = self.rng
        if commit.kind == "docs":
            summary = f"Brings `{path}` in line with how we run {commit.area} today."
        elif commit.kind == "follow-up":
            summary = f"Review feedback on the earlier change to `{func}` that landed after it."
        elif not path.endswith((".py", ".js")):
            looks = rng.choice(MARKUP_SYMPTOMS).format(noun=rng.choice(code.NOUNS[commit.area]))
            summary = f"`{func}` {looks}. Checked in Chrome, Firefox and Safari, light and dark."
        else:
            symptom = self._fill(rng.choice(SYMPTOMS), commit.area, func, path)
            condition = self._fill(rng.choice(CONDITIONS), commit.area, func, path)
            summary = f"`{func}` {symptom} when {condition}. {rng.choice(ACTIONS)}"
        reviewers = rng.sample([p.username for p in AUTHORS if p != commit.author], 2)
        lines = [title, "", "Summary:", summary, "", "Test Plan:", rng.choice(TEST_PLANS), ""]
        lines.append(f"Reviewers: {', '.join(reviewers[: rng.randint(1, 2)])}")
        self.diff += rng.randint(3, 40)
        if commit.kind != "initial" and rng.random() < 0.9:
            lines += ["", f"Differential Revision: {PHABRICATOR}/D{self.diff}"]
        return "\n".join(lines) + "\n"

    def initial(self, at: dt.datetime) -> DemoCommit:
        for area, paths in TREE.items():
            for path in paths:
                kind = code.kind_of(path)
                self.files[path] = self.writer.new_file(path, area, 3 if kind == "md" else 6)
        author = AUTHORS[0]
        commit = DemoCommit(0, author, at, "ops", "initial", "Import the shop", "", {})
        commit.message = "Import the shop\n\nThe shop as it was on the old repository's last day.\n"
        commit.files = {**STATIC, **{p: f.render() for p, f in self.files.items()}}
        return commit

    def next(self, position: int, at: dt.datetime, kind: str | None = None) -> DemoCommit:
        rng = self.rng
        author = self._author()
        area = rng.choice(author.areas)
        recent = [(i, t) for i, t in self.touches[-40:] if i < position]
        roll = rng.random()
        if roll < 0.08 and recent and not kind:
            return self._follow_up(position, at, author, *rng.choice(recent))
        kinds = ["fix", "feature", "refactor", "docs", "big"]
        kind = kind or rng.choices(kinds, [55, 22, 12, 8, 3])[0]
        if kind == "big" and area in ("web", "ops"):
            area = "checkout"
        paths = [p for p in self.files if self.files[p].area == area]
        if kind == "docs":
            paths = [p for p in self.files if p.endswith(".md")] or paths
        elif kind != "big":
            paths = [p for p in paths if not p.endswith(".md")] or paths
        main = rng.choice([p for p in paths if p.endswith(".py")] if kind == "big" else paths)
        area = self.files[main].area
        commit = DemoCommit(position, author, at, area, kind, "", "", {})
        if kind == "big":
            folder = main.rsplit("/", 1)[0]
            noun = rng.choice(code.NOUNS[area])
            main = f"{folder}/{noun}_v{position}.py"
            self.files[main] = self.writer.new_file(main, area, rng.randint(36, 50))
            func = self.files[main].blocks[0].name
            title = f"{area}: new {noun.replace('_', ' ')} pipeline (behind a flag)"
        else:
            op = rng.choice(["replace", "replace", "insert", "delete", "add-block"])
            func, touch = code.edit(self.writer, self.files[main], op)
            if touch:
                self.touches.append((position, touch))
            template = rng.choice({"fix": FIXES, "feature": FEATURES}.get(kind, REFACTORS))
            kind_of_file = code.kind_of(main)
            if kind_of_file in MARKUP_TITLES:
                template = rng.choice(MARKUP_TITLES[kind_of_file])
            if kind == "docs":
                template = "docs: update the {noun} section of " + main.rsplit("/", 1)[-1]
            title = f"{area}: " + self._fill(template, area, func, main)
            if kind == "docs":
                title = title.split(": ", 1)[1]
        touched = {main}
        if kind in ("fix", "feature", "big") and rng.random() < 0.5 or kind == "big":
            tests = [p for p in paths if p.startswith("tests/")]
            if tests:
                code.edit(self.writer, self.files[tests[0]], "insert")
                touched.add(tests[0])
        commit.title = title
        commit.message = self._message(title, commit, func, main)
        commit.files = {p: self.files[p].render() for p in touched}
        return commit

    def _follow_up(
        self, position: int, at: dt.datetime, author: Person, original: int, touch: code.Touch
    ) -> DemoCommit:
        source = self.files[touch.path]
        if not code.rewrite(self.writer, source, touch):
            return self.next(position, at)  # the line is gone: an ordinary commit instead
        self.touches = [(i, t) for i, t in self.touches if t != touch]
        small = self.rng.choice(["the log message", "a typo", "the default", "the metric name"])
        title = f"{source.area}: follow-up on {touch.name}: fix {small}"
        commit = DemoCommit(position, author, at, source.area, "follow-up", title, "", {})
        commit.follows = original
        commit.message = self._message(title, commit, touch.name, touch.path)
        commit.files = {touch.path: source.render()}
        return commit


def history_generate(cut: dt.datetime, now: dt.datetime) -> list[DemoCommit]:
    """The trunk commits before `now`, oldest first, for the week whose cut is `cut`."""
    times = commit_times(cut, now)
    trunk = _Trunk()
    commits = [trunk.initial(times[0])]
    # The fourth commit after the cut is large, so this week has a change the dashboard flags.
    large = next((i + 3 for i, at in enumerate(times) if at > cut), -1)
    for position, at in enumerate(times[1:], start=1):
        commits.append(trunk.next(position, at, "big" if position == large else None))
    return commits


def _stamp(at: dt.datetime) -> str:
    offset = at.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{int(at.timestamp())} {sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n%s\n" % (len(raw), raw)


def history_write(remote: Path, commits: list[DemoCommit]) -> None:
    """Write `commits` as `main` of a new bare repository at `remote`; fills in their shas."""
    remote.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(remote)], check=True
    )
    stream = bytearray()
    for mark, commit in enumerate(commits, start=1):
        person = f"{commit.author.name} <{commit.author.email}> {_stamp(commit.at)}"
        stream += b"commit refs/heads/main\nmark :%d\n" % mark
        stream += f"author {person}\ncommitter {person}\n".encode()
        stream += _data(commit.message)
        if mark > 1:
            stream += b"from :%d\n" % (mark - 1)
        for path, content in sorted(commit.files.items()):
            stream += f"M 100644 inline {path}\n".encode() + _data(content)
        stream += b"\n"
    marks = remote / "demo-marks"
    subprocess.run(
        ["git", "fast-import", "--quiet", f"--export-marks={marks}"],
        input=bytes(stream),
        cwd=remote,
        check=True,
    )
    shas = dict(line.split() for line in marks.read_text().splitlines())
    marks.unlink()
    for mark, commit in enumerate(commits, start=1):
        commit.sha = shas[f":{mark}"]
