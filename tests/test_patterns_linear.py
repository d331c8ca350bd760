"""Every pattern that reads member input runs in time linear in the text's length.

Adversarial shapes: a short fragment built from the pattern's own characters (brackets, dots,
spaces, letters of its words) repeated to tens of thousands of characters, the shape that makes a
backtracking pattern take minutes ("[](." repeated took a minute at 4,000 characters). A linear
pattern reads such text in milliseconds; the hang guard below is only there so that a pattern
that is not linear fails the test instead of stalling the suite for hours.

The second half proves it without a clock. Every pattern the modules that read member input hold
(module and class attributes, literal patterns written inline, and those built at run time while the
code reads sample text) is checked in two ways:
- its structure (`re._parser`): no unbounded repeat inside another unless one iteration's end cannot
  be read as the next one's start, the shape behind catastrophic backtracking;
- its work, counted: `StepModel` runs the pattern's parse tree as a backtracking matcher (each
  character and zero-width test through `re` itself, so the answers are `re`'s) and counts every
  step of a scan for all matches, as `finditer` does. The count on 8N copies of an adversarial
  shape must stay within a generous multiple of the count on N copies: a linear pattern costs about
  8 times as much, a quadratic one about 64 times. The model is checked against `re` on the same
  texts (the same first match), so that it counts the work of the pattern `re` runs.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import pkgutil
import re
import re._compiler as sre_compiler
import re._constants as sre_constants
import re._parser as sre_parser
import signal
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def _with_submodules(name: str) -> list[str]:
    """A module, or a package with every module in it (bot.study, bot.quotes)."""
    module = importlib.import_module(name)
    if not hasattr(module, "__path__"):
        return [name]
    return [name] + [f"{name}.{m.name}" for m in pkgutil.iter_modules(module.__path__)]


# The modules that read member input (and the article text the study answers from); the safety
# model's normaliser reads every post, question and search.
MODULES = [m for root in ("bot.sanitize", "bot.topics", "bot.quotes", "bot.text", "bot.study", "bot.safety_model")
           for m in _with_submodules(root)]
LENGTH = 20_000
HANG_GUARD_SECONDS = 60


class Hung(Exception):
    pass


@contextmanager
def hang_guard(seconds: int = HANG_GUARD_SECONDS):
    """Interrupt a match that runs for ever (Python's regex engine checks for signals while matching)."""
    def interrupt(signum, frame):
        raise Hung(f"a pattern ran for more than {seconds} s")
    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def module_patterns() -> list[tuple[str, re.Pattern[str]]]:
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, value in sorted(vars(module).items()):
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                found.append((f"{name}.{attr}", value))
            elif isinstance(value, (tuple, list)):
                for i, item in enumerate(value):
                    pattern = item[1] if isinstance(item, tuple) and len(item) > 1 else item
                    if isinstance(pattern, re.Pattern) and isinstance(pattern.pattern, str):
                        found.append((f"{name}.{attr}[{i}]", pattern))
    return found


PATTERNS = module_patterns()


def pieces_of(pattern: re.Pattern[str]) -> list[str]:
    """Characters and words the pattern itself names: what makes it try hardest."""
    source = pattern.pattern
    words = re.findall(r"[A-Za-z]{2,}", source)
    symbols = [ch for ch in dict.fromkeys(source) if not ch.isalnum() and ch != "\\"]
    return (words or ["a"]) + symbols + [" ", "a", "1", ".", "\n", "@", "[", "](", "(", ")", "<", ">", "-", "'"]


def test_the_patterns_are_found():
    names = {name for name, _ in PATTERNS}
    assert "bot.sanitize._MARKDOWN_LINK" in names and len(PATTERNS) > 20


@pytest.mark.parametrize("name, pattern", PATTERNS, ids=[name for name, _ in PATTERNS])
def test_pattern_is_linear_on_adversarial_shapes(name, pattern):
    pieces = pieces_of(pattern)

    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(fragment=st.lists(st.sampled_from(pieces), min_size=1, max_size=5).map("".join),
           tail=st.sampled_from(["", "!", "\n", ")", "x"]))
    def shape(fragment, tail):
        text = fragment * (LENGTH // max(len(fragment), 1)) + tail
        with hang_guard():
            pattern.search(text)
            for _ in pattern.finditer(text):
                pass
    shape()


@pytest.mark.parametrize("fragment", ["[](.", "[a](.", "[](. \"", "[](<.", "[x](a.b ", "[](" + "." * 3, "[" * 3 + "](."])
def test_the_markdown_link_shapes_from_the_report(fragment):
    from bot import sanitize
    text = fragment * (LENGTH // len(fragment))
    with hang_guard():
        result = sanitize.clean_post_text(text, max_len=LENGTH)
    assert result.text  # cleaned and kept, not refused


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["[", "]", "(", ")", ".", ":", "/", " ", "\"", "a", "<", ">", "\n"]),
                max_size=30).map("".join))
