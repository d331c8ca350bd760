"""/quote and /topics through the emulator, as members use them.

Which comment a reply quotes is worked out from its text: the quoted passage (markdown escapes
undone, ellipses split off) must be found in exactly one comment of the article. The comments a
search should find are named below by a phrase only that comment contains.
"""

from __future__ import annotations

import re

import pytest

from bot import posts, quotes, topics
from emulator.server import PERSONAS
from bot.safety import DEFAULT_CRISIS_RESOURCES, GUAIFENESIN_EVIDENCE_NOTE, NOT_MEDICAL_ADVICE
from emulator.session import BotSession, StepResult
from cogs.quotes import CONTENT_NOTE
from support import OPENAPI_PATH, is_ephemeral, lift_ask_limit, step

OTHER_GUILD = 300_000_000_000_000_777
ORIGINS = (", in the article's comments", ", in this server's community")

# One phrase per comment, found in that comment only.
HOT_FLASHES = "hot flashes multiple times a day"
CPAP = "sleep with a c-pap"
ACCEPT = "I finally just accept this is my life"
PENNY = "Ayuvedic diet"
BRUISE = "leave a bruise"
RHEUMATIC = "Rheumatic Fever"
ENDED = "ended my life"                      # the crisis-language comment
GRANDMOTHER = "frontal labatomy"
BUNKUM = "bunkum, snake oil"
VOODOO = "voodoo doll"
GENETICIST = "As a geneticist told me"
MILES = "5 min miles"
AGE_FOUR = "since the age of four"
CHERYL = "Cheryl Fink"
NEEDLES = "pain like needles"
GOUT = "often prescribed for gout"
NICOLE = "little rash"
THIRTY_THREE = "over 33 years"
DUCK = "a different duck"
BENADRYL = "I use Benadryl"
MISDIAGNOSED = "they have misdiagnosed me"
MORPHINE = "long acting morphine"
DREAMS = "even in my dreams"
SHEER_PAIN = "jerked awake from sheer pain"

# What a person who typed the search would call on topic, judged by reading the comments (not by
# what the bot returned). The crisis comment is offered only to mental-health searches, so it is
# left out of the others.
SLEEP_TROUBLE = {CPAP, RHEUMATIC, NICOLE, DUCK, BENADRYL, MISDIAGNOSED, DREAMS, SHEER_PAIN}
SLEEPLESS = SLEEP_TROUBLE - {CPAP}          # a c-pap is for apnoea, not for lying awake
OPIOIDS = {MORPHINE, DUCK, PENNY, ACCEPT}
PAIN_MEDS = OPIOIDS | {AGE_FOUR, VOODOO}
NOT_BELIEVED = {BRUISE, RHEUMATIC, AGE_FOUR, GRANDMOTHER, VOODOO, SHEER_PAIN, ACCEPT, PENNY}
GENES = {GENETICIST, AGE_FOUR, GRANDMOTHER}
FATIGUE = {BRUISE, THIRTY_THREE, SHEER_PAIN, AGE_FOUR, ACCEPT}
GUAIFENESIN = {CHERYL, BUNKUM, GOUT, AGE_FOUR}
TREMORS = {CPAP, RHEUMATIC, GENETICIST}

