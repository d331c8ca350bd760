"""The safety detectors: labelled sets, must-catch and must-not-catch phrases, speed, and the
machinery under them (normalisation, anchors, pattern compilation)."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import safety
from bot.safety import (
    CURE_EVIDENCE_NOTE, DEFAULT_CRISIS_RESOURCES, GUAIFENESIN_EVIDENCE_NOTE, NOT_MEDICAL_ADVICE, SafetyScan,
    crisis_message, scan,
)
from bot.safety_report import Score, build_report, format_report, load_cases, score
import safety_cases
from safety_cases import Case, labelled_sets

SETS = labelled_sets()


# --- The labelled sets --------------------------------------------------------------------------


def test_sets_are_big_enough_and_balanced():
    for detector, groups in SETS.items():
        development = groups["development"]
        positives = sum(case.expected for case in development)
        assert len(development) >= 30, detector
        assert 0.4 <= positives / len(development) <= 0.6, detector  # roughly half each
        assert len(groups["seed"]) >= 24  # every comment of the article


def test_every_text_is_labelled_once_per_detector():
    for detector, groups in SETS.items():
        texts = [case.text for cases in groups.values() for case in cases]
        assert len(texts) == len(set(texts)), detector


def test_seed_comments_are_all_labelled():
    crisis, cure = safety_cases.seed_cases()
    assert len(crisis) == 24
    assert len(cure) == 25  # the comments and the article's "no known cure" paragraph


@pytest.mark.parametrize("detector", ["crisis", "cure_claim"])
@pytest.mark.parametrize("group", ["development", "seed", "held_out", "held_out_2", "held_out_3"])
def test_precision_and_recall_per_set(detector, group):
    result = score(detector, SETS[detector][group])
    print(f"{detector}/{group}: precision {result.precision}, recall {result.recall}, "
          f"misses {result.misses}, false alarms {result.false_alarms}")
    assert result.precision is None or result.precision >= 0.9
    assert result.recall is None or result.recall >= 0.9


@pytest.mark.parametrize("detector", ["crisis", "cure_claim"])
def test_precision_and_recall_over_all_sets(detector):
    everything = [case for cases in SETS[detector].values() for case in cases]
    result = score(detector, everything)
    # Measured: crisis 74/74 flagged correctly, recall 74/76; cure claims 52/52 and 52/52.
    assert result.precision >= 0.97
    assert result.recall >= 0.95
    assert result.false_positives == 0


def test_development_sets_are_clean():
    for detector, groups in SETS.items():
        result = score(detector, groups["development"])
        assert (result.misses, result.false_alarms) == ([], []), detector


def test_score_counts():
    result = Score()
    for expected, got in [(True, True), (True, True), (True, False), (False, True), (False, False)]:
        result.add("x", expected, got)
    assert (result.true_positives, result.false_negatives, result.false_positives, result.true_negatives) == (2, 1, 1, 1)
    assert result.precision == pytest.approx(2 / 3)
    assert result.recall == pytest.approx(2 / 3)
    assert Score().precision is None and Score().recall is None


def test_report_runs_and_names_every_set(capsys):
    report = build_report(load_cases())
    text = format_report(report)
    for group in ("development", "seed", "held_out", "held_out_2", "held_out_3"):
        assert group in text
    assert report["detectors"]["crisis"]["all"]["size"] == sum(len(c) for c in SETS["crisis"].values())
    # First-look numbers are history, printed as recorded.
    assert report["first_look"]["crisis"]["held_out_2"]["recall"] == pytest.approx(1 / 14)
    assert report["timing"]["seed_comments"]["ms_per_scan"] > 0


def test_report_command_prints_json(capsys):
    from bot.safety_report import main

    assert main(["--json"]) == 0
    out = capsys.readouterr().out
    assert '"precision"' in out and '"recall"' in out


# --- Must catch, must not catch (from the issue and safety.md) ----------------------------------

MUST_CATCH_CRISIS = [
    "kms",
    "I want to kms",
    "thinking about sewerslide",
    "i want to unalive myself",
    "I'd be better off dead",
    "I don't want to be here anymore",
    "I want to end it all",
    "I'm thinking about ending my life",
    "I tried to kill myself last year",
    "not always thinking about ended my life",
    "I've been self-harming again",
    "I have suicidal thoughts most nights",
    "I\u2019m   SO   suicidal",
    "KILLLL MYSELF",
    "k\u200bms",
    "i\u2019m tryna not kms",
]
MUST_NOT_CATCH_CRISIS = [
    "this flare is killing me",
    "dead tired",
    "my phone died",
    "I killed it at physio",
    "the pain is killing me",
    "I'm dying to try that",
    "I could kill for a nap",
    "my feet are killing me",
    "I need to take better care of myself",
    "changes in the weather kill me",
    "I walked 5 kms today",
    "I'm not suicidal, just tired",
]
MUST_CATCH_CURE = [
    "Turmeric cured my fibro",
    "this diet reverses fibromyalgia",
    "Guaifenesin is the answer for fibro pain",
    "a miracle cure for fibromyalgia",
    "100% effective against fibro",
    "the cure doctors don't want you to know",
    "There is a cure!",
]
MUST_NOT_CATCH_CURE = [
    "I take Norco",
    "my doctor prescribed Lyrica",
    "I want a cure",
    "lets fight for a cure",
    "there is no known cure",
    "I'm just at a loss for a cure",
    "guaifenesin has been proved to be bunkum",
    "Is there a cure?",
    "cured meats give me headaches",
]


@pytest.mark.parametrize("text", MUST_CATCH_CRISIS)
def test_must_catch_crisis(text):
    result = scan(text)
    assert result.crisis and result.urgent and "crisis" in result.flags and result.matched


@pytest.mark.parametrize("text", MUST_NOT_CATCH_CRISIS)
def test_must_not_catch_crisis(text):
    assert not scan(text).crisis


@pytest.mark.parametrize("text", MUST_CATCH_CURE)
def test_must_catch_cure_claim(text):
    result = scan(text)
    assert result.cure_claim and "cure_claim" in result.flags and result.evidence_note


@pytest.mark.parametrize("text", MUST_NOT_CATCH_CURE)
def test_must_not_catch_cure_claim(text):
    assert not scan(text).cure_claim


def test_seed_comment_with_past_suicidal_thoughts_is_urgent_and_names_the_phrase():
    crisis, _ = safety_cases.seed_cases()
    comment = next(case.text for case in crisis if "ended my life" in case.text)
    result = scan(comment)
    assert result.crisis and not result.cure_claim
    assert any("ended my life" in phrase for phrase in result.matched)


def test_seed_comments_promoting_guaifenesin_get_the_trial_note():
    _, cure = safety_cases.seed_cases()
    for case in cure:
        result = scan(case.text)
        if "St. Amand" in case.text:
            assert result.cure_claim and result.evidence_note == GUAIFENESIN_EVIDENCE_NOTE
        if "bunkum" in case.text:  # the debunking comment
            assert not result.cure_claim and result.evidence_note is None


# --- What a scan returns ------------------------------------------------------------------------


def test_quiet_post_scans_empty():
    assert scan("My pain doctor says pacing helps. Water aerobics too.") == SafetyScan(
        crisis=False, cure_claim=False, flags=(), matched=(), evidence_note=None
    )


def test_matched_phrases_are_as_the_member_wrote_them():
    result = scan("Honestly I don\u2019t   want to be here ANYMORE!!")
    assert result.matched == ("don\u2019t want to be here ANYMORE",)
    assert scan("I was suicidal in 2015").matched == ("I was suicidal",)  # overlapping rules give one phrase


def test_both_detectors_and_the_generic_note():
    result = scan("This tea cures fibromyalgia. Some days I want to die.")
    assert result.flags == ("crisis", "cure_claim")
    assert result.evidence_note == CURE_EVIDENCE_NOTE
    assert "want to die" in result.matched and "cures" in result.matched


def test_crisis_alone_has_no_evidence_note():
    assert scan("I want to die").evidence_note is None


def test_guaifenesin_for_a_cold_is_not_flagged_but_with_fibro_it_is():
    assert not scan("I take guaifenesin for my chest cold and cough").cure_claim
    assert scan("I take guaifenesin for my fibro").evidence_note == GUAIFENESIN_EVIDENCE_NOTE
    assert scan("guifenicin helped my pain").cure_claim  # a misspelling


def test_denied_debunking_still_flags():
    assert scan("Guaifenesin isn't a scam, it works for fibro").cure_claim


def test_questions_and_scare_quotes_are_not_claims():
    assert not scan("Has anyone been cured?").cure_claim
    assert not scan('I tried all the "cures" and nothing worked').cure_claim


def test_evidence_notes_cite_the_trial_and_stay_neutral():
    assert "1996" in GUAIFENESIN_EVIDENCE_NOTE and "Bennett" in GUAIFENESIN_EVIDENCE_NOTE
    assert "12 months" in GUAIFENESIN_EVIDENCE_NOTE and "placebo" in GUAIFENESIN_EVIDENCE_NOTE
    assert "no known cure" in CURE_EVIDENCE_NOTE
    for note in (CURE_EVIDENCE_NOTE, GUAIFENESIN_EVIDENCE_NOTE):
        assert "!" not in note and "dangerous" not in note.lower()
    assert NOT_MEDICAL_ADVICE.startswith("Not medical advice")


# --- The member's crisis message ----------------------------------------------------------------


def test_crisis_message_uses_the_default_resources_when_none_are_set():
    for setting in (None, "", "   "):
        message = crisis_message(setting)
        assert DEFAULT_CRISIS_RESOURCES in message
        assert "988" in message


def test_crisis_message_is_short_kind_and_honest():
    message = crisis_message("UK: call Samaritans on 116 123.")
    assert "116 123" in message and "988" not in message
    assert "isn't a crisis service" in message
    assert "moderator will see your post" in message
    assert len(message) < 500
    assert "must" not in message.lower() and "should" not in message.lower()  # no lecturing


def test_crisis_message_fits_a_discord_message_even_with_huge_resources():
    message = crisis_message("x" * 5000)
    assert len(message) <= 2000
    assert "…" in message


# --- Speed --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "kms " * 1000, "5 kms " * 660, "i'm not suicidal, " * 220, "suicide rates " * 285,
    "guaifenesin " * 330, "it cured me? " * 300, "k" + "i" * 3990 + "ll myself", "\n" * 4000,
])
def test_long_repetitive_posts_are_scanned(text):
    # Speed is measured by `python -m bot.safety_report`, not asserted here.
    result = scan(text)
    assert isinstance(result.crisis, bool) and isinstance(result.cure_claim, bool)


# --- Machinery ----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_both_normalisers_agree_and_positions_point_at_the_same_letters(text):
    fast = safety._normalise(text)
    slow, maps = safety._normalise_with_maps(text)
    assert fast == slow
    previous = -1
    for i, ch in enumerate(fast):
        original = safety._original_position(maps, i)
        assert original > previous
        previous = original
        source = text[original].translate(safety._PLAIN).lower()
        assert source == ch or (ch == " " and source.isspace())


def test_only_one_letter_lowers_to_two_characters():
    # The position maps rely on lower() keeping lengths; the one exception is made "i" beforehand.
    longer = [code for code in range(sys.maxunicode + 1)
              if not 0xD800 <= code <= 0xDFFF and len(chr(code).lower()) != 1]
    assert longer == [0x130]
    assert safety._normalise("\u0130") == "i"


def _vocabulary() -> list[str]:
    words: set[str] = set()
    for groups in SETS.values():
        for cases in groups.values():
            for case in cases:
                words.update(case.text.split())
    return sorted(words)


VOCABULARY = _vocabulary()


def _ungated(text: str) -> tuple[list, list]:
    normalised = safety._normalise(text)
    return (
        sorted(safety._CRISIS.spans(normalised, indexes=list(range(len(safety._CRISIS.rules))))),
        sorted(safety._CURE.spans(normalised, indexes=list(range(len(safety._CURE.rules))))),
    )


def _gated(text: str) -> tuple[list, list]:
    normalised = safety._normalise(text)
    return sorted(safety._CRISIS.spans(normalised)), sorted(safety._CURE.spans(normalised))


def test_anchors_never_hide_a_match_in_the_labelled_sets():
    for groups in SETS.values():
        for cases in groups.values():
            for case in cases:
                assert _gated(case.text) == _ungated(case.text), case.text
                assert _gated(case.text.upper()) == _ungated(case.text.upper()), case.text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=25), st.sampled_from([" ", "  ", ". ", ", ", "\n"]))
def test_anchors_never_hide_a_match_in_shuffled_phrases(words, separator):
    text = separator.join(words)
    assert _gated(text) == _ungated(text)


def test_every_rule_can_fire_somewhere():
    # A rule no labelled text ever matches is either dead or untested.
    used = set()
    for groups in SETS.values():
        for cases in groups.values():
            for case in cases:
                normalised = safety._normalise(case.text)
                for rule_set, name in ((safety._CRISIS, "crisis"), (safety._CURE, "cure")):
                    for index, (_, pattern, _, _) in enumerate(rule_set.rules):
                        if pattern.search(normalised):
                            used.add((name, index))
    extra = [
        "jump off the bridge", "step in front of a train", "toaster bath", "slit my wrists", "hang myself",
        "burning myself on purpose", "i harmed myself again", "I used to cut.", "since my attempt",
        "took all my pills at once", "stockpiling my pills", "how many of my pills it would take",
        "why bother living", "welcome death", "I wish I wasn't alive", "gave up on life", "can't go on anymore",
        "hope I don't wake up", "sleep and never wake up", "I don't want to wake up", "life is not worth it",
        "sick of existing", "they'd be better off without their mom", "i'd rather die", "swallowing all of them",
        "my pills are ready", "thinking of od'ing", "i'm going to do something stupid", "nobody would miss me",
        "want out of this life", "i'd be fine without me", "a painless way", "lost the reason to live",
        "I can't keep living", "want to stop breathing", "i won't be around much longer", "thinking about jumping.",
        "goodbye letter", "said my goodbyes", "planning my exit", "want it all to end", "wish I was dead",
        "i might do something to myself", "death would be a relief", "i want to disappear", "ending myself",
        "end it all", "pray to just never wake up", "I have urges to hurt myself",
        "curable", "cure-all", "curing your fibro", "healed me completely", "fibro vanished", "flushes the toxins",
        "ditch your meds", "fix your fibro", "cures it for good", "the cure is", "found a cure", "natural cure",
        "reverses fibro", "fibro can be reversed", "heals fibro", "ended my fibro", "fibro is just a vitamin deficiency",
        "fix that and it's gone", "get rid of fibro", "fibro is gone", "fibro-free for years",
        "beat fibro for good", "how i beat it", "miracle pill", "miraculous recovery", "100% effective", "works 100%",
        "guaranteed to work", "I guarantee it will help", "doctors don't want you to know",
        "what your doctor won't tell you", "the secret to beating fibro", "they keep it hidden", "hiding the cure",
        "cure your pain", "will cure", "cured me", "it cures",
    ]
    for text in extra:
        normalised = safety._normalise(text)
        for rule_set, name in ((safety._CRISIS, "crisis"), (safety._CURE, "cure")):
            for index, (_, pattern, _, _) in enumerate(rule_set.rules):
                if pattern.search(normalised):
                    used.add((name, index))
    unused = [(name, index, rules.rules[index][0].source[:60])
              for name, rules in (("crisis", safety._CRISIS), ("cure", safety._CURE))
              for index in range(len(rules.rules)) if (name, index) not in used]
    assert unused == []


def test_squeezing_keeps_escapes_and_squeezes_letters():
    assert safety._squeeze_pattern(r"\bbetter\s+off") == r"\bbeter\s+of"
    assert safety._squeeze_pattern(r"\bkill\b") == r"\bkil\b"
    assert re.search(safety._squeeze_pattern(r"\bkill myself"), safety._normalise("KIIILLLL myself"))


def test_a_rule_with_a_branch_without_a_word_boundary_is_refused():
    with pytest.raises(ValueError):
        safety._compile_rule(r"\bkill|myself")
    assert safety._top_level_branches(r"\ba|\b(?:b|c)|\b[|]") == [r"\ba", r"\b(?:b|c)", r"\b[|]"]


def test_the_dropped_word_boundary_is_still_checked():
    assert not scan("skills myself").crisis  # "kills myself" inside another word
    assert not scan("reskms").crisis
    assert scan("I will kill myself").crisis


def test_case_type_is_plain_data():
    assert isinstance(Case("x", True), tuple)
