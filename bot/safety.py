"""Safety wording and detectors for a health support community: crisis language and cure claims.

`scan(text)` is the one entry point. It scores a member's text with the learned models of
`bot.safety_model` (word and character n-grams, scored on every sentence and on the whole post) and
sorts the result into tiers:

- crisis (high score): the member is shown the server's crisis resources at once, the post is urgent
  and the moderators are alerted;
- possible crisis (middle score): urgent in the moderators' queue, marked "possible crisis", with no
  message to the member;
- cure claim: a testimonial or offer of a cure is held for a moderator with a neutral evidence note.
  Naming, asking about, doubting or mocking a treatment is not a claim.

Thresholds were chosen on a development split of the labelled corpus and ship with the model
(`resources/safety_model.json`); `python -m bot.safety_report` prints what they give on the frozen
test split. A detector is a net for moderators who still read every post, not a verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import safety_model

__all__ = [
    "NOT_MEDICAL_ADVICE", "DEFAULT_CRISIS_RESOURCES", "CURE_EVIDENCE_NOTE", "GUAIFENESIN_EVIDENCE_NOTE",
    "CRISIS_FLAG", "POSSIBLE_CRISIS_FLAG", "CURE_CLAIM_FLAG", "CRISIS", "POSSIBLE_CRISIS",
    "SafetyScan", "scan", "query_tier", "is_crisis_search", "crisis_message", "crisis_note", "help_line", "detector",
]

# Shown under every summary, answer and quote.
NOT_MEDICAL_ADVICE = "Not medical advice: talk to your doctor before changing any treatment."

# One short, kind message with one or two resources helps more than a long list of hotlines.
# Servers outside the US replace this with `/config crisis-resources`.
DEFAULT_CRISIS_RESOURCES = (
    "US: call or text 988 (Suicide & Crisis Lifeline), or text DISCORD to 741741 (Crisis Text Line). "
    "Elsewhere: call your local emergency number."
)

# Notes for the moderator who reviews a post held for a cure claim: neutral, sourced, short.
CURE_EVIDENCE_NOTE = (
    "Evidence note: there is no known cure for fibromyalgia. Some treatments and self-care help some "
    "people manage symptoms, but no product, diet or protocol has been shown in clinical trials to cure "
    "or reverse it. Personal experience is welcome; a cure claim is not established fact."
)
GUAIFENESIN_EVIDENCE_NOTE = (
    "Evidence note: guaifenesin for fibromyalgia was tested in a randomised, placebo-controlled trial "
    "(Bennett et al., 1996, 12 months): it made no difference compared with placebo in pain, other "
    "symptoms or laboratory measures."
)

CRISIS_FLAG = "crisis"
POSSIBLE_CRISIS_FLAG = "possible_crisis"
CURE_CLAIM_FLAG = "cure_claim"

# The crisis tiers, as `SafetyScan.tier` names them.
CRISIS = "crisis"
POSSIBLE_CRISIS = "possible"

# Ephemeral message content is limited to 2000 characters; the rest of the message needs ~250.
_MAX_RESOURCES_LENGTH = 1500
_MAX_PHRASE_LENGTH = 80

# Guaifenesin and its promoter's name, as people spell them: the claim gets the trial's note.
_GUAIFENESIN = re.compile(r"\bgu[ai]{1,2}f[ae]n[aei]?[sc][iy]ne?\b|\bguai\b|\bst\.?\s*amand\b", re.IGNORECASE)


@dataclass(frozen=True)
class SafetyScan:
    crisis: bool                      # high tier: show the member crisis resources, alert the moderators
    cure_claim: bool                  # hold for a moderator with `evidence_note`
    flags: tuple[str, ...]            # "crisis" or "possible_crisis", and "cure_claim"
    matched: tuple[str, ...]          # the sentences that carried the flags, as written, for the moderator
    evidence_note: str | None = None  # set when cure_claim is
    tier: str | None = None           # "crisis", "possible" or None
    crisis_score: float = 0.0         # 0..1, from the model
    cure_score: float = 0.0
    # Put a quoted text behind a content note and keep it to searches about mental health: it is in
    # the crisis tier and speaks of death, dying, suicide, self-harm or overdose in so many words. A
    # content note names what a text says; the model's score alone is not enough, since its surest
    # false alarms ("Wish they would do more research. I would do almost anything to be free of
    # this.") would hide an ordinary comment from ordinary searches.
    sensitive: bool = False

    @property
    def possible_crisis(self) -> bool:
        return self.tier == POSSIBLE_CRISIS

    @property
    def urgent(self) -> bool:
        """First in the moderators' queue: either crisis tier."""
        return self.tier is not None