def test_the_linear_markdown_pattern_finds_what_the_old_one_did(text):
    """Same answers as the former pattern on short text (where it was quick), ignoring the cases the
    new one reads differently on purpose: an address running over a "]" or a title over 500."""
    from bot import sanitize
    old = re.compile(r"\[[^\[\]\n]{0,500}\]\(\s*<?[^\s)]*[.:/][^\s)]*>?(?:\s+\"[^\"\n]*\")?\s*\)")
    found_old = old.search(text)
    if found_old and "]" in found_old.group(0)[found_old.group(0).index("](") + 2:]:
        return
    assert bool(sanitize._MARKDOWN_LINK.search(text)) == bool(found_old)


# -- every pattern, found three ways ----------------------------------------------------------------

def _attribute_patterns(obj, name: str, found: dict, depth: int = 0) -> None:
    if isinstance(obj, re.Pattern):
        if isinstance(obj.pattern, str):
            found.setdefault((obj.pattern, obj.flags), name)
        return
    if depth > 3 or isinstance(obj, (str, bytes)):
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            _attribute_patterns(value, f"{name}[{key!r}]", found, depth + 1)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for i, value in enumerate(obj):
            _attribute_patterns(value, f"{name}[{i}]", found, depth + 1)


RE_FUNCTIONS = {"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer"}


# How each pattern is used, where the source says: "fullmatch" and "match" try one position only.
USES: dict[tuple[str, int], set[str]] = {}
ANCHORED_USES = {"match", "fullmatch"}


def _attribute_uses(module, found_here: dict) -> None:
    """The methods each module-level pattern is called with in its module (`_UNIT.fullmatch(word)`)."""
    source = inspect.getsource(module)
    for key, name in found_here.items():
        attr = name.rsplit(".", 1)[-1]
        if not re.fullmatch(r"\w+", attr):
            continue
        methods = set(re.findall(rf"\b{attr}\.(\w+)\(", source))
        # Passed around or used elsewhere (a tuple of patterns, `rx.search(...)`): counted as a search.
        if not methods or re.search(rf"\b{attr}\b(?!\.(?:match|fullmatch)\()(?!\s*=\s*re\.compile)", source):
            methods.add("search")
        USES.setdefault(key, set()).update(methods)


def anchored(pattern: re.Pattern[str]) -> bool:
    """Whether the code only ever tries the pattern at one position (match or fullmatch)."""
    uses = USES.get((pattern.pattern, pattern.flags))
    return bool(uses) and uses <= ANCHORED_USES


