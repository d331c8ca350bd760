"""Precision and recall of the safety detectors on the labelled phrase sets.

Run from a checkout of the project (the sets live in tests/safety_cases.py):

    python -m bot.safety_report          # a table, then every miss and false alarm
    python -m bot.safety_report --json   # the same numbers for other tools

Precision: of the posts a detector flagged, how many should have been. Recall: of the posts that
should have been flagged, how many were. A crisis detector that misses is worse than one that
over-fires, but one that fires on "this flare is killing me" teaches moderators to ignore it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterable

from bot.safety import SafetyScan, scan

DEFAULT_CASES = Path(__file__).resolve().parent.parent / "tests" / "safety_cases.py"

# Which answer of `scan` each detector is judged on.
DETECTORS: dict[str, Callable[[SafetyScan], bool]] = {
    "crisis": lambda result: result.crisis,
    "cure_claim": lambda result: result.cure_claim,
}


@dataclass
class Score:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0
    misses: list[str] = field(default_factory=list)        # should have fired, did not
    false_alarms: list[str] = field(default_factory=list)  # fired, should not have

    @property
    def size(self) -> int:
        return self.true_positives + self.false_positives + self.false_negatives + self.true_negatives

    @property
    def positives(self) -> int:
        return self.true_positives + self.false_negatives

    @property
    def precision(self) -> float | None:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.positives if self.positives else None

    def add(self, text: str, expected: bool, got: bool) -> None:
        if expected and got:
            self.true_positives += 1
        elif got:
            self.false_positives += 1
            self.false_alarms.append(text)
        elif expected:
            self.false_negatives += 1
            self.misses.append(text)
        else:
            self.true_negatives += 1

    def as_dict(self) -> dict:
        return {**asdict(self), "size": self.size, "positives": self.positives,
                "precision": self.precision, "recall": self.recall}


def score(detector: str, cases: Iterable[tuple[str, bool]]) -> Score:
    """How one detector does on (text, expected) pairs."""
    judge = DETECTORS[detector]
    result = Score()
    for text, expected in cases:
        result.add(text, expected, judge(scan(text)))
    return result


def load_cases(path: Path = DEFAULT_CASES) -> ModuleType:
    if not path.is_file():
        raise SystemExit(f"The labelled sets are not at {path}; run from a checkout or pass --cases.")
    spec = importlib.util.spec_from_file_location("safety_cases", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def scan_time_ms(texts: list[str], repeats: int = 7, rounds: int = 10) -> float:
    """Milliseconds per scan: the best of `repeats` timed rounds, so a busy machine counts less."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(rounds):
            for text in texts:
                scan(text)
        best = min(best, (time.perf_counter() - started) / (rounds * len(texts)))
    return best * 1000


def build_report(cases_module: ModuleType) -> dict:
    sets = cases_module.labelled_sets()
    report: dict = {"detectors": {}, "timing": {}}
    for detector, groups in sets.items():
        scores = {group: score(detector, cases) for group, cases in groups.items()}
        everything = score(detector, [case for cases in groups.values() for case in cases])
        report["detectors"][detector] = {
            "groups": {group: s.as_dict() for group, s in scores.items()},
            "all": everything.as_dict(),
        }
    report["first_look"] = {
        detector: {group: {"true_positives": tp, "positives": positives, "flagged": flagged,
                           "recall": tp / positives if positives else None,
                           "precision": tp / flagged if flagged else None}
                   for group, (tp, positives, flagged) in groups.items()}
        for detector, groups in getattr(cases_module, "FIRST_LOOK", {}).items()
    }
    seed_texts = [case.text for case in next(iter(sets.values()))["seed"]]
    all_texts = [case.text for groups in sets.values() for cases in groups.values() for case in cases]
    report["timing"] = {
        "seed_comments": {"posts": len(seed_texts), "median_length": sorted(map(len, seed_texts))[len(seed_texts) // 2],
                          "ms_per_scan": scan_time_ms(seed_texts)},
        "all_cases": {"posts": len(all_texts), "median_length": sorted(map(len, all_texts))[len(all_texts) // 2],
                      "ms_per_scan": scan_time_ms(all_texts)},
    }
    return report


def _number(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def _short(text: str, width: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_report(report: dict) -> str:
    lines = []
    for detector, result in report["detectors"].items():
        lines.append(f"{detector}")
        lines.append(f"  {'set':<12} {'size':>5} {'pos':>4} {'tp':>4} {'fp':>4} {'fn':>4} {'tn':>4} "
                     f"{'precision':>9} {'recall':>7}")
        rows = list(result["groups"].items()) + [("all", result["all"])]
        for group, s in rows:
            lines.append(f"  {group:<12} {s['size']:>5} {s['positives']:>4} {s['true_positives']:>4} "
                         f"{s['false_positives']:>4} {s['false_negatives']:>4} {s['true_negatives']:>4} "
                         f"{_number(s['precision']):>9} {_number(s['recall']):>7}")
        for kind, label in (("misses", "missed"), ("false_alarms", "false alarm")):
            for text in result["all"][kind]:
                lines.append(f"    {label}: {_short(text)}")
        lines.append("")
    if report["first_look"]:
        lines.append("The held-out sets when first scored, before their misses were used to extend the patterns")
        lines.append("(the honest estimate for phrasing nobody anticipated):")
        for detector, groups in report["first_look"].items():
            for group, s in groups.items():
                lines.append(f"  {detector:<10} {group:<11} recall {s['true_positives']}/{s['positives']} = "
                             f"{_number(s['recall'])}, precision {s['true_positives']}/{s['flagged']} = "
                             f"{_number(s['precision'])}")
        lines.append("")
    for name, timing in report["timing"].items():
        lines.append(f"scan time, {name.replace('_', ' ')}: {timing['ms_per_scan']:.4f} ms per post "
                     f"({timing['posts']} posts, median {timing['median_length']} characters)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.safety_report", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="the labelled sets (a Python file)")
    args = parser.parse_args(argv)
    report = build_report(load_cases(args.cases))
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