SEARCHES: list[tuple[str, set[str]]] = [
    ("sleep", SLEEP_TROUBLE),
    ("insomnia", SLEEPLESS),                               # a synonym
    ("slep", SLEEP_TROUBLE),                               # a typo
    ("can't sleep", SLEEPLESS),
    ("waking up in pain", {DREAMS, DUCK, MISDIAGNOSED, SHEER_PAIN, PENNY, NICOLE}),
    ("opioids", OPIOIDS),
    ("opiods", OPIOIDS),                                   # as the comments spell it
    ("morphine", OPIOIDS),
    ("pain meds", PAIN_MEDS),
    ("nerve pain", {DUCK, THIRTY_THREE}),
    ("gluten", {CHERYL, PENNY}),
    ("diet", {PENNY, ACCEPT, CHERYL}),
    ("husband", {GRANDMOTHER, ACCEPT}),
    ("my kids", {BRUISE, GENETICIST}),
    ("nobody believes me", NOT_BELIEVED),
    ("don't look sick", NOT_BELIEVED),
    ("hot flashes", {HOT_FLASHES, CPAP}),
    ("hormones", {PENNY, HOT_FLASHES}),
    ("cold weather", {HOT_FLASHES, PENNY, DREAMS}),
    ("tremors", TREMORS),
    ("tremmors", TREMORS),                                 # a typo
    ("guaifenesin", GUAIFENESIN),
    ("guaifenisin", GUAIFENESIN),                          # a typo
    ("genetics", GENES),
    ("family history", GENES),
    ("fatigue", FATIGUE),
    ("fatige", FATIGUE),                                   # a typo
    ("exhausted", FATIGUE),
    ("exercise", {CPAP, ACCEPT, MILES, BENADRYL, PENNY}),
    ("water aerobics", {CPAP}),
    ("chiropractor", {CPAP}),
    ("massage", {BENADRYL}),
    ("depression", {THIRTY_THREE, GRANDMOTHER}),
    ("stress", {GRANDMOTHER, BENADRYL, ACCEPT}),
    ("doctor", {PENNY, MISDIAGNOSED}),
]
TYPOS = {"slep": "sleep", "opiods": "opioids", "tremmors": "tremors", "guaifenisin": "guaifenesin", "fatige": "fatigue"}


# -- reading replies ------------------------------------------------------------------------------

def embeds_of(result: StepResult) -> list[dict]:
    return [e for body in result.bodies() for e in body.get("embeds") or []]


def quote_embeds(result: StepResult) -> list[dict]:
    return [e for e in embeds_of(result) if any(o in (e.get("author") or {}).get("name", "") for o in ORIGINS)]


def passage(embed: dict) -> str:
    """The quoted text of an embed as the member reads it: no block-quote marks, spoiler bars,
    content note or markdown escapes."""
    text = embed.get("description") or ""
    text = text.replace(CONTENT_NOTE + "\n", "")
    if text.startswith("||") and text.endswith("||"):
        text = text[2:-2]
    text = "\n".join(line[2:] if line.startswith("> ") else line.lstrip(">") for line in text.split("\n"))
    return re.sub(r"\\(.)", r"\1", text)


async def comments_of(session: BotSession) -> dict[int, str]:
    return {r["id"]: r["text"] for r in await session.bot.db.fetchall("SELECT id, text FROM comments")}


def comment_of(embed: dict, comments: dict[int, str]) -> int:
    pieces = [p.strip() for p in passage(embed).split("…") if len(p.strip()) >= 15]
    assert pieces, embed
    found = [cid for cid, text in comments.items() if all(p in text for p in pieces)]
    assert len(found) == 1, f"the passage {pieces[0][:60]!r} matches comments {found}"
    return found[0]


def by_phrase(phrase: str, comments: dict[int, str]) -> int:
    found = [cid for cid, text in comments.items() if phrase in text]
    assert len(found) == 1, f"{phrase!r} is in comments {found}"
    return found[0]


def buttons_of(result: StepResult) -> list[dict]:
    return [c for body in result.bodies() for row in body.get("components") or [] for c in row.get("components") or []]


def spoiler_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\|\|.+?\|\|", text, re.S)]