def _literal_patterns(module, found: dict) -> None:
    """Patterns written inline as a literal (`re.sub(r"\\s+", ...)`), with literal flags."""
    tree = ast.parse(inspect.getsource(module))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RE_FUNCTIONS
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "re" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            flags = 0
            for keyword in node.keywords:
                if keyword.arg == "flags" and isinstance(keyword.value, ast.Attribute):
                    flags |= int(getattr(re, keyword.value.attr))
            if node.func.attr == "compile" and len(node.args) > 1 and isinstance(node.args[1], ast.Attribute):
                flags |= int(getattr(re, node.args[1].attr))
            pattern = re.compile(node.args[0].value, flags)
            found.setdefault((pattern.pattern, pattern.flags), f"{module.__name__}:{node.lineno}")
            USES.setdefault((pattern.pattern, pattern.flags), set()).add(node.func.attr)


SAMPLES = [
    "I've had fibro for 10 years and my sleep is awful; Dr. Smith said try amitriptyline 10mg.",
    "how many people took part in the study, and who wrote it? what does FM mean?",
    "[a link](https://example.com) @everyone **bold** <@123> su1c1dal k*ll s l e e p \u200b\U000e0041",
    "Cold mornings, weather changes & my family don't get it... why is it worse in winter?",
    "Where was the study published? Was it in the Journal of Pain Research by the University of Michigan?",
]


def _exercise() -> None:
    """Read sample text through the code the way members' input is read, so that patterns built at
    run time (from the topic list, the glossary, escaped words) are compiled while recorded."""
    from bot import quotes, safety, sanitize, study, topics
    from bot.config import DATA_DIR
    from bot.ingest import load_file
    from bot.storage import Database

    for text in SAMPLES:
        sanitize.clean_post_text(text)
        topics.tag_text(text)
        topics.match_query(text[:80])
        topics.suggest(text[:12])
        safety.scan(text)

    async def with_database() -> None:
        with tempfile.TemporaryDirectory() as folder:
            async with Database(Path(folder) / "patterns.db") as db:
                await load_file(db, DATA_DIR / "article.txt")
                for text in SAMPLES:
                    await study.ask(db, text[:300])
                    await quotes.find_quotes(db, guild_id=1, query=text[:80], user_id=1, channel_id=None, count=3)
                await study.study_summary(db) if hasattr(study, "study_summary") else None
                study.glossary_choices and await _maybe(study.glossary_choices, db, "pain")

    asyncio.run(with_database())


async def _maybe(function, *args):
    try:
        result = function(*args)
        if asyncio.iscoroutine(result):
            await result
    except Exception:  # noqa: BLE001 - only here to compile what the function compiles
        pass


def _runtime_patterns(found: dict) -> None:
    """Record every pattern `re` compiles while `_exercise` runs, whichever module compiles it."""
    prefixes = tuple(m.replace(".", "/") for m in MODULES)
    original = re._compile

    def recording(pattern, flags):
        compiled = original(pattern, flags)
        if isinstance(compiled.pattern, str):
            caller = sys._getframe(1)
            while caller is not None and caller.f_code.co_filename.endswith(("/re/__init__.py", "/re.py")):
                caller = caller.f_back
            where = caller.f_code.co_filename if caller is not None else ""
            if any(f"/{prefix}" in where.replace("\\", "/") for prefix in prefixes):
                found.setdefault((compiled.pattern, compiled.flags),
                                 f"{Path(where).stem}:{caller.f_lineno} (built at run time)")
        return compiled

    re._compile = recording
    try:
        _exercise()
    finally:
        re._compile = original


def every_pattern() -> list[tuple[str, re.Pattern[str]]]:
    found: dict = {}
    for name in MODULES:
        module = importlib.import_module(name)
        here: dict = {}
        for attr, value in sorted(vars(module).items()):
            _attribute_patterns(value, f"{name}.{attr}", here)
            if isinstance(value, type) and value.__module__ == name:
                for inner, item in vars(value).items():
                    _attribute_patterns(item, f"{name}.{attr}.{inner}", here)
        own = {key: where for key, where in here.items() if where.startswith(f"{name}.") and key not in found}
        _attribute_uses(module, own)
        for key, where in here.items():
            found.setdefault(key, where)
        _literal_patterns(module, found)
    _runtime_patterns(found)
    return sorted(((name, re.compile(source, flags)) for (source, flags), name in found.items()), key=lambda p: p[0])


