"""The cross-validation figures of the crisis detector: recall at a false-alarm budget, the area under
the curve and the alarms on long and short posts, worked out from scores (no model is fitted here)."""

from __future__ import annotations

import pytest

from bot import safety_cv
from bot.safety_train import Text


def _record(n: int, crisis: str, writer: str, pieces: int = 1, words: int = 10) -> dict:
    text = Text(f"{writer}-{n:04d}", "text", crisis, False, "ordinary", "", "train")
    return {"text": text, "writer": writer, "whole": ({}, words), "wins": [], "pieces": pieces}


def test_recall_is_read_at_the_false_alarm_budget_of_the_pooled_scores():
    negatives = [(_record(n, "none", "wa", pieces=8 if n < 10 else 1, words=40 if n < 10 else 5), n / 100)
                 for n in range(100)]
    # Scores 0.00 .. 0.99: the five highest (0.95 .. 0.99, short posts) are the 5% that may fire, so the
    # threshold is just above 0.94.
    positives = [(_record(100 + n, "crisis", "wa" if n < 5 else "wb"), s)
                 for n, s in enumerate([0.2, 0.5, 0.96, 0.97, 0.99, 0.99, 0.98, 0.975, 0.4, 0.999])]
    possible = [(_record(200, "possible", "wa"), 1.0)]  # neither side
    figures = safety_cv.figures(negatives + positives + possible)
    assert figures["recall"] == 0.7  # above 0.94: seven of ten
    assert figures["worst_writer_recall"] == pytest.approx(0.6)  # wa: three of five; wb: four of five
    assert figures["long_posts"] == 10 and figures["long_post_false_alarms"] == 0.0
    assert figures["short_posts"] == 90 and figures["short_post_false_alarms"] == pytest.approx(round(5 / 90, 3))
    assert 0.5 < figures["auc"] < 1.0


def test_a_perfect_ranking_has_an_area_of_one():
    scored = [(_record(n, "none", "wa"), n / 10) for n in range(10)] + \
             [(_record(10 + n, "crisis", "wb"), 2 + n) for n in range(3)]
    figures = safety_cv.figures(scored)
    assert figures["auc"] == 1.0 and figures["recall"] == 1.0