def assert_crisis_text_hidden(result: StepResult, resources: str = DEFAULT_CRISIS_RESOURCES,
                              phrase: str = ENDED) -> int:
    """Crisis text appears only inside a spoiler, under the content note, and each message that
    holds it carries the crisis resources. Returns how many embeds held it."""
    seen = 0
    for body in result.bodies():
        assert phrase not in (body.get("content") or "")
        holding = 0
        for embed in body.get("embeds") or []:
            assert phrase not in (embed.get("author") or {}).get("name", "")
            assert all(phrase not in f["name"] + f["value"] for f in embed.get("fields") or [])
            description = embed.get("description") or ""
            if phrase not in description:
                continue
            holding += 1
            spans = spoiler_spans(description)
            for m in re.finditer(re.escape(phrase), description):
                assert any(a < m.start() and m.end() < b for a, b in spans), "crisis text outside a spoiler"
            assert description.startswith(CONTENT_NOTE), "the content note comes before the hidden text"
        if holding:
            fields = [f for e in body.get("embeds") or [] for f in e.get("fields") or []]
            assert any(resources in f["value"] for f in fields), "crisis resources in the same message"
        seen += holding
    return seen


def ends_with_advice_note(result: StepResult) -> None:
    """Every message that quotes someone carries the not-medical-advice note."""
    for body in result.bodies():
        found = [e for e in body.get("embeds") or [] if any(o in (e.get("author") or {}).get("name", "") for o in ORIGINS)]
        if found:
            assert NOT_MEDICAL_ADVICE in (found[-1].get("footer") or {}).get("text", "")


# -- searches a member would type -----------------------------------------------------------------

async def test_searches_find_what_people_wrote_on_the_topic(session):
    lift_ask_limit(session)
    comments = await comments_of(session)
    hidden = by_phrase(ENDED, comments)
    shown_total = relevant_total = 0
    report = []
    assert len(SEARCHES) >= 20
    for search, expected in SEARCHES:
        relevant = {by_phrase(p, comments) for p in expected}
        k = min(3, len(relevant))
        result = await step(session, f"/quote topic:{search} count:{k}")
        assert is_ephemeral(result), "replies are private unless the member asks otherwise"
        ends_with_advice_note(result)
        assert assert_crisis_text_hidden(result) == 0, f"the crisis comment came up for {search!r}"
        shown = [comment_of(e, comments) for e in quote_embeds(result)]
        assert len(shown) == k, f"{search!r}: {len(shown)} quotes"
        assert len(set(shown)) == len(shown)
        assert hidden not in shown
        hits = [c for c in shown if c in relevant]
        shown_total += len(shown)
        relevant_total += len(hits)
        report.append(f"{search!r}: {len(hits)}/{k}")
        if search in TYPOS:
            assert f"Showing results for “{TYPOS[search]}”" in result.text(), result.text()
    precision = relevant_total / shown_total
    print(f"\nprecision through Discord: {relevant_total}/{shown_total} = {precision:.3f}\n" + "\n".join(report))
    assert precision >= 0.9, report


async def test_the_best_quote_comes_first_for_plain_searches(session):
    lift_ask_limit(session)
    comments = await comments_of(session)
    for search, phrase in [("hot flashes", HOT_FLASHES), ("opiods", MORPHINE), ("gluten", CHERYL),
                           ("husband", GRANDMOTHER), ("genetics", GENETICIST), ("water aerobics", CPAP),
                           ("waking up in pain", DREAMS), ("massage", BENADRYL), ("anxiety", THIRTY_THREE)]:
        result = await step(session, f"/quote topic:{search}")
        assert [comment_of(e, comments) for e in quote_embeds(result)] == [by_phrase(phrase, comments)], search


async def test_a_synonym_says_which_topic_it_was_read_as(session):
    result = await step(session, "/quote topic:insomnia")
    assert "(topic: Sleep)" in result.text()
    plain = await step(session, "/quote topic:sleep")
    assert "(topic:" not in plain.text(), "a topic's own name needs no explanation"


async def test_each_quote_shows_its_author_origin_and_topics(session):
    result = await step(session, "/quote topic:Ayuvedic diet")
    embed = quote_embeds(result)[0]
    assert embed["author"]["name"] == "Penny Simpson, in the article's comments"
    topics_field = next(f["value"] for f in embed["fields"] if f["name"] == "Topics")
    assert "diet" in topics_field.split(", ")
    anonymous = quote_embeds(await step(session, "/quote topic:water aerobics"))[0]
    assert anonymous["author"]["name"] == "A reader, in the article's comments"
    # Penny's comment carries eleven topics; the one searched for is named first, never just counted.
    hormones = quote_embeds(await step(session, "/quote topic:hormones count:2"))
    penny = next(e for e in hormones if e["author"]["name"].startswith("#1 · Penny Simpson"))
    listed = next(f["value"] for f in penny["fields"] if f["name"] == "Topics")
    assert listed.startswith("hormones, ") and listed.endswith("and 5 more"), listed


