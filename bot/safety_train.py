"""Train the safety models from the labelled corpus and write `resources/safety_model.json`.

    pip install -e '.[train]'
    python -m bot.safety_train            # train on train/, choose thresholds on dev/, write the model
    python -m bot.safety_train --check    # train again and compare with the shipped model

The corpus is in `resources/safety_corpus/`: `train/` fits the weights, `dev/` chooses the
thresholds (C and the training scheme were chosen by cross-validation grouped by writer), and `test/` (written by a writer of its own) is never read here.
Only `python -m bot.safety_report` reads it.

Why logistic regression over n-grams: with a few thousand labelled posts, a linear model is what the
data can support without memorising it; its weights are a plain table that ships with the package
and scores a post in about a millisecond with the standard library alone, and every decision can be
explained by the words that carried it. scikit-learn's liblinear solver is used for fitting only.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from typing import Iterator
from importlib import resources
from pathlib import Path

from bot import safety_model
from bot.safety_model import Model, features, pieces

CORPUS = Path(str(resources.files("bot").joinpath("resources", "safety_corpus")))
MODEL_PATH = Path(str(resources.files("bot").joinpath("resources", safety_model.MODEL_FILE)))

# Regularisation strength (larger C = weaker regularisation), and the training scheme (windows, top
# window of each labelled post, NB scaling), chosen by cross-validation grouped by writer over train
# and dev (every writer's texts held out in turn, as the test split's writers are unseen).
C = 8.0
# Threshold rules. The high tier messages the member, so it keeps to a false-alarm budget for every
# writer: the lowest threshold at which at most HIGH_FALSE_ALARMS of each dev writer's texts
# without crisis language would fire (writers differ: at one threshold, 2% of one writer's texts
# and 8% of another's fired, so a budget met on the pooled texts is not met for new writers). The middle tier only puts a post first in the moderators' queue, and a
# missed crisis costs far more than a false alarm a moderator clears: the highest threshold that
# keeps MID_RECALL of the crisis and "possible" texts, but never one that fires on more than
# MID_FALSE_ALARMS of the others. Cure claims are held for a moderator: the highest threshold that
# keeps CURE_RECALL of them (at 95% the threshold sat on a flat stretch of scores and rose from 0.27
# to 0.81 when the dev split grew, letting one of the article's own guaifenesin promotions through;
# at 98% 1.6% of the dev split's other texts are held).
HIGH_FALSE_ALARMS = 0.05
# How sure the model is when at most SURE_FALSE_ALARMS of the dev split's texts without crisis
# language reach a score; shipped with the thresholds for reference, read by nothing at run time.
# Content notes on quotes do not use it (see `SafetyScan.sensitive`): the model's surest false
# alarms are ordinary posts.
SURE_FALSE_ALARMS = 0.01
MID_RECALL = 0.98
MID_FALSE_ALARMS = 0.10
CURE_RECALL = 0.98
MIN_DF = 3
WINDOW_WEIGHT = 0.5  # a window counts half as much as a whole post
WEIGHT_DIGITS = 4
# Features whose weights are all smaller than this are left out of the shipped table (size, memory).
MIN_WEIGHT = 0.01
# Folds of training writers whose out-of-fold scores fit the corrections to the top window.
CORRECTION_FOLDS = 5


@dataclass(frozen=True)
class Text:
    id: str
    text: str
    crisis: str      # "crisis", "possible" or "none"
    cure: bool
    kind: str
    voice: str
    split: str


def load_corpus(root: Path = CORPUS, splits: tuple[str, ...] = ("train", "dev", "test")) -> list[Text]:
    out = []
    for split in splits:
        for path in sorted((root / split).glob("*.jsonl")):
            with path.open(encoding="utf-8") as lines:
                for row in safety_model.iter_texts(lines):
                    out.append(Text(row["id"], row["text"], row["crisis"], bool(row["cure"]), row["kind"],
                                    row.get("voice", ""), split))
    return out


def _window_counts(parts: list[list[str]]) -> Iterator[tuple[dict[str, int], int]]:
    """The feature counts and length of every window `Model.score` scores: each piece, and each two
    neighbouring pieces as the sum of their own counts (no word pair across the break, as in scoring)."""
    own = [features(part) for part in parts]
    for counts, part in zip(own, parts):
        yield counts, len(part)
    for i in range(len(parts) - 1):
        joined = dict(own[i])
        for feature, count in own[i + 1].items():
            joined[feature] = joined.get(feature, 0) + count
        yield joined, len(parts[i]) + len(parts[i + 1])


def _examples(texts: list[Text], target: str):
    """Per labelled text: its label, its whole post (counts, length) and its windows."""
    out = []
    for t in texts:
        label = _label(t, target)
        if label is None:
            continue
        parts = pieces(t.text)
        whole = [tok for part in parts for tok in part]
        if not whole:
            continue
        out.append((label, (features(whole), len(whole)), list(_window_counts(parts))))
    return out


def _rows(examples, best_window: list[int] | None = None):
    """Training rows, as the bot scores: the highest window of a post counts.

    A post without the label teaches through every one of its windows (each is a true negative; long
    innocent posts are where false alarms came from) and as a whole. A post with the label teaches as
    a whole on the first fit; on the second, through the window the first fit scored highest (the one
    that carries it, multiple-instance style), with the whole post at half weight beside it."""
    rows, labels, weights = [], [], []
    for n, (label, whole, wins) in enumerate(examples):
        several = len(wins) > 1
        if label == 0:
            for window in wins:
                rows.append(window)
                labels.append(0)
                weights.append(WINDOW_WEIGHT if several else 1.0)
            if several:
                rows.append(whole)
                labels.append(0)
                weights.append(1.0)
        elif best_window is None or not several:
            rows.append(whole)
            labels.append(1)
            weights.append(1.0)
        else:
            rows.append(wins[best_window[n]])
            labels.append(1)
            weights.append(1.0)
            rows.append(whole)
            labels.append(1)
            weights.append(WINDOW_WEIGHT)
    return rows, labels, weights


def _label(t: Text, target: str) -> int | None:
    if target == "crisis":
        return {"crisis": 1, "none": 0}.get(t.crisis)  # "possible" is left out of fitting
    return int(t.cure)


def _matrix(rows, vocabulary: dict[str, int]):
    from scipy.sparse import csr_matrix

    data, indices, indptr = [], [], [0]
    for counts, length in rows:
        scale = safety_model.length_scale(length)
        for feature, count in counts.items():
            column = vocabulary.get(feature)
            if column is not None:
                indices.append(column)
                data.append(count * scale)
        indptr.append(len(indices))
    return csr_matrix((data, indices, indptr), shape=(len(rows), len(vocabulary)))


def _vocabulary(examples) -> dict[str, int]:
    seen: dict[str, int] = {}
    for _label_, (counts, _length), _wins in examples:
        for feature in counts:
            seen[feature] = seen.get(feature, 0) + 1
    kept = sorted(f for f, df in seen.items() if df >= MIN_DF)
    return {f: i for i, f in enumerate(kept)}


def _fit_once(rows, labels, weights, vocabulary, c: float):
    """Logistic regression on NB-SVM scaled features: each feature is multiplied by the log ratio of
    how often it occurs in the positive and in the negative rows, so that the regularisation spends
    less on words that say little. The returned weights are for the unscaled features."""
    import numpy as np
    from scipy.sparse import diags
    from sklearn.linear_model import LogisticRegression

    matrix = _matrix(rows, vocabulary)
    y = np.array(labels)
    present = (matrix > 0).astype(np.float64)
    p = np.asarray(present[y == 1].sum(axis=0)).ravel() + 1.0
    q = np.asarray(present[y == 0].sum(axis=0)).ravel() + 1.0
    ratio = np.log((p / p.sum()) / (q / q.sum()))
    model = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", max_iter=5000, random_state=0)
    model.fit(matrix @ diags(ratio), y, sample_weight=weights)
    return float(model.intercept_[0]), model.coef_[0] * ratio


def _fit(examples, vocabulary, c: float):
    """Fit on whole posts, then again with each labelled post represented by its top window."""
    import numpy as np

    bias, weights = _fit_once(*_rows(examples), vocabulary, c)
    best = []
    for label, _whole, wins in examples:
        if label == 1 and len(wins) > 1:
            best.append(int(np.argmax(_matrix(wins, vocabulary) @ weights)))
        else:
            best.append(0)
    return _fit_once(*_rows(examples, best), vocabulary, c)


def _as_model(vocabulary, crisis_fit, cure_fit, thresholds=None, about=None, corrections=None) -> Model:
    names = list(vocabulary)
    table = {}
    for i, name in enumerate(names):
        c = round(float(crisis_fit[1][i]), WEIGHT_DIGITS)
        k = round(float(cure_fit[1][i]), WEIGHT_DIGITS)
        if max(abs(c), abs(k)) >= MIN_WEIGHT:
            table[name] = [c, k]
    return Model({"bias": {"crisis": round(crisis_fit[0], WEIGHT_DIGITS), "cure": round(cure_fit[0], WEIGHT_DIGITS)},
                  "features": table, "thresholds": thresholds or {}, "about": about or {},
                  "corrections": corrections or {}})


def _threshold_for_recall(scores: list[float], recall: float) -> float:
    """The highest threshold that keeps at least `recall` of these positive scores at or above it."""
    ordered = sorted(scores, reverse=True)
    if not ordered:
        return 0.5
    keep = max(1, math.ceil(recall * len(ordered)))
    return ordered[keep - 1]


def _threshold_for_false_alarms(scores: list[float], rate: float) -> float:
    """The lowest threshold at which at most `rate` of these negative scores reach it."""
    ordered = sorted(scores, reverse=True)
    allowed = int(rate * len(ordered))
    if allowed >= len(ordered):
        return 0.0
    # Just above the first negative that must not fire.
    return math.nextafter(ordered[allowed], 1.0)


def _rates(scores_pos: list[float], scores_neg: list[float], threshold: float) -> tuple[float, float]:
    recall = sum(s >= threshold for s in scores_pos) / max(1, len(scores_pos))
    false_alarms = sum(s >= threshold for s in scores_neg) / max(1, len(scores_neg))
    return recall, false_alarms


def fit_corrections(rows: list[tuple[float, list[float], int]], l2: float = 1e-3) -> dict[str, float]:
    """Weights of the corrections to the top window (`safety_model.CORRECTIONS`), from rows of (top
    window's logit, correction inputs, label): logistic regression with the top window's logit as a
    fixed offset and no intercept, so that a text of one window keeps its score."""
    import numpy as np
    from scipy.optimize import minimize

    inputs = np.array([x for _top, x, _y in rows])
    offset = np.array([top for top, _x, _y in rows])
    target = np.array([y for _top, _x, y in rows], dtype=float)

    def loss(b):
        z = offset + inputs @ b
        gradient = inputs.T @ (1 / (1 + np.exp(-z)) - target) + 2 * l2 * b
        return float(np.sum(np.logaddexp(0, z) - target * z) + l2 * b @ b), gradient

    found = minimize(loss, np.zeros(len(safety_model.CORRECTIONS)), jac=True, method="L-BFGS-B").x
    return {k: round(float(w), WEIGHT_DIGITS) for k, w in zip(safety_model.CORRECTIONS, found)}


def writer(t: Text) -> str:
    """Who wrote a text: its id's prefix."""
    return t.id.rsplit("-", 1)[0]


def corrections_by_folds(texts: list[Text], folds: int = CORRECTION_FOLDS) -> dict[str, float]:
    """Fit the corrections on scores the model gave texts of writers it had not seen: the writers in
    `folds` groups, each scored by a crisis model fitted on the others (as the test split's writers
    are unseen, and a model's scores of its own training texts are surer than of anyone else's)."""
    writers = sorted({writer(t) for t in texts})
    rows = []
    for n in range(folds):
        held = set(writers[n::folds])
        kept = [t for t in texts if writer(t) not in held]
        examples = _examples(kept, "crisis")
        vocabulary = _vocabulary(_examples(kept, "cure"))  # as `train` makes it
        fit = _fit(examples, vocabulary, C)
        model = _as_model(vocabulary, fit, (0.0, [0.0] * len(vocabulary)))
        for t in texts:
            label = _label(t, "crisis")
            if writer(t) in held and label is not None and (found := model.crisis_inputs(t.text)):
                rows.append((*found, label))
        print(f"corrections: fold {n + 1} of {folds}", file=sys.stderr, flush=True)
    return fit_corrections(rows)


def train(corpus: list[Text], corrections: dict[str, float] | None = None) -> dict:
    """Fit the models on the train split and choose thresholds on dev. The corrections to the top
    window are fitted by folds of the training writers unless given (fitting them takes five more fits)."""
    train_texts = [t for t in corpus if t.split == "train"]
    dev_texts = [t for t in corpus if t.split == "dev"]
    if corrections is None:
        corrections = corrections_by_folds(train_texts)
    fits = {}
    examples = {target: _examples(train_texts, target) for target in ("crisis", "cure")}
    vocabulary = _vocabulary(examples["cure"])
    for target in ("crisis", "cure"):
        fits[target] = (None, C, _fit(examples[target], vocabulary, C))
    model = _as_model(vocabulary, fits["crisis"][2], fits["cure"][2], corrections=corrections)
    scored = [(t, model.score(t.text)) for t in dev_texts]
    thresholds, figures = {}, {}
    # A post is read by its corrected score; a question or a search by its top window alone.
    for name, read in (("crisis", lambda s: s.crisis), ("window", lambda s: s.crisis_window)):
        pos = [read(s) for t, s in scored if t.crisis == "crisis"]
        either = [read(s) for t, s in scored if t.crisis in ("crisis", "possible")]
        neg = [read(s) for t, s in scored if t.crisis == "none"]
        neg_by_writer: dict[str, list[float]] = {}
        for t, s in scored:
            if t.crisis == "none":
                neg_by_writer.setdefault(writer(t), []).append(read(s))
        high = max(_threshold_for_false_alarms(scores, HIGH_FALSE_ALARMS) for scores in neg_by_writer.values())
        middle = min(high, max(_threshold_for_recall(either, MID_RECALL),
                               _threshold_for_false_alarms(neg, MID_FALSE_ALARMS)))
        thresholds[f"{name}_high"], thresholds[f"{name}_middle"] = high, middle
        if name == "crisis":
            thresholds["crisis_sure"] = max(high, _threshold_for_false_alarms(neg, SURE_FALSE_ALARMS))
        high_recall, high_fa = _rates(pos, neg, high)
        mid_recall, mid_fa = _rates(either, neg, middle)
        figures[f"{name}_high"] = {"recall": round(high_recall, 3), "false_alarm_rate": round(high_fa, 3)}
        figures[f"{name}_middle"] = {"recall_with_possible": round(mid_recall, 3), "false_alarm_rate": round(mid_fa, 3)}
    cure_pos = [s.cure for t, s in scored if t.cure]
    cure_neg = [s.cure for t, s in scored if not t.cure]
    thresholds["cure"] = _threshold_for_recall(cure_pos, CURE_RECALL)
    cure_recall, cure_fa = _rates(cure_pos, cure_neg, thresholds["cure"])
    figures["cure"] = {"recall": round(cure_recall, 3), "false_alarm_rate": round(cure_fa, 3)}
    about = {
        "trained_on": {"train": len(train_texts), "dev": len(dev_texts)},
        "features": len(vocabulary),
        "C": {"crisis": fits["crisis"][1], "cure": fits["cure"][1]},
        "correction_folds": CORRECTION_FOLDS,
        "dev": figures,
        "rules": {"sure_false_alarms": SURE_FALSE_ALARMS, "high_false_alarms_per_writer": HIGH_FALSE_ALARMS, "middle_recall": MID_RECALL,
                  "middle_false_alarms": MID_FALSE_ALARMS, "cure_recall": CURE_RECALL},
    }
    data = {"bias": {"crisis": model.bias[0], "cure": model.bias[1]},
            "features": {k: list(v) for k, v in model.weights.items()},
            "corrections": corrections, "thresholds": thresholds, "about": about}
    return data


def _dev_quality(model: Model, dev: list[Text], target: str) -> float:
    """Area under the ROC curve on the dev split: how well the scores rank positives above negatives."""
    if target == "crisis":
        pairs = [(model.score(t.text).crisis, t.crisis == "crisis") for t in dev if t.crisis != "possible"]
    else:
        pairs = [(model.score(t.text).cure, t.cure) for t in dev]
    pos = sorted(s for s, y in pairs if y)
    neg = sorted(s for s, y in pairs if not y)
    if not pos or not neg:
        return 0.0
    # Mann-Whitney U by a merge of the two sorted lists.
    wins = 0.0
    j = 0
    for s in pos:
        while j < len(neg) and neg[j] < s:
            j += 1
        k = j
        while k < len(neg) and neg[k] == s:
            k += 1
        wins += j + 0.5 * (k - j)
    return wins / (len(pos) * len(neg))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.safety_train", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="train again and compare with the shipped model")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="a folder with train/ and dev/")
    args = parser.parse_args(argv)
    data = train(load_corpus(args.corpus, splits=("train", "dev")))  # the test split is not read here
    if args.check:
        shipped = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
        same = all(shipped.get(k) == data[k] for k in ("thresholds", "features", "corrections"))
        print("the shipped model matches the corpus" if same else "the shipped model differs from a fresh training")
        return 0 if same else 1
    args.out.write_text(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps({"thresholds": data["thresholds"], "about": data["about"]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
