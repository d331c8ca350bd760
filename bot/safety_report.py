"""Recall, false alarms and precision of the safety detectors on the frozen test split.

    python -m bot.safety_report                 # a table per detector and per kind of text, then the misses
    python -m bot.safety_report --json          # the same numbers for other tools
    python -m bot.safety_report --split dev     # the development split (thresholds were chosen on it)

The corpus ships with the package (`bot/resources/safety_corpus/`). The test split was written by a
writer of its own, who never saw the detector or the other splits; it is never used for training or
for choosing thresholds, so its figures are the honest estimate of how the detectors do on wording
nobody anticipated.

Recall: of the texts that should fire, how many did. False-alarm rate: of the texts that should not,
how many did. Precision: of the texts that fired, how many should have. A crisis detector that
misses is worse than one that over-fires, but one that fires on "this flare is killing me" teaches
moderators to ignore it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field

from bot.article import parse_article
from bot.config import DEFAULT_ARTICLE_PATH
from bot.safety import CRISIS, query_tier, scan
from bot.safety_model import load_model
from bot.safety_train import CORPUS, Text, load_corpus


@dataclass
class Score:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0
    misses: list[str] = field(default_factory=list)        # should have fired, did not
    false_alarms: list[str] = field(default_factory=list)  # fired, should not have

    def add(self, expected: bool, fired: bool, text: str) -> None:
        if expected and fired:
            self.true_positives += 1
        elif expected:
            self.false_negatives += 1
            self.misses.append(text)
        elif fired:
            self.false_positives += 1
            self.false_alarms.append(text)
        else:
            self.true_negatives += 1

    @property
    def size(self) -> int:
        return self.true_positives + self.false_positives + self.false_negatives + self.true_negatives

    @property
    def positives(self) -> int:
        return self.true_positives + self.false_negatives

    @property
    def negatives(self) -> int:
        return self.false_positives + self.true_negatives

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.positives if self.positives else None

    @property
    def false_alarm_rate(self) -> float | None:
        return self.false_positives / self.negatives if self.negatives else None

    @property
    def precision(self) -> float | None:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else None

    def as_dict(self) -> dict:
        data = asdict(self)
        data.update(size=self.size, positives=self.positives, negatives=self.negatives, recall=self.recall,
                    false_alarm_rate=self.false_alarm_rate, precision=self.precision)
        return data


# What each detector is judged on: (expected, fired) for a text, or None to leave the text out.
def _crisis_high(t: Text, result) -> tuple[bool, bool] | None:
    if t.crisis == "possible":
        return None  # ambiguous by its writer's own label: judged only by the middle tier
    return t.crisis == "crisis", result.crisis


def _crisis_any(t: Text, result) -> tuple[bool, bool] | None:
    return t.crisis != "none", result.urgent


def _cure(t: Text, result) -> tuple[bool, bool] | None:
    return t.cure, result.cure_claim


def _query_high(t: Text, result) -> tuple[bool, bool] | None:
    # The same text read as a question or a search is: by its top window alone (`safety.query_tier`).
    if t.crisis == "possible":
        return None
    return t.crisis == "crisis", query_tier(t.text) == CRISIS


DETECTORS = {
    "crisis (high tier: resources shown)": _crisis_high,
    "crisis (either tier: urgent in the queue)": _crisis_any,
    "cure_claim": _cure,
    "crisis, read as a question or search (top window, high tier)": _query_high,
}


def score_split(texts: list[Text]) -> dict:
    results = [(t, scan(t.text)) for t in texts]
    report = {}
    for name, judge in DETECTORS.items():
        overall = Score()
        kinds: dict[str, Score] = {}
        for t, result in results:
            verdict = judge(t, result)
            if verdict is None:
                continue
            overall.add(*verdict, t.text)
            kinds.setdefault(t.kind, Score()).add(*verdict, t.text)
        report[name] = {"all": overall.as_dict(), "kinds": {k: s.as_dict() for k, s in sorted(kinds.items())}}
    return report


def _adversarial_shapes(length: int = 4000) -> dict[str, str]:
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return {
        "ordinary words": ("My legs ache and I slept badly again. " * 200)[:length],
        "one long sentence": ("pain " * 1000)[:length],
        "markdown links": ("[](." * 1000)[:length],
        "leetspeak": ("k1ll 5u1c1d3 d!3 " * 300)[:length],
        "masked": ("k*ll s**cide *** " * 300)[:length],
        "spaced letters": ("k i l l m y s e l f " * 300)[:length],
        "repeated letter": "a" * length,
        "digits": "1" * length,
        "one masked word": "*a" * (length // 2),
        "kilometres": ("5 kms " * 700)[:length],
        "random letters": "".join(rng.choice(letters + " ") for _ in range(length)),
        "invisible characters": ("k\u200bi\u200bl\u200bl\U000e0041 " * 500)[:length],
        "emoji": ("😭💀🙏" * 1400)[:length],
    }


def scan_time_ms(texts: list[str], repeats: int = 5) -> float:
    """Best average time per scan over `repeats` rounds (the least disturbed by other work), each
    with an empty per-word cache, as for a text whose words the bot has never seen."""
    best = float("inf")
    model = load_model()
    for _ in range(repeats):
        model.forget_words()
        started = time.perf_counter()
        for text in texts:
            scan(text)
        best = min(best, (time.perf_counter() - started) / len(texts))
    return best * 1000


def reader_comments() -> list[Text]:
    """The seed article's reader comments with their hand labels: real posts, not written to order.
    They were looked at when the detector's design was chosen, so they are a check, not a held-out figure."""
    data = json.loads((CORPUS / "reader_comments.json").read_text(encoding="utf-8"))
    comments = parse_article(DEFAULT_ARTICLE_PATH.read_text(encoding="utf-8")).comments
    out = []
    for number, comment in enumerate(comments, 1):
        label = next((l for l in data["labels"] if " ".join(comment.text.split()).startswith(l["starts"])), None)
        if label is None:
            raise ValueError(f"reader comment {number} has no label: {comment.text[:60]!r}")
        out.append(Text(f"reader-{number:02d}", comment.text, label["crisis"], label["cure"], "reader_comment", "", "reader"))
    return out