def crisis_message(resources_text: str | None = None) -> str:
    """The short, kind message a member sees right after writing crisis language.

    `resources_text` is the server's crisis resources setting; empty or missing means the default.
    """
    resources = _resources(resources_text)
    return (
        "Thank you for trusting us with this. It sounds like things are really hard right now, "
        "and you don't have to carry it alone.\n"
        f"If you might act on these thoughts, please reach someone now: {resources}\n"
        "This bot isn't a crisis service, but a moderator will see your post."
    )


def query_tier(text: str) -> str | None:
    """The crisis tier of a question or a search: "crisis", "possible" or None.

    Read by its top window alone, with thresholds chosen for the top window by the same rules as a
    post's: the corrections that make a long post's score fairer lower a post's thresholds, and a
    question or a search, one window long, would fire more often at those."""
    model = safety_model.load_model()
    score = model.score(text).crisis_window
    thresholds = model.thresholds
    if score >= thresholds.get("window_high", thresholds["crisis_high"]):
        return CRISIS
    if score >= thresholds.get("window_middle", thresholds["crisis_middle"]):
        return POSSIBLE_CRISIS
    return None


def is_crisis_search(text: str) -> bool:
    """A search or a topic in words of crisis: for a few words, one of the plain crisis phrases
    ("suicide", "kms", "want to die"); for a sentence, either tier (`query_tier`)."""
    if safety_model.is_short(text):
        return safety_model.is_crisis_term(text)
    return query_tier(text) is not None


def crisis_note(resources_text: str | None = None) -> str:
    """The short, kind reply to crisis words typed in a question or a search (no post is made)."""
    return (
        "It sounds like things may be really hard right now, and you don't have to carry it alone. "
        f"If you might act on these thoughts, please reach someone now: {_resources(resources_text)}\n"
        "This bot isn't a crisis service, but the people in this server care. "
    ).rstrip()


def help_line(resources_text: str | None = None) -> str:
    """One short line that ends every thank-you: where help is, whatever the detector said."""
    return f"If you ever need help right now: {_resources(resources_text)}"


def _resources(resources_text: str | None) -> str:
    resources = (resources_text or "").strip() or DEFAULT_CRISIS_RESOURCES
    if len(resources) > _MAX_RESOURCES_LENGTH:
        resources = resources[: _MAX_RESOURCES_LENGTH - 1].rstrip() + "…"
    return resources


def _shortened(phrase: str) -> str:
    phrase = " ".join(safety_model.visible(phrase).split())
    if len(phrase) <= _MAX_PHRASE_LENGTH:
        return phrase
    half = _MAX_PHRASE_LENGTH // 2 - 1
    return phrase[:half] + "…" + phrase[-half:]


def scan(text: str) -> SafetyScan:
    """Score a member's text for crisis language and unproven-cure claims (linear in its length)."""
    model = safety_model.load_model()
    scores = model.score(text)
    thresholds = model.thresholds
    tier = (CRISIS if scores.crisis >= thresholds["crisis_high"]
            else POSSIBLE_CRISIS if scores.crisis >= thresholds["crisis_middle"] else None)
    cure_claim = scores.cure >= thresholds["cure"]
    if tier is None and not cure_claim:
        return SafetyScan(crisis=False, cure_claim=False, flags=(), matched=(),
                          crisis_score=scores.crisis, cure_score=scores.cure)

    flags: list[str] = []
    if tier is not None:
        flags.append(CRISIS_FLAG if tier == CRISIS else POSSIBLE_CRISIS_FLAG)
    if cure_claim:
        flags.append(CURE_CLAIM_FLAG)
    parts = safety_model.piece_texts(text)
    matched: list[str] = []
    for on, at in ((tier is not None, scores.crisis_part), (cure_claim, scores.cure_part)):
        if on and 0 <= at < len(parts):
            phrase = _shortened(parts[at])
            if phrase and phrase not in matched:
                matched.append(phrase)
    note = None
    if cure_claim:
        note = GUAIFENESIN_EVIDENCE_NOTE if _GUAIFENESIN.search(safety_model.visible(text)) else CURE_EVIDENCE_NOTE
    return SafetyScan(crisis=tier == CRISIS, cure_claim=cure_claim, flags=tuple(flags), matched=tuple(matched),
                      evidence_note=note, tier=tier, crisis_score=scores.crisis, cure_score=scores.cure,
                      sensitive=tier == CRISIS and safety_model.names_crisis(text))


# What a stored verdict was made by: the shipped model and the rules above that read its scores.
# Change RULES when those rules change, so that stored scans and topic tags are made again.
RULES = "3"


def detector() -> str:
    return f"{safety_model.load_model().digest}:{RULES}"