async def test_an_unknown_word_is_answered_kindly_with_the_nearest_topics(session):
    result = await step(session, "/quote topic:xylophone")
    assert is_ephemeral(result)
    text = result.text()
    assert "I couldn't find anything people wrote about “xylophone”" in text
    assert "/topics" in text
    offered = [b["label"] for b in buttons_of(result)]
    assert 1 <= len(offered) <= 5
    titles = {t.title for t in topics.taxonomy().topics.values()}
    assert set(offered) <= titles, offered
    # A nearest topic is one press away from a quote.
    pressed = await step(session, f"click {offered[0]}")
    assert quote_embeds(pressed), "the topic button gives a quote"


async def test_a_public_search_with_no_match_still_answers_only_the_member(session):
    result = await step(session, "/quote topic:qwertyuiop ephemeral:False")
    assert is_ephemeral(result), "nothing found is no news for the channel"


async def test_autocomplete_offers_sleep_first_with_its_count(session):
    result = await step(session, "?/quote topic:sl")
    body = result.requests[0].body
    assert body["type"] == 8
    choices = body["data"]["choices"]
    counts = {c.name: c.count for c in await quotes.topic_counts(session.bot.db, session.guild_id, samples=False)}
    assert choices[0] == {"name": f"Sleep ({counts['sleep']} quotes)", "value": "sleep"}
    assert counts["sleep"] >= 5
    assert any(c["value"] == "sl" for c in choices), "what was typed is still offered as a search"
    typo = (await step(session, "?/quote topic:opiods")).requests[0].body["data"]["choices"]
    assert "medication" in [c["value"] for c in typo], typo


async def test_another_never_repeats_until_the_topic_is_exhausted(session):
    comments = await comments_of(session)
    counts = {c.name: c.count for c in await quotes.topic_counts(session.bot.db, session.guild_id, samples=False)}
    first = await step(session, "/quote topic:sleep")
    seen = [comment_of(e, comments) for e in quote_embeds(first)]
    last = first
    for _ in range(40):
        if "Another" not in last.buttons():
            break
        last = await step(session, "click Another")
        assert last.requests[0].body["type"] == 7, "Another replaces the private reply"
        assert is_ephemeral(first)
        assert_crisis_text_hidden(last)
        seen += [comment_of(e, comments) for e in quote_embeds(last)]
    assert len(seen) == len(set(seen)), f"a quote came twice: {seen}"
    assert len(seen) == counts["sleep"], "every sleep quote is shown once before the end"
    assert "That's everything I have on “sleep”" in last.text()
    assert "Another" not in last.buttons()
    again = await step(session, "/quote topic:sleep")
    assert [comment_of(e, comments) for e in quote_embeds(again)] == seen[:1], "a new search starts over"


async def test_another_with_several_quotes_at_once(session):
    comments = await comments_of(session)
    result = await step(session, "/quote topic:pain count:5")
    seen = [comment_of(e, comments) for e in quote_embeds(result)]
    assert len(seen) == 5
    while "Another" in result.buttons():
        result = await step(session, "click Another")
        seen += [comment_of(e, comments) for e in quote_embeds(result)]
    assert len(seen) == len(set(seen)) > 10
    assert "That's everything" in result.text()