EVERY = every_pattern()


def test_every_pattern_is_found_in_each_module():
    names = " ".join(name for name, _ in EVERY)
    for module in ("bot.sanitize.", "bot.topics.", "bot.quotes", "bot.safety_model.", "bot.study.facts.",
                   "bot.study.answers", "(built at run time)"):
        assert module in names, f"no pattern found for {module}"
    assert "bot.safety_model._SLANG_PATTERN" in names and "bot.safety_model._SPACED_LETTERS" in names
    assert len(EVERY) > len(PATTERNS) + 50
    assert sum("(built at run time)" in name for name, _ in EVERY) >= 10


# -- structure --------------------------------------------------------------------------------------

C = sre_constants
REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)
SINGLE = (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN)
UNBOUNDED = 50  # a repeat allowed more times than this counts as unbounded


def _first_classes(seq) -> list | None:
    """The single-character nodes the sequence can start with (None: unknown or empty start)."""
    for op, av in seq:
        if op in SINGLE:
            return [(op, av)]
        if op is C.AT or op in (C.ASSERT, C.ASSERT_NOT):
            continue
        if op is C.SUBPATTERN:
            return _first_classes(av[3])
        if op in REPEATS and av[0] >= 1:
            return _first_classes(av[2])
        return None
    return None


def _last_repeated(seq) -> list | None:
    """The single-character nodes of an unbounded repeat the sequence ends with, if any."""
    for op, av in reversed(list(seq)):
        if op is C.AT or op in (C.ASSERT, C.ASSERT_NOT):
            continue
        if op in REPEATS and (av[1] == C.MAXREPEAT or av[1] > UNBOUNDED):
            body = list(av[2])
            return body if len(body) == 1 and body[0][0] in SINGLE else None
        if op in REPEATS and av[0] == 0:
            return None  # optional: what comes before it may end the round too; not worked out here
        if op is C.SUBPATTERN:
            return _last_repeated(av[3])
        return []
    return []


def _chars_overlap(a, b, state, flags) -> bool:
    """Whether two single-character nodes can match one same character (tried on every character
    that either names, and on a sample of every class)."""
    probes = set("aZ09 _\n\t.-'’&@[](){}<>*/\\|!?,;:\"é中🧠\u200b")
    for op, av in (*a, *b):
        values = [av] if op in (C.LITERAL, C.NOT_LITERAL) else [v for o, v in (av if op is C.IN else []) if o is C.LITERAL]
        probes.update(chr(v) for v in values if isinstance(v, int))
        for o, v in (av if op is C.IN else []):
            if o is C.RANGE:
                probes.update((chr(v[0]), chr(v[1])))
    left = sre_compiler.compile(sre_parser.SubPattern(state, list(a)), flags)
    right = sre_compiler.compile(sre_parser.SubPattern(state, list(b)), flags)
    return any(left.fullmatch(ch) and right.fullmatch(ch) for ch in probes)


def nested_repeats(pattern: re.Pattern[str]) -> list[str]:
    """Unbounded repeats inside unbounded repeats whose iterations can be split two ways: the body
    ends in a repeated class that can also match the body's first character."""
    parsed = sre_parser.parse(pattern.pattern, pattern.flags)
    problems: list[str] = []

    def walk(seq, inside: bool) -> None:
        for op, av in seq:
            if op in REPEATS:
                unbounded = av[1] == C.MAXREPEAT or av[1] > UNBOUNDED
                body = av[2]
                if unbounded and inside is False and _contains_unbounded(body):
                    first, last = _first_classes(body), _last_repeated(body)
                    if first is None or last is None or (last and _chars_overlap(first, last, parsed.state,
                                                                                   pattern.flags)):
                        problems.append(str(body)[:120])
                walk(body, inside or unbounded)
            elif op is C.SUBPATTERN:
                walk(av[3], inside)
            elif op is C.BRANCH:
                for alternative in av[1]:
                    walk(alternative, inside)
            elif op in (C.ASSERT, C.ASSERT_NOT):
                walk(av[1], inside)
            elif op is C.ATOMIC_GROUP:
                walk(av, inside)

    walk(parsed, False)
    return problems


