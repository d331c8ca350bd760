"""Rate limits as Discord applies them (Topics > Rate Limits).

Per-route buckets, keyed by the route and its top-level resource (a channel, a guild, or a
webhook with its token), answer every request with `X-RateLimit-Limit`, `-Remaining`, `-Reset`,
`-Reset-After` and `-Bucket`; past the limit the answer is 429 with `Retry-After`, a JSON body and
`X-RateLimit-Scope`. A global limit of 50 requests a second covers everything but the interaction
endpoints. 401, 403 and 429 answers (but a 429 of scope "shared") count toward Discord's
invalid-request limit of 10,000 per 10 minutes.

Discord does not publish its per-route numbers ("should not be hard coded"); the ones here are
what it answers for the routes the bot uses. `scale` shortens every window (0.01: a 5-second
window lasts 50 ms) so that a test can send a thousand messages; `discord_seconds` turns time
measured here back into Discord's.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from dataclasses import dataclass

GLOBAL_PER_SECOND = 50
INVALID_STATUSES = (401, 403, 429)

# (method, route with {} for ids) -> (requests, window in seconds). The first id of the route is
# its top-level resource, except for webhooks, whose resource is the id and the token.
ROUTE_LIMITS: dict[tuple[str, str], tuple[int, float]] = {
    ("POST", "channels/{}/messages"): (5, 5.0),
    ("PATCH", "channels/{}/messages/{}"): (5, 5.0),
    ("DELETE", "channels/{}/messages/{}"): (5, 1.0),
    ("POST", "webhooks/{}/{}"): (5, 2.0),
    ("PATCH", "webhooks/{}/{}/messages/{}"): (5, 2.0),
    ("DELETE", "webhooks/{}/{}/messages/{}"): (5, 2.0),
    ("PUT", "applications/{}/commands"): (2, 60.0),
    ("PUT", "applications/{}/guilds/{}/commands"): (2, 60.0),
}
DEFAULT_LIMIT = (50, 1.0)


def route_of(method: str, parts: list[str]) -> tuple[str, str]:
    """('POST', ['channels', '12', 'messages']) -> ('channels/{}/messages', '12'): the route with
    its ids blanked, and its top-level resource."""
    shape, resource = [], ""
    for n, part in enumerate(parts):
        is_id = part.isdigit() or part.startswith("itoken-") or part == "@original"
        if parts[0] == "webhooks" and n == 2:
            is_id = True  # a webhook's token
        shape.append("{}" if is_id else part)
        if is_id and not resource:
            resource = part
        elif is_id and parts[0] == "webhooks" and n == 2:
            resource += "/" + part
    return "/".join(shape), resource


def is_interaction_endpoint(parts: list[str]) -> bool:
    """Interactions > Receiving and Responding > Endpoints: callbacks and the interaction's webhook."""
    return (parts[:1] == ["interactions"]) or (parts[:1] == ["webhooks"] and len(parts) >= 3
                                               and parts[2].startswith("itoken-"))


@dataclass
class Bucket:
    name: str
    limit: int
    window: float
    remaining: int
    resets_at: float


@dataclass
class Verdict:
    headers: dict[str, str]
    retry_after: float | None = None     # set: answer 429
    is_global: bool = False


class RateLimits:
    def __init__(self, *, scale: float = 1.0) -> None:
        self.scale = scale
        self.enabled = True
        self.buckets: dict[tuple[str, str, str], Bucket] = {}
        self._global: deque[float] = deque()
        self.invalid_requests = 0
        self.limited: list[str] = []     # what was answered 429, "METHOD path (scope)"

    def discord_seconds(self, seconds: float) -> float:
        return seconds / self.scale

    def check(self, method: str, parts: list[str], now: float | None = None) -> Verdict:
        """Take one request from its buckets: the headers to send, and whether it is refused."""
        now = time.monotonic() if now is None else now
        shape, resource = route_of(method, parts)
        limit, window = ROUTE_LIMITS.get((method, shape), DEFAULT_LIMIT)
        window *= self.scale
        key = (method, shape, resource)
        bucket = self.buckets.get(key)
        if bucket is None or now >= bucket.resets_at:
            name = hashlib.sha1(f"{method} {shape}".encode()).hexdigest()[:16]
            bucket = self.buckets[key] = Bucket(name, limit, window, limit, now + window)
        if self.enabled and not is_interaction_endpoint(parts):
            while self._global and self._global[0] <= now - self.scale:
                self._global.popleft()
            if len(self._global) >= GLOBAL_PER_SECOND:
                retry = math.ceil((self._global[0] + self.scale - now) * 1000) / 1000
                return Verdict({"Retry-After": f"{retry:.3f}", "X-RateLimit-Global": "true",
                                "X-RateLimit-Scope": "global", "Via": "1.1 google"}, retry, is_global=True)
        if self.enabled and bucket.remaining <= 0:
            retry = math.ceil((bucket.resets_at - now) * 1000) / 1000
            headers = self._headers(bucket, now)
            headers.update({"Retry-After": f"{retry:.3f}", "X-RateLimit-Scope": "user", "Via": "1.1 google"})
            return Verdict(headers, retry)
        bucket.remaining -= 1
        if not is_interaction_endpoint(parts):
            self._global.append(now)
        return Verdict(self._headers(bucket, now))

    def _headers(self, bucket: Bucket, now: float) -> dict[str, str]:
        # Rounded up to the millisecond: a client that waits what it is told never comes back early.
        reset_after = math.ceil(max(bucket.resets_at - now, 0.0) * 1000) / 1000
        return {"X-RateLimit-Limit": str(bucket.limit), "X-RateLimit-Remaining": str(max(bucket.remaining, 0)),
                "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                "X-RateLimit-Reset-After": f"{reset_after:.3f}", "X-RateLimit-Bucket": bucket.name}

    def count(self, status: int, headers: dict[str, str]) -> None:
        """Topics > Rate Limits > Invalid Request Limit."""
        if status in INVALID_STATUSES and headers.get("X-RateLimit-Scope") != "shared":
            self.invalid_requests += 1
