"""How a study was done, in everyday words, built from what the article's method sentences state.

Each rule reads one kind of procedure health news stories describe (a scan during a pain test, a
warning signal before the pain, a device worn on the body, people split into two groups) and says
it plainly, filling in the article's own details: which scanner, which body part, which device,
what the other group did. Every detail comes from the article; a rule that finds a detail missing
does not apply. A method sentence no rule reads stays in the article's words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from bot.study.facts import _METHOD
from bot.study.model import CardItem

_SCANNER = re.compile(r"\b(?P<s>fMRI|MRI|PET)\b|\bmagnetic resonance\b", re.I)
_BODY = r"(?:leg|arm|forearm|thumb|hand|finger|foot|calf|thigh|back|shoulder|wrist|ankle)"
_ON_BODY = re.compile(rf"\bon (?:a|the|one|their|each) (?P<part>{_BODY})\b", re.I)
# Pain set off on purpose: "cuff pressure pain", "pressure pain", "heat pain", "painful heat".
_STIMULUS = re.compile(
    r"\b(?:(?P<cuff>cuff) pressure|(?P<pressure>pressure)|(?P<heat>heat(?:ed)?)|(?P<cold>cold))"
    r"(?: pain)? (?:stimul\w+|pain)\b", re.I)
_EVERYONE = re.compile(r"\b(?:all|every|each) (?:subjects?|participants?|patients?|volunteers?|people|persons?)\b", re.I)
_CUE = re.compile(r"\b(?P<sense>visual|sound|audio|auditory|spoken)? ?(?:cues?|signals?|warnings?)\b", re.I)
_PAIN_START = re.compile(r"\b(?:pain onset|onset of (?:the )?pain|pain (?:would|was about to) (?:start|begin))\b", re.I)
_PAIN_END = re.compile(r"\b(?:pain offset|offset|relief|pain (?:would|was about to) (?:stop|end))\b", re.I)
_BRAIN = re.compile(r"\bbrains?\b", re.I)
_RESPONSE = re.compile(r"\b(?:respon\w+|activ\w+)\b", re.I)
_WORN = re.compile(
    r"\b(?:(?P<what>[A-Z]?[a-z]+) (?:was|were) (?:measured|tracked|recorded) with )?an? "
    r"(?P<place>wrist|arm|waist|ankle|chest)[- ]worn (?P<device>(?:[a-z]+ ){0,2}(?:monitor|tracker|device|sensor|band))"
    r"(?P<when> (?:for|during|over) [^.;:]+)?", re.I)
_HALVES = re.compile(
    r"\bHalf (?:of them )?(?:were|was) (?:randomly )?assigned to (?P<a>[^;]+?)[;,] the other half"
    r"(?:, (?:the|a) (?:control|comparison) group,)? (?P<b>[^.;]+)", re.I)
_BY_CHANCE = re.compile(r"\brandomi[sz]ed|\brandomly\b|\bat random\b", re.I)
_SENSE = {"visual": "they could see", "sound": "they could hear", "audio": "they could hear",
          "auditory": "they could hear", "spoken": "they could hear"}


@dataclass(frozen=True)
class PlainLine:
    """One sentence of the method in plain words, and the article sentences it rests on."""
    text: str
    positions: tuple[int, ...]


def _scanner_name(text: str) -> str | None:
    m = _SCANNER.search(text)
    if not m:
        return None
    return (m.group("s") or "MRI").replace("fmri", "fMRI").upper().replace("FMRI", "fMRI")


def _pain_test(item: CardItem, brain_found: bool, eased: bool) -> str | None:
    """"While lying in an MRI, each person had a cuff on the leg tightened until it hurt; the
    scanner recorded how their brains responded." Needs a scanner, a named stimulus and the body
    part in the same sentence."""
    scanner, stimulus, part = _scanner_name(item.text), _STIMULUS.search(item.text), _ON_BODY.search(item.text)
    if not (scanner and stimulus and part):
        return None
    who = "each person" if _EVERYONE.search(item.text) else "the participants"
    limb = part.group("part").lower()
    if stimulus.group("cuff"):
        done = f"had a cuff on the {limb} tightened until it hurt" + (", then loosened" if eased else "")
    elif stimulus.group("pressure"):
        done = f"had the {limb} pressed until it hurt"
    elif stimulus.group("heat"):
        done = f"had the skin of the {limb} heated until it hurt"
    else:
        done = f"had the {limb} chilled until it hurt"
    article = "an" if scanner[0] in "AEFHILMNORSX" else "a"
    # "an MRI" is how people say it; "a PET scanner" needs the noun.
    line = f"While lying in {article} {scanner}{'' if 'MRI' in scanner else ' scanner'}, {who} {done}"
    if brain_found:
        line += "; the scanner recorded how their brains responded"
    return line[0].upper() + line[1:] + "."


def _warning(item: CardItem) -> str | None:
    """"A signal they could see warned them each time the pain was about to start, and each time it
    was about to stop." Needs a cue and both the start and the end of the pain."""
    cue = _CUE.search(item.text)
    if not (cue and _PAIN_START.search(item.text) and _PAIN_END.search(item.text)):
        return None
    sense = _SENSE.get((cue.group("sense") or "").lower())
    signal = f"A signal {sense}" if sense else "A signal"
    return f"{signal} warned them each time the pain was about to start, and each time it was about to stop."


def _worn(item: CardItem) -> str | None:
    """"They wore an activity monitor on the wrist to measure their sleep, for one week before ..."."""
    m = _WORN.search(item.text)
    if not m:
        return None
    device = m.group("device").lower()
    article = "an" if device[0] in "aeiou" else "a"
    line = f"They wore {article} {device} on the {m.group('place').lower()}"
    if m.group("what"):
        line += f" to measure their {m.group('what').lower()}"
    if m.group("when"):
        line += "," + m.group("when")
    return line + "."


def _halves(item: CardItem, by_chance: bool) -> str | None:
    """"Half of them, chosen by chance, went to X; the other half, for comparison, Y." """
    m = _HALVES.search(item.text)
    if not m:
        return None
    chosen = ", picked by chance," if by_chance else ""
    return f"Half of them{chosen} went to {m.group('a').strip()}; for comparison, the other half {m.group('b').strip()}."


def plain_method(method: Sequence[CardItem], findings: Sequence[CardItem] = (),
                 context: Sequence[CardItem] = ()) -> list[PlainLine]:
    """The method sentences in plain words, in the article's order: each sentence a rule reads is
    said plainly; any other stays as the article wrote it. `findings` tell whether the scanner
    showed the brain responding; `context` (other method sentences, the participants sentence) whether the
    groups were formed by chance."""
    brain_found = any(_BRAIN.search(f.text) and _RESPONSE.search(f.text) for f in findings)
    by_chance = any(_BY_CHANCE.search(i.text) for i in [*method, *context])
    eased = any(_PAIN_END.search(i.text) for i in method)  # the article says when the pain stopped
    halves = any(_HALVES.search(i.text) for i in method)
    out: list[PlainLine] = []
    for item in sorted(method, key=lambda i: i.position):
        said = [line for line in (_pain_test(item, brain_found, eased), _warning(item), _worn(item),
                                  _halves(item, by_chance)) if line]
        if not said and halves and _BY_CHANCE.search(item.text) and not _METHOD.search(_BY_CHANCE.sub("", item.text)):
            continue  # it is here only for "randomised", which the plain line about the two halves says
        if said:
            out.append(PlainLine(" ".join(said), (item.position,)))
        else:
            out.append(PlainLine(f"“{item.text}”" if item.quoted else item.text, (item.position,)))
    return out
