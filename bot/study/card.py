"""Building the study card from an article (CPU only, run off the event loop when an article is
loaded) and storing it with the article's sentences."""

from __future__ import annotations

import re
from typing import Any, Sequence

from bot.study.facts import (
    _CONTRAST,
    _FOLLOW_UP,
    _GENERAL_TREATMENT,
    _METHOD,
    _NUMBERISH,
    _REFERS_BACK,
    _SCANNER,
    _SIZE,
    _STIMULUS,
    _TREATMENT,
    _quote_flags,
    _role,
    find_institutions,
    find_journal,
    find_lead_author,
    find_comparison,
    find_participants,
    tidy,
)
from bot.study.model import CARD_VERSION, CardItem, ParticipantGroup, PreparedStudy, Sentence, StudyCard
from bot.study.sentences import _stems, article_sentences, textrank
from bot.study.terms import _terms_used
from bot.text import STOPWORDS, light_stem, words


def build_card(title: str, byline: str | None, paragraphs: Sequence[str],
               sentences: Sequence[Sentence] | None = None) -> StudyCard:
    """The study card of one article. CPU only: call it off the event loop."""
    sentences = list(sentences) if sentences is not None else article_sentences(paragraphs)
    n = len(sentences)
    centrality = textrank([_stems(s.text) for s in sentences])
    quoted = _quote_flags(paragraphs, sentences)
    roles = {s.position: _role(s.text) for s in sentences}

    groups, enrol = find_participants(sentences)
    journal, journal_sentence = find_journal(sentences)
    lead, lead_sentence = find_lead_author(sentences)
    institutions, city = find_institutions(sentences, lead_sentence)
    if enrol is not None:
        roles[enrol.position] = "participants"
    # The word that names the comparison group ("healthy", "pain-free"), to spot results about it.
    healthy_words = {w.lower() for g in groups if g.healthy for w in g.label.split()[:1]}
    comparison = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(healthy_words))) + r")\b", re.I) if healthy_words else None

    def rank(s: Sentence, role: str) -> float:
        # Central sentences first; earlier ones and ones with figures break near-ties.
        score = 0.6 * centrality[s.position - 1] + 0.25 * (1 - (s.position - 1) / max(n, 1))
        if _NUMBERISH.search(s.text):
            score += 0.1
        if role == "interpretation" and quoted[s.position]:
            score += 0.15   # the researchers' own words state their view most faithfully
        if role == "interpretation" and _TREATMENT.search(s.text):
            score += 0.1    # what it may mean for treatment is what readers ask about
        if role == "finding" and (_CONTRAST.search(s.text) or (comparison and comparison.search(s.text))):
            score += 0.2    # results that set the groups side by side are the heart of a comparison study
        return score

    def pick(role: str, k: int) -> list[CardItem]:
        chosen = sorted((s for s in sentences if roles[s.position] == role),
                        key=lambda s: rank(s, role), reverse=True)[:k]
        return [CardItem(s.paragraph, s.position, tidy(s.text), quoted[s.position]) for s in chosen]

    def as_item(s: Sentence | None) -> CardItem | None:
        return CardItem(s.paragraph, s.position, tidy(s.text), quoted[s.position]) if s else None

    question = pick("question", 1)
    if question and len(question[0].text) < 90 and _REFERS_BACK.search(question[0].text):
        # "We wanted to know whether that is true": the sentence before says what "that" is.
        before = next((s for s in sentences if s.position == question[0].position - 1), None)
        if before is not None and before.paragraph == question[0].paragraph:
            q = question[0]
            question = [CardItem(q.paragraph, before.position, f"{tidy(before.text)} {q.text}", q.quoted)]
    method = pick("method", 3)
    if not method and enrol is not None and _METHOD.search(enrol.text):
        method = [as_item(enrol)]   # "The team studied 120 women, who wore wrist monitors ..."
    findings = pick("finding", 3)
    interpretation = pick("interpretation", 3)
    # The article's own other explanation ("One possible explanation ... is that they always had some
    # pain") belongs with the researchers' view, in the full card.
    for s in sentences:
        if _OTHER_EXPLANATION.search(s.text) and all(i.position != s.position for i in interpretation):
            interpretation.append(CardItem(s.paragraph, s.position, tidy(s.text), quoted[s.position]))
    card = StudyCard(
        version=CARD_VERSION, headline=title, byline=byline,
        question=question[0] if question else None,
        participants=groups, participants_item=as_item(enrol),
        condition=_condition(groups), method=method, findings=findings,
        interpretation=interpretation, future=pick("future", 1), background=pick("background", 2),
        limitations=[], journal=journal, journal_item=as_item(journal_sentence),
        institutions=institutions, city=city, lead_author=lead,
        terms=_terms_used(sentences), lede=as_item(sentences[0]) if sentences else None,
    )
    card.limitations = _limitations(card, title, sentences)
    return card


