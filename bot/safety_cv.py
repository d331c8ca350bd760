"""Cross-validation of the crisis detector grouped by writer, over train and dev only.

    pip install -e '.[train]'
    python -m bot.safety_cv                 # five folds of writers (about ten fits' time)
    python -m bot.safety_cv --folds lowo    # leave one writer out (one fit per writer; slow)

Every writer's texts are held out in turn, as the test split's writers are unseen: the crisis model is
fitted on the other writers' texts exactly as `bot.safety_train` fits it, and the held-out texts'
window logits are kept. With the false-alarm threshold set on the pooled out-of-fold scores, it
measures crisis recall at 5% false alarms, the area under the ROC curve, false alarms on long posts
(eight pieces or more) and on short ones (twelve words or fewer), and the recall of the writer it does
worst on, at 3% and 5% false alarms, for three ways of scoring a post:
- the top window alone (what the shipped model does);
- a second stage that weighs the top and second windows, the whole post (capped at one above the top
  window, so that repeating a sentence cannot raise it) and the log of the number of windows and of
  words;
- the same inputs as corrections to the top window that are zero for a post of one window, so that a
  one-line post, a question or a search keeps its score.
Each second stage is fitted fold by fold on the out-of-fold scores, so that no score comes from a fit
that saw its writer. The test split is never read.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import sys

from bot import safety_model, safety_train
from bot.safety_model import features, pieces
from bot.safety_train import Text

# The second stage's inputs.
INPUTS = ("top", "second", "whole", "windows", "words")
WHOLE_CAP = 1.0   # the whole post's logit counts up to this much above the top window's
LONG_POST = 8     # pieces
SHORT_POST = 12   # words
BUDGETS = (0.03, 0.05)  # false-alarm rates at which recall is read


def _record(t: Text) -> dict | None:
    parts = pieces(t.text)
    whole = [tok for part in parts for tok in part]
    if not whole:
        return None
    return {"text": t, "writer": t.id.rsplit("-", 1)[0], "whole": (features(whole), len(whole)),
            "wins": list(safety_train._window_counts(parts)), "pieces": len(parts)}


def _fit(records: list[dict], c: float):
    vocabulary = safety_train._vocabulary([(int(r["text"].cure), r["whole"], r["wins"]) for r in records])
    examples = [(label, r["whole"], r["wins"]) for r in records
                if (label := safety_train._label(r["text"], "crisis")) is not None]
    bias, weights = safety_train._fit(examples, vocabulary, c)
    return vocabulary, bias, weights


def _inputs(model, r: dict) -> dict[str, float]:
    import numpy as np

    vocabulary, bias, weights = model
    logits = (np.asarray(safety_train._matrix(r["wins"], vocabulary) @ weights).ravel() + bias).tolist()
    at = max(range(len(logits)), key=logits.__getitem__)
    wins = sorted(logits, reverse=True)
    whole = float((safety_train._matrix([r["whole"]], vocabulary) @ weights)[0] + bias)
    whole = min(whole, wins[0] + WHOLE_CAP)
    return {"top": wins[0], "second": wins[1] if len(wins) > 1 else wins[0], "whole": whole,
            "windows": math.log(len(wins)), "words": math.log(r["whole"][1]),
            "top_words": math.log(r["wins"][at][1])}


# The same inputs as corrections to the top window, each zero for a post of one window: such a post
# (a one-line post, a question, a search) keeps the top window's score exactly.
CORRECTIONS = safety_model.CORRECTIONS


def _corrections(x: dict[str, float]) -> list[float]:
    return [x["second"] - x["top"], x["whole"] - x["top"], x["windows"], x["words"] - x["top_words"]]


def fit_corrections(rows: list[tuple[dict[str, float], int]]) -> dict[str, float]:
    return safety_train.fit_corrections([(x["top"], _corrections(x), y) for x, y in rows])


def _corrected(a: dict[str, float], x: dict[str, float]) -> float:
    return x["top"] + sum(a[k] * v for k, v in zip(CORRECTIONS, _corrections(x)))


def fit_second_stage(rows: list[tuple[dict[str, float], int]]) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit([[x[k] for k in INPUTS] for x, _y in rows], [y for _x, y in rows])
    out = {"bias": round(float(model.intercept_[0]), 4)}
    out.update({k: round(float(w), 4) for k, w in zip(INPUTS, model.coef_[0])})
    return out


def _logit(a: dict[str, float], x: dict[str, float]) -> float:
    return a["bias"] + sum(a[k] * x[k] for k in INPUTS)


def figures(scored: list[tuple[dict, float]], false_alarms: float = 0.05) -> dict:
    pos = [s for r, s in scored if r["text"].crisis == "crisis"]
    neg = [s for r, s in scored if r["text"].crisis == "none"]
    threshold = safety_train._threshold_for_false_alarms(neg, false_alarms)
    long_neg = [s for r, s in scored if r["text"].crisis == "none" and r["pieces"] >= LONG_POST]
    short_neg = [s for r, s in scored if r["text"].crisis == "none" and r["whole"][1] <= SHORT_POST]
    long_pos = [s for r, s in scored if r["text"].crisis == "crisis" and r["pieces"] >= LONG_POST]
    by_writer: dict[str, list[bool]] = {}
    for r, s in scored:
        if r["text"].crisis == "crisis":
            by_writer.setdefault(r["writer"], []).append(s >= threshold)
    ordered = sorted(neg)
    wins = 0.0
    for s in pos:  # area under the ROC curve, ties counted half
        wins += bisect.bisect_left(ordered, s) + 0.5 * (bisect.bisect_right(ordered, s) - bisect.bisect_left(ordered, s))
    return {"recall": round(sum(s >= threshold for s in pos) / len(pos), 3),
            "auc": round(wins / (len(pos) * len(neg)), 4),
            "long_post_false_alarms": round(sum(s >= threshold for s in long_neg) / max(1, len(long_neg)), 3),
            "long_posts": len(long_neg),
            "short_post_false_alarms": round(sum(s >= threshold for s in short_neg) / max(1, len(short_neg)), 3),
            "short_posts": len(short_neg),
            "long_post_recall": round(sum(s >= threshold for s in long_pos) / max(1, len(long_pos)), 3),
            "worst_writer_recall": round(min(sum(v) / len(v) for v in by_writer.values()), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.safety_cv", description=__doc__.splitlines()[0])
    parser.add_argument("--folds", default="5", help="a number of folds of writers, or lowo")
    parser.add_argument("--c", type=float, default=safety_train.C)
    args = parser.parse_args(argv)
    corpus = safety_train.load_corpus(splits=("train", "dev"))
    records = [r for r in map(_record, corpus) if r is not None]
    writers = sorted({r["writer"] for r in records})
    folds = [[w] for w in writers] if args.folds == "lowo" else [writers[i :: int(args.folds)] for i in range(int(args.folds))]
    out_of_fold: list[tuple[dict, dict[str, float], int]] = []
    for n, fold in enumerate(folds):
        model = _fit([r for r in records if r["writer"] not in fold], args.c)
        for r in records:
            if r["writer"] in fold:
                out_of_fold.append((r, _inputs(model, r), n))
        print(f"fold {n + 1} of {len(folds)} ({', '.join(fold)})", file=sys.stderr, flush=True)
    labelled = [(r, x, n) for r, x, n in out_of_fold if r["text"].crisis != "possible"]
    stacked, corrected = [], []
    for n in range(len(folds)):
        rows = [(x, int(r["text"].crisis == "crisis")) for r, x, m in labelled if m != n]
        stage, corrections = fit_second_stage(rows), fit_corrections(rows)
        stacked += [(r, _logit(stage, x)) for r, x, m in out_of_fold if m == n]
        corrected += [(r, _corrected(corrections, x)) for r, x, m in out_of_fold if m == n]
    every = [(x, int(r["text"].crisis == "crisis")) for r, x, _n in labelled]
    report = {
        "folds": len(folds), "C": args.c,
        "top window": {f"{fa:.0%}": figures([(r, x["top"]) for r, x, _n in out_of_fold], fa) for fa in BUDGETS},
        "second stage": {f"{fa:.0%}": figures(stacked, fa) for fa in BUDGETS},
        "second stage fitted on every fold": fit_second_stage(every),
        "corrections to the top window": {f"{fa:.0%}": figures(corrected, fa) for fa in BUDGETS},
        "corrections fitted on every fold": fit_corrections(every),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
