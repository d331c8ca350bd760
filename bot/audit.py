"""The audit log: who did what, and when, in which server.

A change and its audit row are written in the same transaction (`record`), so they are
committed together or not at all. Events that change nothing else (a refused button press,
say) use `record_now`, which opens its own transaction.

Privacy: the log never holds what a member wrote in a post. `record` refuses detail keys that
would carry it and caps every piece of text, so a post cannot slip in by accident; store a
post's id as the target instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot.storage import Database, discord_id, utcnow

# Every change of a server setting is written with this action (see bot/guild_settings.py).
SETTING_CHANGED = "setting.changed"

# Keys that would hold a member's own words. Refused anywhere inside `detail`.
FORBIDDEN_DETAIL_KEYS = frozenset({"text", "content", "post_text", "body"})
# Long enough for a setting's text (the crisis resources, at most 1,000 characters) and a
# moderator's short reason; too short for a member's post (up to 4,000).
MAX_DETAIL_TEXT = 1024
MAX_TARGET = 200
# "post.approved", "setting.changed", "button.refused": lowercase words joined by dots.
ACTION_SHAPE = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$")
MAX_ACTION = 64

# A mirrored line must fit in one Discord message (2,000 characters) with room to spare.
MAX_LINE = 1900
# Values quoted inside a mirrored line are cut to this length.
MAX_VALUE_IN_LINE = 200

# How the log channel names a setting and its unit ("cooldown_seconds" -> "Cooldown", "seconds"):
# filled in by bot/guild_settings.py, which declares the settings.
SETTING_NAMES: dict[str, tuple[str, str]] = {}


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    guild_id: int | None
    actor_id: int | None  # None: the bot itself (a deleted channel forgotten, say)
    action: str
    target: str | None
    detail: dict[str, Any]
    created_at: str  # ISO-8601, UTC
    actor_pseudonym: str | None = None  # "former member #3": the actor used Forget me


def _check_detail(value: Any, path: str = "detail") -> None:
    """Refuse anything that could carry a member's post text into the log."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path} keys must be text, got {key!r}")
            if key.lower() in FORBIDDEN_DETAIL_KEYS:
                raise ValueError(
                    f"{path}[{key!r}]: the audit log never stores what a member wrote; "
                    "record the post's id as the target instead"
                )
            _check_detail(inner, f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, inner in enumerate(value):
            _check_detail(inner, f"{path}[{i}]")
    elif isinstance(value, str):
        if len(value) > MAX_DETAIL_TEXT:
            raise ValueError(
                f"{path} holds {len(value):,} characters; audit details are capped at "
                f"{MAX_DETAIL_TEXT:,} so that no post text ends up in the log"
            )
    elif value is not None and not isinstance(value, (bool, int, float)):
        raise TypeError(f"{path} must be plain JSON data, got {type(value).__name__}")


def _validated(action: str, target: str | None, detail: dict[str, Any] | None) -> tuple[str | None, str]:
    if not isinstance(action, str) or len(action) > MAX_ACTION or not ACTION_SHAPE.match(action):
        raise ValueError(f"audit action {action!r} must be lowercase words joined by dots, like 'post.approved'")
    if target is not None:
        target = str(target)
        if len(target) > MAX_TARGET:
            raise ValueError(f"audit target is {len(target)} characters; at most {MAX_TARGET}")
    detail = {} if detail is None else detail
    if not isinstance(detail, dict):
        raise TypeError("audit detail must be a dict")
    _check_detail(detail)
    return target, json.dumps(detail, ensure_ascii=False, sort_keys=True)


async def record(
    conn: aiosqlite.Connection,
    *,
    guild_id: int | None,
    actor_id: int | None,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit row inside the caller's open transaction (from `db.transaction()`).

    Returns the entry so that the caller can mirror it (`format_entry`) once the transaction
    has committed.
    """
    if not conn.in_transaction:
        # Outside a transaction the row would be committed on its own, apart from the change
        # it describes; that is exactly what this function exists to prevent.
        raise RuntimeError("audit.record must run inside db.transaction(); use record_now for standalone events")
    target, detail_json = _validated(action, target, detail)
    created_at = utcnow()
    cursor = await conn.execute(
        "INSERT INTO audit_log (guild_id, actor_id, action, target, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)"
        " RETURNING id",
        (guild_id, actor_id, action, target, detail_json, created_at),
    )
    entry_id = (await cursor.fetchone())[0]
    await cursor.close()
    return AuditEntry(
        id=int(entry_id),
        guild_id=guild_id,
        actor_id=actor_id,
        action=action,
        target=target,
        detail=json.loads(detail_json),
        created_at=created_at,
    )


async def record_now(
    db: Database,
    *,
    guild_id: int | None,
    actor_id: int | None,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit row in a transaction of its own, for events that change nothing else."""
    async with db.transaction() as tx:
        return await record(tx, guild_id=guild_id, actor_id=actor_id, action=action, target=target, detail=detail)


def _entry_from_row(row: Any) -> AuditEntry:
    try:
        detail = json.loads(row["detail"] or "{}")
    except json.JSONDecodeError:
        detail = {}
    return AuditEntry(
        id=row["id"],
        guild_id=row["guild_id"],
        actor_id=row["actor_id"],
        action=row["action"],
        target=row["target"],
        detail=detail if isinstance(detail, dict) else {},
        created_at=row["created_at"],
        actor_pseudonym=row["actor_pseudonym"] if "actor_pseudonym" in row.keys() else None,
    )


async def recent(db: Database, guild_id: int, limit: int = 20, action: str | None = None) -> list[AuditEntry]:
    """The newest entries of one server, newest first; `action` keeps only that action."""
    limit = max(1, min(int(limit), 200))
    if action is None:
        rows = await db.fetchall(
            "SELECT * FROM audit_log WHERE guild_id = ? ORDER BY id DESC LIMIT ?", (guild_id, limit)
        )
    else:
        rows = await db.fetchall(
            "SELECT * FROM audit_log WHERE guild_id = ? AND action = ? ORDER BY id DESC LIMIT ?",
            (guild_id, action, limit),
        )
    return [_entry_from_row(r) for r in rows]


# -- one readable line per entry, for the server's log channel --------------------------------

def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _when(created_at: str) -> str:
    try:
        moment = datetime.fromisoformat(created_at)
    except ValueError:
        return created_at
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _amount(value: int, unit: str) -> str:
    """300 seconds -> "5 minutes", 24 hours -> "24 hours", 1 post a day -> "1 post a day"."""
    def plural(n: int, word: str) -> str:
        return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"
    if unit == "seconds":
        if value and value % 3600 == 0:
            return plural(value // 3600, "hour")
        if value and value % 60 == 0:
            return plural(value // 60, "minute")
        return plural(value, "second")
    if unit == "hours":
        return plural(value, "hour")
    if unit.endswith(" a day") and value == 1:
        return f"1 {unit.split()[0].rstrip('s')} a day"
    return f"{value:,} {unit}" if unit else f"{value:,}"


def _setting_value(kind: str | None, value: Any, unit: str = "") -> str:
    """A setting's value as it reads in the log channel; ids become mentions that Discord renders."""
    if value is None:
        return "not set"
    if kind in ("channel", "role"):
        snowflake = _as_id(value)
        if snowflake is not None:
            return f"<#{snowflake}>" if kind == "channel" else f"<@&{snowflake}>"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return _amount(value, unit)
    if isinstance(value, str):
        return '"' + _clip(" ".join(value.split()), MAX_VALUE_IN_LINE) + '"'
    return _clip(json.dumps(value, ensure_ascii=False), MAX_VALUE_IN_LINE)


def _by(who: str | None) -> str:
    return f" by {who}" if who else ""


def _setting_sentence(entry: AuditEntry, who: str | None) -> str:
    d = entry.detail
    name = str(d.get("setting") or entry.target or "a setting")
    label, unit = SETTING_NAMES.get(name, (name, ""))
    kind = d.get("kind")
    old, new = _setting_value(kind, d.get("old"), unit), _setting_value(kind, d.get("new"), unit)
    how = d.get("how", "set")
    if how == "reset":
        return f"{label} reset to its default, {new} (was {old}){_by(who)}"
    if how == "import":
        return f"{label} imported from a settings file: {old} → {new}{_by(who)}"
    if how in ("channel deleted", "role deleted"):
        thing = "channel" if how == "channel deleted" else "role"
        return f"{label} cleared because its {thing} {old} was deleted"
    if how == "wizard":
        return f"{label} set to {new} in the setup wizard (was {old}){_by(who)}"
    return f"{label} changed from {old} to {new}{_by(who)}"


def _number(entry: AuditEntry) -> str:
    number = entry.detail.get("number")
    if number is not None:
        return f"Post #{number}"
    post = (entry.target or "").removeprefix("post:")
    return f"Post {post}" if post else "A post"


def _generic_sentence(entry: AuditEntry, who: str | None) -> str:
    d = entry.detail
    if entry.action in ("post.approved", "post.rejected"):
        sentence = f"{_number(entry)} {entry.action.split('.')[1]}{_by(who)}"
        if d.get("reason"):
            sentence += f" (reason: {_setting_value(None, d['reason'])})"
        return sentence
    if entry.action == "post.submitted":   # the author is not named: the post may be anonymous
        return f"{_number(entry)} shared for review" + (" and marked urgent" if d.get("urgent") else "")
    if entry.action == "post.withdrawn":
        return f"{_number(entry)} withdrawn by its author"
    if entry.action == "member.blocked":    # not named: the author of an anonymous post stays unnamed
        return f"A member was blocked from sharing{_by(who)}"
    if entry.action == "member.unblocked":
        return f"A member may share again: unblocked{_by(who)}"
    if entry.action == "member.forgotten":
        return "A member's data was deleted at their request"
    if entry.action == "article.added":
        name = f" {_setting_value(None, d['file'])}" if d.get("file") else ""
        return f"Article{name} added to this server's library{_by(who)}"
    if entry.action == "moderation.refused":
        tried = _setting_value(None, d.get("attempted")) if d.get("attempted") else "a moderator's action"
        return f"{who or 'Someone'} tried {tried} without the moderator role; nothing changed"
    sentence = " ".join(w for w in entry.action.replace("_", " ").split(".")) + (f" {entry.target}" if entry.target else "")
    sentence = sentence[:1].upper() + sentence[1:] + _by(who)
    if d:
        shown = ", ".join(f"{key}: {_setting_value(None, value)}" for key, value in sorted(d.items()))
        sentence += f" ({shown})"
    return sentence


def format_entry(entry: AuditEntry) -> str:
    """One sentence for the log channel, e.g. "Cooldown changed from 5 minutes to 1 minute by <@42>
    · 2026-05-01 12:00 UTC" or "Post #1 approved by <@42> · ...".

    Members and roles appear as mentions (`<@id>`, `<@&id>`, `<#id>`), which Discord renders as
    names; send the line with mentions disabled so that nobody is pinged.
    """
    who = entry.actor_pseudonym or (None if entry.actor_id is None else f"<@{entry.actor_id}>")
    sentence = _setting_sentence(entry, who) if entry.action == SETTING_CHANGED else _generic_sentence(entry, who)
    if who is None and entry.action != SETTING_CHANGED:
        sentence += " by the bot"
    return _clip(f"{sentence} · {_when(entry.created_at)}", MAX_LINE)


# -- a member's rows ("what the bot keeps about me", "forget me") ---------------------------------

async def export_member_rows(conn: aiosqlite.Connection, user_id: int) -> list[dict[str, Any]]:
    """What a member did, as the audit log recorded it, as JSON-ready data."""
    rows = await conn.execute_fetchall(
        "SELECT guild_id, action, target, detail, created_at FROM audit_log WHERE actor_id = ? ORDER BY id",
        (user_id,),
    )
    return [{"server_id": discord_id(r["guild_id"]), "action": r["action"], "target": r["target"],
             "detail": json.loads(r["detail"] or "{}"), "at": r["created_at"]} for r in rows]


async def forget_details(tx: aiosqlite.Connection, target: str, *, actor_id: int, keep: set[str]) -> None:
    """Strip the detail of this actor's rows about `target` down to the keys in `keep` (a withdrawn
    post's flags and urgency go from its "post.submitted" row). Inside the caller's transaction."""
    rows = await tx.execute_fetchall("SELECT id, detail FROM audit_log WHERE target = ? AND actor_id = ?",
                                     (target, actor_id))
    for row in rows:
        detail = json.loads(row[1] or "{}")
        kept = {k: v for k, v in detail.items() if k in keep} if isinstance(detail, dict) else {}
        await tx.execute("UPDATE audit_log SET detail = ? WHERE id = ?", (json.dumps(kept, sort_keys=True), row[0]))


# What staff do for the server: kept when the one who did it uses Forget me, under a pseudonym.
STAFF_ACTIONS = frozenset({SETTING_CHANGED, "post.approved", "post.rejected", "member.blocked", "member.unblocked"})


async def forget_actor(tx: aiosqlite.Connection, user_id: int, pseudonym: str) -> None:
    """A member's own rows go; the staff actions they took stay under `pseudonym`, without their id;
    rows naming them as the target ("member.blocked user:<id>") name the pseudonym instead. Inside the
    caller's transaction."""
    staff = sorted(STAFF_ACTIONS)
    marks = ",".join("?" * len(staff))
    await tx.execute(f"DELETE FROM audit_log WHERE actor_id = ? AND action NOT IN ({marks})", (user_id, *staff))
    await tx.execute("UPDATE audit_log SET actor_id = NULL, actor_pseudonym = ? WHERE actor_id = ?",
                     (pseudonym, user_id))
    await tx.execute("UPDATE audit_log SET target = ? WHERE target = ?", (pseudonym, f"user:{user_id}"))


async def forget_targets(tx: aiosqlite.Connection, targets: list[str], author_id: int) -> None:
    """Delete the rows about these targets (at most 500 at once) that the author wrote; what staff
    did about them stays (it holds no text, and the target is only a number). Inside the caller's
    transaction."""
    if targets:
        await tx.execute(
            f"DELETE FROM audit_log WHERE target IN ({','.join('?' * len(targets))}) AND actor_id IS ?",
            (*targets, author_id))



# -- a server's rows, and retention -------------------------------------------------------------

async def forget_guild(tx: aiosqlite.Connection, guild_id: int) -> None:
    """Every row of a server the bot has left, inside the caller's transaction."""
    await tx.execute("DELETE FROM audit_log WHERE guild_id = ?", (guild_id,))


async def prune(tx: aiosqlite.Connection, before: str, *, where: str = "", params: list[Any] | None = None) -> int:
    """Delete the rows written before `before` (ISO-8601, UTC), inside the caller's transaction;
    `where`/`params` narrow it (an SQL condition starting with AND, as `OwnShards.where` makes).
    Returns how many went."""
    cursor = await tx.execute(f"DELETE FROM audit_log WHERE created_at < ?{where}", (before, *(params or [])))
    return cursor.rowcount or 0