async def test_another_on_a_public_reply_answers_whoever_pressed_it_privately(session):
    comments = await comments_of(session)
    public = await step(session, "/quote topic:tremors ephemeral:False")
    assert not is_ephemeral(public)
    assert "Share here" not in public.buttons(), "already public: nothing to share"
    mine = await step(session, "@moderator click Another")
    assert is_ephemeral(mine) and mine.requests[0].body["type"] == 4, "a new private message, the channel's stays"
    assert quote_embeds(mine)
    assert any(b.startswith("Share here") for b in mine.buttons())
    # The moderator's own search history: they had not seen the public quote, so it may come first.
    assert comment_of(quote_embeds(mine)[0], comments) in {by_phrase(p, comments) for p in TREMORS}


# -- safety ----------------------------------------------------------------------------------------

async def test_the_crisis_comment_only_appears_behind_a_spoiler_with_the_servers_resources(session):
    lift_ask_limit(session)
    resources = "UK: call Samaritans on 116 123, any time. Elsewhere: your local emergency number."
    await step(session, f"@admin /config crisis-resources text:{resources}")
    appeared = 0
    for search in ("suicide", "ended my life", "mental health count:5", "depression count:5", "anxiety count:5"):
        result = await step(session, f"/quote topic:{search}")
        appeared += assert_crisis_text_hidden(result, resources)
        while "Another" in result.buttons():
            result = await step(session, "click Another")
            appeared += assert_crisis_text_hidden(result, resources)
    assert appeared >= 5

    first = await step(session, "/quote topic:ended my life")
    assert assert_crisis_text_hidden(first, resources) == 1
    assert NOT_MEDICAL_ADVICE in quote_embeds(first)[-1]["footer"]["text"]
    shared = await step(session, "click Share here")
    assert not is_ephemeral(shared)
    assert assert_crisis_text_hidden(shared, resources) == 1, "the channel gets the same spoiler and resources"
    comments = await comments_of(session)
    assert passage(quote_embeds(shared)[0]) == comments[by_phrase(ENDED, comments)].strip(), "short: shown whole"
    assert "Read in full" not in shared.buttons()

    # Unrelated topics never pick it, however far Another goes.
    for search in ("sleep", "cure", "pain meds", "diagnosis"):
        result = await step(session, f"/quote topic:{search} count:5")
        assert assert_crisis_text_hidden(result, resources) == 0, search
        while "Another" in result.buttons():
            result = await step(session, "click Another")
            assert assert_crisis_text_hidden(result, resources) == 0, search


CRISIS_POST = "want to kill myself"


async def test_long_posts_in_words_of_crisis_stay_hidden_in_every_part_and_fit_discord(session):
    # The longest resources text a server may set, and five long posts in words of crisis: the
    # most a reply can be asked to hold.
    resources = ("Crisis lines: " + "call 0800 000 000 or text HELP to 85258, any hour; " * 30)[:1000].strip()
    await step(session, f"@admin /config crisis-resources text:{resources}")
    paragraph = ("My nights are long and the **pain** never stops, and the quilting group is all that keeps me going. "
                 f"Some nights the pain is so bad I {CRISIS_POST}, and then morning comes and I carry on. ")
    for n in range(5):
        text = (paragraph * 40)[:3990].strip()
        await approved_post(session, session.guild_id, text, author=410_000_000_000_000_100 + n, name=f"Member {n}")
    result = await step(session, "/quote topic:quilting count:5")
    assert len(quote_embeds(result)) == 5
    assert assert_crisis_text_hidden(result, resources, CRISIS_POST) == 5
    assert result.buttons().count("Read in full (#1)") == 1
    full = await step(session, "click Read in full (#1)")
    parts = quote_embeds(full)
    assert len(parts) >= 2
    assert len(full.bodies()) == len(parts), "one message per part, each with the resources"
    assert assert_crisis_text_hidden(full, resources, CRISIS_POST) == len(parts)
    shared = await step(session, "click Share here (#2)")
    assert not is_ephemeral(shared)
    assert assert_crisis_text_hidden(shared, resources, CRISIS_POST) == 1


