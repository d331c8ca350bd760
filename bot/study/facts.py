"""Rules that find the study's facts in a news article: who took part, the journal, the lead
author, the institutions, quotes and roles. Written for the usual form of a health news story about a
study, not for one article."""

from __future__ import annotations

import re
from typing import Sequence

from bot.study.model import ParticipantGroup, Sentence
from bot.text import number_value

_NUM_WORD = (r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:-(?:one|two|three|four|five|six|seven|"
             r"eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
             r"fifteen|sixteen|seventeen|eighteen|nineteen)")
NUMBER = rf"(?:\d{{1,3}}(?:,\d{{3}})+|\d+|{_NUM_WORD})"
PEOPLE = (r"(?:patients|participants|people|persons|subjects|volunteers|adults|women|men|children|adolescents|"
          r"teenagers|individuals|veterans|controls|sufferers|students|employees|workers|athletes|seniors|"
          r"residents|infants|mothers|fathers|twins|survivors|smokers)")
_GROUP = re.compile(
    rf"(?<![\w.,])(?P<n>{NUMBER})\s+(?P<adj>(?:[A-Za-z][\w'’-]*\s+){{0,3}}?)(?P<noun>{PEOPLE})\b"
    rf"(?P<rest>\s+(?:with|without|who (?:have|had|live with))\s+[^,;.]+?)?"
    rf"(?=\s+and\s+{NUMBER}\b|\s*[,;.:)]|\s+(?:took|were|was|who|from|at|in|to|for|during|aged|had|completed|"
    rf"enrolled|joined|participated|received|underwent|all|each)\b|$)",
    re.I,
)
_RECRUIT = re.compile(
    r"\b(?:enroll?(?:ed|s)?|recruit(?:ed|s)?|included|studied|took part|participated|involv(?:ed|ing)|compared|"
    r"examined|scanned|tested|assigned|randomi[sz]ed|followed|surveyed|analy[sz]ed|signed up)\b", re.I)
_HEALTHY = re.compile(r"\b(?:healthy|pain[- ]free|controls?|without|unaffected|typical)\b", re.I)
_NOT_GROUP_WORDS = {"million", "millions", "thousand", "thousands", "billion", "percent", "of", "the", "in", "per"}

_CAP = r"[A-Z][\w'’\-]*"
_NAME_RUN = rf"{_CAP}(?:\s+(?:&|and|of|for|the|{_CAP}))*"
_JOURNAL_PATTERNS = (
    re.compile(rf"\b(?:in|the)\s+(?:the\s+)?journal,?\s+(?P<j>{_NAME_RUN})"),
    re.compile(rf"\b(?:published|appears?|appeared|reported|described|printed)\s+(?:online\s+|today\s+|this week\s+)?"
               rf"in\s+(?:the\s+)?(?P<j>{_NAME_RUN})"),
    re.compile(rf"(?P<j>(?:{_CAP}\s+)*Journal\s+of\s+{_NAME_RUN})"),
)
_INSTITUTION_WORD = r"(?:University|Hospital|School|Institute|College|Clinic|Center|Centre|Foundation|Laborator(?:y|ies)|Infirmary)"
# A run of capitalised words (joined by "of", "for", "the", "&") holding an institution word:
# "Massachusetts General Hospital", "Cascade University School of Medicine", "University of Eastvale".
_INSTITUTION = re.compile(
    rf"{_CAP}(?:\s+(?:(?:of|for|of the|&)\s+)?{_CAP})*"
)
_INSTITUTION_KEY = re.compile(rf"\b{_INSTITUTION_WORD}\b")
_LEADING_FUNCTION_WORD = re.compile(r"^(?:The|In|At|From|By|A|An|And|Researchers|Scientists)\s+")
_CITY_AFTER = re.compile(r"^\s*(?:,\s*|\s+in\s+)(?P<city>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\b")
_PERSON = r"[A-Z][a-z'’\-]+(?:\s+[A-Z]\.)?(?:\s+[A-Z][a-z'’\-]+){1,2}"
_TITLE = r"(?P<t>Dr\.?|Prof\.?|Professor)\s+"
_LEAD_PATTERNS = (
    re.compile(rf"\b(?:lead|senior|first|principal|corresponding)\s+(?:author|researcher|investigator|scientist)s?,?\s+"
               rf"(?:{_TITLE})?(?P<name>{_PERSON})"),
    re.compile(rf"(?:{_TITLE})?(?P<name>{_PERSON}),\s+(?:the\s+|a\s+)?(?:study[’']s\s+|paper[’']s\s+)?"
               rf"(?:lead|senior|first|principal)\s+(?:author|researcher|investigator)"),
    re.compile(rf"\bled by\s+(?:{_TITLE})?(?P<name>{_PERSON})"),
)
# A group the others are compared with, as news stories word it: "the control group", "a comparison
# group", "a placebo group", "the other half", "kept to their usual routine", "a waiting list". Not
# when the article says there was none ("there was no control group", "without a comparison group").
_COMPARISON_GROUP = re.compile(
    r"\b(?P<none>(?:no|without|not (?:have|use|include)|lacked)(?: an?| any)?\s+)?"
    r"(?:control (?:group|arm|condition)s?|comparison groups?|placebo (?:group|arm)s?|the other half|"
    r"usual (?:care|routine)|standard care|wait(?:ing)?[- ]list)\b", re.I)
_SIZE = re.compile(r"\b(?P<w>small|pilot|preliminary|tiny|exploratory|feasibility)\s+(?:study|trial|experiment)\b", re.I)
_SCANNER = re.compile(r"\b(?:MRI|fMRI|PET|scan(?:s|ned|ner)?|magnetic resonance|imaging)\b", re.I)
_FOLLOW_UP = re.compile(
    rf"\b(?:follow(?:ed)?[- ]up|followed (?:for|over)|(?:over|for|after) (?:{NUMBER}|several|many) (?:days|weeks|months|years)"
    rf"|repeated|twice|before and after|longitudinal|(?:each|every|a) (?:week|month)|sessions a week)\b", re.I)
_STIMULUS = re.compile(r"\b(?P<s>(?:[a-z-]+\s+){1,3}(?:stimulation|stimuli|stimulus))\b", re.I)
_GENERAL_TREATMENT = re.compile(r"(?:treatments?|therapy|therapies|medications?|medicines?|drugs?)", re.I)
_TREATMENT = re.compile(
    r"\b(?:opioids?|opiates?|painkillers?|analgesics?|antidepressants?|morphine|medications?|medicines?|drugs?|"
    r"treatments?|therapy|therapies|exercise|surgery|injections?)\b", re.I)

# How a sentence reads: these cues decide what part of the card it can fill.
_HEDGE = re.compile(
    r"\b(?:may|might|could|suggests?|suggested|suggesting|possibl[ey]|perhaps|likely|appears? to|seems? to|"
    r"explain\w*|explanation|indicates?|implies|believes?|believed|think|thinks|hypothes\w+|speculat\w+)\b", re.I)
_FINDING = re.compile(
    r"\b(?:show(?:ed|s|n)?|found|revealed?|displayed|demonstrat\w+|reported|had (?:a |an )?(?:less|more|lower|higher|"
    r"weaker|stronger|greater|smaller|bigger)|(?:significantly\s+)?(?:reduced|increased|decreased|improved|inhibited|"
    r"deactivated|activated)|did not change|no difference|differ(?:ed|ence|ent)|compared with|"
    r"(?:more|fewer|less|longer|shorter|further)(?: [\w,]+){0,9} than (?:before|at the start|those|the others?|people|patients)|"
    r"(?:about )?the same as before)\b", re.I)
_METHOD = re.compile(
    r"\b(?:MRI|fMRI|scan\w*|imag(?:e|es|ing)|stimulation|stimul\w+|cuff|pressure|heat(?:ed)?|probe|questionnaires?|"
    r"measured|measure|randomi[sz]ed|placebo|cues?|tasks?|underwent|performed|received|attended|sessions?|assigned|"
    r"tested|test|recorded|samples?|interview\w*|wore|monitors?|rated|diar(?:y|ies)|tracked|counted|followed \d[\d,]*)\b", re.I)
_AIM = re.compile(
    r"\b(?:examines?|examined|investigat(?:e|es|ed|ing)|looked at|set out|aim(?:s|ed)? to|sought to|"
    r"wanted to (?:know|see|find out|learn|test)|whether|tested whether)\b", re.I)
# "We wanted to see whether it could...": the aim, even though it says "could".
_WANTED = re.compile(r"\bwanted to (?:know|see|find out|learn|test)\b", re.I)
# "It is not known whether the effect lasts": what the study leaves open, not what it asked.
_UNKNOWN = re.compile(r"\b(?:not known|unknown|cannot say|can't say|cannot tell|unclear) whether\b", re.I)
_FUTURE = re.compile(
    r"\b(?:future (?:studies|research|work|trials)|further research|more research|larger (?:studies|trials)|"
    r"are needed|is needed|should further)\b", re.I)
_BACKGROUND = re.compile(
    r"\b(?:estimates?|estimated|according to (?:the )?(?:national|surveys?|statistics|data)|millions?|percent|"
    r"one in (?:two|three|four|five|six|ten)|no known cure)\b|%", re.I)
_DEFINES = re.compile(r"(?:,|—|–|\s-)\s+(?:a|an)\s+\w+|\b(?:is|are) (?:a|an|the) \w+|\((?:a|an) ", re.I)
_REFERS_BACK = re.compile(r"\b(?:this|that|these|those|it)\b(?!\s+(?:study|trial|research|question)\b)", re.I)
_CONTRAST = re.compile(r"\b(?:however|whereas|while|unlike|in contrast|compared (?:with|to)|than)\b", re.I)
_NUMBERISH = re.compile(rf"\b{NUMBER}\b", re.I)


def _find_groups(text: str) -> list[ParticipantGroup]:
    groups = []
    for m in _GROUP.finditer(text):
        count = number_value(m.group("n"))
        adj_words = m.group("adj").split()
        if count is None or any(w.lower() in _NOT_GROUP_WORDS for w in adj_words):
            continue
        label = " ".join(adj_words + [m.group("noun").lower()]) + (m.group("rest") or "")
        label = re.sub(r"\s+", " ", label).strip()
        groups.append(ParticipantGroup(count=count, label=label, healthy=bool(_HEALTHY.search(label))))
    return groups


def find_participants(sentences: Sequence[Sentence]) -> tuple[list[ParticipantGroup], Sentence | None]:
    """The groups of people a study enrolled, from the first sentence that says who took part."""
    fallback: tuple[list[ParticipantGroup], Sentence | None] = ([], None)
    for s in sentences:
        groups = _find_groups(s.text)
        if not groups:
            continue
        if _RECRUIT.search(s.text) or len(groups) >= 2:
            return groups, s
        if fallback[1] is None:
            fallback = (groups, s)
    return fallback


def find_comparison(sentences: Sequence[Sentence]) -> Sentence | None:
    """The first sentence that says the study had a group to compare with (None also when the article
    says it had none)."""
    for s in sentences:
        if any(not m.group("none") for m in _COMPARISON_GROUP.finditer(s.text)):
            return s
    return None


def _clean_name(name: str) -> str:
    name = re.sub(r"\s+", " ", name).strip(" ,.;:")
    while True:
        trimmed = re.sub(r"\s+(?:and|of|for|the|&)$", "", name)
        if trimmed == name:
            return name
        name = trimmed


def find_journal(sentences: Sequence[Sentence]) -> tuple[str | None, Sentence | None]:
    """The journal's name as the article writes it ("published in the journal X", "the Journal of Y")."""
    for pattern in _JOURNAL_PATTERNS:
        for s in sentences:
            for m in pattern.finditer(s.text):
                name = _clean_name(m.group("j"))
                if name.lower().startswith("the "):
                    name = name[4:]
                # One capitalised word after "published in" is as likely a city as a journal.
                if len(name.split()) >= 2 or "journal" in m.group(0).lower():
                    return name, s
    return None, None


def find_lead_author(sentences: Sequence[Sentence]) -> tuple[str | None, Sentence | None]:
    for pattern in _LEAD_PATTERNS:
        for s in sentences:
            m = pattern.search(s.text)
            if m:
                title = m.group("t")
                title = (title.rstrip(".") + ".") if title and title.lower() != "professor" else title
                name = m.group("name")
                return (f"{title} {name}" if title else name), s
    return None, None


def find_institutions(sentences: Sequence[Sentence], lead_sentence: Sentence | None) -> tuple[list[str], str | None]:
    """Where the research team works: named with the lead author, else with "researchers at/from"."""
    def in_sentence(s: Sentence) -> tuple[list[str], str | None]:
        names, city = [], None
        for m in _INSTITUTION.finditer(s.text):
            if not _INSTITUTION_KEY.search(m.group()):
                continue
            name = m.group()
            while _LEADING_FUNCTION_WORD.match(name):
                name = _LEADING_FUNCTION_WORD.sub("", name, count=1)
            name = _clean_name(name)
            if name not in names:
                names.append(name)
            after = _CITY_AFTER.match(s.text[m.end():])
            if after and not re.search(_INSTITUTION_WORD, after.group("city")):
                city = after.group("city")
        return names, city

    ordered = ([lead_sentence] if lead_sentence else []) + [
        s for s in sentences if re.search(r"\b(?:researchers|team|scientists|investigators)\s+(?:at|from)\b", s.text)
    ] + [s for s in sentences if not _BACKGROUND.search(s.text)]
    for s in ordered:
        names, city = in_sentence(s)
        if names:
            return names, city
    return [], None


def _quote_flags(paragraphs: Sequence[str], sentences: Sequence[Sentence]) -> dict[int, bool]:
    """Which sentences are (or open with) someone's quoted words."""
    flags: dict[int, bool] = {}
    by_para: dict[int, list[Sentence]] = {}
    for s in sentences:
        by_para.setdefault(s.paragraph, []).append(s)
    for p_no, items in by_para.items():
        inside = False
        for s in items:
            starts_quote = s.text.lstrip()[:1] in "“\"‘"
            flags[s.position] = inside or starts_quote
            for ch in s.text:
                if ch == "“":
                    inside = True
                elif ch == "”":
                    inside = False
                elif ch == '"':
                    inside = not inside
    return flags


def _role(text: str) -> str:
    if _FUTURE.search(text):
        return "future"
    if _BACKGROUND.search(text) and not _FINDING.search(text):
        return "background"
    if _AIM.search(text) and (not _HEDGE.search(text) or _WANTED.search(text)) and not _UNKNOWN.search(text):
        return "question"
    if _HEDGE.search(text):
        return "interpretation"
    if _FINDING.search(text):
        return "finding"
    if _METHOD.search(text):
        return "method"
    return "context"


_ATTRIBUTION_TAIL = re.compile(
    r"[,.!?]?\s*[”\"]\s*,?\s*(?:said|says|explained|added|noted|according to)\b[^“”\"]*$", re.I)
_DASH_ASIDE = re.compile(r"\s+[—–]\s+[^—–]{8,200}?\s+[—–]\s+")


def tidy(text: str) -> str:
    """Trim a sentence for the card: drop a trailing "…,” said X.", a dash-enclosed aside and the
    quotation marks around the whole of it. Words are never changed or reordered."""
    t = text.strip()
    m = _ATTRIBUTION_TAIL.search(t)
    if m and ("“" in t[: m.start()] or '"' in t[: m.start()]):
        t = t[: m.start()].rstrip(" ,;:") + "."
    t = _DASH_ASIDE.sub(" ", t)
    # Quote marks that open or close the whole sentence (a quote may run over several sentences,
    # so either end can be alone); marks inside the sentence stay.
    if t[:1] in "“\"" and not re.search(r"[”\"]", t[1:-1]):
        t = t[1:]
    if t[-1:] in "”\"" and not re.search(r"[“\"]", t[:-1]):
        t = t[:-1]
    return re.sub(r"\s+", " ", t).strip()