_OTHER_EXPLANATION = re.compile(
    r"\b(?:one|another|an|other|alternative) (?:possible |other |alternative )?explanations?\b", re.I)


def _condition(groups: Sequence[ParticipantGroup]) -> str | None:
    for g in groups:
        m = re.search(r"\b(?:with|who have|who had|live with)\s+(?P<c>.+)$", g.label)
        if m and not g.healthy:
            return m.group("c")
    return None


def _limitations(card: StudyCard, title: str, sentences: Sequence[Sentence]) -> list[str]:
    """What the study cannot tell us, each line built from something the text states (or leaves out)."""
    body = " ".join(s.text for s in sentences)
    lines: list[str] = []
    size = _SIZE.search(body) or _SIZE.search(title)
    controls = next((g for g in card.participants if g.healthy), None)
    total = card.total_participants
    who = ""
    if total:
        who = f"{total} people"
        if controls:
            only = "only " if controls.count < 30 else ""
            who += f", {only}{controls.count} of them {controls.label}"
    if size:
        lines.append(f"A {size.group('w').lower()} study, in the article's words" + (f": {who}." if who else "."))
    elif who:
        lines.append(f"{who[0].upper()}{who[1:]} took part.")
    # A group of healthy people, or one the article names as the comparison ("the other half, the
    # control group"), is a comparison group.
    if card.participants and not controls and find_comparison(sentences) is None:
        lines.append("The article mentions no comparison group.")

    method_text = " ".join(i.text for i in card.method) + " " + (card.participants_item.text if card.participants_item else "")
    repeated = _FOLLOW_UP.search(body)
    # Only what the article says or plainly leaves out: how many scans each person had, it does not say.
    if not repeated and (card.participants or _SCANNER.search(method_text)):
        lines.append("The article describes no follow-up over time.")

    tested_text = (method_text + " " + " ".join(i.text for i in card.findings)).lower()
    untested: list[str] = []
    for item in card.interpretation:
        for m in _TREATMENT.finditer(item.text):
            word = m.group().lower()
            stem = light_stem(word)
            if _GENERAL_TREATMENT.fullmatch(word):
                continue   # too general to name as a link
            if stem not in {light_stem(w) for w in words(tested_text)} and all(light_stem(u) != stem for u in untested):
                untested.append(word if word.endswith("s") else word + "s")
    if untested:
        lines.append(f"The link to {' and '.join(untested[:2])} is the researchers' interpretation, not a tested result.")

    stimulus = next((m.group("s") for i in card.method for m in [_STIMULUS.search(i.text)] if m), None)
    if stimulus:
        first = stimulus.split()
        while first and first[0].lower() in STOPWORDS:
            first = first[1:]
        lines.append(f"The pain was set off on purpose for the test ({' '.join(first)}).")

    if card.findings and not any(re.search(r"\d|percent|%|times", i.text) for i in card.findings):
        lines.append("The article gives no figures for how large the differences were.")
    return lines


def prepare_study(parsed: Any) -> PreparedStudy:
    """Sentences and card for a parsed article (`bot.article.ParsedArticle`). CPU only."""
    sentences = article_sentences(parsed.paragraphs)
    card = build_card(parsed.title, parsed.byline, parsed.paragraphs, sentences)
    return PreparedStudy(sentences=sentences, card=card)


async def store_study(tx: Any, article_id: int, prepared: PreparedStudy) -> None:
    """Write the sentences and the card inside the caller's loading transaction."""
    await tx.executemany(
        "INSERT INTO sentences(article_id, position, paragraph, in_paragraph, text) VALUES (?, ?, ?, ?, ?)",
        [(article_id, s.position, s.paragraph, s.in_paragraph, s.text) for s in prepared.sentences],
    )
    await tx.execute("UPDATE articles SET card_json = ? WHERE id = ?", (prepared.card.to_json(), article_id))
