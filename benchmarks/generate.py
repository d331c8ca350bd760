"""Fill a database with many member posts across many servers, tagged like real ones.

Texts are built from the topic taxonomy's own words inside varied sentence frames, so that topic
searches hit a realistic share of posts (not copies of one string). Tagging runs in worker
processes; rows are written with plain sqlite3 in large transactions.

    python -m benchmarks.generate --posts 1000000 --guilds 1000 --db benchmarks/out/bench.db
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.config import DEFAULT_ARTICLE_PATH
from emulator.server import DEFAULT_GUILD
from bot.ingest import load_seed_if_empty
from bot.storage import Database

OUT_DIR = Path(__file__).resolve().parent / "out"
TAXONOMY = Path(__file__).resolve().parent.parent / "bot" / "resources" / "topics.json"

FRAMES = [
    "My {term} has been really hard this week.",
    "Does anyone else deal with {term}?",
    "For me the worst part is {term}.",
    "I finally talked to my doctor about {term}.",
    "{Term} makes the bad days so much longer.",
    "Some days {term} is all I can think about.",
    "I found that {term} got a little easier when I paced myself.",
    "Nobody warned me how much {term} would change things.",
    "I keep a journal about {term} and it helps me see patterns.",
    "Last winter {term} was at its worst.",
]
FILLERS = [
    "Some days are better than others.",
    "Thank you all for listening.",
    "I am grateful for this group.",
    "It helps to know I am not alone.",
    "Hugs to everyone having a rough day.",
    "I try to take it one day at a time.",
    "Writing this down helps a bit.",
    "I hope someone finds this useful.",
]


def guild_ids(count: int) -> list[int]:
    """The same guild ids the emulator seeds with `python -m benchmarks.emulator_process --guilds N`.

    Consecutive ids differ in the part Discord shards by (`id >> 22`), so that the servers spread
    evenly over any number of shards, as real ones do."""
    return [DEFAULT_GUILD + (n << 22) for n in range(count)]


def vocabulary() -> list[str]:
    data = json.loads(TAXONOMY.read_text(encoding="utf-8"))
    terms = []
    for topic in data["topics"]:
        for signal in topic.get("signals", []):
            if signal.get("weight", 0) >= 1.0:
                terms += [t for t in signal["terms"] if len(t) > 3 and "_" not in t]
    return sorted(set(terms))


def make_text(rng: random.Random, terms: list[str]) -> str:
    sentences = []
    for _ in range(rng.randint(1, 3)):
        term = rng.choice(terms)
        frame = rng.choice(FRAMES)
        sentences.append(frame.format(term=term, Term=term[:1].upper() + term[1:]))
    if rng.random() < 0.6:
        sentences.insert(rng.randint(0, len(sentences)), rng.choice(FILLERS))
    return " ".join(sentences)


def _tag_chunk(args: tuple[int, int, int]) -> list[tuple]:
    """Worker: build and tag posts [start, stop) deterministically from the seed."""
    from bot.topics import is_sensitive, tag_rows

    start, stop, seed = args
    rng = random.Random(seed * 1_000_003 + start)
    terms = vocabulary()
    out = []
    for n in range(start, stop):
        text = make_text(rng, terms)
        rows = tag_rows(text)
        out.append((n, text, rows, int(is_sensitive(text)) if rows else 0))
    return out


async def _prepare_schema(path: Path) -> None:
    async with Database(path) as db:  # migrations and the article, exactly as the bot makes them
        await load_seed_if_empty(db, DEFAULT_ARTICLE_PATH)


def generate(db_path: Path, posts: int, guilds: int, *, seed: int = 7, pending_share: float = 0.02,
             workers: int | None = None) -> dict:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    started = time.perf_counter()
    asyncio.run(_prepare_schema(db_path))
    ids = guild_ids(guilds)
    rng = random.Random(seed)
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA synchronous=OFF")
    counters = {g: 0 for g in ids}
    now = datetime.now(timezone.utc)
    chunk = 20_000
    jobs = [(s, min(s + chunk, posts), seed) for s in range(0, posts, chunk)]
    moderators = {g: 320_000_000_000_000_000 + g % 1_000_000 for g in ids}
    tagged_at = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers or os.cpu_count() or 2) as pool:
        for batch in pool.imap(_tag_chunk, jobs):
            post_rows, tag_rows_out = [], []
            for n, text, tags, sensitive in batch:
                guild = ids[n % guilds]
                counters[guild] += 1
                post_id = n + 1
                created = now - timedelta(minutes=(posts - n) * 0.5)
                pending = rng.random() < pending_share
                anonymous = rng.random() < 0.6
                state = "pending" if pending else "approved"
                author = 400_000_000_000_000_000 + rng.randrange(200) + (n % guilds) * 1000
                post_rows.append((
                    post_id, guild, author, None if anonymous else f"Member {author % 1000}", int(anonymous), text, state,
                    created.isoformat(timespec="seconds"), counters[guild],
                    None if pending else moderators[guild], None if pending else created.isoformat(timespec="seconds"),
                    None if pending else "published", None if pending else created.isoformat(timespec="seconds"),
                    None if pending else "dm_sent",
                ))
                for topic, score, length, keys in tags:
                    tag_rows_out.append((guild, topic, "post", post_id, score, length, keys, int(not pending), sensitive))
            with conn:
                conn.executemany(
                    "INSERT INTO posts(id, guild_id, author_id, author_name, anonymous, text, state, created_at, number,"
                    " decided_by, decided_at, publish_state, published_at, author_notified)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    post_rows)
                conn.executemany(
                    "INSERT INTO topic_tags(guild_id, topic, source, item_id, score, length, keys, quotable, sensitive)"
                    " VALUES (?,?,?,?,?,?,?,?,?)", tag_rows_out)
    with conn:
        conn.executemany("INSERT OR REPLACE INTO guild_post_counters(guild_id, last_number) VALUES (?, ?)",
                         list(counters.items()))
    conn.execute("PRAGMA optimize")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = {
        "posts": conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0],
        "pending": conn.execute("SELECT COUNT(*) FROM posts WHERE state = 'pending'").fetchone()[0],
        "tags": conn.execute("SELECT COUNT(*) FROM topic_tags WHERE source = 'post'").fetchone()[0],
    }
    conn.close()
    finished = time.perf_counter()
    return {
        "db": str(db_path), "guilds": guilds, **counts,
        "generate_and_index_seconds": round(finished - started, 1),
        "tagging_and_insert_seconds": round(finished - tagged_at, 1),
        "db_size_mb": round(db_path.stat().st_size / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate")
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--guilds", type=int, default=1_000)
    parser.add_argument("--db", type=Path, default=OUT_DIR / "bench.db")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(generate(args.db, args.posts, args.guilds, seed=args.seed), indent=2))


if __name__ == "__main__":
    main()
