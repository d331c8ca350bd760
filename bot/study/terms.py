"""The glossary's words (bot/resources/glossary.json), and which of them an article uses."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from bot.study.model import Sentence
from bot.text import fold

GLOSSARY_PATH = Path(__file__).resolve().parent.parent / "resources" / "glossary.json"


@dataclass(frozen=True)
class _Term:
    term: str
    aliases: tuple[str, ...]
    definition: str
    gloss: str | None
    pattern: re.Pattern
    folded: tuple[str, ...]      # the aliases `fold`ed, longest first, for matching a question


@lru_cache(maxsize=1)
def glossary_terms() -> tuple[_Term, ...]:
    """The glossary the project ships, read once."""
    data = json.loads(GLOSSARY_PATH.read_text(encoding="utf-8"))
    out = []
    for t in data["terms"]:
        aliases = tuple(sorted({t["term"], *t.get("aliases", [])}, key=len, reverse=True))
        alt = "|".join(re.escape(a) for a in aliases)
        out.append(_Term(t["term"], aliases, t["definition"], t.get("gloss"),
                         re.compile(rf"(?<![\w-])(?:{alt})(?![\w-])", re.I), tuple(fold(a) for a in aliases)))
    return tuple(out)


def _terms_used(sentences: Sequence[Sentence]) -> dict[str, int]:
    used: dict[str, int] = {}
    for term in glossary_terms():
        for s in sentences:
            if term.pattern.search(s.text):
                used[term.term] = s.position
                break
    return used
