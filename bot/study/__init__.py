"""The study behind an article: a plain-language card, answers to members' questions, a glossary.

Everything shown comes from the article itself (chosen and trimmed sentences) or is built from facts
pulled out of it by rules (counts of people, the journal, the institution, the lead author), plus the
study's verified reference when a file beside the article holds one. The rules are written for the
usual form of a health news story about a study, not for one article.

Work is split by cost:
- `prepare_study` (CPU only, run off the event loop when an article is loaded) splits the body into
  sentences, ranks them with TextRank and builds the card; `store_study` writes both in the loading
  transaction.
- `ask`, `glossary_choices`, `glossary_entry`, `source` and `study_summary` only read: one or two
  small queries and work already done, cached per article. They use the library's first shared
  article unless given an `article_id`. `render_answer`, `render_glossary` and `render_source` turn
  their results into embed-sized text parts (`RenderedCard`), each with the not-medical-advice note.

The package: `model` (the data handed around and the limits of a reply), `sentences` (sentences and
TextRank), `facts` (the rules), `terms` (the glossary's words), `card` (building and storing the
card), `render` (the card as embed-sized parts), `index` (the article's cached study data and the
summary), `answers` (questions), `glossary` and `source` (those two commands).
"""

from __future__ import annotations

from bot.study.model import (  # noqa: F401
    CARD_VERSION, SHORT_LIMIT, SHORT_TARGET, EMBED_TOTAL, EMBED_TITLE, EMBED_DESCRIPTION, EMBED_FIELDS,
    FIELD_NAME, FIELD_VALUE, EMBED_FOOTER, Sentence, ParticipantGroup, CardItem, StudyCard, RenderedCard,
    Passage, Answer, GlossaryEntry, SourceInfo, PreparedStudy,
)
from bot.study.sentences import (  # noqa: F401
    article_sentences, textrank,
)
from bot.study.facts import (  # noqa: F401
    NUMBER, PEOPLE, find_comparison, find_participants, find_journal, find_lead_author, find_institutions, tidy,
)
from bot.study.terms import (  # noqa: F401
    GLOSSARY_PATH, glossary_terms,
)
from bot.study.card import (  # noqa: F401
    build_card, prepare_study, store_study,
)
from bot.study.render import (  # noqa: F401
    add_glosses, in_brief, reference_line, reference_matches, render_card,
)
from bot.study.index import (  # noqa: F401
    REMEMBERED_ANSWERS, get_card, load_reference, study_summary, _CACHE,
)
from bot.study.answers import (  # noqa: F401
    SYNONYMS, MIN_COVERAGE, MAX_QUESTION_CHARS, MAX_GROUPS, is_personal_medical, ask, render_answer,
)
from bot.study.glossary import (  # noqa: F401
    glossary_choices, glossary_entry, render_glossary,
)
from bot.study.source import (  # noqa: F401
    source, render_source,
)
