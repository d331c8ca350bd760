"""Per-member limits on what anyone can press or ask for many times in a row: /quote, /study ask and
the bot's buttons, and how often a refused attempt is mirrored to the log channel.

In memory, one set per running bot: a limit protects the bot and the channels from a flood, it is
not a record (the audit log keeps every refused attempt). Idle members are forgotten.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, Hashable

# /quote and /study ask: a handful in a row, then one every few seconds.
ASK_RATE, ASK_PER = 5, 30.0
# Buttons and menus of the bot, all together.
PRESS_RATE, PRESS_PER = 20, 30.0
# Refused moderator attempts mirrored to the log channel: one line per member per ten minutes; the
# next one says how many were not mirrored in between.
MIRROR_RATE, MIRROR_PER = 1, 600.0


class MemberLimiter:
    """At most `rate` uses per `per` seconds for each key (a sliding window)."""

    def __init__(self, rate: int, per: float, *, keep: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.per, self.keep, self.clock = rate, per, keep, clock
        self._uses: dict[Hashable, deque[float]] = {}
        self.skipped: dict[Hashable, int] = {}  # uses refused since the last allowed one

    def retry_after(self, key: Hashable) -> float | None:
        """None when this use is allowed (and counts), else the seconds until the next one is."""
        now = self.clock()
        uses = self._uses.get(key)
        if uses is None:
            if len(self._uses) >= self.keep:
                self._forget_idle(now)
            uses = self._uses[key] = deque()
        while uses and uses[0] <= now - self.per:
            uses.popleft()
        if len(uses) >= self.rate:
            self.skipped[key] = self.skipped.get(key, 0) + 1
            return max(uses[0] + self.per - now, 0.001)
        uses.append(now)
        return None

    def take_skipped(self, key: Hashable) -> int:
        """How many uses were refused since the last allowed one (and start counting again)."""
        return self.skipped.pop(key, 0)

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, uses in self._uses.items() if not uses or uses[-1] <= now - self.per]:
            del self._uses[key]
            self.skipped.pop(key, None)


class Limits:
    """The running bot's limits (`bot.limits`)."""

    def __init__(self) -> None:
        self.ask = MemberLimiter(ASK_RATE, ASK_PER)
        self.press = MemberLimiter(PRESS_RATE, PRESS_PER)
        self.refusal_mirror = MemberLimiter(MIRROR_RATE, MIRROR_PER)
