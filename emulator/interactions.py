"""Interactions: the payload a member's action sends the bot, and the routes that answer it (the
callback within Discord's 3 seconds, follow-ups and edits within the token's 15 minutes), held to
the callback types that fit each interaction."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from emulator.rest import RecordedRequest, discord_error, json_response
from emulator.world import BOT_PERMS, MEMBER_PERMS

INTERACTION_DEADLINE = 3.0  # seconds Discord waits for the first response
TOKEN_LIFETIME = 15 * 60    # seconds an interaction token is valid for follow-ups and edits
EPHEMERAL = 64

@dataclass
class InteractionRecord:
    id: int
    token: str
    payload: dict[str, Any]
    user_id: int
    sent_at: float
    first_response_at: float | None = None
    response_type: int | None = None
    original_message: dict[str, Any] | None = None
    modal: dict[str, Any] | None = None
    late: bool = False      # the first response came after Discord's deadline and was refused
    done: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when the bot follows a deferred response up (a follow-up message or an edit of the original).
    followed_up: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def latency(self) -> float | None:
        return None if self.first_response_at is None else self.first_response_at - self.sent_at


# Interaction types and the callback types that answer them (Interactions > Receiving and
# Responding > Interaction Response Object > Interaction Callback Type).
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
CALLBACK_NAMES = {4: "a message", 5: "a deferred message", 6: "a deferred update", 7: "a message update",
                  8: "autocomplete choices", 9: "a modal"}


def callback_misfit(interaction_type: int, kind: int, data: dict[str, Any], *, from_message: bool) -> str | None:
    """Why this callback type cannot answer this interaction, or None."""
    name = CALLBACK_NAMES.get(kind, f"type {kind}")
    if interaction_type == AUTOCOMPLETE:
        return None if kind == 8 else f"an autocomplete interaction is answered only with choices (8), not {name}"
    if kind == 8:
        return "autocomplete choices (8) answer only an autocomplete interaction"
    if kind in (6, 7) and not (interaction_type == MESSAGE_COMPONENT or (interaction_type == MODAL_SUBMIT and from_message)):
        return f"{name} ({kind}) is only for a component's message"
    if kind == 9 and interaction_type == MODAL_SUBMIT:
        return "a modal cannot answer a modal submit"
    if kind == 5:
        # A defer carries at most the ephemeral flag: the message itself comes later.
        extra = sorted(set(data) - {"flags"})
        if extra or int(data.get("flags") or 0) & ~EPHEMERAL:
            return f"a deferred response may carry only the ephemeral flag (got {extra or data.get('flags')})"
    return None


def with_component_ids(modal: dict[str, Any]) -> dict[str, Any]:
    """Component Reference > Anatomy of a Component: a component sent without an `id` gets one,
    numbered in order through the tree; the modal submit names each component by it."""
    modal = json.loads(json.dumps(modal))
    used = set()

    def walk(node: Any, visit) -> None:
        for comp in node.get("components") or ([node["component"]] if node.get("component") else []):
            visit(comp)
            walk(comp, visit)

    walk(modal, lambda c: used.add(c["id"]) if c.get("id") is not None else None)
    counter = itertools.count(1)

    def number(comp: dict[str, Any]) -> None:
        if comp.get("id") is None:
            comp["id"] = next(n for n in counter if n not in used)

    walk(modal, number)
    return modal


class InteractionRoutes:
    """`Emulator`'s interactions: sending one to the bot and the handlers that answer it."""

    def interaction_payload(self, kind: int, *, guild_id: int, channel_id: int, user_id: int,
                            data: dict[str, Any], message: dict[str, Any] | None = None) -> dict[str, Any]:
        interaction_id = self.snowflake()
        guild = self.guilds.get(guild_id)
        member = guild["members"].get(user_id) if guild else None
        channel = self.channels.get(channel_id) or {  # a channel the emulator has no record of, as Discord sends it
            "id": str(channel_id), "type": 0, "guild_id": str(guild_id), "name": "unknown", "position": 0,
            "permission_overwrites": [], "nsfw": False, "parent_id": None, "flags": 0, "rate_limit_per_user": 0}
        payload: dict[str, Any] = {
            "id": str(interaction_id), "application_id": str(self.application_id), "type": kind,
            "token": f"itoken-{interaction_id}", "version": 1, "data": data,
            "guild_id": str(guild_id), "channel_id": str(channel_id), "channel": channel,
            "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild_id)}, "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
            "app_permissions": str(self.channel_permissions(channel_id, self.application_id) if channel_id in self.channels else BOT_PERMS),
        }
        if member is not None:
            perms = self.channel_permissions(channel_id, user_id) if channel_id in self.channels else self.base_permissions(guild_id, user_id)
            payload["member"] = {**member, "permissions": str(perms)}
        else:  # a user the guild has not seen: the payload still names them
            user = self.users.get(user_id) or self.add_user(user_id, f"Visitor {user_id % 10000}")
            payload["member"] = {**self._member(user, [], "2026-11-01T00:00:00+00:00"), "permissions": str(MEMBER_PERMS)}
        if message is not None:
            payload["message"] = message
        return payload

    async def send_interaction(self, payload: dict[str, Any]) -> InteractionRecord:
        record = InteractionRecord(id=int(payload["id"]), token=payload["token"], payload=payload,
                                   user_id=int(payload["member"]["user"]["id"]), sent_at=time.perf_counter())
        self.interactions[record.id] = record
        await self.dispatch("INTERACTION_CREATE", payload)
        return record


    def _interaction_for_token(self, token: str) -> InteractionRecord | None:
        if token.startswith("itoken-") and token[7:].isdigit():
            return self.interactions.get(int(token[7:]))
        return None

    async def _callback(self, rec: RecordedRequest, interaction_id: int, token: str) -> web.Response:
        record = self.interactions.get(interaction_id)
        if record is None or record.token != token:
            return discord_error(404, 10062, "Unknown interaction")
        rec.interaction_id = interaction_id
        if record.response_type is not None:
            return discord_error(400, 40060, "Interaction has already been acknowledged.")
        # The response arrived when its request did: the emulator's own checks are not the bot's time.
        now = rec.at
        kind = int(rec.body["type"])
        data = rec.body.get("data") or {}
        if now - record.sent_at > self.deadline:
            # Interactions > Receiving and Responding > Responding to an Interaction: the first
            # response must come within 3 seconds, or the token is invalidated; a late one is
            # answered 10062 and the member has already seen "This interaction failed".
            self.late_responses.append(interaction_id)
            rec.violations.append(f"first response after {now - record.sent_at:.2f}s; Discord allows {self.deadline:g}s")
            record.late = True
            record.done.set()
            return discord_error(404, 10062, "Unknown interaction")
        if (too_big := self._upload_too_big(record, rec)) is not None:
            return too_big
        misfit = callback_misfit(int(record.payload["type"]), kind, data, from_message="message" in record.payload)
        if misfit:
            rec.violations.append(misfit)
            return discord_error(400, 50035, "Invalid Form Body", {"type": {"_errors": [
                {"code": "INTERACTION_RESPONSE_TYPE_INVALID", "message": misfit}]}})
        record.first_response_at = now
        record.response_type = kind
        record.done.set()
        channel_id = int(record.payload["channel_id"])
        resource: dict[str, Any] = {"type": kind}
        message_id = None
        if kind in (4, 5):
            body = data if kind == 4 else {"content": "", "flags": data.get("flags", 0)}
            message = self._make_message(channel_id, body, interaction=record, files=rec.files,
                                         ephemeral_for=record.user_id)
            message["_meta"]["loading"] = kind == 5
            record.original_message = message
            resource["message"] = self.public(message)
            message_id = message["id"]
        elif kind == 7:  # edit the message the button was on
            target = self.messages.get(int(record.payload.get("message", {}).get("id", 0)))
            if target is not None:
                self._apply_edit(target, data, rec.files)
                record.original_message = target
                resource["message"] = self.public(target)
                message_id = target["id"]
        elif kind == 6:
            target = self.messages.get(int(record.payload.get("message", {}).get("id", 0)))
            record.original_message = target
        elif kind == 9:
            record.modal = with_component_ids(data)
        if rec.query.get("with_response") not in ("true", "True", "1"):
            return web.Response(status=204)
        flags = int(data.get("flags") or 0)
        return json_response({
            "interaction": {"id": str(interaction_id), "type": record.payload["type"],
                            "response_message_id": message_id, "response_message_loading": kind == 5,
                            "response_message_ephemeral": bool(flags & 64)},
            "resource": resource if kind in (4, 5, 7, 9) else None,
        })

    def _upload_too_big(self, record: InteractionRecord, rec: RecordedRequest) -> web.Response | None:
        """Interactions > Interaction Object: `attachment_size_limit`, the largest upload (in bytes)
        an answer to this interaction may carry."""
        limit = int(record.payload.get("attachment_size_limit") or 0)
        too_big = [f for f in rec.files if limit and f["size"] > limit]
        if not too_big:
            return None
        rec.violations.append(f"{too_big[0]['filename']} is {too_big[0]['size']:,} bytes; this interaction allows {limit:,}")
        return discord_error(413, 40005, "Request entity too large")

    def _token_expired(self, record: InteractionRecord, rec: RecordedRequest) -> web.Response | None:
        """Interactions > Receiving and Responding: "Interaction tokens are valid for 15 minutes"."""
        if rec.at - record.sent_at <= self.token_lifetime:
            return None
        rec.violations.append(f"the interaction token was used {rec.at - record.sent_at:.0f}s after the interaction; "
                              f"it lasts {self.token_lifetime:g}s")
        return discord_error(401, 50027, "Invalid Webhook Token")

    async def _followup(self, rec: RecordedRequest, token: str) -> web.Response:
        record = self._interaction_for_token(token)
        if record is None or record.response_type is None:
            return discord_error(404, 10015, "Unknown Webhook")
        rec.interaction_id = record.id
        if (expired := self._token_expired(record, rec)) is not None:
            return expired
        if (too_big := self._upload_too_big(record, rec)) is not None:
            return too_big
        body = rec.body or {}
        original = record.original_message
        if original is not None and original["_meta"].get("loading") and int(original["id"]) in self.messages:
            # Interactions > Receiving and Responding > Followup Messages: after a deferred response
            # (type 5) the first follow-up edits the "thinking" message, which keeps the privacy the
            # defer gave it; the follow-up's own ephemeral flag is ignored.
            wanted, deferred = int(body.get("flags") or 0) & 64, int(original["flags"]) & 64
            if wanted != deferred:
                rec.violations.append(
                    f"a {'private' if wanted else 'public'} follow-up fills the {'private' if deferred else 'public'} "
                    "deferred reply: Discord ignores its ephemeral flag and shows it "
                    f"{'only to the member' if deferred else 'to the whole channel'}")
            self._apply_edit(original, {k: v for k, v in body.items() if k != "flags"}, rec.files)
            original["_meta"]["loading"] = False
            record.followed_up.set()
            return json_response(self.public(original))
        message = self._make_message(int(record.payload["channel_id"]), body, interaction=record,
                                     files=rec.files, ephemeral_for=record.user_id)
        record.followed_up.set()
        return json_response(self.public(message))

    async def _webhook_message(self, rec: RecordedRequest, token: str, ref: str) -> web.Response:
        record = self._interaction_for_token(token)
        if record is None:
            return discord_error(404, 10015, "Unknown Webhook")
        rec.interaction_id = record.id
        if (expired := self._token_expired(record, rec)) is not None:
            return expired
        if ref == "@original":
            message = record.original_message
        else:
            message = self.messages.get(int(ref)) if ref.isdigit() else None
        if message is None:
            return discord_error(404, 10008, "Unknown Message")

        def filled() -> None:  # an edit through the webhook follows the interaction up
            message["_meta"]["loading"] = False
            record.followed_up.set()

        return self._read_edit_or_delete(rec, message, filled)