async def test_a_cure_claim_carries_the_evidence_note_and_the_debunking_comment_does_not(session):
    comments = await comments_of(session)
    result = await step(session, "/quote topic:guaifenesin count:3")
    notes = {}
    for embed in quote_embeds(result):
        fields = {f["name"]: f["value"] for f in embed.get("fields") or []}
        notes[comment_of(embed, comments)] = fields.get("About this claim")
    assert notes[by_phrase(CHERYL, comments)] == GUAIFENESIN_EVIDENCE_NOTE
    assert notes[by_phrase(GOUT, comments)] == GUAIFENESIN_EVIDENCE_NOTE
    assert notes[by_phrase(BUNKUM, comments)] is None


# -- reading in full and sharing ------------------------------------------------------------------

async def test_read_in_full_shows_the_longest_comment_whole_and_privately(session):
    comments = await comments_of(session)
    longest = max(comments, key=lambda c: len(comments[c]))
    assert by_phrase(ACCEPT, comments) == longest
    result = await step(session, "/quote topic:opioids count:5 ephemeral:False")
    embeds = quote_embeds(result)
    position = [comment_of(e, comments) for e in embeds].index(longest) + 1
    assert passage(embeds[position - 1]).startswith("…"), "the long comment is trimmed around the match"
    full = await step(session, f"@moderator click Read in full (#{position})")
    assert is_ephemeral(full)
    (embed,) = quote_embeds(full)
    assert passage(embed) == comments[longest].strip()
    assert NOT_MEDICAL_ADVICE in embed["footer"]["text"]


async def test_share_here_posts_the_same_quote_to_the_channel(session):
    private = await step(session, "/quote topic:guaifenesin")
    (mine,) = quote_embeds(private)
    shared = await step(session, "click Share here")
    assert not is_ephemeral(shared), "the channel sees the shared quote"
    (public,) = quote_embeds(shared)
    assert public["description"] == mine["description"]
    assert public["fields"] == mine["fields"], "the same evidence note"
    assert NOT_MEDICAL_ADVICE in public["footer"]["text"]
    assert "Share here" not in shared.buttons() and "Another" not in shared.buttons()
    assert shared.buttons() == ["Read in full"], "the long comment can still be read whole"
    assert "Robin" not in shared.text(), "sharing does not name who searched"


async def test_a_shared_quote_is_not_the_channels_next_quote(session):
    comments = await comments_of(session)
    best = comment_of(quote_embeds(await step(session, "/quote topic:tremors"))[0], comments)
    await step(session, "click Share here")
    # The channel was just given that quote: a public search there starts with the next one,
    # though the member asking has never seen either.
    public = await step(session, "@moderator /quote topic:tremors ephemeral:False")
    assert not is_ephemeral(public)
    first = comment_of(quote_embeds(public)[0], comments)
    assert first != best and first in {by_phrase(p, comments) for p in TREMORS}
    # Privately, the best quote still comes first: only what the channel saw is remembered for it.
    private = await step(session, "@admin /quote topic:tremors")
    assert comment_of(quote_embeds(private)[0], comments) == best
    # In another channel nothing was shared: the best quote comes first there.
    elsewhere = await step(session, "@moderator /quote topic:tremors ephemeral:False", channel="community-posts")
    assert comment_of(quote_embeds(elsewhere)[0], comments) == best


async def test_replies_leave_no_view_behind(session):
    """Buttons are answered from their custom_id alone: no view (or timer) stays in memory per reply."""
    import gc

    import discord

    def live_views() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, discord.ui.View))

    before = live_views()
    await step(session, "/quote topic:sleep count:2")
    another = await step(session, "click Another")          # answered all the same
    assert quote_embeds(another) and "Another" in another.buttons()
    await step(session, "/quote topic:xylophone")
    await step(session, "/topics")
    assert live_views() == before


# -- member posts ----------------------------------------------------------------------------------

async def approved_post(session: BotSession, guild_id: int, text: str, *, author: int, name: str | None,
                        anonymous: bool = False) -> posts.Post:
    db = session.bot.db
    submitted = await posts.submit(db, await session.bot.guild_settings.get(guild_id), guild_id=guild_id, author_id=author,
                                   author_name=name, anonymous=anonymous, text=text, interaction_id=None)
    return (await posts.decide(db, post_id=submitted.post.id, guild_id=guild_id,
                               moderator_id=PERSONAS["moderator"], approve=True)).post


