"""What several test modules share: steps that must succeed, pressing buttons and picking in menus
as Discord sends them, setting a server up, sharing a post, waiting for the background worker,
and reading what the bot sent. Test modules import from here, never from each other."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bot import posts
from emulator.openapi import DEFAULT_OPENAPI_PATH
from emulator.server import DEFAULT_GUILD, PERSONAS, Emulator
from emulator.session import BotSession, StepResult

# Discord's API description, when it is beside the project; without it that half of the checks is skipped.
OPENAPI_PATH = DEFAULT_OPENAPI_PATH if DEFAULT_OPENAPI_PATH.is_file() else None

# Discord's rate-limit windows in the end-to-end tests: ten times shorter, so that a test that posts
# a few dozen messages does not wait minutes; the limits themselves hold.
RATE_SCALE = 0.1

# A second server, for what must never leak from one server to another.
OTHER_GUILD = 300_000_000_000_000_777


async def step(session: BotSession, text: str, **kwargs) -> StepResult:
    """Run a step that must succeed: answered, no rule or OpenAPI violation, no ERROR logged."""
    result = await session.run(text, **kwargs)
    assert result.problem is None, result.problem
    assert result.answered, f"{text!r} got no answer"
    assert result.violations == [], f"{text!r} broke rules: {result.violations}"
    assert result.errors == [], f"{text!r} logged errors: {result.errors}"
    return result


def is_ephemeral(result: StepResult) -> bool:
    """Whether the first response of the step was private to the member."""
    for req in result.requests:
        if req.path.endswith("/callback"):
            data = (req.body or {}).get("data") or {}
            return bool(int(data.get("flags") or 0) & 64)
    return False


def channel_id(session: BotSession, name: str, guild_id: int | None = None) -> int:
    return int(session.emulator.find_channel(guild_id or session.guild_id, name)["id"])


def role_id(session: BotSession, name: str, guild_id: int | None = None) -> int:
    return int(session.emulator.find_role(guild_id or session.guild_id, name)["id"])


async def send_component(session: BotSession, payload: dict, label: str) -> StepResult:
    """Send a button or menu interaction and collect what the bot did: no rule broken, no ERROR logged.
    The timeout only keeps a broken test from hanging."""
    emulator = session.emulator
    start, errors = len(emulator.requests), len(session.errors)
    record = await emulator.send_interaction(payload)
    await asyncio.wait_for(record.done.wait(), 120)
    await session.settle()
    result = StepResult(step=label, requests=emulator.requests[start:],
                        answered=record.response_type is not None, errors=session.errors[errors:])
    assert result.violations == [] and result.errors == [], (result.violations, result.errors)
    return result


async def choose(session: BotSession, custom_id: str, value: str, *, user: str = "admin",
                 guild_id: int | None = None) -> StepResult:
    """Pick `value` (a channel or role name) in the select menu `custom_id` of the newest message
    that has it, the way Discord sends a select-menu interaction."""
    guild_id = guild_id or session.guild_id
    emulator = session.emulator
    for message in reversed(list(emulator.messages.values())):
        comps = [c for row in message.get("components") or [] for c in row.get("components") or []]
        menu = next((c for c in comps if c.get("custom_id") == custom_id), None)
        if menu is not None:
            break
    else:
        raise AssertionError(f"no message has the menu {custom_id}")
    if menu["type"] == 8:
        channel = emulator.find_channel(guild_id, value)
        resolved = {"channels": {channel["id"]: {
            k: channel[k] for k in ("id", "type", "name", "guild_id", "parent_id", "permission_overwrites", "position", "nsfw", "flags")
        } | {"permissions": str(emulator.channel_permissions(int(channel["id"]), emulator.application_id))}}}
        picked = channel["id"]
    else:
        role = emulator.find_role(guild_id, value)
        resolved, picked = {"roles": {role["id"]: role}}, role["id"]
    data = {"custom_id": custom_id, "component_type": menu["type"], "values": [picked], "resolved": resolved}
    payload = emulator.interaction_payload(3, guild_id=guild_id, channel_id=int(message["channel_id"]),
                                          user_id=PERSONAS[user], data=data, message=emulator.public(message))
    return await send_component(session, payload, f"choose {value} in {custom_id}")


async def set_up_everything(session: BotSession, guild_id: int | None = None) -> None:
    for command in ("/config channel kind:posts channel:community-posts",
                    "/config channel kind:queue channel:mod-queue",
                    "/config channel kind:log channel:mod-log",
                    "/config moderator-role role:Moderators"):
        assert is_ephemeral(await step(session, f"@admin {command}", guild_id=guild_id))


async def ready_server(session: BotSession, guild_id: int | None = None) -> None:
    """Channels and moderator role set, and no cooldown, so that one member can post several times."""
    await set_up_everything(session, guild_id)
    await step(session, "@admin /config posting cooldown_seconds:0", guild_id=guild_id)


async def share(session: BotSession, text: str, *, who: str = "member", guild_id: int | None = None,
                extra: str = "", raw: bool = False) -> StepResult:
    """Open the /share form and submit it (`raw`: as a modified client could, past the form's limits)."""
    opened = await step(session, f"@{who} /share", guild_id=guild_id)
    assert opened.requests[0].body["type"] == 9, "the first answer to /share is the form"
    asks = '"custom_id": "anonymous"' in json.dumps(opened.requests[0].body)
    if asks and "anonymous=" not in extra:  # the form makes the member choose; these tests choose anonymous
        extra = f"{extra} anonymous=anonymous"
    return await step(session, f"@{who} modal experience={text} {extra}".rstrip(), guild_id=guild_id, raw=raw)


async def newest_post(session: BotSession, guild_id: int | None = None) -> posts.Post:
    row = await session.bot.db.fetchone("SELECT id FROM posts WHERE guild_id = ? ORDER BY id DESC LIMIT 1",
                                        (guild_id or session.guild_id,))
    return await posts.get_post(session.bot.db, row["id"])


def sent_in(result: StepResult, channel: int, method: str = "POST") -> list[dict]:
    """Bodies of messages the bot sent (or edited, with method PATCH) in a channel during a step."""
    return [r.body for r in result.requests
            if r.method == method and r.path.startswith(f"/channels/{channel}/messages") and r.status == 200]


def channel_messages(session: BotSession, channel: int) -> list[dict]:
    """Messages the bot posted in a channel and that are still there (replies to commands left out)."""
    return [m for m in session.emulator.messages.values()
            if m["channel_id"] == str(channel) and not m["_meta"].get("interaction_id")]


async def wait_for(condition, timeout: float = 120.0) -> None:
    """Wait until `condition()` (sync or async) is true: the worker acts in the background. The timeout
    only keeps a broken test from hanging; no test depends on how fast this machine is."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the background worker")
        await asyncio.sleep(0.05)


async def press(session: BotSession, custom_id: str, *, who: str, guild_id: int | None = None,
                channel: str = "general", label: str = "Button") -> StepResult:
    """Press a button with any custom_id, as if a message of the bot carried it (an old message, or
    one edited by a tampering client): the bot must refuse what is not allowed."""
    guild_id = guild_id or session.guild_id
    emulator = session.emulator
    channel_id_ = int(emulator.find_channel(guild_id, channel)["id"])
    message = emulator._make_message(channel_id_, {"content": "", "components": [
        {"type": 1, "components": [{"type": 2, "style": 2, "label": label, "custom_id": custom_id}]}]})
    payload = emulator.interaction_payload(3, guild_id=guild_id, channel_id=channel_id_, user_id=PERSONAS[who],
                                          data={"custom_id": custom_id, "component_type": 2},
                                          message=emulator.public(message))
    return await send_component(session, payload, f"press {custom_id}")


def files_holding(db, needle: str) -> list[str]:
    """Which of the database's files on disk (.db, -wal, -shm) hold `needle`, read as raw bytes."""
    found = []
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{db.path}{suffix}")
        if path.exists() and needle.encode() in path.read_bytes():
            found.append(path.name)
    return found


SHARE_FORM_PREFIX = "fibrocircle:share:"


def share_form(emulator: Emulator, user_id: int, text: str, *, form: str, guild_id: int = DEFAULT_GUILD) -> dict:
    """The modal-submit payload Discord sends when a member submits the /share form."""
    channel = int(emulator.find_channel(guild_id, "general")["id"])
    fields = [(4, "experience", text), (4, "topic", ""), (21, "anonymous", "anonymous")]
    data = {"custom_id": f"{SHARE_FORM_PREFIX}{form}",
            "components": [{"type": 18, "component": {"type": kind, "custom_id": cid, "value": value}}
                           for kind, cid, value in fields]}
    return emulator.interaction_payload(5, guild_id=guild_id, channel_id=channel, user_id=user_id, data=data)


def lift_ask_limit(session: BotSession) -> None:
    """For a test that asks many questions in a row as one member (about what the answers hold, not
    about the per-member limit, which tests/test_edges_e2e.py covers)."""
    from bot.limits import MemberLimiter
    session.bot.limits.ask = MemberLimiter(10**6, 1.0)
