"""The safety detectors: the labelled corpus and its splits, the figures on the frozen test split,
the phrases a new member tried, normalisation, and the model's file."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import safety, safety_model, safety_report, safety_train
from bot.safety import (
    CURE_EVIDENCE_NOTE, DEFAULT_CRISIS_RESOURCES, GUAIFENESIN_EVIDENCE_NOTE, NOT_MEDICAL_ADVICE, SafetyScan,
    crisis_message, help_line, scan,
)

CORPUS = safety_train.load_corpus()
BY_SPLIT = {split: [t for t in CORPUS if t.split == split] for split in ("train", "dev", "test")}


def _writer(text_id: str) -> str:
    return text_id.rsplit("-", 1)[0]


# --- The corpus ---------------------------------------------------------------------------------


def test_the_corpus_is_big_enough_and_every_split_has_every_label():
    assert len(CORPUS) >= 3000
    for split, texts in BY_SPLIT.items():
        labels = Counter(t.crisis for t in texts)
        assert labels["crisis"] >= 150 and labels["none"] >= 150 and labels["possible"] >= 20, split
        assert sum(t.cure for t in texts) >= 50, split


def test_the_test_split_has_a_writer_of_its_own():
    test_writers = {_writer(t.id) for t in BY_SPLIT["test"]}
    other_writers = {_writer(t.id) for t in BY_SPLIT["train"] + BY_SPLIT["dev"]}
    assert test_writers and not test_writers & other_writers
    assert not {t.text for t in BY_SPLIT["test"]} & {t.text for t in BY_SPLIT["train"] + BY_SPLIT["dev"]}


def test_labels_are_consistent_with_their_kind():
    crisis_kinds = {"passive_ideation", "active_ideation", "plan_means", "goodbye", "self_harm",
                    "slang_obfuscated", "past_attempt_now", "buried", "non_native"}
    cure_kinds = {"testimonial", "selling", "protocol", "link", "disappeared", "reversed"}
    ids = Counter(t.id for t in CORPUS)
    assert max(ids.values()) == 1
    for t in CORPUS:
        assert t.text.strip()
        assert (t.crisis == "crisis") == (t.kind in crisis_kinds), t.id
        assert t.cure == (t.kind in cure_kinds), t.id
        assert (t.crisis == "possible") == (t.kind == "ambiguous"), t.id


def test_the_test_split_covers_every_kind_of_text():
    kinds = Counter(t.kind for t in BY_SPLIT["test"])
    for kind in ("passive_ideation", "goodbye", "plan_means", "slang_obfuscated", "self_harm", "buried",
                 "non_native", "figure_of_speech", "leaflet", "screening_no", "grief_other", "news_stats",
                 "title", "medical_words", "testimonial", "selling", "sarcasm", "doubting", "asking_treatment"):
        assert kinds[kind] >= 10, kind


# --- The figures on the frozen test split --------------------------------------------------------

# What the README reports; a change to the model or the normaliser that does worse fails here.
REPORTED = {
    "crisis (high tier: resources shown)": {"recall": 0.993, "false_alarm_rate": 0.034},
    "crisis (either tier: urgent in the queue)": {"recall": 0.975, "false_alarm_rate": 0.093},
    "cure_claim": {"recall": 0.991, "false_alarm_rate": 0.025},
    "crisis, read as a question or search (top window, high tier)": {"recall": 0.979, "false_alarm_rate": 0.032},
}


@pytest.fixture(scope="module")
def test_split_report():
    return safety_report.score_split(BY_SPLIT["test"])


def test_figures_on_the_test_split_are_no_worse_than_reported(test_split_report):
    for detector, limits in REPORTED.items():
        overall = test_split_report[detector]["all"]
        assert round(overall["recall"], 3) >= limits["recall"], (detector, overall["recall"])
        assert overall["false_alarm_rate"] <= limits["false_alarm_rate"], (detector, overall["false_alarm_rate"])


def test_the_report_prints_every_detector_and_kind(capsys):
    assert safety_report.main(["--brief", "--split", "dev"]) == 0
    out = capsys.readouterr().out
    for detector in safety_report.DETECTORS:
        assert detector in out
    for kind in ("goodbye", "figure_of_speech", "testimonial", "sarcasm"):
        assert kind in out
    assert "4000 characters: markdown links" in out and "ms per text" in out


def test_the_report_speaks_json(capsys):
    assert safety_report.main(["--json", "--split", "dev"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["split"] == "dev" and report["sizes"]["test"] == len(BY_SPLIT["test"])


# --- What a new member tried ---------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Thinking about taking every pill in the cabinet tonight.",
    "I want to kill myself, the pain is too much",
    "I wrote letters to my kids and gave the cat to my sister",
])
def test_crisis_posts_get_the_resources(text):
    result = scan(text)
    assert result.crisis and result.urgent and result.tier == safety.CRISIS
    assert safety.CRISIS_FLAG in result.flags and result.matched


@pytest.mark.parametrize("text", ["this flare is killing me", "my phone died", "I'm dead tired"])
def test_figures_of_speech_get_no_crisis_message(text):
    assert not scan(text).crisis


def test_asking_about_a_treatment_is_not_a_cure_claim():
    result = scan("my doctor suggested guaifenesin, has anyone tried it?")
    assert not result.cure_claim and not result.crisis


def test_a_cure_testimonial_is_held_with_the_right_note():
    result = scan("Guaifenesin reversed my fibromyalgia completely, I have been pain free for two years!")
    assert result.cure_claim and result.evidence_note == GUAIFENESIN_EVIDENCE_NOTE
    result = scan("This 30-day detox protocol cured my fibro for good. DM me for the link!")
    assert result.cure_claim and result.evidence_note == CURE_EVIDENCE_NOTE


def test_a_crisis_sentence_buried_in_a_long_post_counts():
    ordinary = ("Saw the rheumatologist again today and the waiting room was freezing. "
                "We talked about sleep, my knees and the new physio exercises. ") * 12
    text = ordinary + "Honestly I have been saving up my tablets and I think this weekend is the time. " + ordinary
    result = scan(text)
    assert result.urgent
    assert any("saving up my tablets" in phrase for phrase in result.matched)


def test_a_quiet_post_scans_empty():
    result = scan("Lovely walk by the river this morning, knees held up fine.")
    assert (result.crisis, result.cure_claim, result.flags, result.matched, result.tier) == (False, False, (), (), None)
    assert 0.0 <= result.crisis_score < 1.0 and 0.0 <= result.cure_score < 1.0


def test_tiers_follow_the_thresholds():
    thresholds = safety_model.load_model().thresholds
    assert 0 < thresholds["crisis_middle"] <= thresholds["crisis_high"] < 1
    for t in BY_SPLIT["dev"][:200]:
        result = scan(t.text)
        if result.crisis_score >= thresholds["crisis_high"]:
            assert result.tier == safety.CRISIS and result.crisis and result.urgent
        elif result.crisis_score >= thresholds["crisis_middle"]:
            assert result.tier == safety.POSSIBLE_CRISIS and not result.crisis and result.urgent
            assert result.flags[0] == safety.POSSIBLE_CRISIS_FLAG
        else:
            assert result.tier is None and not result.urgent
        assert result.cure_claim == (result.cure_score >= thresholds["cure"])
        assert (result.evidence_note is not None) == result.cure_claim


def test_a_quote_is_sensitive_when_a_crisis_text_speaks_of_it_in_so_many_words():
    seen = Counter()
    for t in BY_SPLIT["dev"]:
        result = scan(t.text)
        assert result.sensitive == (result.crisis and safety_model.names_crisis(t.text)), t.id
        seen[(t.crisis, result.sensitive)] += 1
    # Ordinary posts almost never go behind a content note; crisis posts that say it plainly do.
    assert seen[("none", True)] <= 0.01 * (seen[("none", True)] + seen[("none", False)])
    assert seen[("crisis", True)] > 0


@pytest.mark.parametrize("text, named", [
    ("I keep thinking about ending my life", True),
    ("su1c1dal again tonight", True),
    ("honestly kms", True),
    ("I could k!ll myself for forgetting", True),
    ("changes in the weather kill me", False),
    ("this flare is killing me", False),
    ("the side effects leaflet mentions mood changes", False),
    ("cutting again, I can't stop", True),
    ("no end to this flare", False),
])
def test_naming_crisis_in_so_many_words(text, named):
    assert safety_model.names_crisis(text) == named


# --- Messages ------------------------------------------------------------------------------------


def test_evidence_notes_cite_the_trial_and_stay_neutral():
    assert "1996" in GUAIFENESIN_EVIDENCE_NOTE and "Bennett" in GUAIFENESIN_EVIDENCE_NOTE
    assert "no known cure" in CURE_EVIDENCE_NOTE
    for note in (CURE_EVIDENCE_NOTE, GUAIFENESIN_EVIDENCE_NOTE):
        assert "!" not in note and "dangerous" not in note.lower()
    assert NOT_MEDICAL_ADVICE.startswith("Not medical advice")


def test_crisis_message_uses_the_default_resources_when_none_are_set():
    for setting in (None, "", "   "):
        assert DEFAULT_CRISIS_RESOURCES in crisis_message(setting)
        assert DEFAULT_CRISIS_RESOURCES in help_line(setting)


def test_crisis_message_is_short_kind_and_honest():
    message = crisis_message("UK: call Samaritans on 116 123.")
    assert "116 123" in message and "988" not in message
    assert "isn't a crisis service" in message and "moderator will see your post" in message
    assert len(message) < 500
    assert "must" not in message.lower() and "should" not in message.lower()


def test_help_line_is_one_short_line():
    line = help_line("UK: call Samaritans on 116 123.")
    assert "\n" not in line and "116 123" in line and len(line) < 200


def test_messages_fit_discord_even_with_huge_resources():
    assert len(crisis_message("x" * 5000)) <= 2000 and len(help_line("x" * 5000)) <= 2000


# --- Normalisation --------------------------------------------------------------------------------


@pytest.mark.parametrize("written, reads", [
    ("su1c1dal", "suicidal"),
    ("k!ll mys3lf", "kil myself"),
    ("k*ll myself", "kil myself"),
    ("s**cide", "suicide"),
    ("k i l l  m y s e l f", "kil  myself"),
    ("KILLLLL myself", "kil myself"),
    ("k\u200bi\u200bl\u200bl myself", "kil myself"),
    ("ki\U000e0041ll myself", "kil myself"),
    ("\u0455u\u0456\u0441\u0456d\u0435", "suicide"),          # Cyrillic look-alikes
    ("\uff4b\uff49\uff4c\uff4c", "kil"),                             # fullwidth letters
    ("kms", "kil myself"),
    ("unaliving", "kiling"),
    ("sewerslide", "suicide"),
    ("self delete", "suicide"),
    ("sh urges", "selfharm urges"),
])
def test_normalise_undoes_disguises(written, reads):
    assert safety_model.normalise(written) == reads


@pytest.mark.parametrize("written", ["10mg", "3am", "31 patients", "2nd", "help!", "*hugs*", "5 kms"])
def test_normalise_leaves_numbers_and_ordinary_symbols(written):
    normalised = safety_model.normalise(written)
    assert any(ch.isdigit() for ch in normalised) == any(ch.isdigit() for ch in written)
    assert "kil" not in normalised


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_text_scans(text):
    result = scan(text)
    assert isinstance(result, SafetyScan)
    assert 0.0 <= result.crisis_score <= 1.0 and 0.0 <= result.cure_score <= 1.0
    for phrase in result.matched:
        assert len(phrase) <= 80


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["[](.", "k*", "1", "!", " ", "a", "\u200b", "s\u0456", "\n", "💀", "?"]),
                min_size=500, max_size=1500))
def test_adversarial_shapes_scan(parts):
    # Linear time is measured by `python -m bot.safety_report` (4,000 characters of each shape).
    result = scan("".join(parts))
    assert isinstance(result.crisis, bool)


def test_every_pattern_of_the_normaliser_has_no_nested_repetition():
    # A pattern with a repeated group inside a repetition can take exponential time on some input.
    for name in dir(safety_model):
        value = getattr(safety_model, name)
        if hasattr(value, "pattern") and isinstance(value.pattern, str):
            assert ")+" not in value.pattern.replace(r"\)", "") and ")*" not in value.pattern.replace(r"\)", ""), name


# --- The model's file -----------------------------------------------------------------------------


def test_the_model_ships_with_its_thresholds_and_how_they_were_chosen():
    model = safety_model.load_model()
    assert {"crisis_high", "crisis_middle", "cure"} <= model.thresholds.keys()
    assert model.about["trained_on"]["train"] == len(BY_SPLIT["train"])
    assert model.about["trained_on"]["dev"] == len(BY_SPLIT["dev"])
    assert len(model.weights) > 1000


def test_the_shipped_model_is_what_the_corpus_trains():
    pytest.importorskip("sklearn")
    shipped = json.loads(safety_train.MODEL_PATH.read_text(encoding="utf-8"))
    # The corrections take five more fits (`python -m bot.safety_train --check` makes them too);
    # given the shipped ones, the weights and every threshold must come out the same.
    fresh = safety_train.train(CORPUS, corrections=shipped["corrections"])
    # Within rounding: another build of the numerical libraries may differ in the last digit.
    for name, value in shipped["thresholds"].items():
        assert fresh["thresholds"][name] == pytest.approx(value, abs=1e-3)
    for name in fresh["features"].keys() | shipped["features"].keys():
        for a, b in zip(fresh["features"].get(name, (0, 0)), shipped["features"].get(name, (0, 0))):
            assert a == pytest.approx(b, abs=2e-3), name


# --- Corrections to the top window ----------------------------------------------------------------


def test_a_text_of_one_window_keeps_its_window_score_and_a_long_one_is_corrected():
    model = safety_model.load_model()
    assert any(model.corrections)
    one = model.score("I don't want to wake up tomorrow.")
    assert one.crisis == pytest.approx(one.crisis_window)
    long_post = " ".join(["The rain came in sideways all week and my hips and knees ached through every night."] * 6
                         + ["Some days I wonder what the point of any of it is."])
    scores = model.score(long_post)
    top, inputs = model.crisis_inputs(long_post)
    expected = top + sum(a * x for a, x in zip(model.corrections, inputs))
    assert scores.crisis == pytest.approx(1 / (1 + 2.718281828459045 ** -expected))
    assert scores.crisis != pytest.approx(scores.crisis_window)


def test_the_corrections_fit_finds_what_made_the_labels():
    pytest.importorskip("scipy")
    import random

    rng = random.Random(7)
    rows = []
    for _ in range(4000):
        top = rng.uniform(-4, 4)
        x = [rng.uniform(-3, 0), rng.uniform(-1, 1), rng.uniform(0, 3), rng.uniform(0, 2)]
        z = top + 0.5 * x[0] + 1.0 * x[1] - 0.8 * x[2] + 0.0 * x[3]
        rows.append((top, x, int(rng.random() < 1 / (1 + 2.718281828459045 ** -z))))
    found = safety_train.fit_corrections(rows)
    assert list(found) == list(safety_model.CORRECTIONS)
    for name, weight in zip(safety_model.CORRECTIONS, (0.5, 1.0, -0.8, 0.0)):
        assert found[name] == pytest.approx(weight, abs=0.2), name


def test_a_question_or_a_search_is_read_by_its_top_window_alone():
    model = safety_model.load_model()
    thresholds = model.thresholds
    for t in BY_SPLIT["dev"][:150]:
        window = model.score(t.text).crisis_window
        tier = safety.query_tier(t.text)
        if window >= thresholds["window_high"]:
            assert tier == safety.CRISIS, t.id
        elif window >= thresholds["window_middle"]:
            assert tier == safety.POSSIBLE_CRISIS, t.id
        else:
            assert tier is None, t.id