def _contains_unbounded(seq) -> bool:
    for op, av in seq:
        if op in REPEATS and (av[1] == C.MAXREPEAT or av[1] > UNBOUNDED or _contains_unbounded(av[2])):
            return True
        if op is C.SUBPATTERN and _contains_unbounded(av[3]):
            return True
        if op is C.BRANCH and any(_contains_unbounded(a) for a in av[1]):
            return True
    return False


def test_the_structure_check_tells_nested_repeats_apart():
    assert nested_repeats(re.compile(r"(a+)+$"))
    assert nested_repeats(re.compile(r"(?:\s*\w+\s*)*x"))
    assert nested_repeats(re.compile(r"(?:[a-z]+ ?)*!"))
    assert not nested_repeats(re.compile(r"[A-Z]\w*(?:\s+[A-Z]\w*)*"))  # a space separates the words
    assert not nested_repeats(re.compile(r"(?:ab)*c+"))


@pytest.mark.parametrize("name, pattern", EVERY, ids=[name for name, _ in EVERY])
def test_no_pattern_nests_repeats_that_can_split_one_text_two_ways(name, pattern):
    assert nested_repeats(pattern) == [], f"{name}: {pattern.pattern[:200]}"


# -- work, counted ----------------------------------------------------------------------------------

class TooMuchWork(Exception):
    pass


