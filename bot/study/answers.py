"""Answering a member's question by quoting the article's sentences with their paragraph numbers,
or saying plainly that the article has no answer; personal medical questions are turned away."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, replace
from typing import Any

from rapidfuzz import fuzz, process

from bot.safety import NOT_MEDICAL_ADVICE
from bot.study.facts import _BACKGROUND, _FUTURE, _HEDGE, _SIZE, _TREATMENT
from bot.study.index import _read, _study_index, _StudyIndex
from bot.study.intents import FILLER, KINDS, defined_term, kinds_of, member_words
from bot.study.model import EMBED_DESCRIPTION, EMBED_TITLE, Answer, Passage, RenderedCard
from bot.study.render import _limit
from bot.storage import QUERY_ERRORS
from bot.study.terms import glossary_terms
from bot.text import STOPWORDS, fold, in_order, light_stem, trim_to, words

log = logging.getLogger("bot.study")

# A member's words -> words the article may use for the same thing. Plain words only (they are
# quoted as FTS strings). Both the word and its light stem are looked up.
_SYNONYM_SETS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("people", "persons", "participants", "participant", "subjects", "volunteers", "enrolled", "enrol", "enroll",
      "recruited", "included", "sample", "part"),
     ("people", "participants", "patients", "subjects", "volunteers", "enrolled", "recruited", "adults", "took part")),
    (("healthy", "controls", "control", "comparison", "normal"),
     ("healthy", "controls", "control", "comparison", "pain free")),
    (("painkillers", "painkiller", "analgesics", "analgesic", "medication", "medications", "meds", "med", "medicine",
      "medicines", "drugs", "drug", "pills", "pill", "prescriptions"),
     ("opioid", "opioids", "opiates", "analgesic", "painkiller", "painkillers", "medication", "medications",
      "medicine", "medicines", "drug", "drugs")),
    (("opioids", "opioid", "opiates", "opiate", "morphine", "oxycodone", "hydrocodone", "narcotics", "norco",
      "tramadol", "codeine", "opiods", "opoids"),
     ("opioid", "opioids", "opiates", "morphine", "narcotics")),
    (("scan", "scans", "scanned", "scanner", "imaging", "mri", "fmri", "images", "picture", "pictures"),
     ("mri", "fmri", "scan", "scans", "scanner", "magnetic resonance", "imaging", "images")),
    (("relief", "relieve", "relieved", "ease", "eased"), ("relief", "relieve", "offset", "ease")),
    (("expect", "expecting", "expected", "expectation", "anticipate", "anticipation", "anticipating", "coming"),
     ("anticipation", "anticipated", "expectancy", "impending", "expect")),
    (("warn", "warned", "warning", "alert", "alerted", "signal", "signals", "cue", "cues", "told", "notice"),
     ("cues", "cue", "alerting", "alert", "signal", "warning")),
    (("start", "started", "starts", "begin", "began", "begins", "onset"), ("onset", "start", "began")),
    (("reward", "rewards", "pleasure", "punishment", "punish", "motivation"),
     ("reward", "rewarding", "punishment", "punishing")),
    (("find", "found", "findings", "results", "result", "show", "showed", "shows", "discover", "discovered",
      "conclude", "conclusion", "conclusions", "learn", "learned"),
     ("found", "findings", "showed", "show", "results", "revealed")),
    (("sensitive", "sensitivity", "hypersensitive", "hypersensitivity", "hyperalgesia", "sore"),
     ("sensitivity", "sensitive", "hyperalgesia", "heightened")),
    (("work", "works", "working", "worked", "effective", "effectiveness", "help", "helps", "helped", "benefit"),
     ("effective", "effectiveness", "ineffective", "benefit", "help", "helps", "response")),
    (("cure", "cured", "cures", "curable"), ("cure", "cured")),
    (("treatment", "treatments", "treat", "treated", "therapy", "therapies"),
     ("treat", "treatment", "treatments", "therapy", "medications")),
    (("common", "prevalence", "prevalent", "widespread", "americans", "population"),
     ("estimates", "million", "americans", "suffer", "common")),
    (("brain", "brains"), ("brain", "brains", "neurons", "central nervous system")),
    (("future", "next"), ("future", "further", "next")),
    (("journal", "published", "publish", "publication", "paper"), ("journal", "published")),
    (("author", "authors", "led", "lead", "leader", "wrote", "headed"), ("lead author", "author", "led by")),
    (("hospital", "university", "institution", "institute", "college", "centre", "center", "located"),
     ("hospital", "university", "school", "institute", "college", "center")),
    (("small", "size", "big", "large", "tiny"), ("small", "pilot", "large")),
    (("sleep", "tired", "tiredness", "fatigue", "insomnia", "exhausted", "exhaustion"),
     ("sleep", "fatigue", "tired")),
    (("symptoms", "symptom"), ("symptoms", "fatigue", "headaches", "depression", "sleep")),
    (("depression", "depressed", "mood", "anxiety"), ("depression", "mood", "affective")),
    (("less", "lower", "weaker", "weak", "reduced", "decreased", "smaller", "dampened"),
     ("less", "reduced", "lower", "weaker", "decreased", "inhibited")),
    (("nerve", "nerves", "neurons", "neuron", "nervous"), ("neurons", "nervous", "nerve")),
    (("chemical", "chemicals", "chemistry", "dopamine", "neurotransmitters"), ("neurochemical", "chemical")),
    (("different", "differently", "differ", "difference", "differences", "altered", "changed"),
     ("differ", "different", "altered", "reduced", "less")),
    (("pressure", "squeeze", "squeezed", "cuff", "cuffs"), ("cuff", "pressure")),
    (("hurt", "hurts", "hurting", "ache", "aches", "aching", "painful", "sore"), ("pain", "painful")),
    (("stop", "stops", "stopped", "end", "ends", "ended"), ("offset", "relief", "deactivated")),
    (("everywhere", "widespread"), ("widespread",)),
    (("cream", "creams", "gel", "gels", "ointment", "ointments", "rub", "rubs", "lotion", "lotions", "patch"), ("topical",)),
    (("leg", "legs", "limb"), ("leg", "legs")),
    (("warm", "warmth", "hot", "cold", "temperature", "heated", "heat", "degrees"),
     ("temperature", "degrees", "heated", "warm", "hot", "cold")),
    (("explain", "explains", "explanation", "reason", "reasons"), ("explain", "explanation", "reason")),
    (("aim", "aims", "aimed", "goal", "purpose", "want", "wanted", "trying", "tried"),
     ("examines", "investigate", "whether", "wanted", "aim")),
    (("look", "looked", "looking", "investigate", "investigated", "examine", "examined", "explore", "explored"),
     ("investigate", "examines", "examined", "looked")),
    (("react", "reacted", "respond", "responded", "response", "responses", "reaction", "activity", "active",
      "activation", "activated"),
     ("response", "responses", "respond", "activation", "activated", "deactivated")),
)
SYNONYMS: dict[str, tuple[str, ...]] = {}
for _keys, _values in _SYNONYM_SETS:
    for _k in _keys:
        SYNONYMS[_k] = tuple(dict.fromkeys(SYNONYMS.get(_k, ()) + _values + (_k,)))
_SYNONYM_STEMS = {light_stem(k): k for k in SYNONYMS}

# Words that say how a question is asked, not what it is about.
_QUESTION_WORDS = frozenset("""
how many much what whats which who whom whose where when why is are was were does do did done doing can could
would should will shall may might article story piece text say says said tell tells told mention mentions mentioned
talk talks talking anything something thing things know knew please question information info study studies
studied research researchers researcher scientists scientist trial happen happened happens happening mean means
meaning exactly really actually get got go going make made kind sort way lot new there here any use used using
uses give gave given take takes took taking stand good bad better worse best worst true false right wrong real
important
""".split())
# In questions about the member's own treatment, the actions are theirs; the article can only speak
# about the treatment itself.
_PERSONAL_ACTION_WORDS = frozenset("""
take taking took stop stopping quit quitting start starting use using try trying switch switching increase
increasing decrease decreasing reduce reducing lower raise change changing come coming off keep keeping continue
continuing dose doses dosage safe okay ok ask asking doctor doctors me my mine myself i i'm i've im need needs
needed more less extra higher mix mixing combine combining manage managing hospital clinic visit see call
""".split())

# A question is about the member's own treatment only when it is in the first person AND about
# treatment: "how do I make pancakes?" and "can I trust this study?" are not. The medicine names are
# ones members of fibromyalgia and chronic-pain groups often mention; a name the article never uses
# is left out of the search (the article can only speak about what it covers).
_MEDICINE_NAMES = frozenset("""
ldn magnesium turmeric lyrica pregabalin gabapentin neurontin cymbalta duloxetine savella milnacipran amitriptyline elavil
cyclobenzaprine flexeril tizanidine baclofen tramadol ultram morphine oxycodone oxycontin percocet hydrocodone
norco vicodin codeine fentanyl methadone buprenorphine suboxone naltrexone ibuprofen advil motrin naproxen
aleve acetaminophen paracetamol tylenol excedrin celebrex aspirin cbd cannabis marijuana guaifenesin melatonin
prednisone trazodone zoloft prozac xanax valium
""".split())
_TREATMENT_NOUN = (
    r"(?:meds?|medications?|medicines?|medicaments?|pills?|tablets?|prescriptions?|doses?|dosage|dosing|"
    r"treatments?|therapy|therapies|regimen|opioids?|opiates?|painkillers?|pain killers?|analgesics?|narcotics?|"
    r"antidepressants?|drugs?|supplements?|injections?|infusions?|surgery|patch(?:es)?|"
    r"doctors?|dr|gp|physician|rheumatologist|neurologist|pharmacist|specialist|hospital|clinic|emergency room|urgent care|"
    + "|".join(sorted(_MEDICINE_NAMES)) + r")"
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|im|i've|i'd|i'll|me|my|myself)\b")
_OWN_TREATMENT = (
    # "my meds", "my own doctor", "my dose"
    re.compile(rf"\bmy (?:own )?(?:\w+ )?{_TREATMENT_NOUN}\b"),
    # "I'm on morphine", "am I taking too much", "I've been prescribed ..."
    re.compile(r"\b(?:i'm|im|i am|am i|i've been|i have been|i was) (?:on|taking|prescribed|using)\b"),
)
_TREATMENT_WORD = re.compile(rf"\b{_TREATMENT_NOUN}\b")
# What a member does with a treatment: take it, stop it, change it, need it, ask about its safety.
_TREATMENT_ACTION = re.compile(
    r"\b(?:take|taking|took|stop|stopping|quit|quitting|start|starting|switch|switching|change|changing|"
    r"increase|increasing|decrease|decreasing|reduce|reducing|lower|raise|double|skip|miss|wean|taper|"
    r"come off|coming off|get off|mix|mixing|combine|combining|need|needs|try|trying|keep|continue|use|using|"
    r"help|helps|work|works|safe|ok|okay|dangerous|risky|worth|addicted|addiction|dependent|go to|see|visit|call)\b")
# Managing one's own symptoms: "how do I manage my pain?", "what can I take for my flares?"
_OWN_SYMPTOMS = re.compile(
    r"\b(?:manage|managing|treat|treating|relieve|relieving|ease|easing|control|controlling|reduce|reducing|"
    r"lower|cope with|coping with|get rid of|soothe|fix|cure|take for|use for|try for)\b"
    r"(?:\s+\w+){0,3}?\s+(?:my|me|myself)\b"
    r"|\bmy (?:pain|symptoms?|flares?|flare-ups?|fatigue|insomnia|fibro\w*|headaches?|migraines?)\b"
    r"(?=.*\b(?:manage|treat|relieve|ease|control|reduce|lower|cope|get rid of|soothe|fix|cure|take|stop)\b)"
    r"|\b(?:manage|treat|relieve|ease|control|reduce|lower|cope with|get rid of|soothe|fix|cure|take|stop)\b"
    r"(?!\s+part\b).*\bmy (?:pain|symptoms?|flares?|flare-ups?|fatigue|insomnia|fibro\w*|headaches?|migraines?)\b"
)
# The verbs of a question about how the study was done ("how was the pain applied?", "how did they
# cause pain?", "how was it measured?"). They say how the question is asked: the article rarely uses
# the member's verb, so they only add weight to a sentence that does, instead of being required.
_METHOD_VERB = re.compile(
    r"(?:done|measur(?:e|ed|es|ing)|test(?:ed|ing)?|studied|caus(?:e|ed|es|ing)|creat(?:e|ed|es|ing)|"
    r"produc(?:e|ed|es|ing)|induc(?:e|ed|es|ing)|trigger(?:ed|s|ing)?|giv(?:e|en|es|ing)|gave|appl(?:y|ied|ies|ying)|"
    r"scanned|conduct(?:ed|ing)?|carr(?:y|ied)|run|ran|deliver(?:ed|s|ing)?|inflict(?:ed|s|ing)?|"
    r"administer(?:ed|s|ing)?|generat(?:e|ed|es|ing)|perform(?:ed|s|ing)?|record(?:ed|s|ing)?|"
    r"assess(?:ed|es|ing)?|evaluat(?:e|ed|es|ing)|monitor(?:ed|s|ing)?|made)")
_METHOD_NOUN = re.compile(r"methods?|procedures?|methodology")
# "Which hospital ...?" asks where, like "where": the cue finds the institution, so the noun itself
# is not searched as well (it would count the same idea twice).
_PLACE_NOUN = re.compile(r"(?:hospitals?|universit(?:y|ies)|institutions?|institutes?|colleges?|clinics?|labs?|"
                         r"laborator(?:y|ies)|schools?|centers?|centres?)")
_INTENTS = (
    ("journal", re.compile(r"\b(?:journal|published|publish|publication)\b")),
    ("count", re.compile(r"\bhow (?:many|much|warm|hot|cold|long|old|often|far|high|low|heavy|fast)\b|\bnumber of\b|\bsample size\b|\bhow (?:big|large|small) (?:was|is) (?:the|this|it)\b"
                         r"|\bwho (?:took part|participated|was (?:studied|in|tested)|were (?:studied|in|the participants|tested))\b")),
    ("place", re.compile(rf"\bwhere\b|\b(?:which|what) (?:medical )?{_PLACE_NOUN.pattern}\b")),
    ("author", re.compile(r"\bwho\b(?! (?:took part|participated|was (?:studied|in|tested)|were (?:studied|in|tested)))")),
    ("aim", re.compile(r"\b(?:aim|aims|goal|purpose|want(?:ed)? to (?:know|find out|learn|see|test)|set out|trying to "
                       r"(?:find|learn|see)|looking for)\b")),
    ("reason", re.compile(r"\bwhy\b|\bwhat (?:could|might|may) explain\b|\bhow come\b")),
    ("define", re.compile(r"^(?:what|whats|what's)\s+(?:is|are|was|were|does|do)?\s*(?:an?\s+|the\s+)?[\w -]{2,40}?\s*(?:mean|stand for)?\s*\??$"
                          r"|^(?:define|meaning of|explain)\b")),
    # "How was it done", "how did they cause pain", "how do researchers measure it": about what the study
    # did. "How does the brain cause pain?" asks about the illness, not the study.
    ("method", re.compile(rf"\bhow (?:was|were|did|is|are|has|have|had|do (?:they|you|the researchers|researchers|"
                          rf"scientists|the scientists|the team)|does (?:the study|the team|one))\b"
                          rf"(?:\s+[\w']+){{0,5}}?\s+(?:{_METHOD_VERB.pattern}|do (?:it|that|this))(?![\w'])"
                          r"|\bmethods?\b|\bprocedures?\b")),
)
# "how many", "where", "what did they want to know" and "how was it done" point at a few sentences on
# their own; "who" and "why" fit too many to answer without a subject.
_STRONG_CUES = frozenset({"count", "place", "aim", "method"})
MIN_COVERAGE = 0.5        # share of the question's weight the best sentence must match
MAX_QUESTION_CHARS = 300
MAX_GROUPS = 8


# "what dose of ...", "how many mg of ...": a dose is always someone's own.
_DOSE = re.compile(r"\b(?:what|which|how much|how many|right|best|max|maximum|starting) (?:dose|doses|dosage|mg|milligrams)\b"
                   r"|\bhow (?:much|many) (?:mg|milligrams|pills|tablets|capsules)\b|\bhow much \w+(?: \w+)? should (?:i|you|we)\b")


def is_personal_medical(question: str) -> bool:
    """Is the member asking about their own treatment, medicines, dose, doctor or the management of
    their own symptoms ("should I stop my meds", "can I take opioids with Lyrica", "what dose of
    CBD oil")? Any other "do I" or "can I" question ("how do I read this study?") is not."""
    q = fold(question or "")[:MAX_QUESTION_CHARS].replace("’", "'")
    if _DOSE.search(q):
        return True
    if not _FIRST_PERSON.search(q):
        return False
    if any(rx.search(q) for rx in _OWN_TREATMENT) or _OWN_SYMPTOMS.search(q):
        return True
    # First person, a treatment and something done with it: "do I need more pain medication?"
    return bool(_TREATMENT_WORD.search(q) and _TREATMENT_ACTION.search(q))


@dataclass
class _Group:
    label: str
    terms: tuple[str, ...] = ()         # FTS strings, any of which matches
    cue: str | None = None              # or: sentences that fit a question cue
    weight: float = 1.0


def _fts_string(term: str) -> str:
    """One phrase to search for: only letters, digits and spaces survive, so nothing a member types
    (quotes, *, NEAR, parentheses, column filters) can become query syntax. The database's dialect
    makes the query of it (`phrase_query`)."""
    clean = re.sub(r"[^\w ]+", " ", term, flags=re.UNICODE).replace("_", " ")
    return re.sub(r"\s+", " ", clean).strip()


def _plan(question: str, index: _StudyIndex, personal: bool) -> list[_Group]:
    q = fold(question)[:MAX_QUESTION_CHARS]
    q = re.sub(r"[^\w' -]+", " ", q).strip()
    groups: list[_Group] = []
    intents = {name for name, rx in _INTENTS if rx.search(q)}
    if "journal" in intents:
        intents.discard("place")
        intents.discard("author")
    if "count" in intents:
        intents.discard("author")
    if personal:
        intents.discard("place")     # "where should I go?" asks about the member's care, not the study
    if "method" in intents and _FIRST_PERSON.search(q):
        intents.discard("method")    # "how do I test for it?" asks about the member, not the study
    if "method" in intents:
        intents.discard("define")    # "what methods did they use?" asks for no definition
    for name in ("count", "place", "author", "aim", "reason", "define", "method"):
        if name in intents:
            # "who" alone says less than "where" or "how many": it only leans towards the speaker.
            groups.append(_Group(label=name, cue=name, weight=0.6 if name in ("author", "define", "reason") else 1.0))

    tokens = [w.replace("’", "'") for w in words(q)]
    seen: set[str] = set()
    if "place" in intents:
        tokens = [t for t in tokens if not _PLACE_NOUN.fullmatch(t)]
    if "method" in intents:
        verbs = [t for t in tokens if (_METHOD_VERB.fullmatch(t) or _METHOD_NOUN.fullmatch(t)) and t not in STOPWORDS]
        tokens = [t for t in tokens if t not in verbs]
        if verbs:
            groups.append(_Group(label="method verbs", weight=0.0,
                                 terms=tuple(t for t in (_fts_string(v) for v in verbs) if t)))
    glossary = glossary_terms()
    i = 0
    while i < len(tokens) and len(groups) < MAX_GROUPS:
        tok = tokens[i]
        i += 1
        if tok in STOPWORDS or tok in _QUESTION_WORDS or (personal and tok in _PERSONAL_ACTION_WORDS):
            continue
        if len(tok) < 2 and not tok.isdigit():
            continue
        if personal and tok in _MEDICINE_NAMES and tok not in index.vocabulary and tok not in SYNONYMS:
            continue    # the member's own medicine, which the article never names: it cannot speak to it
        # A glossary term written out in full ("ventral tegmental area") is one idea, not three.
        rest = " ".join(tokens[i - 1:i + 4])
        hit = next(((t, a) for t in glossary for a in t.folded if rest == a or rest.startswith(a + " ")), None)
        if hit:
            term_hit, alias = hit
            i += len(alias.split()) - 1
            key = term_hit.term
            terms = term_hit.folded
        else:
            stem = light_stem(tok)
            syn = SYNONYMS.get(tok) or SYNONYMS.get(_SYNONYM_STEMS.get(stem, ""), ())
            word = tok
            if not syn and tok not in index.vocabulary and len(tok) >= 5 and not tok.isdigit():
                # A misspelling of a word the article uses ("opiods", "fibromyalga").
                near = process.extractOne(tok, index.vocabulary, scorer=fuzz.ratio, score_cutoff=84)
                if near:
                    word = near[0]
                    syn = SYNONYMS.get(word, ())
            key = syn[0] if syn else word
            terms = tuple(dict.fromkeys((word,) + syn))
        if key in seen:
            continue
        seen.add(key)
        groups.append(_Group(label=key, terms=tuple(t for t in (_fts_string(x) for x in terms) if t)))
    return groups


# -- questions in members' words -----------------------------------------------------------------

BYLINE = -1      # the sentence id that stands for the article's byline
_DATE = re.compile(r"\b(?:1[89]\d\d|20\d\d)\b|\b(?:january|february|march|april|june|july|august|september|october|"
                   r"november|december)\b|\b(?:yesterday|last (?:week|month|year)|this (?:week|month|year))\b", re.I)
_CURE = re.compile(r"\bcur(?:e|es|ed|able)\b", re.I)
_NEW_TREATMENT = re.compile(r"\bnew (?:treatments?|drugs?|medications?|medicines?|therap(?:y|ies))\b", re.I)
# "is the writer a doctor?": the last word, after one naming the writer (never passing a second such
# word, so that a question full of them is read once).
_WRITER = r"writer|author|journalist|reporter|he|she"
_WRITER_IS_A = re.compile(rf"\b(?:{_WRITER})\b(?:(?!\b(?:{_WRITER})\b).)*\b(?:a|an) (\w+)$")
_BRAIN = r"brain|nervous system|neur\w+"
_CHANGE = r"alter\w*|disrupt\w*|dysfunction\w*|abnormal\w*"
_BRAIN_CHANGE = re.compile(in_order(_BRAIN, _CHANGE) + "|" + in_order(_CHANGE, _BRAIN), re.I)
_EXPLAINS = re.compile(r"\bexplain\b", re.I)
_EXPLANATION = re.compile(r"\bexplanation\b|\bexplain\w*\b", re.I)
_DESCRIBES = re.compile(r"\b(?:characteri[sz]ed by|disorder|condition|syndrome|understood)\b", re.I)
_EFFECT = re.compile(r"\b(?:effective\w*|ineffective|response|respond\w*|benefit\w*|help\w*|work\w*|relie\w+)\b", re.I)
_CAUSE = re.compile(r"\b(?:caus\w+|contribut\w+|lead\w* to|trigger\w*)\b", re.I)


def _kind_candidates(index: _StudyIndex, kind: str, question: str = "") -> list[int]:
    """The sentences (ids, in the order they should answer) that a kind of question points at."""
    card = index.card
    by_pos = {index.sentences[sid].position: sid for sid in index.order}
    sents = [(sid, index.sentences[sid].text) for sid in index.order]

    def items(card_items: list) -> list[int]:
        return [by_pos[i.position] for i in card_items if i and i.position in by_pos]

    def where(rx: re.Pattern[str]) -> list[int]:
        return [sid for sid, t in sents if rx.search(t)]

    if kind == "byline":
        # "is the writer a doctor?": only if the byline says so.
        attribute = _WRITER_IS_A.search(question)
        if attribute and attribute.group(1) not in fold(index.byline or ""):
            return []
        return [BYLINE] if index.byline else []
    if kind == "when":
        return where(_DATE)
    if kind == "journal":
        return items([card.journal_item])
    if kind == "new_treatment":
        return where(_NEW_TREATMENT)
    if kind == "cure":
        return where(_CURE)
    if kind == "illness_count":
        participants = set(items([card.participants_item]))
        return [sid for sid, t in sents if _BACKGROUND.search(t) and re.search(r"\d", t) and sid not in participants]
    if kind == "study_count":
        return items([card.participants_item])
    if kind == "size":
        return where(_SIZE) + items([card.participants_item])
    if kind == "certainty":
        return [sid for sid, t in sents if _HEDGE.search(t) and not _FUTURE.search(t)]
    if kind == "aim":
        return items([card.question]) or sorted(index.cues.get("aim", ()))
    if kind == "future":
        return items(card.future) or where(_FUTURE)
    if kind == "author":
        if not card.lead_author:
            return []
        surname = card.lead_author.split()[-1]
        named = [sid for sid, t in sents if surname in t]
        return sorted(named, key=lambda sid: "lead author" not in index.sentences[sid].text.lower())
    if kind == "place":
        return sorted(index.cues.get("place", ()), key=lambda sid: index.sentences[sid].position)
    if kind == "method":
        method = items(card.method) or sorted(index.cues.get("method", ()))
        return sorted(method, key=lambda sid: (-index.cue_strength.get(("method", sid), 0.0), index.sentences[sid].position))
    if kind == "explanation":
        return where(_EXPLANATION) + items(card.interpretation)
    if kind == "findings":
        return sorted(items(card.findings), key=lambda sid: index.sentences[sid].position)
    if kind == "meaning":
        return [sid for sid, t in sents if _HEDGE.search(t) and _EXPLAINS.search(t)] \
            + items([card.lede]) + items(card.interpretation)
    if kind == "real":
        return where(_BRAIN_CHANGE)
    if kind == "describe":
        return [sid for sid, t in sents if _DESCRIBES.search(t) and card.condition
                and card.condition.lower() in t.lower()] or where(_DESCRIBES)
    if kind == "cause":
        return where(_CAUSE)
    if kind == "effectiveness":
        found = [sid for sid, t in sents if _TREATMENT.search(t) and _EFFECT.search(t)]
        # "why don't they work?" wants the article's explanation; "do they work?" its statement.
        if re.search(r"\bwhy\b", question):
            return sorted(found, key=lambda sid: not _EXPLAINS.search(index.sentences[sid].text))
        return sorted(found, key=lambda sid: not _BACKGROUND.search(index.sentences[sid].text) and
                      not re.search(r"\b(?:in)?effective\b", index.sentences[sid].text))
    return []


# A term defined where the article uses it: "ventral tegmental area (VTA) — a group of neurons",
# "Magnetic resonance images (MRI)", "pain medications such as opioids".
def _defines(text: str, term: str) -> bool:
    t = re.escape(term)
    folded = fold(text)
    return bool(re.search(
        rf"\(\s*{t}\s*\)|{t}\s*\([^)]{{4,}}\)|{t}\s*\)?\s*(?:—|–|-|,)\s*(?:a|an|the)\s+\w+|{t} (?:is|are) (?:a|an) \w+"
        rf"|{t}\s+[—–-]\s+\w+ing\b"
        rf"|such as {t}|\w+ (?:like|including) {t}", folded))


def _define(index: _StudyIndex, term: str) -> list[int] | None:
    """Sentences that say what `term` is; [] when the article uses it without saying; None when
    the article never uses it."""
    ws = term.split()
    found_any = False
    # The longest run of the term's words that the article defines ("reward area of the brain"
    # -> "reward").
    for size in range(len(ws), 0, -1):
        for start in range(0, len(ws) - size + 1):
            part = " ".join(ws[start:start + size])
            if part in STOPWORDS or part in FILLER or len(part) < 2:
                continue
            variants = {part, part.rstrip("s")} if len(part) > 3 else {part}
            for v in variants:
                hits = [sid for sid in index.order
                        if re.search(rf"(?<!\w){re.escape(v)}(?:s|es)?(?!\w)", fold(index.sentences[sid].text))]
                found_any = found_any or bool(hits)
                defining = [sid for sid in hits if _defines(index.sentences[sid].text, v)]
                if defining:
                    return defining
            # an aside that names the word: "the VTA — a group of neurons ... of reward and punishment —"
            asides = [sid for sid in index.order
                      if any(re.search(rf"(?<!\w){re.escape(part)}(?!\w)", fold(a))
                             for a in re.findall(r"[—–]\s+[^—–]{8,200}?\s+[—–]", index.sentences[sid].text))]
            if asides:
                return asides
    return [] if found_any else None


def _known(word: str, index: _StudyIndex) -> bool:
    """Does the article use this word, or one that means the same to members?"""
    if word in index.vocabulary or word in FILLER or word in STOPWORDS or word in _QUESTION_WORDS:
        return True
    if _METHOD_VERB.fullmatch(word) or word in _article_extras(index):
        return True
    stems = _vocabulary_stems(index)
    stem = light_stem(word)
    if stem in stems:
        return True
    syn = SYNONYMS.get(word) or SYNONYMS.get(_SYNONYM_STEMS.get(stem, ""), ())
    return any(s in index.vocabulary or light_stem(s) in stems for s in syn)


_DERIVED: list[tuple[_StudyIndex, frozenset[str], frozenset[str]]] = []


def _vocabulary_stems(index: _StudyIndex) -> frozenset[str]:
    return _derived(index)[0]


def _article_extras(index: _StudyIndex) -> frozenset[str]:
    """Words the article stands for without writing them in its body: the initials of its
    names ("National Institutes of Health" -> "nih") and the byline's words."""
    return _derived(index)[1]


def _derived(index: _StudyIndex) -> tuple[frozenset[str], frozenset[str]]:
    """Worked out once for the article asked about most recently."""
    if _DERIVED and _DERIVED[0][0] is index:
        return _DERIVED[0][1], _DERIVED[0][2]
    extras = {w.lower() for w in words(index.byline or "")}
    for s in index.sentences.values():
        for m in re.finditer(r"\b[A-Z][a-z]+(?:\s+(?:of|for|and|&)?\s*[A-Z][a-z]+)+", s.text):
            name = re.sub(r"^(?:The|A|An|In|At|From|By)\s+", "", m.group())
            initials = "".join(w[0] for w in name.split() if w[0].isupper())
            if len(initials) >= 2:
                extras.add(initials.lower())
    stems = frozenset(light_stem(w) for w in index.vocabulary)
    _DERIVED[:] = [(index, stems, frozenset(extras))]
    return stems, frozenset(extras)


def _unknown_words(question: str, index: _StudyIndex) -> list[str]:
    """Words of the question that name something the article never mentions ("dopamine",
    "gluten", "women"). Typos of the article's words are not among them."""
    out = []
    for w in words(question):
        w = w.replace("’", "'")
        if len(w) < 2 or w.isdigit() or "'" in w and w.split("'")[0] in STOPWORDS:
            continue
        if _known(w, index):
            continue
        if len(w) >= 5 and process.extractOne(w, index.vocabulary, scorer=fuzz.ratio, score_cutoff=84):
            continue
        out.append(w)
    return out


def _overlap(index: _StudyIndex, sid: int, question_words: list[str]) -> float:
    """The share of the question's own words (with members' synonyms) that a sentence holds."""
    text = fold(index.byline or "") if sid == BYLINE else fold(index.sentences[sid].text)
    if not question_words:
        return 0.0
    have = {light_stem(w) for w in words(text)}
    hit = 0
    for w in question_words:
        syn = SYNONYMS.get(w) or SYNONYMS.get(_SYNONYM_STEMS.get(light_stem(w), ""), ())
        forms = {light_stem(w)} | {light_stem(x) for x in syn if " " not in x}
        if forms & have or any(" " in x and x in text for x in syn):
            hit += 1
    return hit / len(question_words)


# "how old", "how long", "how often", "how hot": the unit a number must carry to answer.
_QUANTITY_UNITS = {
    "old": r"\b\d+\s*(?:years? old|-year-old)|\baged?\s+(?:\d+|between)",
    "long": r"\b\d+\s*(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b",
    "often": r"\b\d+\s*times\b|\b(?:daily|weekly|monthly|twice|once)\b",
    "hot": r"\b\d+\s*(?:degrees|°)", "cold": r"\b\d+\s*(?:degrees|°)", "warm": r"\b\d+\s*(?:degrees|°)",
}


def _quantity(index: _StudyIndex, q: str, own: list[str]) -> list[int]:
    m = re.search(r"\bhow (much|long|often|far|hot|cold|warm|strong|hard|heavy|old)\b", q)
    word = m.group(1) if m else "much"
    unit = _QUANTITY_UNITS.get(word)
    out = []
    for sid in index.order:
        t = index.sentences[sid].text
        if unit:
            if re.search(unit, t, re.I):
                out.append(sid)
        elif re.search(r"\d", t) and _overlap(index, sid, [w for w in own if w not in _PEOPLE_WORDS]) > 0:
            out.append(sid)
    return out


_BARE_QUESTION_WORDS = frozenset(("who", "why", "what", "how", "when", "which", "where"))
_REGIONS = frozenset("""
us usa uk america americas europe european asia africa australia canada england britain scotland wales ireland
france germany spain italy india china japan brazil brasil mexico country countries world abroad overseas
""".split())
_PEOPLE_WORDS = frozenset(("people", "patients", "patient", "participants", "everyone", "anyone", "subjects"))


def _by_kind(index: _StudyIndex, text: str, personal: bool) -> list[int] | None:
    """The sentence ids that answer, best first, when the question is of a kind members ask;
    [] when the article has no answer; None when the general search should decide."""
    q = member_words(text)
    if not q or q in _BARE_QUESTION_WORDS:
        return None
    kinds = kinds_of(q)
    byline_words = {w.lower() for w in words(index.byline or "") if len(w) >= 3 and w[0].isupper()} - {"editor", "author"}
    if byline_words & set(q.split()) and "byline" not in kinds:
        kinds.insert(0, "byline")
    # What the question's own words are, besides how it is asked and the illness itself (which
    # nearly every sentence names).
    subject = {w.lower() for w in words(index.card.condition or "")} | {"fibromyalgia"}

    def own_words(text: str) -> list[str]:
        return [w for w in words(text) if w not in STOPWORDS and w not in _QUESTION_WORDS and len(w) > 1
                and (w not in FILLER or w in SYNONYMS) and w not in subject]

    own = own_words(q)
    consumed = q
    for k in KINDS:
        if k.name in kinds:
            consumed = k.pattern.sub(" ", consumed)
    rest = own_words(consumed)
    unknown = _unknown_words(consumed, index)
    if any(w in _MEDICINE_NAMES for w in unknown):
        return []     # a medicine the article never names: it cannot say anything about it
    # Something the article never mentions: it has no answer. A longer, chatty question gets the
    # benefit of the doubt for a stray word or two.
    n_words = len(q.split())
    allowed = max(0, (n_words - 6) // 4) if kinds else max(0, (n_words - 8) // 5)
    if len(unknown) > allowed and not (kinds[:1] == ["place"] and all(w in _REGIONS for w in unknown)):
        return []     # ("in the US or Europe?" names places to compare the answer with)
    if not kinds:
        term = defined_term(q)
        if term is not None:
            defined = _define(index, term)
            return [] if defined is None else defined[:1]
        return None
    first_kind: list[int] = []
    candidates: list[int] = []
    kind_of: dict[int, int] = {}
    for n, kind in enumerate(kinds):
        found = _quantity(index, q, own) if kind == "quantity" else _kind_candidates(index, kind, q)
        if n == 0:
            first_kind = found
        for sid in found:
            if sid not in candidates:
                candidates.append(sid)
                kind_of[sid] = n
    if not first_kind and kinds[0] in _SAYS_NO_WHEN_EMPTY:
        return []
    if not candidates:
        return None
    rank = {sid: i for i, sid in enumerate(candidates)}
    overlap = {sid: _overlap(index, sid, own) for sid in candidates}
    # The strongest kind first; among its sentences, the one holding most of the question's words.
    best = min(candidates, key=lambda sid: (kind_of[sid], -overlap[sid], rank[sid]))
    asked = [w for w in rest if w not in _PEOPLE_WORDS and w in index.vocabulary]
    if (kinds[0] in _CLAIMS and asked and _overlap(index, best, asked) == 0
            and not any(_overlap(index, sid, asked) for sid in candidates)):
        # "is it caused by depression?": the sentences of that kind never name what is asked about.
        return []
    elsewhere = max(_overlap(index, sid, own) for sid in index.order)
    if len(own) >= 2 and overlap[best] < 0.5 and elsewhere >= overlap[best] + 0.5:
        return None    # another sentence holds far more of the question: the general search decides
    chosen = [best]
    if best != BYLINE:
        # A sentence that points back ("These observations ...") comes with the one it points to.
        pos = index.order.index(best)
        if _NEEDS_CONTEXT.search(index.sentences[best].text) and pos > 0:
            chosen.append(index.order[pos - 1])
        # Other sentences of the same kind that hold as much of the question come along.
        same = [sid for sid in first_kind if sid not in chosen and overlap.get(sid, 0) == overlap[best] > 0]
        if kinds[0] in ("findings", "size") and not same:   # all of what was found; the size in numbers
            same = [sid for sid in first_kind if sid not in chosen]
        chosen += same[:max(0, 3 - len(chosen))]
    return chosen


# Kinds that ask whether the article makes a claim ("is it caused by depression?"): sentences of the
# kind that never name what is asked about do not answer.
_CLAIMS = frozenset({"cause", "real", "certainty", "describe"})
# Kinds whose answer is a fact the article states or does not: no such sentence, no answer.
_SAYS_NO_WHEN_EMPTY = frozenset({"byline", "when", "journal", "new_treatment", "cure", "illness_count", "study_count",
                                 "quantity"})


_NEEDS_CONTEXT = re.compile(r"^(?:\W*)(?:this|these|that|those|they|it|its|he|she|such|however|but|yet|for \w+(?: \w+)?, however)\b", re.I)


async def ask(db: Any, question: str, article_id: int | None = None) -> Answer:
    """Find the one to three sentences of the article that answer `question` best.

    FTS5 (porter stemming) finds the sentences holding each idea of the question, BM25 ranks them,
    and an answer counts only if its best sentence covers at least half of what the question asks
    (ideas weighted by how rare they are in the article). Never raises on odd input. The answers
    to recent questions are remembered with the article they came from.
    """
    text = (question or "").strip()
    index = await _study_index(db, article_id)
    answer = index.remembered_answer(text)
    if answer is not None:
        return replace(answer, passages=list(answer.passages))  # the caller may change its copy
    answer, searched = await _find_answer(db, index, text)
    if searched:  # an answer given while the search failed is not kept
        index.remember_answer(text, replace(answer, passages=list(answer.passages)))
    return answer


async def _find_answer(db: Any, index: _StudyIndex, text: str) -> tuple[Answer, bool]:
    """The answer to `text`, and whether the article could be searched for it."""
    personal = is_personal_medical(text)
    searched = True

    def nothing() -> Answer:
        return Answer(question=text, found=False, passages=[], personal_medical=personal, article_title=index.title)

    if personal:
        # The article cannot answer for the member's own treatment; what it says on the subject
        # still comes along with the pointer to their doctor or pharmacist.
        kind_answer = None
    else:
        kind_answer = _by_kind(index, text, personal)
    if kind_answer is not None:
        if not kind_answer:
            return nothing(), searched
        ordered = kind_answer[:1] + sorted(kind_answer[1:], key=lambda sid: index.sentences[sid].position)
        return Answer(question=text, found=True, personal_medical=personal, article_title=index.title,
                      passages=[_passage(index, sid, best=k == 0) for k, sid in enumerate(ordered)]), searched

    # Chat words and words the article never uses say nothing about which sentence answers.
    plain = " ".join(w for w in member_words(text).split()
                     if w in STOPWORDS or w in _QUESTION_WORDS or w in SYNONYMS
                     or (w not in FILLER and (w.isdigit() or _known(w, index))))
    groups = _plan(plain or text, index, personal)
    if not groups or not index.order:
        return nothing(), searched

    fts_groups = [(k, g) for k, g in enumerate(groups) if g.terms]
    matches: dict[int, dict[int, float]] = {k: {} for k in range(len(groups))}   # group -> sentence -> bm25
    if fts_groups:
        sql = " UNION ALL ".join(db.dialect.sentence_search() for _ in fts_groups)
        params: list[Any] = []
        for k, g in fts_groups:
            params += [k, db.dialect.phrase_query(g.terms), index.first_id, index.last_id]
        try:
            rows = await _read(db, sql, params)
        except QUERY_ERRORS:
            log.exception("study question could not be searched: %r", text[:100])
            rows = []
            searched = False
        for r in rows:
            if r["id"] in index.sentences:
                matches[r["g"]][r["id"]] = -float(r["score"])
    for k, g in enumerate(groups):
        if g.cue:
            # How strongly a sentence fits the cue breaks ties between sentences that fit it.
            matches[k] = {sid: index.cue_strength.get((g.cue, sid), 0.0) for sid in index.cues.get(g.cue, ())}

    n = len(index.order)
    idf = [g.weight * math.log(1 + n / (len(matches[k]) + 0.5)) for k, g in enumerate(groups)]
    total = sum(idf) or 1.0
    coverage: dict[int, float] = {}
    score: dict[int, float] = {}
    for k in range(len(groups)):
        for sid, bm in matches[k].items():
            coverage[sid] = coverage.get(sid, 0.0) + idf[k] / total
            score[sid] = score.get(sid, 0.0) + idf[k] + 0.3 * max(bm, 0.0)
    if not score:
        return nothing(), searched
    ranked = sorted(score, key=lambda sid: (coverage[sid], score[sid], -index.sentences[sid].position), reverse=True)
    best = ranked[0]
    # Answers only: a sentence that matches a small part of the question (only "pain", say) is not one.
    # Groups of weight 0 only add to a sentence's score: they say nothing about whether it answers.
    specific = any(best in matches[k] and len(matches[k]) <= max(2, n // 2) and g.weight
                   for k, g in enumerate(groups))
    # "why?" alone leans on a cue that half the article fits; "where?" or "how many?" do not.
    has_subject = any(best in matches[k] and g.weight and (g.terms or g.cue in _STRONG_CUES)
                      for k, g in enumerate(groups))
    if coverage[best] < MIN_COVERAGE or not specific or not has_subject:
        return nothing(), searched

    # The question's ideas that the best sentence holds and that few sentences share. Another
    # sentence is quoted too only when it is relevant: it holds every one of them.
    key = [k for k, g in enumerate(groups)
           if g.weight and best in matches[k] and len(matches[k]) <= max(2, n // 2)]

    def holds_key(sid: int) -> bool:
        return all(sid in matches[k] for k in key)

    chosen = [best]
    pos = index.order.index(best)
    if _NEEDS_CONTEXT.search(index.sentences[best].text) and pos > 0:
        chosen.append(index.order[pos - 1])          # "however, ..." needs what came before
    # A second answer elsewhere in the article ("opioids ... lack of effectiveness" after "a poor
    # response to ... opioids") must share the question's own words, not only fit a cue like "where"
    # or "how many", and answer well enough on its own.
    if any(groups[k].terms for k in key):
        for sid in ranked[1:]:
            if len(chosen) >= 3:
                break
            if sid not in chosen and holds_key(sid) and coverage[sid] >= MIN_COVERAGE:
                chosen.append(sid)
    # The next sentence of the same paragraph, when it carries on with the same ideas.
    if len(chosen) < 3 and pos + 1 < len(index.order):
        nxt = index.order[pos + 1]
        same_para = index.sentences[nxt].paragraph == index.sentences[best].paragraph
        if nxt not in chosen and same_para and any(nxt in matches[k] for k in key):
            chosen.append(nxt)
    # The sentence that answers comes first, then the one it points back to; the others follow in
    # reading order.
    context = [sid for sid in chosen if sid != best and index.order.index(sid) == pos - 1 and _NEEDS_CONTEXT.search(index.sentences[best].text)]
    rest = sorted((sid for sid in chosen if sid != best and sid not in context), key=lambda sid: index.sentences[sid].position)
    passages = [_passage(index, sid, best=sid == best) for sid in [best] + sorted(context + rest, key=lambda sid: index.sentences[sid].position)]
    return Answer(question=text, found=True, passages=passages, personal_medical=personal,
                  article_title=index.title), searched


OWN_TREATMENT = ("For your own treatment, please ask your doctor or pharmacist: they know your health and "
                 "your medicines.")
NO_ANSWER = "The article does not answer that question."
NO_ANSWER_OWN = f"{NO_ANSWER[:-1]} for you; here is only what it says on the subject."


def _passage(index: _StudyIndex, sid: int, best: bool) -> Passage:
    if sid == BYLINE:
        return Passage(paragraph=0, sentence=0, in_paragraph=0, text=f"Authored by: {index.byline}", best=best)
    s = index.sentences[sid]
    return Passage(paragraph=s.paragraph, sentence=s.position, in_paragraph=s.in_paragraph, text=s.text, best=best)


def render_answer(answer: Answer) -> RenderedCard:
    """The reply to /study ask as plain text parts (fits one embed)."""
    lines: list[str] = []
    if answer.personal_medical:
        lines.append(f"{OWN_TREATMENT} {NO_ANSWER_OWN}" if answer.found else OWN_TREATMENT)
    if answer.found:
        for p in answer.passages:
            where = f"paragraph {p.paragraph}" if p.paragraph else "the article's byline"
            lines.append(f"> {trim_to(p.text, 900)}\n({where})")
    else:
        lines.append(f"{NO_ANSWER} Try `/study summary` for what the study did and "
                     "found, or `/quote` to read what other people living with it wrote.")
    return RenderedCard(
        title=_limit(f"From the article: {answer.article_title}", EMBED_TITLE),
        description=_limit("\n\n".join(lines), EMBED_DESCRIPTION),
        fields=[],
        footer=NOT_MEDICAL_ADVICE,
    )