@pytest.fixture
async def two_servers(tmp_path):
    async with BotSession(tmp_path / "bot.db", openapi_path=OPENAPI_PATH, quiet=0.08,
                          extra_guilds=(OTHER_GUILD,)) as s:
        yield s
        assert s.errors == [], f"ERRORs were logged: {s.errors}"


def forge_button(session: BotSession, guild_id: int, custom_id: str, label: str) -> None:
    """A message in `guild_id` carrying a button with a custom_id made up elsewhere."""
    channel = int(session.emulator.find_channel(guild_id, "general")["id"])
    session.emulator._make_message(channel, {"content": "", "components": [  # noqa: SLF001 - a forged message
        {"type": 1, "components": [{"type": 2, "style": 2, "label": label, "custom_id": custom_id}]}]})


async def test_an_approved_post_is_quoted_in_its_server_only(two_servers):
    session = two_servers
    text = ("Since my fibro flared I swim in warm water twice a week; the buoyancy takes the weight off my "
            "hips and I sleep better on swimming days.")
    post = await approved_post(session, session.guild_id, text, author=410_000_000_000_000_001, name="Jo")
    here = await step(session, "/quote topic:swimming")
    (embed,) = quote_embeds(here)
    assert embed["author"]["name"] == "Jo, in this server's community"
    assert "buoyancy takes the weight off my hips" in passage(embed)

    # (Asked by someone else, so that the member's own reply in the first server stays the newest.)
    there = await step(session, "@moderator /quote topic:swimming", guild_id=OTHER_GUILD)
    assert "buoyancy" not in there.text()
    assert not any(q["author"]["name"].startswith("Jo,") for q in quote_embeds(there))

    # Its buttons, pressed in the other server (a forged message), refuse kindly.
    for custom_id, label in [(f"quote:full:post:{post.id}", "Forged full"),
                             (f"quote:share:post:{post.id}:swimming", "Forged share")]:
        forge_button(session, OTHER_GUILD, custom_id, label)
        refused = await step(session, f"click {label}", guild_id=OTHER_GUILD)
        assert is_ephemeral(refused)
        assert "no longer available" in refused.text() and "buoyancy" not in refused.text()

    # Withdrawn: the buttons on the reply the member still has refuse kindly too.
    await posts.withdraw(session.bot.db, post.id, 410_000_000_000_000_001, guild_id=session.guild_id)
    refused = await step(session, "click Share here")
    assert is_ephemeral(refused) and "no longer available" in refused.text()
    gone = await step(session, "/quote topic:swimming")
    assert "buoyancy" not in gone.text()


async def test_an_anonymous_post_shows_no_name(session):
    await approved_post(session, session.guild_id, "Pacing my chores across the week keeps my flares smaller.",
                        author=410_000_000_000_000_002, name="Kim", anonymous=True)
    result = await step(session, "/quote topic:pacing")
    (embed,) = quote_embeds(result)
    assert embed["author"]["name"] == "Anonymous member, in this server's community"
    assert "Kim" not in result.text()


async def test_read_in_full_splits_the_longest_post_within_discords_limits(session):
    # A post at the 4,000-character limit, full of characters that markdown escaping doubles and
    # of invisible ones, so that it cannot fit one embed.
    sentence = "My *sleep* is ||broken|| after **zumba** and `nothing` __really__ helps ~much~ \u200b\\. "
    text = (sentence * 60)[:4000].strip()
    post = await approved_post(session, session.guild_id, text, author=410_000_000_000_000_003, name="Lee")
    stored = (await posts.get_post(session.bot.db, post.id)).text
    result = await step(session, "/quote topic:zumba")
    (embed,) = quote_embeds(result)
    assert embed["author"]["name"].startswith("Lee,")
    full = await step(session, "click Read in full")
    parts = quote_embeds(full)
    assert len(parts) >= 2, "more than one embed can hold"
    assert all(is_ephemeral_body(b) for b in full.bodies())
    assert [p["author"]["name"] for p in parts] == [
        f"Lee, in this server's community (part {n} of {len(parts)})" for n in range(1, len(parts) + 1)]
    rebuilt = " ".join(passage(p) for p in parts)
    assert " ".join(rebuilt.split()) == " ".join(stored.split()), "nothing is lost between parts"
    assert all(NOT_MEDICAL_ADVICE in p["footer"]["text"] for p in parts)