class StepModel:
    """A backtracking matcher over `re`'s own parse tree that counts its steps: a character tested,
    a position tried, a repeat or alternative entered. Character classes and anchors are tested by
    `re` itself (each node compiled alone), so the model reads text exactly as the pattern does."""

    def __init__(self, pattern: re.Pattern[str], limit: int):
        self.pattern = pattern
        self.parsed = sre_parser.parse(pattern.pattern, pattern.flags)
        self.limit = limit
        self.steps = 0
        self.groups: dict[int, tuple[int, int]] = {}
        self._tests: dict[tuple[int, int], re.Pattern[str]] = {}

    def tick(self, n: int = 1) -> None:
        self.steps += n
        if self.steps > self.limit:
            raise TooMuchWork(f"more than {self.limit:,} steps")

    def test(self, node, flags: int) -> re.Pattern[str]:
        key = (id(node), flags)  # the parse tree keeps every node alive, so ids are not reused
        if key not in self._tests:
            self._tests[key] = sre_compiler.compile(sre_parser.SubPattern(self.parsed.state, [node]), flags)
        return self._tests[key]

    def run(self, seq, s: str, i: int, k, flags: int):
        """Match `seq` at `i`, then the continuation `k(end)`; the end of the whole match or None."""
        self.tick()
        if not seq:
            return k(i)
        node, rest = seq[0], seq[1:]
        op, av = node

        def then(j):
            return self.run(rest, s, j, k, flags)

        if op in SINGLE:
            if i < len(s) and self.test(node, flags).match(s, i):
                return then(i + 1)
            return None
        if op is C.AT:
            return then(i) if self.test(node, flags).match(s, i) else None
        if op is C.BRANCH:
            for alternative in av[1]:
                found = self.run(list(alternative), s, i, then, flags)
                if found is not None:
                    return found
            return None
        if op is C.SUBPATTERN:
            group, add, remove, body = av
            inner = (flags | add) & ~remove
            if group is None:
                return self.run(list(body), s, i, then, inner)

            def close(j):
                before = self.groups.get(group)
                self.groups[group] = (i, j)
                found = then(j)
                if found is None:
                    if before is None:
                        self.groups.pop(group, None)
                    else:
                        self.groups[group] = before
                return found
            return self.run(list(body), s, i, close, inner)
        if op in REPEATS:
            return self.repeat(op, av, s, i, then, flags)
        if op in (C.ASSERT, C.ASSERT_NOT):
            direction, body = av
            if direction == 1:
                found = self.run(list(body), s, i, lambda j: j, flags) is not None
            else:
                low, high = body.getwidth()
                found = i - low >= 0 and self.run(list(body), s, i - low, lambda j: j if j == i else None,
                                                  flags) is not None
            return then(i) if found == (op is C.ASSERT) else None
        if op is C.GROUPREF:
            span = self.groups.get(av)
            if span is None:
                return None
            text = s[span[0]:span[1]]
            self.tick(len(text))
            got = s[i:i + len(text)]
            same = got.lower() == text.lower() if flags & re.IGNORECASE else got == text
            return then(i + len(text)) if same else None
        if op is C.GROUPREF_EXISTS:
            group, yes, no = av
            branch = yes if group in self.groups else (no or [])
            return self.run(list(branch), s, i, then, flags)
        if op is C.ATOMIC_GROUP:
            end = self.run(list(av), s, i, lambda j: j, flags)
            return None if end is None else then(end)
        raise NotImplementedError(f"the step model has no rule for {op}")

    def repeat(self, op, av, s: str, i: int, then, flags: int):
        low, high, body = av
        body = list(body)
        if len(body) == 1 and body[0][0] in SINGLE:  # one character at a time, as re's REPEAT_ONE
            test = self.test(body[0], flags)
            if op is C.MIN_REPEAT:
                count = 0
                while True:
                    if count >= low:
                        found = then(i + count)
                        if found is not None:
                            return found
                    self.tick()
                    if count < high and i + count < len(s) and test.match(s, i + count):
                        count += 1
                    else:
                        return None
            count = 0
            while count < high and i + count < len(s) and test.match(s, i + count):
                self.tick()
                count += 1
            if count < low:
                return None
            if op is C.POSSESSIVE_REPEAT:
                return then(i + count)
            for end in range(i + count, i + low - 1, -1):
                self.tick()
                found = then(end)
                if found is not None:
                    return found
            return None

        def more(count: int, j: int):
            self.tick()

            def next_round(j2):
                if j2 == j and count >= low:
                    return None  # an empty round ends the repeat
                return more(count + 1, j2)

            if op is C.MIN_REPEAT:
                if count >= low:
                    found = then(j)
                    if found is not None:
                        return found
                return self.run(body, s, j, next_round, flags) if count < high else None
            if count < high:
                found = self.run(body, s, j, next_round, flags)
                if found is not None:
                    return found
            return then(j) if count >= low else None

        return more(0, i)

    def scan(self, s: str, *, anchored: bool = False) -> list[tuple[int, int]]:
        """Every match, left to right, as `finditer` finds them (`anchored`: at the start only, as
        `match` tries); the steps are in `self.steps`."""
        found, i = [], 0
        while i <= (0 if anchored else len(s)):
            self.tick()
            self.groups = {}
            end = self.run(list(self.parsed), s, i, lambda j: j, self.pattern.flags)
            if end is None:
                i += 1
            else:
                found.append((i, end))
                i = end if end > i else i + 1
        return found


def largest_bound(pattern: re.Pattern[str]) -> int:
    """The largest finite repeat count in the pattern ({0,500}: 500), 1 when there is none."""
    largest = 1

    def walk(seq):
        nonlocal largest
        for op, av in seq:
            if op in REPEATS:
                if av[1] != C.MAXREPEAT:
                    largest = max(largest, av[1])
                walk(av[2])
            elif op is C.SUBPATTERN:
                walk(av[3])
            elif op is C.BRANCH:
                for alternative in av[1]:
                    walk(alternative)
            elif op in (C.ASSERT, C.ASSERT_NOT):
                walk(av[1])
            elif op is C.ATOMIC_GROUP:
                walk(av)
    walk(sre_parser.parse(pattern.pattern, pattern.flags))
    return largest


