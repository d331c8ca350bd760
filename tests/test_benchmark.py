"""The benchmark's own arithmetic: what it reports must say what happened in the run."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is run from the checkout, not installed

from benchmarks.emulator_process import timeline  # noqa: E402
from benchmarks.run import percentiles  # noqa: E402


def test_the_timeline_groups_answers_by_the_second_they_were_sent_in():
    # Two quick answers in second 0, a stretch of slow ones sent in second 2, none in second 1.
    samples = [(0.1, 3.0), (0.9, 5.0), (2.0, 900.0), (2.5, 700.0), (2.99, 4.0)]
    assert timeline(samples) == [
        {"second": 0, "answered": 2, "p50": 5.0, "max": 5.0},
        {"second": 2, "answered": 3, "p50": 700.0, "max": 900.0},
    ]


def test_percentiles_of_no_answers_are_none_and_of_some_are_picked_from_them():
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None, "max": None}
    values = [float(n) for n in range(1, 101)]
    assert percentiles(values) == {"p50": 51.0, "p95": 96.0, "p99": 100.0, "max": 100.0}
