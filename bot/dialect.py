"""The statements that differ between SQLite and PostgreSQL, as small pieces the core asks for.

Everything else is written once, in SQL both engines read the same way: `?` placeholders (the
PostgreSQL backend numbers them), `INSERT ... ON CONFLICT`, `RETURNING`, timestamps as ISO-8601
text compared as text. What cannot be shared is here: full-text search (FTS5 on SQLite, a GIN
index over a stored `to_tsvector('english', text)` column on PostgreSQL), finding a word in a
string, a case-insensitive LIKE, and row locks for leases.

A `Database` carries its dialect as `db.dialect`.
"""

from __future__ import annotations

import re

# Only these survive in a text-search query built from what a member typed, so that nothing they
# type (quotes, *, NEAR, :, &, |, !, parentheses, column filters) becomes query syntax.
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


def _words(term: str) -> list[str]:
    return [w for w in _NOT_WORD.sub(" ", term).replace("_", " ").split() if w]


class SqliteDialect:
    name = "sqlite"
    # LIKE is case-insensitive for ASCII letters on SQLite.
    like = "LIKE"
    # SQLite has one writer at a time: a lease's SELECT needs no row lock.
    skip_locked = ""

    @staticmethod
    def contains(haystack: str) -> str:
        """True where the parameter occurs in `haystack` (an SQL expression)."""
        return f"instr({haystack}, ?) > 0"

    # -- full-text search --------------------------------------------------------------------------
    @staticmethod
    def prefix_query(terms: tuple[str, ...] | list[str]) -> str:
        """A search for any of the words, each of three letters or more as the start of an indexed
        (stemmed) word. Empty when nothing searchable is left."""
        parts = []
        for term in terms:
            clean = re.sub(r"[^\w]", "", term)
            if clean:
                parts.append(f'"{clean}"*' if len(clean) >= 3 else f'"{clean}"')
        return " OR ".join(parts)

    @staticmethod
    def phrase_query(phrases: tuple[str, ...] | list[str]) -> str:
        """A search for any of the phrases (each its words in order)."""
        quoted = [f'"{" ".join(_words(p))}"' for p in phrases if _words(p)]
        return " OR ".join(quoted)

    @staticmethod
    def comment_search(in_scope: str) -> str:
        """FROM ... ORDER BY of the comments `c` matching a `prefix_query` (the one parameter before
        `in_scope`'s), best first."""
        return (" FROM comments_fts JOIN comments c ON c.id = comments_fts.rowid"
                f" WHERE comments_fts MATCH ?{in_scope} ORDER BY bm25(comments_fts)")

    @staticmethod
    def sentence_search() -> str:
        """(g, id, score) of the sentences matching a `phrase_query`, with the id between two
        bounds: parameters g, the query, the lowest id, the highest id. A lower score is better."""
        return ("SELECT ? AS g, rowid AS id, bm25(sentences_fts) AS score FROM sentences_fts "
                "WHERE sentences_fts MATCH ? AND rowid BETWEEN ? AND ?")


class PostgresDialect:
    name = "postgres"
    # ASCII letters only, as SQLite's LIKE: under the "C" collation ILIKE folds bytes, which is
    # about five times faster than folding through the database's UTF-8 locale.
    like = 'COLLATE "C" ILIKE'
    # Leases lock the rows they hand out; rows another process is leasing are passed over.
    skip_locked = " FOR UPDATE SKIP LOCKED"

    @staticmethod
    def contains(haystack: str) -> str:
        return f"strpos({haystack}, ?) > 0"

    @staticmethod
    def prefix_query(terms: tuple[str, ...] | list[str]) -> str:
        parts = []
        for term in terms:
            clean = "".join(_words(term))
            if clean:
                parts.append(f"{clean}:*" if len(clean) >= 3 else clean)
        return " | ".join(parts)

    @staticmethod
    def phrase_query(phrases: tuple[str, ...] | list[str]) -> str:
        return " | ".join(" <-> ".join(_words(p)) for p in phrases if _words(p))

    @staticmethod
    def comment_search(in_scope: str) -> str:
        # text_search: the stored to_tsvector('english', text), with the GIN index comments_text_search.
        return (" FROM comments c, to_tsquery('english', ?) AS q"
                f" WHERE c.text_search @@ q{in_scope}"
                " ORDER BY ts_rank(c.text_search, q, 1) DESC, c.id")

    @staticmethod
    def sentence_search() -> str:
        # ts_rank with the length normalisation (1) plays bm25's part; negated so lower is better.
        return ("SELECT CAST(? AS INTEGER) AS g, s.id AS id,"
                " -10 * ts_rank(s.text_search, q, 1) AS score"
                " FROM sentences s, to_tsquery('english', ?) AS q"
                " WHERE s.text_search @@ q AND s.id BETWEEN ? AND ?")


SQLITE = SqliteDialect()
POSTGRES = PostgresDialect()