def is_ephemeral_body(body: dict) -> bool:
    return bool(int(body.get("flags") or 0) & 64)


# -- restarts and /topics --------------------------------------------------------------------------

async def test_buttons_keep_working_after_a_restart(session):
    comments = await comments_of(session)
    first = await step(session, "/quote topic:guaifenesin count:2")
    shown = [comment_of(e, comments) for e in quote_embeds(first)]
    assert shown == [by_phrase(CHERYL, comments), by_phrase(BUNKUM, comments)]
    await session.restart_bot()
    full = await step(session, "click Read in full (#1)")
    assert passage(quote_embeds(full)[0]) == comments[shown[0]].strip()
    shared = await step(session, "click Share here (#2)")
    assert not is_ephemeral(shared) and comment_of(quote_embeds(shared)[0], comments) == shown[1]
    more = await step(session, "click Another")
    after = [comment_of(e, comments) for e in quote_embeds(more)]
    assert after and not set(after) & set(shown), "what was shown before the restart is remembered"

    await step(session, "/topics")
    await session.restart_bot()
    following = await step(session, "click Next")
    assert "(page 2 of" in following.text()


async def test_topics_pages_forward_and_back(session):
    counts = await quotes.topic_counts(session.bot.db, session.guild_id)
    first = await step(session, "/topics")
    assert is_ephemeral(first)
    listed = []
    result = first
    pages = int(re.search(r"\(page 1 of (\d+)\)", first.text()).group(1))
    assert pages >= 3
    for page in range(1, pages + 1):
        (embed,) = embeds_of(result)
        assert embed["title"].endswith(f"(page {page} of {pages})")
        listed += [f["name"] for f in embed["fields"]]
        previous = next(b for b in buttons_of(result) if b["label"] == "◀ Previous")
        following = next(b for b in buttons_of(result) if b["label"] == "Next ▶")
        assert bool(previous.get("disabled")) == (page == 1)
        assert bool(following.get("disabled")) == (page == pages)
        if page < pages:
            result = await step(session, "click Next")
            assert result.requests[0].body["type"] == 7, "paging edits the message"
    assert listed == [f"{c.title} · {c.count} quote{'' if c.count == 1 else 's'}" for c in counts]
    for _ in range(pages - 1):
        result = await step(session, "click Previous")
    assert "(page 1 of" in result.text()
    sleep_field = next(f for f in embeds_of(result)[0]["fields"] if f["name"].startswith("Sleep ·"))
    assert "> “" in sleep_field["value"], "a sample phrase"
    quoted = await step(session, "click Sleep")
    assert quote_embeds(quoted) and is_ephemeral(quoted)


async def test_a_long_search_with_colons_and_emoji_fits_every_button(session):
    comments = await comments_of(session)
    search = ("sleep: can't 😴 " + "é" * 40 + " ✨" * 20)[:80]
    result = await step(session, f"/quote topic:{search} count:2")
    for button in buttons_of(result):
        assert len(button["custom_id"].encode("utf-16-le")) // 2 <= 100, button["custom_id"]
    first = [comment_of(e, comments) for e in quote_embeds(result)]
    assert len(first) == 2
    more = await step(session, "click Another")
    assert not set(first) & {comment_of(e, comments) for e in quote_embeds(more)}, "the same search continues"
    shared = await step(session, "click Share here (#1)")
    assert not is_ephemeral(shared)
