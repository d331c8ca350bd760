"""How well `/study ask` answers questions asked the way members write them.

The question set (tests/data/study_questions.jsonl) was written by people who had not seen the
code: each line has the question, whether the article answers it, the exact phrases of the article
of which the first quoted sentence of a right answer must hold one, and whether it is about the
member's own treatment. A reply is right when:

- the article answers it: the first sentence the reply quotes holds one of the expected phrases
  (case aside, "&" read as "and");
- the article does not: the reply says plainly that the article has no answer;
- it is about the member's own treatment: the reply also points to a doctor or pharmacist.

The set is split once by a fixed rule on the question's id (its SHA-256, first byte modulo 10
below 3: about 30%) into a development part, which answers are tuned on, and a held-out part,
which they are not. Both figures are reported.

    python -m bot.study.evaluation            # both figures, then the development part's wrong answers
    python -m bot.study.evaluation --json
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.study.answers import ask, render_answer

DEFAULT_QUESTIONS = Path(__file__).resolve().parents[2] / "tests" / "data" / "study_questions.jsonl"
HELD_OUT_SHARE = 3   # in tenths


def is_held_out(question_id: str) -> bool:
    """The fixed rule that puts a question in the held-out part (decided before any result)."""
    return hashlib.sha256(question_id.encode("utf-8")).digest()[0] % 10 < HELD_OUT_SHARE


def load_questions(path: Path = DEFAULT_QUESTIONS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _plain(text: str) -> str:
    text = text.lower().replace("’", "'").replace("&", " and ")
    return re.sub(r"\s+", " ", text).strip()


def first_quoted(description: str) -> str | None:
    """The first sentence a reply quotes (its lines start with "> ")."""
    for line in description.splitlines():
        if line.startswith("> "):
            return line[2:]
    return None


@dataclass
class Verdict:
    id: str
    question: str
    intent: str
    held_out: bool
    right: bool
    why: str
    first: str | None


def judge(case: dict, description: str) -> Verdict:
    """Is the reply (the embed's description) right for this case?"""
    first = first_quoted(description)
    said = _plain(description)
    problems: list[str] = []
    if case["answerable"]:
        if first is None:
            problems.append("no answer")
        elif not any(_plain(p) in _plain(first) for p in case["expected"]):
            problems.append("the first quote holds none of the expected phrases")
    elif "the article does not answer" not in said:
        problems.append("did not say the article has no answer")
    if case.get("personal_treatment") and "doctor or pharmacist" not in said:
        problems.append("did not point to a doctor or pharmacist")
    return Verdict(id=case["id"], question=case["question"], intent=case["intent"], held_out=is_held_out(case["id"]),
                   right=not problems, why="; ".join(problems), first=first)


async def evaluate(db: Any, cases: list[dict]) -> list[Verdict]:
    """Ask every question of `cases` of the article loaded in `db` and judge the replies."""
    verdicts = []
    for case in cases:
        rendered = render_answer(await ask(db, case["question"]))
        verdicts.append(judge(case, rendered.description))
    return verdicts


def figures(verdicts: list[Verdict]) -> dict[str, dict[str, float]]:
    out = {}
    for part, chosen in (("development", [v for v in verdicts if not v.held_out]),
                         ("held_out", [v for v in verdicts if v.held_out])):
        right = sum(v.right for v in chosen)
        out[part] = {"right": right, "total": len(chosen), "share": round(right / len(chosen), 3) if chosen else 0.0}
    return out


async def _run(path: Path) -> list[Verdict]:
    from bot.config import DATA_DIR
    from bot.ingest import load_file
    from bot.storage import Database

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "evaluation.db")
        await db.open()
        try:
            await load_file(db, DATA_DIR / "article.txt")
            return await evaluate(db, load_questions(path))
        finally:
            await db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.study.evaluation", description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="?", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show-held-out", action="store_true",
                        help="list the held-out part's wrong answers too (read them only after tuning is over)")
    args = parser.parse_args(argv)
    verdicts = asyncio.run(_run(args.questions))
    result = figures(verdicts)
    shown = [v for v in verdicts if not v.right and (args.show_held_out or not v.held_out)]
    if args.json:
        print(json.dumps({"figures": result, "wrong": [asdict(v) for v in shown]}, indent=2))
        return 0
    for part, f in result.items():
        print(f"{part:12} {f['right']:4}/{f['total']:<4} right  ({f['share']:.1%})")
    for v in shown:
        print(f"\n[{'held-out' if v.held_out else 'dev'}] {v.id} ({v.intent}) {v.question}\n  {v.why}\n  first: {v.first}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