GROWTH = 14  # 8N characters may cost at most this many times N characters (a linear pattern: about 8)
SLACK = 200  # plus this many steps, for patterns whose work does not depend on the length at all


def test_the_step_model_tells_linear_from_quadratic():
    def ratio(source: str, fragment: str, n: int = 40, tail: str = "") -> float:
        small = StepModel(re.compile(source), 10**8)
        small.scan(fragment * n + tail)
        large = StepModel(re.compile(source), 100 * small.steps)
        try:
            large.scan(fragment * 8 * n + tail)
        except TooMuchWork:
            return float("inf")
        return large.steps / small.steps
    assert ratio(r"\w+\s", "ab ") < 10
    assert ratio(r"a[^!]*!", "a") > 30            # every "a" scans to the end for a "!" that never comes
    assert ratio(r"(?:a|a)+$", "a", 3, "!") > 100  # exponential
    assert ratio(r"\[[^\[\]\n]{0,500}\]\(\s*<?[^\s)]*[.:/][^\s)]*>?(?:\s+\"[^\"\n]*\")?\s*\)", "[](.", 20) > GROWTH
    from bot import sanitize
    assert ratio(sanitize._MARKDOWN_LINK.pattern, "[](.", 20) < GROWTH


# Patterns this test finds quadratic on some shape, each with where it runs and what bounds its input.
# They are expected to fail (strictly: one that becomes linear must leave this list). Keyed by a
# piece of the pattern, since inline patterns are named by their line.
KNOWN_QUADRATIC: dict[str, str] = {
    r"*Journal\s+of\s+": "bot.study.facts: a run of capitalised words before 'Journal of' is read again from each "
                         "word; it reads one sentence of an article (an admin's upload of at most 512 KB, or the "
                         "host's files), never a member's text",
}


def _known(pattern: re.Pattern[str]) -> str | None:
    return next((why for piece, why in KNOWN_QUADRATIC.items() if piece in pattern.pattern), None)


@pytest.mark.parametrize("name, pattern", [
    pytest.param(name, pattern, marks=pytest.mark.xfail(strict=True, reason=_known(pattern)) if _known(pattern) else ())
    for name, pattern in EVERY], ids=[name for name, _ in EVERY])
def test_pattern_work_grows_linearly_with_the_text(name, pattern):
    pieces = pieces_of(pattern)
    at_start = anchored(pattern)
    length = max(32, 2 * min(largest_bound(pattern), 2000))
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))

    # derandomize: the same shapes on every run, so that a pattern passes or fails for good.
    @settings(max_examples=6, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(fragment=st.lists(st.sampled_from(pieces), min_size=1, max_size=4).map("".join),
           tail=st.sampled_from(["", "!", "\n", ")", "x"]))
    def shape(fragment, tail):
        copies = max(1, length // len(fragment))
        small_text, large_text = fragment * copies + tail, fragment * (8 * copies) + tail
        small = StepModel(pattern, limit=10**9)
        matches = small.scan(small_text, anchored=at_start)
        # The model reads as re does: the same first match.
        first = pattern.match(small_text) if at_start else pattern.search(small_text)
        assert (matches[0] if matches else None) == (first.span() if first else None), name
        large = StepModel(pattern, limit=GROWTH * small.steps + SLACK)
        try:
            large.scan(large_text, anchored=at_start)
        except TooMuchWork:
            pytest.fail(f"{name}: {small.steps:,} steps on {len(small_text):,} characters of {fragment!r}, "
                        f"more than {GROWTH * small.steps + SLACK:,} on {len(large_text):,}: not linear")
    shape()
