"""The article's sentences, and TextRank, which ranks them by how central they are."""

from __future__ import annotations

import math
from typing import Sequence

from bot.study.model import Sentence
from bot.text import content_words, light_stem, sentence_spans


def article_sentences(paragraphs: Sequence[str]) -> list[Sentence]:
    out: list[Sentence] = []
    for p_no, para in enumerate(paragraphs, start=1):
        for k, (s, e) in enumerate(sentence_spans(para), start=1):
            out.append(Sentence(position=len(out) + 1, paragraph=p_no, in_paragraph=k, text=para[s:e]))
    return out


def _stems(text: str) -> set[str]:
    return {light_stem(w) for w in content_words(text) if len(w) > 1 and not w.isdigit()}


def textrank(token_sets: Sequence[set[str]], damping: float = 0.85, iterations: int = 60) -> list[float]:
    """Centrality of each sentence: PageRank over a graph whose edges weigh shared words.

    Edge weight is the overlap of the two word sets divided by the log of their sizes, so long
    sentences do not win only by being long. Scores are scaled so that the most central is 1.
    """
    n = len(token_sets)
    if n == 0:
        return []
    weights = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            common = len(token_sets[i] & token_sets[j])
            if common:
                w = common / (math.log(1 + len(token_sets[i])) + math.log(1 + len(token_sets[j])))
                weights[i][j] = weights[j][i] = w
    out_sum = [sum(row) for row in weights]
    scores = [1.0 / n] * n
    for _ in range(iterations):
        new = []
        for i in range(n):
            inflow = sum(weights[j][i] / out_sum[j] * scores[j] for j in range(n) if weights[j][i])
            new.append((1 - damping) / n + damping * inflow)
        done = max(abs(a - b) for a, b in zip(new, scores)) < 1e-9
        scores = new
        if done:
            break
    top = max(scores) or 1.0
    return [s / top for s in scores]
