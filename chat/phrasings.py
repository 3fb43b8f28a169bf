"""How people ask the bot: every command's phrasings, as data, read by the one grammar.

Slack (slash command, mention, direct message), the web console and `manage.py bot` all hand
their line to `chat.commands.answer`, which reads it here first:

1. `tidy` takes off what carries no meaning for the bot: a leading @-mention of it ("<@U1>",
   "@releasebot", "hey rb,"), politeness ("please", "could you", "thanks"), curly quotes.
2. `PHRASINGS` is tried in order, each pattern against the whole line, case aside. A match
   names the command and writes its canonical line: "where is my revision `abc1234`?" reads as
   `status abc1234`, "cancel my pick #70" as `withdraw #70`. A revision or pick keeps no
   backticks, quotes or punctuation around it.
3. Else the first word (or two: "push now") names a command, or one of its other words
   (`Verb.words`: "cherry-pick" is `pick`), and the rest of the line is its arguments as
   written: the commands' own syntax always works.

`help` lists its examples from the same table, and an unknown line is answered with the
closest command and an example of it (`closest`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass

# --- the pieces patterns are written with ---------------------------------------------------

# A revision (SHA, review URL, D123) or a pick (#12, 12), without what people put around it.
_OPEN = r"[`'\"(\[<*_]*"
_CLOSE = r"[`'\")\]>*_.,;:!?]*"
_REF = rf"{_OPEN}(?P<ref>https?://[^\s`'\"<>]+?|[0-9a-f]{{7,40}}|d\d{{1,9}}|\#?\d{{1,9}}){_CLOSE}"
_REV = rf"{_OPEN}(?P<ref>[0-9a-f]{{7,40}}){_CLOSE}"  # a pick needs a trunk SHA
_WHO = r"(?P<who><@[A-Z0-9]+(?:\|[^>]*)?>|@?[\w.\-]+)"
# "my revision", "the pick", "commit", "pr number": words before a reference that say nothing.
_WHAT = (
    r"(?:(?:my|the|our|this|that|your)\s+)?"
    r"(?:(?:revision|rev|commit|change|fix|sha|cherry[- ]?pick|pick|pr|diff|review|patch|"
    r"pull request|merge request|request)\s+)?(?:(?:number|no\.?)\s+)?"
)
# The same before a reference said alone ("my commit 3f2a9c1"): not "pick 12", a usage slip.
_THING = (
    r"(?:(?:my|the|our|this|that)\s+)?"
    r"(?:(?:revision|rev|commit|change|sha|pr|diff|review|patch|pull request|merge request)\s+)?"
)
_PLACE = r"(?:prod(?:uction)?|the branch|(?:the )?release(?: branch)?|the train|live|staging)"
_REST = r"(?:[\s,:;]+(?P<rest>\S.*?))?"
_END = r"[\s?!.]*"
_PIECES = {"ref": _REF, "rev": _REV, "who": _WHO, "what": _WHAT, "thing": _THING}
_PIECES |= {"place": _PLACE}
_PIECES |= {"rest": _REST, "end": _END}


@dataclass(frozen=True)
class Phrasing:
    """One way of saying a command: a pattern for the whole line, and an example of it."""

    pattern: str  # with {ref}/{rev}/{who}/{rest} (what the command gets) and {what}/{end}
    example: str

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern.format(**_PIECES), re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Verb:
    """A command's ways in. The first phrasing is its own syntax; `examples` are what help
    shows under its usage; `words` are other single words people use for it."""

    name: str
    phrasings: tuple[Phrasing, ...]
    examples: tuple[str, ...] = ()
    words: tuple[str, ...] = ()

    def said_as(self) -> list[str]:
        """Examples of the natural phrasings (the first, the command itself, aside)."""
        return [p.example for p in self.phrasings[1:]]


def _p(pattern: str, example: str) -> Phrasing:
    return Phrasing(pattern, example)


_YES = r"(?:(?:yes|yep|yeah|yup|sure|ok|okay|aye)[\s,!.]*)?"
_FOR_PICK = r"(?:\s+(?:for|on|with)\s+{what}{ref})?"

VERBS: tuple[Verb, ...] = (
    Verb(
        "status",
        (
            _p(r"status\s+{what}{ref}{end}", "status 3f2a9c1"),
            _p(
                r"where(?:'s|s|\s+is|\s+are)?\s+{what}{ref}(?:\s+(?:now|at|going))?{end}",
                "where is my revision 3f2a9c1?",
            ),  # fmt: skip
            _p(
                r"is\s+{what}{ref}\s+(?:(?:already|yet)\s+)?(?:(?:out|shipped|deployed|live|"
                r"released|merged|picked|landed|done)(?:\s+(?:in|on|to)\s+{place})?|(?:in|on)\s+"
                r"{place})(?:\s+(?:yet|already|now))?{end}",
                "is 3f2a9c1 out?",
            ),  # fmt: skip
            _p(
                r"(?:has|have|did)\s+{what}{ref}\s+(?:been\s+|gotten\s+|got\s+)?(?:ship(?:ped)?|"
                r"go(?:ne)?\s+out|deploy(?:ed)?|release(?:d)?|land(?:ed)?|pick(?:ed)?|merge(?:d)?)"
                r"(?:\s+(?:in|on|to)\s+{place})?(?:\s+(?:yet|already))?{end}",
                "has 3f2a9c1 shipped?",
            ),  # fmt: skip
            _p(
                r"when\s+(?:will|does|did|is)\s+{what}{ref}\s+(?:ship|go(?:ing)?\s+out|deploy|"
                r"land|be\s+(?:shipped|deployed|out))(?:\s+(?:in|on|to)\s+{place})?{end}",
                "when will 3f2a9c1 ship?",
            ),  # fmt: skip
            _p(
                r"(?:what(?:'s|s|\s+is)\s+the\s+)?status\s+(?:of|for|on)\s+{what}{ref}{end}",
                "status of 3f2a9c1",
            ),  # fmt: skip
            _p(r"(?:what|how)\s+about\s+{what}{ref}{end}", "what about D123"),
            _p(
                r"what(?:'s|s|\s+is)?\s+(?:up\s+with|happening\s+with|going\s+on\s+with|new\s+with|"
                r"happened\s+to)\s+{what}{ref}{end}",
                "what happened to 3f2a9c1?",
            ),  # fmt: skip
            _p(
                r"(?:any\s+)?(?:news|updates?)\s+(?:on|about)\s+{what}{ref}{end}",
                "any news on 3f2a9c1?",
            ),  # fmt: skip
            _p(r"{thing}{ref}{end}", "#70?"),  # a reference alone
        ),
        examples=(
            "status 3f2a9c1",
            "status https://github.com/acme/app/pull/123",
            "status D123",
        ),
    ),
    Verb(
        "pick",
        (
            _p(r"pick\s+{what}{rev}{rest}", "pick 3f2a9c1 because checkout crashes"),
            _p(
                r"(?:cherry[- ]?pick|backport|request(?:\s+a)?(?:\s+(?:cherry[- ]?)?pick)?"
                r"(?:\s+(?:of|for))?)\s+{what}{rev}{rest}",
                "please cherry-pick 3f2a9c1 because checkout crashes",
            ),  # fmt: skip
            _p(
                r"(?:i\s+(?:need|want|would\s+like)|i'd\s+like|can\s+i\s+(?:get|have))\s+(?:a\s+)?"
                r"(?:cherry[- ]?)?pick\s+(?:of\s+)?{what}{rev}{rest}",
                "I need a pick of 3f2a9c1: checkout crashes",
            ),  # fmt: skip
        ),
        examples=(
            "pick 3f2a9c1 Fixes the checkout crash",
            "pick 3f2a9c1 to release/2026-11-22 --backup @bob Fixes the crash",
            "pick 3f2a9c1 urgent Checkout is down",
        ),
        words=("cherry-pick", "cherrypick", "backport", "request"),
    ),
    Verb(
        "withdraw",
        (
            _p(r"withdraw\s+{what}{ref}{rest}", "withdraw #12"),
            _p(
                r"(?:cancel|retract|take\s+back|drop|abandon|scrap|forget)\s+{what}{ref}{rest}",
                "cancel my pick #12",
            ),  # fmt: skip
            _p(r"never\s*mind(?:\s+about)?\s+{what}{ref}{rest}", "never mind #12"),
        ),
        examples=("withdraw #12", "withdraw 3f2a9c1 Fixed by a config change"),
        words=("cancel", "retract", "unpick"),
    ),
    Verb(
        "confirm",
        (
            _p(r"confirm(?:ed)?(?:\s+{what}{ref})?{end}", "confirm #12"),
            _p(
                _YES + r"(?:i'?m|i\s+am|im|i'll\s+be|i\s+will\s+be)\s+(?:here|online|around|"
                r"available|ready|in|there)" + _FOR_PICK + "{end}",
                "yes, I'm here",
            ),  # fmt: skip
            _p(_YES + r"(?:here|present|online|count\s+me\s+in)" + _FOR_PICK + "{end}", "here"),
            _p(r"(?:yes|yep|yeah|yup){end}", "yes"),
        ),
        examples=("confirm", "confirm #12"),
    ),
    Verb(
        "decline",
        (
            _p(r"decline(?:\s+{what}{ref}(?=[\s,:;.!?]|$))?{rest}", "decline #12 On a plane"),
            _p(r"not\s+this\s+time(?:\s+for\s+{what}{ref})?{rest}", "not this time, on a plane"),
            _p(
                r"(?:(?:no|nope|sorry)[\s,!.]*)?(?:(?:i'?m|i\s+am|i'll|i\s+will)\s+(?:not|be\s+away|"
                r"be\s+out|be\s+offline)(?:\s+(?:be\s+)?(?:here|around|available|online|there))?|"
                r"i\s+(?:can'?t|cannot)(?:\s+(?:make\s+it|be\s+there|be\s+here|be\s+online))?)"
                + _FOR_PICK
                + "{rest}",
                "I can't make it, on a plane",
            ),  # fmt: skip
        ),
        examples=("decline", "decline #12 On a plane"),
    ),
    Verb(
        "approve",
        (
            _p(r"approve\s+{what}{ref}{rest}", "approve #12"),
            _p(
                r"(?:accept|lgtm|sign\s+off(?:\s+on)?|greenlight)\s+{what}{ref}{rest}", "lgtm #12"
            ),  # fmt: skip
        ),
        examples=("approve #12", "approve 3f2a9c1 Small and well reviewed"),
        words=("accept", "lgtm"),
    ),
    Verb(
        "defer",
        (
            _p(
                r"defer\s+{what}{ref}(?:\s+to\s+(?:the\s+)?next\s+push)?{rest}",
                "defer #12 to the next push",
            ),  # fmt: skip
            _p(
                r"(?:postpone|delay|bump)\s+{what}{ref}(?:\s+to\s+(?:the\s+)?next\s+push)?{rest}",
                "postpone #12 because tomorrow's push is quieter",
            ),  # fmt: skip
        ),
        examples=("defer #12 Let tomorrow's push take it",),
        words=("postpone", "delay"),
    ),
    Verb(
        "reject",
        (
            _p(r"reject\s+{what}{ref}{rest}", "reject #12 because it is too large"),
            _p(
                r"(?:refuse|deny|turn\s+down|veto)\s+{what}{ref}{rest}",
                "turn down #12 because it is too large",
            ),  # fmt: skip
        ),
        examples=("reject #12 Too large for a pick: ship it with the train",),
        words=("refuse", "deny", "veto"),
    ),
    Verb(
        "revert",
        (
            _p(r"revert\s+{what}{ref}{rest}", "revert #12 because it broke search"),
            _p(
                r"(?:undo|back\s+out|roll\s+back)\s+(?:the\s+)?(?:pick\s+)?{what}{ref}{rest}",
                "back out #12 because it broke search",
            ),  # fmt: skip
        ),
        examples=("revert #12 It broke search",),
        words=("undo",),
    ),
    Verb(
        "unlike",
        (
            _p(r"unlike\s+{who}{rest}", "unlike @alice because pick #12 broke search"),
            _p(
                r"(?:take|knock|dock)\s+(?:a|one)\s+star\s+(?:off|from)\s+{who}{rest}",
                "take a star off @alice because pick #12 broke search",
            ),  # fmt: skip
        ),
        examples=("unlike @alice Pick #12 broke search",),
    ),
    Verb(
        "push now",
        (
            _p(r"push\s+now{rest}", "push now"),
            _p(
                r"(?:run|start|do|ship)\s+(?:the\s+)?(?:next\s+)?push(?:\s+now)?{rest}",
                "run the next push now",
            ),  # fmt: skip
        ),
        examples=("push now", "push now shop", "push now release/2026-11-22 early"),
    ),
    Verb(
        "freeze",
        (
            _p(r"freeze{rest}", "freeze because checkout is down"),
            _p(
                r"(?:stop|halt|lock|freeze)\s+(?:all\s+)?(?:the\s+)?(?:train|pushes|deploys|"
                r"deployments|picks|everything)(?=[\s,:;.!]|$){rest}",
                "stop all pushes because checkout is down",
            ),  # fmt: skip
        ),
        examples=("freeze Checkout is down (incident 42)", "freeze shop Holiday"),
        words=("halt",),
    ),
    Verb(
        "unfreeze",
        (
            _p(r"unfreeze{rest}", "unfreeze"),
            _p(
                r"(?:thaw|lift\s+the\s+freeze|end\s+the\s+freeze|resume\s+(?:the\s+)?(?:train|"
                r"pushes|deploys))(?:\s+(?:on|for)(?=\s))?{rest}",
                "lift the freeze",
            ),  # fmt: skip
        ),
        examples=("unfreeze", "unfreeze shop All clear"),
        words=("thaw",),
    ),
    Verb(
        "mine",
        (
            _p(r"mine{end}", "mine"),
            _p(
                r"(?:(?:show|list|what\s+are|where\s+are)(?:\s+me)?\s+)?my\s+(?:open\s+)?"
                r"(?:picks|requests|cherry[- ]?picks){end}",
                "my picks",
            ),  # fmt: skip
            _p(
                r"(?:what\s+do\s+i\s+(?:need|have)\s+to\s+do|anything\s+for\s+me|"
                r"(?:what(?:'s|s|\s+is)\s+)?on\s+my\s+plate|what\s+(?:is|'s)\s+waiting\s+for\s+me)"
                r"{end}",
                "what do I need to do?",
            ),  # fmt: skip
        ),
        examples=("mine",),
    ),
    Verb(
        "push",
        (
            _p(r"push{end}", "push"),
            _p(
                r"(?:(?:when(?:'s|s|\s+is)|what(?:'s|s|\s+is)\s+in)\s+)?(?:the\s+)?next\s+push{end}",
                "when is the next push?",
            ),  # fmt: skip
            _p(
                r"who\s+(?:hasn'?t|has\s+not|didn'?t|did\s+not|still\s+has\s+to|needs\s+to)\s+"
                r"confirm(?:ed)?(?:\s+yet)?{end}",
                "who hasn't confirmed?",
            ),  # fmt: skip
            _p(
                r"what(?:'s|s|\s+is)\s+(?:shipping|going\s+out)(?:\s+(?:next|today))?{end}",
                "what's going out next?",
            ),  # fmt: skip
        ),
        examples=("push",),
    ),
    Verb(
        "karma",
        (
            _p(r"karma(?:\s+(?:of\s+|for\s+)?{who})?{end}", "karma @alice"),
            _p(
                r"(?:(?:what(?:'s|s|\s+is)|show(?:\s+me)?)\s+)?my\s+(?:push\s+)?karma{end}",
                "my karma",
            ),  # fmt: skip
            _p(r"how\s+many\s+stars\s+do\s+i\s+have{end}", "how many stars do I have?"),
            _p(
                r"how\s+many\s+stars\s+(?:does|has)\s+{who}(?:\s+(?:have|got))?{end}",
                "how many stars does @alice have?",
            ),  # fmt: skip
        ),
        examples=("karma", "karma @alice"),
        words=("stars",),
    ),
    Verb(
        "help",
        (
            _p(r"help(?:\s+(?:with\s+|on\s+|me\s+with\s+)?(?P<rest>\S.*?))?{end}", "help pick"),
            _p(
                r"(?:what\s+(?:can|do)\s+you\s+(?:do|know|understand)|how\s+does\s+this\s+work|"
                r"(?:list\s+)?commands|usage|\?+)(?:[\s?!.]*)",
                "what can you do?",
            ),  # fmt: skip
            _p(
                r"how\s+(?:do|can)\s+i\s+(?P<rest>[\w-]+(?:\s+now)?)(?:[\s?!.,].*)?",
                "how do I pick?",
            ),
        ),
        examples=("help", "help pick"),
        words=("commands", "usage"),
    ),
)

BY_NAME = {verb.name: verb for verb in VERBS}
_COMPILED = [(verb.name, phrasing.compiled()) for verb in VERBS for phrasing in verb.phrasings]
_WORDS = {word: verb.name for verb in VERBS for word in verb.words}


# --- reading a line ---------------------------------------------------------------------------

_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "\u00a0": " "})
_LEADING = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^<@[A-Z0-9]+(?:\|[^>]*)?>[\s:,]*",  # a Slack mention of the bot
        r"^@?(?:releasebot|release\s*bot|rb|/rb|bot)\b[\s:,!]*",
        r"^(?:hey|hi|hello|yo|dear)\b[\s,!]*",
        r"^(?:please|pls|plz|kindly)\b[\s,]*",
        r"^(?:could|can|would|will)\s+you\s+(?:please\s+|kindly\s+)?",
        r"^(?:(?:do\s+you\s+)?know|tell\s+me|show\s+me|let\s+me\s+know|i\s+wonder|i\s+wondered|"
        r"i'?m\s+wondering)\s+(?=where|if\s|whether\s|when\s|what\s|how\s)",
    )
]
_TRAILING = re.compile(
    r"[\s,]*\b(?:please|pls|plz|thanks|thank\s+you|thx|ty|cheers|thanks\s+a\s+lot)\b[\s.!]*$",
    re.IGNORECASE,
)
# "(tell me) where 3f2a9c1 is": the question's order.
_WHERE_IS = re.compile(r"^(where|if|whether)\s+(\S+)\s+(is|has)\b(.*)$", re.IGNORECASE | re.DOTALL)


def tidy(text: str) -> str:
    """The line without what means nothing to the bot: mentions of it, greetings, politeness,
    curly quotes. Case and everything else are kept (a reason is written as it was)."""
    line = (text or "").translate(_QUOTES).strip()
    while True:
        before = line
        for pattern in _LEADING:
            line = pattern.sub("", line, count=1).strip()
        line = _TRAILING.sub("", line).strip()
        if line == before:
            break
    where = _WHERE_IS.match(line)
    if where and where.group(1).lower() == "where":
        line = f"where is {where.group(2)}{where.group(4)}"
    elif where:  # "if 3f2a9c1 is out" is the question "is 3f2a9c1 out"
        line = f"{where.group(3)} {where.group(2)}{where.group(4)}"
    return line


def read(text: str, names: Collection[str]) -> tuple[str, str]:
    """The command a line asks for and the rest of its line, in the command's own syntax.

    `names` are the commands there are. When nothing matches, the first word comes back
    lowered (unknown: the caller says so) with the rest; an empty line gives ("", "")."""
    line = tidy(text)
    if not line:
        return "", ""
    for name, pattern in _COMPILED:
        if name not in names:
            continue
        found = pattern.fullmatch(line)
        if found:
            return name, _arguments(found)
    first, rest = _split(line)
    word = first.strip("`'\"*_?!.,:;").lower()
    second, after = _split(rest)
    if second and f"{word} {second.lower()}" in names:  # a verb of two words: "push now"
        return f"{word} {second.lower()}", after
    if word in names:
        return word, rest
    if word in _WORDS and _WORDS[word] in names:
        return _WORDS[word], rest
    return word, rest


def _arguments(found: re.Match[str]) -> str:
    """The canonical rest of the line: the reference (or person), then the rest as written."""
    given = found.groupdict()
    parts = [given.get("ref"), given.get("who"), given.get("rest")]
    return " ".join(part.strip() for part in parts if part and part.strip())


def _split(text: str) -> tuple[str, str]:
    parts = text.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


# --- an unknown line --------------------------------------------------------------------------

_A_REFERENCE = re.compile(r"(?<![\w/])[`'\"(]*([0-9a-f]{7,40}|#\d{1,6})\b", re.IGNORECASE)


def closest(text: str, names: Collection[str]) -> tuple[str, str] | None:
    """For a line nothing reads: the command it most likely meant, and an example of it in the
    person's own words where they gave a revision or pick. None when nothing is close."""
    line = tidy(text)
    first, _ = _split(line)
    word = first.strip("`'\"*_?!.,:;").lower()
    candidates = [n for n in names if " " not in n] + [w for w, n in _WORDS.items() if n in names]
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6) if word else []
    if close:
        name = _WORDS.get(close[0], close[0])
        return name, example(name)
    reference = _A_REFERENCE.search(line)
    if reference and "status" in names:
        return "status", f"where is {reference.group(1)}?"
    return None


def example(name: str) -> str:
    """The first example of a command: its own syntax."""
    verb = BY_NAME.get(name)
    if verb is None:
        return name
    return verb.examples[0] if verb.examples else verb.phrasings[0].example
