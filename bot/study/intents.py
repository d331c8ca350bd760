"""What a member's question asks, in members' own words.

Members write "fibro", "FM" or "fybro" for fibromyalgia, "ppl" for people, and ask the same few
kinds of question about a study article: who did it, who wrote the article, where and when, how
many took part or have the illness, how it was done, what was found, what it means, whether the
illness is real or "all in my head", whether there is a cure, how sure the finding is. Each kind
points at sentences the article's own facts single out (the lead author's sentence, the
participants' sentence, the method and findings of the study card, the background on the illness),
so the answer does not depend on the member using the article's words.

Nothing here knows the article: the rules read the study card and the sentences of any article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.text import fold, in_order

# -- members' spellings --------------------------------------------------------------------------

# The illness as members write it: "fibro", "FM", "FMS", "fybro", "fibromyalga", "fibromialgia".
_ILLNESS = re.compile(r"\b(?:fibro\w*|fybro\w*|fibr[aeiou]m\w*|fm|fms|fibromyalgia)\b")
# Chat spellings -> the plain word. Only words that cannot mean anything else.
_CHAT = {
    "ppl": "people", "ppls": "people", "peeps": "people", "pple": "people", "folks": "people",
    "persons": "people", "person": "people",
    "pls": "", "plz": "", "pleas": "", "please": "", "thx": "", "thanks": "", "lol": "", "ok": "", "okay": "",
    "u": "you", "ur": "your", "r": "are", "wat": "what", "wht": "what", "whos": "who is", "whats": "what is",
    "hows": "how is", "wheres": "where is", "y": "why", "bc": "because", "cuz": "because", "coz": "because",
    "dont": "don't", "doesnt": "doesn't", "didnt": "didn't", "isnt": "isn't", "arent": "aren't", "cant": "can't",
    "im": "i'm", "ive": "i've", "doc": "doctor", "docs": "doctors", "dr": "doctor", "drs": "doctors",
    "usa": "americans", "america": "americans", "american": "americans", "yrs": "years", "yr": "year",
    "b4": "before", "abt": "about", "w/": "with", "w": "with", "smth": "something", "sth": "something",
    "diff": "different", "meds": "medications", "med": "medication", "oxy": "opioid", "oxycodone": "opioid",
    "opiods": "opioids", "opoids": "opioids", "opiates": "opioids", "opiate": "opioid",
}


def member_words(question: str) -> str:
    """The question folded, with the illness's many spellings and chat spellings made plain."""
    q = fold(question or "").replace("’", "'")
    q = re.sub(r"[^\w'&/ -]+", " ", q)
    q = _ILLNESS.sub("fibromyalgia", q)
    # "what were the cues? like sounds or lights or what": the member's guesses are not the subject.
    q = re.sub(r"\b(?:like|e g|such as) (?:\w+ ){1,4}or (?:\w+ )*?(?:what|something|smth|sth)\b", " ", q)
    out = []
    for w in q.split():
        plain = _CHAT.get(w, w)
        if plain:
            out.append(plain)
    return " ".join(out)


# -- kinds of question ---------------------------------------------------------------------------

# What a member may ask works or not ("effectiveness").
_TREATMENTS = r"opioids?|medications?|medicines?|painkillers?|treatments?|injections?|drugs?|pills?|creams?"


@dataclass(frozen=True)
class Kind:
    name: str
    pattern: re.Pattern[str]


