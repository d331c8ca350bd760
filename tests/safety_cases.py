"""Labelled phrases for the two safety detectors in `bot.safety`.

Each case is a text and what a careful moderator would want: `True` when the detector should fire.
Groups per detector:

- the development set: written alongside the phrase lists and patterns, so its scores are optimistic;
- the seed comments of data/article.txt, labelled by hand (picked out by how each comment begins);
- three held-out sets, each written before it was first scored. Each was then used to extend the
  patterns with what it missed, so today's scores on them are optimistic too. What each scored the
  first time is kept in FIRST_LOOK below: that is the honest estimate of how the detectors do on
  phrasing nobody anticipated, and it is much lower. Keyword lists always have omissions; the
  detectors are a net for moderators who still read every post, not a verdict.

Labelling decisions, so they can be argued with:
- Crisis: past attempts and past suicidal thoughts count ("not always thinking about ended my life"):
  a moderator should reach out either way. Venting about pain or exhaustion does not ("I can't do
  this flare anymore"), nor grief for someone else, nor statistics about suicide, nor a plain denial
  ("I'm not suicidal").
- Cure claims: saying that something cures or reverses fibromyalgia, promoting guaifenesin (the
  one trial found no difference from placebo), "miracle" products, guarantees and "what doctors
  don't tell you" count. Naming a medicine, personal experience without a cure claim, hoping or
  fighting for a cure, saying there is no cure, and debunking guaifenesin do not.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTICLE = REPO_ROOT / "data" / "article.txt"


class Case(NamedTuple):
    text: str
    expected: bool


# Recorded when each held-out set was scored for the first time, before its misses were used to
# extend the patterns: (true positives, positives, flagged) -> recall = tp / positives,
# precision = tp / flagged. Set 3 was scored with the patterns as extended after sets 1 and 2.
FIRST_LOOK: dict[str, dict[str, tuple[int, int, int]]] = {
    "crisis": {"held_out": (5, 12, 5), "held_out_2": (1, 14, 1), "held_out_3": (5, 16, 5)},
    "cure_claim": {"held_out": (7, 10, 8), "held_out_2": (5, 10, 8), "held_out_3": (4, 10, 5)},
}


# --- Crisis language: development set -------------------------------------------------------------

CRISIS_CASES: list[Case] = [
    # Crisis: present, past, slang, odd spelling and spacing.
    Case("I want to kill myself", True),
    Case("honestly kms, this flare won't stop", True),
    Case("sometimes i think about sewerslide", True),
    Case("I've been thinking about how to unalive myself", True),
    Case("My family would be better off without me", True),
    Case("I'm better off dead at this point", True),
    Case("I don't want to be here anymore", True),
    Case("I don\u2019t want to be here any more", True),
    Case("I just want to end it all", True),
    Case("I'm thinking about ending my life", True),
    Case("I tried to kill myself last year", True),
    Case("I attempted suicide in 2019 and the pain is back to that level", True),
    Case("I've been having suicidal thoughts again", True),
    Case("I feel so suicidal tonight", True),
    Case("I started self-harming again after the diagnosis", True),
    Case("I cut myself last night to feel something other than the pain", True),
    Case("I wish I was dead", True),
    Case("I wish I could go to sleep and never wake up", True),
    Case("There's no reason to live anymore", True),
    Case("Life isn't worth living like this", True),
    Case("I want to die", True),
    Case("I wanna diiiie", True),
    Case("KILL   MYSELF is all I think about", True),
    Case("I've been saving up my pills for when it gets too much", True),
    Case("I\u2019m going to take all my pills tonight", True),
    Case("I used to self harm as a teen and the urges are back", True),
    Case("I have nothing left to live for", True),
    Case("I don't want to live anymore", True),
    Case("I'm tired of living like this", True),
    Case("thinking of overdosing on my meds", True),
    Case("Last year I almost took my own life", True),
    Case("sewer slide is on my mind a lot lately", True),
    Case("everyone would be happier if I just disappeared", True),
    # Look-alikes: figures of speech, accidents, other people, information, denials.
    Case("this flare is killing me", False),
    Case("I'm dead tired after work", False),
    Case("my phone died halfway through the call", False),
    Case("I killed it at physio today!", False),
    Case("the pain is killing me tonight", False),
    Case("I'm dying to try that new heat pad", False),
    Case("I could kill for a nap", False),
    Case("my feet are killing me", False),
    Case("ugh, Mondays. kill me now", False),
    Case("I nearly died laughing at that meme", False),
    Case("I walked 5 kms today, a personal best", False),
    Case("Fibromyalgia patients have higher suicide rates, according to the study", False),
    Case("I'd kill to sleep through the night", False),
    Case("I'm not suicidal, just exhausted and fed up", False),
    Case("The suicide prevention lifeline number in the US is 988", False),
    Case("I want this pain to end", False),
    Case("I'm so done with this flare", False),
    Case("I'm so tired I could die", False),
    Case("My dog is dying and I'm heartbroken", False),
    Case("I don't want to die from this disease, I want to live", False),
    Case("I hurt myself at the gym doing squats", False),
    Case("I cut myself chopping onions", False),
    Case("I'm just exhausted, I can't do this flare anymore", False),
    Case("The ending of that show killed me", False),
    Case("Dead battery in my TENS unit again", False),
    Case("Killing time in the waiting room", False),
    Case("My meds are killing my stomach", False),
    Case("I would never hurt myself, my kids need me", False),
    Case("I was dead on my feet by noon", False),
    Case("My uncle died by suicide when I was young and I still miss him", False),
    Case("I need to take better care of myself this winter", False),
    Case("I shot myself in the foot with that email to my boss", False),
    Case("I'd kill myself laughing if I saw that", False),
    Case("I'm not going to kill myself, I just need to vent", False),
]

# --- Crisis language: held out (written before the patterns; never tuned on) ------------------------

CRISIS_HOLDOUT: list[Case] = [
    Case("some nights I just want to disappear forever", True),
    Case("i cant keep living like this, i have a plan", True),
    Case("I wrote a goodbye letter to my kids", True),
    Case("thinking about killing myself again", True),
    Case("i'd rather be dead than live another decade in this body", True),
    Case("I took an overdose in March and ended up in hospital", True),
    Case("I've been self harming to cope with the pain", True),
    Case("the world would be better without me in it", True),
    Case("my suicide attempt was 3 years ago", True),
    Case("I don't see the point in living anymore", True),
    Case("kmsss this pain never stops", True),
    Case("I just want to stop existing", True),
    Case("I'm dead serious about trying yoga", False),
    Case("this heat is going to be the death of me", False),
    Case("I literally died when I saw the bill", False),
    Case("the hospital wait nearly killed me", False),
    Case("my laptop killed itself during the update", False),
    Case("the new drug trial was killed by the sponsor", False),
    Case("I'm killing it with my walking goal this week", False),
    Case("that joke slayed me", False),
    Case("the suicide squad movie was awful", False),
    Case("I'm not giving up, fibro won't win", False),
    Case("my friend said she wants to kill her boss lol", False),
    Case("I'm not going to let this pain end my career", False),
]

# Second held-out set, written after the first had been used to extend the patterns.
CRISIS_HOLDOUT_2: list[Case] = [
    Case("I've been googling ways to die", True),
    Case("part of me wants to just not wake up tomorrow", True),
    Case("I keep thinking my kids would be better off without their mom", True),
    Case("my last attempt was in 2020 and I feel close to that place again", True),
    Case("I'm scared of what I might do to myself tonight", True),
    Case("I can't take this pain anymore, I want out of this life", True),
    Case("there's a bottle of pills on my nightstand and I keep looking at it", True),
    Case("I hurt myself again last night, the cuts are hidden under my sleeves", True),
    Case("Why bother living when every day is agony", True),
    Case("i want to be dead", True),
    Case("planning my exit", True),
    Case("I'm done, I'm ready to go, I've said my goodbyes", True),
    Case("death would be a relief at this point", True),
    Case("I used to cut, and I'm tempted again", True),
    Case("I'm ready to go home after this appointment", False),
    Case("Bye everyone, signing off for the night", False),
    Case("I'm so done with doctors who don't listen", False),
    Case("Death by a thousand paper cuts, that's what fibro feels like", False),
    Case("My pain doctor retired and I'm devastated", False),
    Case("I could just die of embarrassment after falling at the store", False),
    Case("Our cat passed away last week", False),
    Case("the stabbing pain in my side is back", False),
    Case("I'm dying of thirst after physio", False),
    Case("The Lifeline volunteers were kind when my brother called them", False),
    Case("Went to bed at 8 and still woke up exhausted", False),
    Case("ready to give up on this medication, it does nothing", False),
    Case("I'm not going anywhere, you're stuck with me", False),
]

# Third held-out set: longer, realistic posts, scored once with the final rules and never tuned on.
CRISIS_HOLDOUT_3: list[Case] = [
    Case("Third week of this flare. I honestly don't know how much longer I can do this. "
         "Some days I think about just ending things.", True),
    Case("My husband left, the pain is constant, and I've started thinking everyone would be fine without me.", True),
    Case("I'm not ok. I've been thinking about suicide more than I'd like to admit.", True),
    Case("Had a really dark night, I was looking up how many of my pills it would take.", True),
    Case("I don't think I'll be around much longer, and honestly I'm at peace with that.", True),
    Case("Sometimes I sit in the car in the garage and think about not getting out.", True),
    Case("I relapsed and started cutting again after two years clean.", True),
    Case("Honestly wish I would just die in my sleep", True),
    Case("If the pain doesn't stop soon I'm going to end it.", True),
    Case("I'm so tired of fighting. I just want it all to be over.", True),
    Case("Thinking of killing myself. I'm sorry.", True),
    Case("I survived an attempt last spring and I'm struggling again", True),
    Case("Nobody would even notice if I was gone.", True),
    Case("I've got the pills saved and a date picked.", True),
    Case("lowkey want to unalive myself rn", True),
    Case("Everything hurts and I keep thinking about jumping", True),
    Case("This flare is absolutely killing me, send spoons", False),
    Case("I'm going to end it with my rheumatologist, she never listens", False),
    Case("My old TENS machine finally gave up the ghost", False),
    Case("I wanted to die of embarrassment when I cried at the appointment", False),
    Case("Our support group meeting ended with everyone in tears, in a good way", False),
    Case("Not gonna lie, I slept like the dead last night", False),
    Case("The fatigue makes me feel like a zombie", False),
    Case("I'm so over these cold mornings", False),
    Case("My mother-in-law's comments about fibro being fake are killing me", False),
    Case("I've been thinking about quitting my job because of the pain", False),
    Case("I read a sad article about suicide among chronic pain patients", False),
    Case("When my neighbour took her own life I realised how little support exists", False),
    Case("I'd happily sleep forever after a night like that", False),
    Case("I'm dying for a cup of tea", False),
    Case("Killed two hours on the phone with the insurance company", False),
    Case("The heat wave almost did me in", False),
]

# --- Unproven-cure claims: development set --------------------------------------------------------

CURE_CASES: list[Case] = [
    Case("Turmeric cured my fibro in 3 weeks!", True),
    Case("Guaifenesin reverses fibromyalgia, read Dr St Amand's book", True),
    Case("This protocol reverses fibromyalgia", True),
    Case("I cured my fibromyalgia with a raw vegan diet", True),
    Case("CBD oil is the cure for fibro, trust me", True),
    Case("There is a cure and doctors don't want you to know about it", True),
    Case("This supplement is 100% effective for fibro pain", True),
    Case("Magnesium is a miracle cure for fibromyalgia", True),
    Case("I've been fibro-free for two years thanks to this diet", True),
    Case("Big pharma is hiding the cure", True),
    Case("This tea cures fibromyalgia naturally", True),
    Case("Guaranteed to cure your fibro or your money back", True),
    Case("My fibro is completely gone for good since I started the protocol", True),
    Case("I found the cure for my fibro: cutting out nightshades", True),
    Case("Try guaifenesin, it worked wonders for me", True),
    Case("A gluten-free diet healed my fibromyalgia", True),
    Case("What your doctor won't tell you: fibro can be reversed", True),
    Case("I'm completely cured after 6 months of ozone therapy", True),
    Case("Low-dose naltrexone cured me", True),
    Case("I take Norco 10 for the worst days", False),
    Case("my doctor prescribed Lyrica last month", False),
    Case("I want a cure", False),
    Case("lets fight for a cure", False),
    Case("there is no known cure", False),
    Case("I'm just at a loss for a cure", False),
    Case("guaifenesin has been proved to be bunkum", False),
    Case("There's no miracle pill, just pacing and rest", False),
    Case("I wish they would find a cure", False),
    Case("Is there a cure yet?", False),
    Case("Nothing has cured my pain so far", False),
    Case("Duloxetine helps me a bit, not a cure but it takes the edge off", False),
    Case("My doctor says fibro can't be cured, only managed", False),
    Case("Cured meats trigger my flares", False),
    Case("I tried guaifenesin and it didn't work for me at all", False),
    Case("Researchers are still looking for a cure", False),
    Case("Curious whether anyone has tried acupuncture", False),
    Case("I take guaifenesin for my cough during winter colds", False),
    Case("Reverse parking is hard with my shoulder stiffness", False),
    Case("The heat pad works miracles on my back", False),
    Case("My physio helped me reverse some of the stiffness in my hips", False),
    Case("Pacing, sleep and gentle exercise help, but there's no cure", False),
    Case("I hope one day they find a cure for all of us", False),
]

# --- Unproven-cure claims: held out (written before the patterns; never tuned on) -------------------

CURE_HOLDOUT: list[Case] = [
    Case("Bee venom therapy reversed my fibromyalgia completely", True),
    Case("my naturopath cured my fibromyalgia", True),
    Case("Fibro is caused by a parasite, this cleanse eliminates it for good", True),
    Case("You can heal fibromyalgia naturally in 30 days, link in bio", True),
    Case("guaifenesin protocol changed everything, my pain is gone", True),
    Case("St. Amand's guai protocol is the answer", True),
    Case("Essential oils cure all autoimmune disease, fibro included", True),
    Case("this is THE cure, nothing else works", True),
    Case("Mercury fillings caused my fibro, I had them removed and now I'm cured", True),
    Case("I can guarantee this will fix your fibromyalgia", True),
    Case("There's no cure, but pacing helps me manage", False),
    Case("Will they ever cure this?", False),
    Case("Manicure day was a nice treat", False),
    Case("My doctor switched me from Cymbalta to Savella", False),
    Case("Amitriptyline helps me sleep", False),
    Case("The study found no difference between guaifenesin and placebo", False),
    Case("Hoping the next trial brings us closer to a cure", False),
    Case("Nobody has been cured of fibromyalgia as far as I know", False),
    Case("I reversed into a pole because turning my neck hurts", False),
    Case("Security at the clinic was nice", False),
    Case("it's a miracle I got out of bed today", False),
]

# Second held-out set, written after the first had been used to extend the patterns.
CURE_HOLDOUT_2: list[Case] = [
    Case("Fibromyalgia is 100% curable with the right diet", True),
    Case("I was healed of fibro after going keto, no more pain ever", True),
    Case("Stop taking your meds, this protocol will cure you", True),
    Case("My chiropractor cured me of fibromyalgia in 10 sessions", True),
    Case("Fibro is just a magnesium deficiency, fix that and it's gone", True),
    Case("Guaifenesin is the answer, I've been symptom-free since starting it", True),
    Case("This oil is a cure-all", True),
    Case("DM me for the supplement that ended my fibromyalgia", True),
    Case("I reversed my fibro with intermittent fasting", True),
    Case("There's a permanent fix for fibro nobody talks about", True),
    Case("I take Savella and it takes the edge off", False),
    Case("Swimming is the closest thing to a cure I've found", False),
    Case("No one has found a cure, so I focus on pacing", False),
    Case("Did anyone's doctor mention guaifenesin? I read it didn't pass the trial", False),
    Case("I'm cured of my fear of hydrotherapy now, loved it", False),
    Case("The cure rate for the infection was high, thankfully", False),
    Case("Research into a cure needs funding", False),
    Case("My rheumatologist prescribed gabapentin", False),
    Case("Tramadol helped for a while but it's not a cure", False),
    Case("She found the cure for boredom: knitting", False),
]

# Third held-out set: scored once with the final rules and never tuned on.
CURE_HOLDOUT_3: list[Case] = [
    Case("After years of suffering I can say fibromyalgia can be cured, I'm living proof", True),
    Case("Dr X's protocol has a 95% success rate in curing fibromyalgia", True),
    Case("Ditch the pharma drugs, this supplement healed me completely", True),
    Case("The secret to beating fibro that they keep hidden", True),
    Case("My fibromyalgia vanished after I started oil pulling", True),
    Case("Guai changed my life, everyone with fibro should try it", True),
    Case("Cured of fibromyalgia in 6 weeks, ask me how", True),
    Case("If you go carnivore your fibro will disappear", True),
    Case("this detox removes the toxins that cause fibro, no more pain", True),
    Case("Low dose naltrexone reversed my symptoms completely", True),
    Case("Nothing cures it, but I've learned to pace myself", False),
    Case("LDN helped me a little, I'd say 20% better", False),
    Case("They're studying whether an old drug might help, fingers crossed", False),
    Case("I wish doctors would tell you more about pacing", False),
    Case("Guaifenesin never did a thing for me except give me a headache", False),
    Case("My curiosity about yoga paid off, I feel calmer", False),
    Case("Pregabalin made me dizzy so I stopped", False),
    Case("No, there is no miracle, just good days and bad days", False),
    Case("I hope they find something that reverses the damage someday", False),
    Case("She's been in remission from her cancer for five years, which gives me hope", False),
]

# --- Seed comments from data/article.txt ---------------------------------------------------------
# How each comment begins -> (crisis expected, cure claim expected). Every comment is listed.

SEED_LABELS: dict[str, tuple[bool, bool]] = {
    "Yes, I get hot flashes multiple times a day": (False, False),
    "I have had fibromyalgia for over 25 years and I have tremors": (False, False),
    # "home remedies and \u201ccures\u201d" in scare quotes, glucosamine as testimony: no cure claim.
    "I\u2019ve lived with Fibro and other types of pain for so many years": (False, False),
    # "changes in the weather kill me" is a figure of speech; "at a loss for a cure" is hope.
    "I\u2019m just at a loss for a cure": (False, False),
    "I suffered with Fibro for 14 yrs": (False, False),
    "I had Rheumatic Fever when I was a small child": (False, False),
    # "not always thinking about ended my life": past suicidal thoughts, a moderator should reach out.
    "I have been diagnosed about 12 years now": (True, False),
    "I got Fibromyalgia in 1991": (False, False),
    # Debunks guaifenesin: not promotion.
    "This \u201cguaifenesin\u201d treatment has been proved to be bunkum": (False, False),
    "This is the strangest disease": (False, False),
    "I\u2019m not sure on genetics yet": (False, False),
    "I was very active before its onset": (False, False),
    # Guaifenesin ("guifenicin") presented as working: promotion, the evidence note helps.
    "I have had this since the age of four": (False, True),
    # Book promoting guaifenesin, "reversing the disease".
    "Cheryl Fink, check out the book": (False, True),
    "This explains a lot. I am having a lot of pain breakthroughs": (False, False),
    # "a medicine that may reverse the disease ... also reverses fibromyalgia".
    "I\u2019ve had fibro for a long time. I\u2019m 31": (False, True),
    "I have been recently diagnosed with this horrible disease": (False, False),
    # "I would do almost anything to be free of this": despair about illness, not a crisis statement.
    "Have had this terrible disease for over 33 years": (False, False),
    "I thought I was a different duck": (False, False),
    "Getting a good night\u2019s sleep is part of the key": (False, False),
    # "so I don't have to play this game anymore": wanting the pain fixed, not wanting to die.
    "Pain so bad that it wakes me in from my sleep": (False, False),
    "I\u2019m glad they looked at the always in pain aspect": (False, False),
    "You aren\u2019t the only one who wakes up from pain": (False, False),
    "That is the worse part it never totally goes away": (False, False),
}
# The article body says "There is no known cure": a cure-claim look-alike.
ARTICLE_BODY_NEGATIVE = "There is no known cure"


def seed_cases() -> tuple[list[Case], list[Case]]:
    """The article's comments (and its "no known cure" paragraph) as crisis and cure cases.

    Raises ValueError when a label matches no comment or a comment has no label, so a changed
    article or parser cannot silently shrink the sets.
    """
    from bot.article import parse_article

    parsed = parse_article(ARTICLE.read_text(encoding="utf-8"))
    crisis: list[Case] = []
    cure: list[Case] = []
    used: set[str] = set()
    for comment in parsed.comments:
        starts = [s for s in SEED_LABELS if comment.text.startswith(s)]
        if len(starts) != 1:
            raise ValueError(f"comment {comment.position} has {len(starts)} labels: {comment.text[:60]!r}")
        crisis_expected, cure_expected = SEED_LABELS[starts[0]]
        used.add(starts[0])
        crisis.append(Case(comment.text, crisis_expected))
        cure.append(Case(comment.text, cure_expected))
    unused = set(SEED_LABELS) - used
    if unused:
        raise ValueError(f"labels that match no comment: {sorted(unused)}")
    body = [p for p in parsed.paragraphs if ARTICLE_BODY_NEGATIVE in p]
    if len(body) != 1:
        raise ValueError("the article's 'no known cure' paragraph is missing")
    cure.append(Case(body[0], False))
    return crisis, cure


def labelled_sets() -> dict[str, dict[str, list[Case]]]:
    """Every set by detector and group: {"crisis": {"development": [...], "seed": [...], ...}, ...}."""
    seed_crisis, seed_cure = seed_cases()
    return {
        "crisis": {"development": CRISIS_CASES, "seed": seed_crisis, "held_out": CRISIS_HOLDOUT,
                   "held_out_2": CRISIS_HOLDOUT_2, "held_out_3": CRISIS_HOLDOUT_3},
        "cure_claim": {"development": CURE_CASES, "seed": seed_cure, "held_out": CURE_HOLDOUT,
                       "held_out_2": CURE_HOLDOUT_2, "held_out_3": CURE_HOLDOUT_3},
    }
