"""A shared post's safety scan as it is stored with the post (migration 0014).

A post is scanned once, when it is submitted (its text and its topic hint together, as the member
wrote them); its topic tags, the moderators' queue embed and the quote search read the stored
result. A scan belongs to the detector that made it (`scan_model`, the model's digest): a post
scanned by another detector, or before scans were stored, reads as not scanned, its readers scan
the text as before, and re-tagging (which runs whenever the detector changes) stores a fresh one.
Posts are never edited; a withdrawn post keeps no scan (its matched sentences are its text).
"""

from __future__ import annotations

import json
from typing import Any

from bot import safety

COLUMNS = ("scan_tier", "scan_crisis_score", "scan_cure_score", "scan_cure_claim", "scan_sensitive",
           "scan_matched", "scan_note", "scan_model")
# "scan_tier = ?, ..." for an UPDATE with `values(scan)`, and the same columns emptied.
SET_SQL = ", ".join(f"{c} = ?" for c in COLUMNS)
CLEARED_SQL = ", ".join(f"{c} = NULL" for c in COLUMNS)


def post_text(text: str, hint: str | None) -> str:
    """What is scanned of a post: the topic hint is a free-text box too, and crisis words typed
    there count like the post's own."""
    return text + ("\n" + hint if hint else "")


def detector() -> str:
    """The digest of the detector in use: what a stored scan must have been made by."""
    return safety.detector()


def values(scan: safety.SafetyScan) -> tuple[Any, ...]:
    """The scan as the values of `COLUMNS`."""
    return (scan.tier, scan.crisis_score, scan.cure_score, int(scan.cure_claim), int(scan.sensitive),
            json.dumps(list(scan.matched)), scan.evidence_note, detector())


def is_current(row: Any) -> bool:
    """The row's stored scan was made by the detector in use."""
    model = row["scan_model"]
    return model is not None and model == detector()


def from_row(row: Any) -> safety.SafetyScan | None:
    """The stored scan of a posts row, or None when it has none by the detector in use."""
    if not is_current(row):
        return None
    tier = row["scan_tier"]
    cure_claim = bool(row["scan_cure_claim"])
    flags = []
    if tier is not None:
        flags.append(safety.CRISIS_FLAG if tier == safety.CRISIS else safety.POSSIBLE_CRISIS_FLAG)
    if cure_claim:
        flags.append(safety.CURE_CLAIM_FLAG)
    return safety.SafetyScan(
        crisis=tier == safety.CRISIS, cure_claim=cure_claim, flags=tuple(flags),
        matched=tuple(json.loads(row["scan_matched"] or "[]")), evidence_note=row["scan_note"], tier=tier,
        crisis_score=float(row["scan_crisis_score"]), cure_score=float(row["scan_cure_score"]),
        sensitive=bool(row["scan_sensitive"]),
    )