_STUDY_WORDS = r"(?:study|studies|research|trial|experiment|they|participants?|subjects?|enrolled|took part|scan\w*|sample|controls?|healthy|without)"
KINDS: tuple[Kind, ...] = (
    # Who wrote the article (its byline), not who did the study.
    Kind("byline", re.compile(
        r"\b(?:who (?:wrote|writes|authored|published) (?:this|the|it)\b(?! study| research| paper)|"
        r"writer|journalist|reporter|authored|geschrieben|artikel|(?:author|wrote) (?:of )?(?:this |the )?"
        r"(?:article|story|piece|post|news))")),
    Kind("when", re.compile(
        r"(?:^|\b(?:and|so|but) )when\b|\bwhen (?:did|was|were|is|will|does|do)\b|\bwhat (?:year|date|month|day)\b"
        r"|\bdate\b|\byear\b|\bhow (?:old|recent|new) is (?:this|the|it)\b|\bold news\b")),
    # "how much pressure", "how long were they scanned": a number the article gives or not.
    Kind("quantity", re.compile(
        r"\bhow (?:much|long|often|far|hot|cold|warm|strong|hard|heavy|old)\b(?! (?:people|participants|patients|subjects))")),
    Kind("journal", re.compile(
        r"\bjournals?\b|\bpublished\b|\bpublication\b|\boriginal (?:paper|study|article)\b")),
    Kind("new_treatment", re.compile(
        r"\bnew (?:treatments?|drugs?|medications?|medicines?|pills?|therapy|therapies)\b")),
    Kind("cure", re.compile(r"\bcur(?:e|es|ed|able|ing)\b|\bgo away\b|\bgoes away\b|\bheal(?:ed|able)?\b|\bremission\b")),
    Kind("illness_count", re.compile(
        r"\b(?:how many|number of|how common|prevalence|estimates?|sufferers)\b"
        r"(?!.*\b" + _STUDY_WORDS + r"\b)")),
    Kind("study_count", re.compile(
        r"\bhow many\b|\bhow much (?:people|participants|patients|subjects)\b|\bsample size\b"
        r"|\bnumber of (?:people|participants|patients|subjects)\b"
        r"|\bwho (?:took part|participated|was in|were in)\b|\bcompare with\b|\bcontrol group\b|\bcontrols\b")),
    Kind("size", re.compile(
        r"\b(?:big|small|large|size|tiny|reliable|trust\w*|limits?|limitations?|weakness\w*|flaws?|drawbacks?|"
        r"caveats?|few people)\b")),
    Kind("certainty", re.compile(
        r"\b(?:prove[sn]?|proof|for sure|certain\w*|definite\w*|just maybe|cause and effect|causation|just a link|"
        r"correlation)\b")),
    Kind("future", re.compile(
        r"\b(?:next|future|further|follow[- ]?up|more research|more studies|needs? to happen|going to (?:do|study|research))\b")),
    Kind("author", re.compile(
        r"\bwho\b(?! (?:took part|participated|was in|were in))|\blead (?:author|researcher|scientist|investigator)\b|"
        r"\bhis name\b|\bher name\b|\bname\b|\bquoted\b|\bbehind (?:the|this) (?:study|research)\b|\bresearchers? at\b|\bauthor\b")),
    Kind("place", re.compile(
        r"\bwhere (?:was|were|is|did|does|do)\b(?! (?:on|in) (?:the|their) (?:body|brain))|\b(?:which|what) (?:hospital|university|institution|institute|"
        r"city|country|college|school|place|places|lab)\b|\bharvard\b|\bwork at\b|\bwhere does \w+ work\b"
        r"|\b(?:was|is) (?:this|the|it) (?:study |research )?(?:done )?in\b|\bis \w+ from\b|\bcountry\b|\bcity\b")),
    Kind("explanation", re.compile(
        r"\bexplanation\b|\bwhy (?:do|does|did|is|are|would|might|could)\b|\bexplains? (?:why|the|this|how|what)\b"
        r"|\b(?:does|could|would|might|can|do) (?:this|it|that|these|the \w+(?: \w+)?) explain\b|\bbecause\b")),
    # "what was the study trying to find out?"
    Kind("aim", re.compile(
        r"\b(?:trying to|want(?:ed)? to|set out to|sought to|aim(?:ed|s)? to|aims?|goal|purpose|question)"
        r" (?:find out|know|learn|see|test|discover|answer|of (?:the|this) (?:study|research))\b")),
    # "do opioids work", "are meds useless", "injections don't help": what the article says of treatments.
    Kind("effectiveness", re.compile(
        in_order(_TREATMENTS, r"work|works|working|help|helps|useless|effective|ineffective|weak|barely|useful|bad|"
                              r"fail\w*|poor|poorly")
        + "|" + in_order(r"work|works|help|helps|useless|effective|ineffective|weak|barely|useful|bad|poor|poorly",
                         _TREATMENTS))),
    Kind("findings", re.compile(
        r"\bfind\b|\bfound\b|\bfindings?\b|\bresults?\b|\bdiscover\w*\b|\bwhat happen\w*\b|\bwhat(?: is|'s)? different\b|"
        r"\bdifferent(?:ly)?\b|\boveractive\b|\bunderactive\b|\brespond\w*\b|\bresponses?\b|\bshow(?:ed|s)?\b|\bturn (?:off|on)\b"
        r"|\bup,? (?:or )?down\b|\bhigher or lower\b|\bmore or less\b")),
    Kind("method", re.compile(
        r"\bhow (?:did|do|was|were) (?:they|the researchers|researchers|scientists|the study|it|the pain|pain|the patients|patients|people)\b"
        r"(?! (?:find|found|feel|respond|react))|\bwhat did they (?:actually )?do\b|\bmethods?\b|\bprocedures?\b|"
        r"\bmri\b|\bscan\w*\b|\bcues?\b|\bpressure\b|\bwhat kind of (?:scan|test|pain)\b|\bon the body\b")),
    Kind("meaning", re.compile(
        r"\bwhat does (?:this|it|that) mean\b|\bwhat (?:this|it) means\b|\bmean for\b|\bso what\b|\bmatter\w*\b|"
        r"\bwhat does (?:this|it) tell\b|\bimplications?\b")),
    Kind("real", re.compile(
        r"\b(?:real|exist\w*|imaginary|made up|fake|in my head|in our heads?|all in (?:my|your|our|the) head|"
        r"brain thing|physical|proof)\b")),
    # "is it caused by depression", "what causes it"
    Kind("cause", re.compile(r"\bcaused? by\b|\bwhat causes\b|\bcauses?\b|\bcausing\b")),
    Kind("describe", re.compile(r"\bdescribe\w*\b|\bwhat is fibromyalgia\b|\bunderstood\b|\bsymptoms?\b")),
)


