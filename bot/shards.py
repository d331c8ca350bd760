"""Shards: which servers a process serves, and how its sessions take turns to connect.

Discord splits a bot's servers over gateway sessions ("shards"): a server belongs to shard
`(guild_id >> 22) % shard_count`, and DMs arrive on shard 0. One process may run every shard or a
range of them (`FIBRO_SHARD_COUNT` and `FIBRO_SHARD_IDS`); the background jobs of a process then
touch only its own shards' servers, so that two processes never do the same job.

Discord lets `max_concurrency` sessions identify per 5 seconds, one per bucket
(`shard_id % max_concurrency`). `reserve_identify` hands out those turns through the database, so
that processes sharing it take turns instead of each waiting a fixed time per shard.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Iterable

from bot.storage import Database

IDENTIFY_INTERVAL = 5.0  # seconds between two identifies of one bucket, as Discord allows
SHARD_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that serves a server, by Discord's formula."""
    return (int(guild_id) >> 22) % shard_count


def parse_shard_ids(text: str, shard_count: int) -> tuple[int, ...]:
    """`0-7`, `3` or `0-3,8-11` as sorted shard ids; ValueError with a plain reason otherwise."""
    ids: set[int] = set()
    for part in text.replace(" ", "").split(","):
        m = SHARD_RANGE.match(part)
        if not m:
            raise ValueError(f"{part!r} is not a shard number or a range such as 0-7")
        first, last = int(m.group(1)), int(m.group(2) if m.group(2) is not None else m.group(1))
        if last < first:
            raise ValueError(f"the range {part} runs backwards")
        if last >= shard_count:
            raise ValueError(f"shard {last} does not exist with {shard_count} shards (they are 0-{shard_count - 1})")
        ids.update(range(first, last + 1))
    return tuple(sorted(ids))


@dataclass(frozen=True)
class OwnShards:
    """The shards one process serves, out of `count`."""

    count: int
    ids: frozenset[int]

    @classmethod
    def of(cls, count: int | None, ids: Iterable[int] | None = None) -> "OwnShards":
        count = max(1, int(count or 1))
        return cls(count, frozenset(range(count) if ids is None else ids))

    @property
    def everything(self) -> bool:
        return self.ids >= frozenset(range(self.count))

    def owns(self, guild_id: int | None) -> bool:
        """Whether this process serves the server; jobs with no server (None) go to shard 0's owner."""
        if guild_id is None:
            return 0 in self.ids
        return shard_of(guild_id, self.count) in self.ids

    def where(self, column: str = "guild_id") -> tuple[str, list[int]]:
        """An SQL condition (starting with AND) that keeps this process's servers, and its values;
        empty when the process serves every shard."""
        if self.everything:
            return "", []
        ids = sorted(self.ids)
        marks = ",".join("?" * len(ids))
        none = f" OR {column} IS NULL" if 0 in self.ids else ""
        return f" AND ((({column} >> 22) % ? IN ({marks})){none})", [self.count, *ids]


async def reserve_identify(db: Database, bucket: int, interval: float = IDENTIFY_INTERVAL,
                           now: float | None = None) -> float:
    """Take the next turn of an identify bucket; returns how many seconds to wait before identifying.

    The turn is written before the wait, so that every process sharing the database sees it: with
    `max_concurrency` buckets, at most that many sessions identify in any `interval`.
    """
    now = time.time() if now is None else now
    async with db.transaction() as tx:
        async with tx.execute("SELECT next_at FROM identify_turns WHERE bucket = ?", (bucket,)) as cur:
            row = await cur.fetchone()
        start = now if row is None else max(now, float(row[0]))
        await tx.execute(
            "INSERT INTO identify_turns(bucket, next_at) VALUES (?, ?)"
            " ON CONFLICT(bucket) DO UPDATE SET next_at = excluded.next_at",
            (bucket, start + interval),
        )
    return start - now
