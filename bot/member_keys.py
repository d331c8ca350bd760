"""A keyed hash of a member's id, for what must outlive "Forget me" without naming the member: the
rate-limit state that stops a member from sharing, forgetting and sharing again at once.

The key is random, made by the bot on first use and kept in the database (`bot_secrets`); it is
never shown. Without it the hash cannot be matched to an id by trying ids.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

KEY_NAME = "member_key"


async def member_key(conn: Any, user_id: int, *, create: bool = False) -> str | None:
    """The member's keyed hash, or None when no key exists yet and `create` is False (then no hash
    was ever stored, and there is nothing to match). With `create`, runs inside the caller's
    transaction."""
    row = await (await conn.execute("SELECT value FROM bot_secrets WHERE name = ?", (KEY_NAME,))).fetchone()
    if row is None:
        if not create:
            return None
        await conn.execute("INSERT INTO bot_secrets(name, value) VALUES (?, ?) ON CONFLICT DO NOTHING", (KEY_NAME, os.urandom(32)))
        row = await (await conn.execute("SELECT value FROM bot_secrets WHERE name = ?", (KEY_NAME,))).fetchone()
    return hmac.new(bytes(row[0]), str(int(user_id)).encode(), hashlib.sha256).hexdigest()