def build_report(split: str = "test") -> dict:
    corpus = load_corpus(CORPUS)
    texts = [t for t in corpus if t.split == split]
    sizes = {s: sum(1 for t in corpus if t.split == s) for s in ("train", "dev", "test")}
    report = {"split": split, "sizes": sizes, "detectors": score_split(texts),
              "reader_comments": score_split(reader_comments()), "timing": {}}
    # Timings depend on what else the machine is doing: the load average says how busy it was.
    report["load_average"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    ordinary = [t.text for t in texts]
    report["timing"]["split_texts"] = {"posts": len(ordinary), "ms_per_scan": scan_time_ms(ordinary)}
    for name, text in _adversarial_shapes().items():
        report["timing"][f"4000 characters: {name}"] = {"posts": 1, "ms_per_scan": scan_time_ms([text])}
    return report


def _number(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def _short(text: str, width: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_report(report: dict, show_misses: bool = True) -> str:
    sizes = report["sizes"]
    lines = [f"Split: {report['split']} (train {sizes['train']}, dev {sizes['dev']}, test {sizes['test']} texts)", ""]
    for detector, result in report["detectors"].items():
        lines.append(detector)
        lines.append(f"  {'kind':<22} {'size':>5} {'pos':>4} {'tp':>4} {'fp':>4} {'fn':>4} "
                     f"{'recall':>7} {'false alarms':>12} {'precision':>9}")
        rows = list(result["kinds"].items()) + [("ALL", result["all"])]
        for kind, s in rows:
            lines.append(f"  {kind:<22} {s['size']:>5} {s['positives']:>4} {s['true_positives']:>4} "
                         f"{s['false_positives']:>4} {s['false_negatives']:>4} {_number(s['recall']):>7} "
                         f"{_number(s['false_alarm_rate']):>12} {_number(s['precision']):>9}")
        if show_misses:
            for key, label in (("misses", "missed"), ("false_alarms", "false alarm")):
                for text in result["all"][key]:
                    lines.append(f"    {label}: {_short(text)}")
        lines.append("")
    lines.append("The seed article's reader comments (real posts; looked at when the design was chosen):")
    for detector, result in report["reader_comments"].items():
        s = result["all"]
        lines.append(f"  {detector:<44} {s['size']:>3} texts, {s['positives']:>2} positive, fired on {s['true_positives']}"
                     f" of them and on {s['false_positives']} of the {s['negatives']} others")
    lines.append("")
    if report.get("load_average"):
        lines.append("machine load average while timing (1, 5, 15 min): "
                     + ", ".join(f"{x:.1f}" for x in report["load_average"]) + f" on {os.cpu_count()} cores")
    for name, timing in report["timing"].items():
        lines.append(f"scan time, {name}: {timing['ms_per_scan']:.3f} ms per text ({timing['posts']} texts)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.safety_report", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument("--split", choices=("test", "dev", "train"), default="test")
    parser.add_argument("--brief", action="store_true", help="leave out the list of misses and false alarms")
    args = parser.parse_args(argv)
    report = build_report(args.split)
    print(json.dumps(report, indent=2) if args.json else format_report(report, show_misses=not args.brief))
    return 0


if __name__ == "__main__":
    sys.exit(main())
