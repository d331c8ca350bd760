"""Cleaning members' text: nothing that pings, nothing hidden, clear refusals with the limit."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.errors import UserFacingError
from bot.sanitize import (
    HIDDEN_CHARACTERS_REMOVED, INVITE_LINK, LINK, MARKDOWN_LINK, MENTIONS_NEUTRALISED, ZERO_WIDTH_SPACE,
    CleanedText, clean_post_text, neutralise_mentions, remove_hidden_characters,
)

# What Discord would turn into a ping if it reached a message's content (checked more broadly than
# Discord does: any case, any digits).
PINGABLE = re.compile(r"@(?:everyone|here)|<@[!&]?\d+>|<#\d+>", re.IGNORECASE)
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def has_forbidden_characters(text: str) -> bool:
    for ch in text:
        if ch in "\n\t" or ch == ZERO_WIDTH_SPACE:
            continue
        if unicodedata.category(ch) in ("Cc", "Cs") or ch in BIDI:
            return True
    return False


# Any character hypothesis draws (it never draws lone surrogates; MENTION_PIECES adds them).
ANY_CHARACTER = st.characters(exclude_categories=())
# Pieces that could combine into a mention, or hide one.
MENTION_PIECES = st.sampled_from([
    "@", "<", ">", "!", "&", "#", "@everyone", "@here", "everyone", "here", "EVERYONE", "Here",
    "<@", "<@!", "<@&", "<#", "123", "0", "\u0663", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",
    "\u202e", "\u2066", "\x00", "\r", "\r\n", "\n", " ", "\t", "<@123>", "<@!45>", "<@&6>", "<#7>",
    "\ud800", "\udfff",  # lone surrogates: JSON can carry them, UTF-8 cannot store them
])
ADVERSARIAL_TEXT = st.one_of(
    st.text(ANY_CHARACTER, max_size=200),
    st.lists(st.one_of(MENTION_PIECES, st.text(ANY_CHARACTER, max_size=3)), max_size=40).map("".join),
)


# --- Properties ---------------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(ADVERSARIAL_TEXT)
def test_neutralised_text_never_pings(text):
    assert not PINGABLE.search(neutralise_mentions(text))


@settings(max_examples=500, deadline=None)
@given(ADVERSARIAL_TEXT)
def test_cleaned_text_never_pings_and_hides_nothing(text):
    try:
        cleaned = clean_post_text(text, min_len=1, max_len=4000)
    except UserFacingError:
        return
    assert not PINGABLE.search(cleaned.text)
    assert not has_forbidden_characters(cleaned.text)
    assert "\r" not in cleaned.text
    assert cleaned.text == cleaned.text.strip()
    assert "\n\n\n" not in cleaned.text
    cleaned.text.encode("utf-8")  # storable


@settings(max_examples=300, deadline=None)
@given(ADVERSARIAL_TEXT)
def test_cleaning_twice_changes_nothing(text):
    try:
        once = clean_post_text(text, min_len=1)
    except UserFacingError:
        return
    assert clean_post_text(once.text, min_len=1).text == once.text


@settings(max_examples=300, deadline=None)
@given(st.text(ANY_CHARACTER, max_size=300))
def test_remove_hidden_characters_leaves_nothing_hidden(text):
    assert not has_forbidden_characters(remove_hidden_characters(text).replace(ZERO_WIDTH_SPACE, ""))
    assert ZERO_WIDTH_SPACE not in remove_hidden_characters(text)


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(categories=("Lu", "Ll", "Nd", "Po", "Zs")), min_size=10, max_size=300))
def test_ordinary_text_is_kept_as_written(text):
    assume(text.strip() and len(text.strip()) >= 10 and "  \n" not in text)
    assume(not PINGABLE.search(text) and not re.search(r"[^\S\n]\n|\n\n\n|www\.", text, re.IGNORECASE))
    assert clean_post_text(text).text == text.strip()


# --- Mentions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, shown", [
    ("@everyone", "@\u200beveryone"),
    ("@here", "@\u200bhere"),
    ("@Everyone", "@\u200bEveryone"),
    ("<@123456789012345678>", "@user"),
    ("<@!123456789012345678>", "@user"),
    ("<@&123456789012345678>", "@role"),
    ("<#123456789012345678>", "#channel"),
    ("@\u200deveryone", "@\u200beveryone"),
    ("plain @Shirley reply", "plain @Shirley reply"),  # not a mention on Discord
    ("</share:123>", "</share:123>"),  # a command link, which cannot ping
])
def test_each_mention_form(raw, shown):
    assert neutralise_mentions(raw) == shown


def test_mentions_in_a_post_are_neutralised_and_flagged():
    cleaned = clean_post_text("Hey @everyone, ask <@1234567890> or <@&42> in <#99>")
    assert cleaned.text == "Hey @\u200beveryone, ask @user or @role in #channel"
    assert cleaned.flags == (MENTIONS_NEUTRALISED,)


def test_a_mention_hidden_by_removed_characters_is_still_caught():
    # Removing the NUL and the bidi override would join "@every" and "one": cleaning comes first.
    cleaned = clean_post_text("Look @every\x00one and <@12\u202e3> now")
    assert not PINGABLE.search(cleaned.text)
    assert cleaned.text == "Look @\u200beveryone and @user now"
    assert HIDDEN_CHARACTERS_REMOVED in cleaned.flags and MENTIONS_NEUTRALISED in cleaned.flags


# --- Hidden characters and layout ----------------------------------------------------------------


def test_control_and_bidi_characters_are_removed_and_flagged():
    cleaned = clean_post_text("My pain\x00 diary \u202egnp.exe\u202c and \u2066more\u2069 \u200eto say")
    assert cleaned.text == "My pain diary gnp.exe and more to say"
    assert cleaned.flags == (HIDDEN_CHARACTERS_REMOVED,)


def test_lone_surrogates_are_removed_so_the_text_can_be_stored():
    cleaned = clean_post_text("broken \ud83d emoji from a bad client")
    assert cleaned.text == "broken  emoji from a bad client"  # the surrogate between the spaces is gone
    cleaned.text.encode("utf-8")
    assert cleaned.flags == (HIDDEN_CHARACTERS_REMOVED,)


def test_zero_width_spaces_go_without_a_flag_and_emoji_joiners_stay():
    cleaned = clean_post_text("my fam\u200bily \U0001F469\u200d\U0001F467 helps a lot")
    assert cleaned.text == "my family \U0001F469\u200d\U0001F467 helps a lot"
    assert cleaned.flags == ()


def test_line_endings_spaces_and_blank_lines():
    cleaned = clean_post_text("  First line   \r\nsecond\rthird\u2028fourth\n\n\n\n\tindented\t\n  ")
    assert cleaned.text == "First line\nsecond\nthird\nfourth\n\n\tindented"


# --- Refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t", "\u200b\u200b\u200b", "\u200d\u200c", "\u3164\u2800",
                                  "\u0301\u0302\u0303", "\x00\x01", None])
def test_empty_or_invisible_text_is_refused(text):
    with pytest.raises(UserFacingError, match="looks empty.*Nothing was saved"):
        clean_post_text(text)


def test_too_long_text_states_both_numbers():
    with pytest.raises(UserFacingError) as caught:
        clean_post_text("a" * 4213)
    assert str(caught.value) == (
        "Your post is 4,213 characters; the limit is 4,000. Nothing was saved; please shorten it and send it again."
    )


def test_too_short_text_states_the_minimum():
    with pytest.raises(UserFacingError, match=r"^Your post is 5 characters; please write at least 10 characters\."):
        clean_post_text("  short  ")


def test_limits_count_the_cleaned_text():
    # Exactly at the limit once hidden characters are gone: accepted.
    assert len(clean_post_text("a" * 4000 + "\u200b" * 50).text) == 4000
    assert clean_post_text("x" * 10).text == "x" * 10
    with pytest.raises(UserFacingError):
        clean_post_text("x" * 9 + "\u200b")


def test_the_text_can_be_named():
    with pytest.raises(UserFacingError, match=r"^Your reason is 1,001 characters; the limit is 1,000\."):
        clean_post_text("r" * 1001, min_len=1, max_len=1000, what="reason")


def test_one_character_is_singular():
    with pytest.raises(UserFacingError, match="is 1 character;"):
        clean_post_text("a", min_len=2)


# --- Links ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, flags", [
    ("join us at discord.gg/fibrofriends please", (INVITE_LINK,)),
    ("join https://discord.com/invite/abc-123 now", (INVITE_LINK,)),
    ("join discordapp.com/invite/xyz now", (INVITE_LINK,)),
    ("join discord . gg / spaced please", (INVITE_LINK,)),
    ("read [this study](https://example.org/x) first", (MARKDOWN_LINK, LINK)),
    ("read [this study](<https://example.org/x>) first", (MARKDOWN_LINK, LINK)),
    ("read this: https://example.org/paper", (LINK,)),
    ("read this: www.example.org today", (LINK,)),
    ("see [p. 5] (my notes) for details", ()),
    ("I walked 5 km to the store today", ()),
])
def test_links_are_flagged_for_the_moderator(text, flags):
    cleaned = clean_post_text(text)
    assert cleaned.flags == flags
    assert cleaned.text == text  # flagged, not changed


def test_result_is_plain_data():
    cleaned = clean_post_text("A perfectly ordinary post.")
    assert cleaned == CleanedText("A perfectly ordinary post.", ())
    with pytest.raises(AttributeError):
        cleaned.text = "changed"  # frozen
