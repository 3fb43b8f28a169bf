"""Plausible source files for the demo's shop, and the small edits commits make to them.

A file is a header and a list of blocks (a function, a CSS rule, a section of a document); a
block has a fixed head and tail and a body of one-line statements that commits replace, insert
or delete. Edits stay inside one block, so most cherry-picks apply cleanly, and a follow-up
that rewrites the line an earlier commit wrote conflicts without it, as it would in life.
Every Python file stays valid Python: the shop's test script parses them all.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

NOUNS = {
    "checkout": ["cart", "coupon", "discount", "total", "tax", "payment", "card", "invoice"],
    "search": ["query", "shard", "ranking", "score", "facet", "synonym", "suggestion", "hit"],
    "catalog": ["product", "sku", "stock", "price", "variant", "image", "category", "bundle"],
    "accounts": ["user", "session", "token", "profile", "address", "login", "password_reset"],
    "orders": ["order", "shipment", "parcel", "refund", "receipt", "warehouse", "carrier"],
    "web": ["banner", "page_view", "widget", "layout", "theme", "menu", "modal"],
    "ops": ["deploy", "canary", "alert", "dashboard", "rollback", "host", "runbook"],
}
VERBS = [
    "compute", "apply", "validate", "load", "fetch", "build", "format", "parse",
    "normalise", "record", "refresh", "lookup", "merge", "split", "resolve", "render",
]  # fmt: skip
ATTRS = ["id", "amount", "currency", "status", "created_at", "region", "items", "weight"]
EVENTS = ["hit", "miss", "retry", "timeout", "error", "fallback", "skipped"]
CONSTS = ["MAX_RETRIES", "CACHE_TTL", "DEFAULT_CURRENCY", "PAGE_SIZE", "TIMEOUT_MS"]
CSS_PROPS = [
    "color: #{hex}", "margin: {n}px {m}px", "padding: {n}px", "font-weight: {w}",
    "border-radius: {m}px", "background: #{hex}", "gap: {m}px", "line-height: 1.{m}",
]  # fmt: skip
SENTENCES = [
    "The {noun} service owns this path; page its on-call before changing it.",
    "Every {noun} change is behind the `{flag}` flag until it has run a week.",
    "If {noun} errors climb above 1%, roll back first and investigate second.",
    "The {noun} cache holds entries for five minutes; a purge takes effect at once.",
    "Dashboards for {noun} traffic live under Shop / {Noun} in Grafana.",
    "Tests for {noun} run in `run_tests.py`; keep them under a second each.",
    "A {noun} that cannot be loaded is logged and skipped, never fatal.",
    "Ask in #shop-{area} before adding a new {noun} dependency.",
]


@dataclass
class Block:
    id: int
    name: str
    head: list[str]
    body: list[str]
    tail: list[str]

    def lines(self) -> list[str]:
        return [*self.head, *self.body, *self.tail]


@dataclass
class SourceFile:
    path: str
    area: str
    kind: str  # py, js, md, css, html
    header: list[str]
    blocks: list[Block] = field(default_factory=list)

    def render(self) -> str:
        gap = "\n\n\n" if self.kind == "py" else "\n\n"
        parts = ["\n".join(self.header), *("\n".join(b.lines()) for b in self.blocks)]
        return gap.join(parts) + "\n"


def kind_of(path: str) -> str:
    return path.rsplit(".", 1)[-1]


class Writer:
    """Makes blocks and lines for one area, from one seeded random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.next_id = 0

    def _noun(self, area: str) -> str:
        return self.rng.choice(NOUNS[area])

    def _fill(self, template: str, area: str) -> str:
        rng = self.rng
        a, b = rng.sample(NOUNS[area], 2)
        noun = self._noun(area)
        return template.format(
            a=a, b=b, noun=noun, Noun=noun.replace("_", " ").title(), area=area,
            f=f"{rng.choice(VERBS)}_{self._noun(area)}", attr=rng.choice(ATTRS),
            event=rng.choice(EVENTS), const=rng.choice(CONSTS), n=rng.randint(2, 24),
            m=rng.randint(2, 9), w=rng.choice([400, 500, 600]), hex=f"{rng.randrange(4096):03x}",
            flag=f"{area}_{noun}_v{rng.randint(2, 4)}", x=a[0],
        )  # fmt: skip

    def line(self, kind: str, area: str) -> str:
        templates = {
            "py": [
                "    {a} = {f}({b})",
                "    {a} = round({b}.{attr} * {n} / 100, 2)",
                '    log.debug("{f}: %s", {a})',
                '    metrics.incr("{area}.{a}.{event}")',
                "    if not {a}: return {b}",
                "    {a} = [{x} for {x} in {b} if {x}.{attr}]",
                "    {a}.{attr} = {b}.{attr}",
                "    {a} = settings.{const}",
                '    {a} = cache.get("{area}:{b}", {b})',
            ],
            "js": [
                "  const {a} = {b}.{attr} ?? null;",
                "  track('{area}.{a}.{event}');",
                "  if (!{a}) return {b};",
                "  {a}.{attr} = {b}.{attr};",
                "  const {a}s = {b}s.filter(({x}) => {x}.{attr});",
            ],
            "css": ["  " + p + ";" for p in CSS_PROPS],
            "html": [
                '  <div class="{area}-{a}">{{{{ {a}.{attr} }}}}</div>',
                '  <span class="{b}-{attr}">{{{{ {b}|default:"" }}}}</span>',
                '  {{% include "{area}/{a}.html" %}}',
            ],
            "md": SENTENCES,
        }
        return self._fill(self.rng.choice(templates[kind]), area)

    def block(self, kind: str, area: str, size: int | None = None) -> Block:
        rng = self.rng
        self.next_id += 1
        size = size or rng.randint(2, 6)
        body = [self.line(kind, area) for _ in range(size)]
        noun = self._noun(area)
        name = f"{rng.choice(VERBS)}_{noun}"
        if kind == "py":
            args = ", ".join(rng.sample(NOUNS[area], rng.randint(1, 3)))
            verb, _, rest = name.partition("_")
            head = [
                f"def {name}({args}):",
                f'    """{verb.capitalize()} the {rest.replace("_", " ")}."""',
            ]
            tail = [f"    return {args.split(', ')[0]}"]
        elif kind == "js":
            camel = name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])
            name = camel
            head = [f"export function {camel}({noun}, options = {{}}) {{"]
            tail = [f"  return {noun};", "}"]
        elif kind == "css":
            name = f".{area}-{noun.replace('_', '-')}"
            head, tail = [f"{name} {{"], ["}"]
        elif kind == "html":
            name = f"{area}_{noun}"
            head, tail = [f"{{% block {name} %}}"], ["{% endblock %}"]
        else:
            topic = rng.choice(["alerts", "rollouts", "caching", "errors", "limits", "on-call"])
            name = f"{noun.replace('_', ' ').capitalize()} {topic}"
            head, tail = [f"## {name}", ""], []
        return Block(self.next_id, name, head, body, tail)

    def new_file(self, path: str, area: str, blocks: int) -> SourceFile:
        kind = kind_of(path)
        title = path.rsplit("/", 1)[-1].rsplit(".", 1)[0].replace("_", " ")
        headers = {
            "py": [
                f'"""Shop {area}: {title}."""',
                "",
                "import logging",
                "",
                "from app import cache, metrics, settings",
                "",
                "log = logging.getLogger(__name__)",
            ],
            "js": [f"// Shop {area}: {title}.", "import { track } from './analytics.js';"],
            "css": [f"/* Shop styles: {title}. */"],
            "html": ['{% extends "base.html" %}'],
            "md": [f"# {title.capitalize()}", "", f"How the shop's {area} code works and is run."],
        }
        source = SourceFile(path, area, kind, headers[kind])
        source.blocks = [self.block(kind, area) for _ in range(blocks)]
        return source