def kinds_of(question: str) -> list[str]:
    """The kinds of question `question` (already `member_words`) asks, strongest first."""
    return [k.name for k in KINDS if k.pattern.search(question)]


# "what is the VTA", "what does MRI stand for", "VTA meaning", "define hyperalgesia",
# "where in the brain is the VTA": the term asked about.
_DEFINE = (
    re.compile(r"^(?:what|what's)(?: is| are| does| do)?(?: an?| the)? (?P<t>[\w' &-]{2,60}?)"
               r"(?: (?:mean|means|stand for|stands for|in the article|they talk about|got to do with \w+))?$"),
    re.compile(r"^(?P<t>[\w' &-]{2,40}?) (?:meaning|definition|means what)$"),
    re.compile(r"^(?:define|meaning of|definition of|explain) (?:the )?(?P<t>[\w' &-]{2,40})$"),
    re.compile(r"^where (?:in|on) the (?:brain|body) (?:is|are) (?:the |an? )?(?P<t>[\w' &-]{2,40})$"),
)


def defined_term(question: str) -> str | None:
    """The term a "what is X?" question asks about (`question` already `member_words`)."""
    q = question.strip(" ?!.'")
    q = re.sub(r"\s+", " ", q.replace("'", " ").replace("?", " ")).strip()
    # "sorry for the dumb question but what is ...": the question starts at its question word.
    start = max(q.rfind(" what "), q.rfind(" where in "))
    if start > 0:
        q = q[start + 1:]
    for rx in _DEFINE:
        m = rx.match(q)
        if m:
            term = m.group("t").strip()
            if term and term not in {"this", "it", "that", "the study", "this study", "the article", "fibromyalgia"} \
                    and not re.search(r"\b(?:say|says|said|about|mention\w*|tell|tells|think|thinks)\b", term):
                return term
    return None


# Words of chat that name no subject: a question that holds only these and the article's own
# words asks about something the article covers.
FILLER = frozenset("""
like just really actually actual literally basically exactly simply simple plain words word thing things stuff
guy guys girl according random total name names without someone somebody anyone anybody everyone everybody anything something nothing everything
one ones lot lots bit kind sort way ways whole part parts same other another else ever never always still even
sure maybe probably pretty quite bit little much many more most less least very too so well
okay yes yeah yep nope hey hi hello sorry dumb silly stupid question questions ask asking asked
understand understanding explain explained tell telling told say says said saying talk talks talking
mean means meaning meant know knew known think thought wonder wondering curious confused read reading
article story piece news post posted page paper study studies research researcher researchers scientist
scientists doctor doctors team trial experiment they them their
get gets got getting go goes going went come comes came coming make makes made take took taken give gave given
look looks looked looking see seen saw find found show shows showed shown put puts happen happens happened
want wanted need needs needed try tried trying use used using feel feels felt feeling
now then today yet already again soon later year years time times day days week weeks
good bad real true right wrong correct first last
me my mine myself our ours us we you your yours he she his her him it its this that these those
here there where when why how what which who whom whose whether if than then
chronic illness disease sufferer
also only both either neither each every all any some few several
able can could would should will shall may might must
in on at to of for with by from about into onto over under between during after before
compared compare comparing against per via vs versus plus
english sorry hello please
""".split())