@dataclass(frozen=True)
class Touch:
    """What one edit did: enough for a follow-up to rewrite the same line."""

    path: str
    block_id: int
    line: str
    name: str


def edit(writer: Writer, source: SourceFile, op: str) -> tuple[str, Touch | None]:
    """Apply one small edit to `source`; returns the touched block's name and the line written."""
    rng = writer.rng
    block = rng.choice(source.blocks)
    if op == "add-block":
        new = writer.block(source.kind, source.area)
        source.blocks.insert(rng.randint(0, len(source.blocks)), new)
        return new.name, None
    if op == "delete" and len(block.body) > 2:
        del block.body[rng.randrange(len(block.body))]
        return block.name, None
    if op == "insert":
        for _ in range(rng.randint(1, 3)):
            block.body.insert(
                rng.randint(0, len(block.body)), writer.line(source.kind, source.area)
            )
        return block.name, None
    index = rng.randrange(len(block.body))
    block.body[index] = _different(writer, source, block.body[index])
    return block.name, Touch(source.path, block.id, block.body[index], block.name)


def rewrite(writer: Writer, source: SourceFile, touch: Touch) -> bool:
    """Rewrite the line an earlier commit wrote, if it is still there (a follow-up)."""
    for block in source.blocks:
        if block.id == touch.block_id and touch.line in block.body:
            index = block.body.index(touch.line)
            block.body[index] = _different(writer, source, touch.line)
            return True
    return False


def _different(writer: Writer, source: SourceFile, old: str) -> str:
    for _ in range(10):
        new = writer.line(source.kind, source.area)
        if new != old:
            return new
    return old + "  # tuned"
