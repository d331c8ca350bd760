"""Routes about messages: sending to a channel (permissions, nonces), reading, editing and
deleting a message, a channel, and opening a DM."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from aiohttp import web

from emulator.rest import RecordedRequest, discord_error, json_response
from emulator.world import PERM

if TYPE_CHECKING:
    from emulator.interactions import InteractionRecord


class MessageRoutes:
    """`Emulator`'s messages: how one is made and the handlers for channel messages and DMs."""

    def _make_message(self, channel_id: int, body: dict[str, Any], *, author: dict[str, Any] | None = None,
                      interaction: InteractionRecord | None = None, files: list[dict[str, Any]] | None = None,
                      ephemeral_for: int | None = None) -> dict[str, Any]:
        message_id = self.snowflake()
        flags = int(body.get("flags") or 0)
        message = {
            "id": str(message_id), "channel_id": str(channel_id), "type": 0 if interaction is None else 20,
            "author": author or self.bot_user, "content": body.get("content") or "", "embeds": body.get("embeds") or [],
            "components": body.get("components") or [], "attachments": [
                {"id": str(self.snowflake()), "filename": f.get("filename") or "file", "size": f["size"],
                 "url": "http://127.0.0.1/unused", "proxy_url": "http://127.0.0.1/unused"} for f in files or []],
            "timestamp": "2026-11-25T00:00:00+00:00", "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "pinned": False, "flags": flags,
            "application_id": str(self.application_id), "webhook_id": str(self.application_id) if interaction else None,
        }
        channel = self.channels.get(channel_id)
        if channel and channel.get("guild_id"):
            message["guild_id"] = channel["guild_id"]
        # What the emulator needs to know later (who may see it, its files): kept outside the payload.
        message["_meta"] = {"ephemeral_for": ephemeral_for if flags & 64 else None,
                            "files": files or [], "interaction_id": interaction.id if interaction else None}
        self.messages[message_id] = message
        return message

    @staticmethod
    def public(message: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in message.items() if k != "_meta"}

    async def _create_message(self, rec: RecordedRequest, channel_id: int) -> web.Response:
        channel = self.channels.get(channel_id)
        if channel is None:
            return discord_error(404, 10003, "Unknown Channel")
        if channel["type"] == 1:
            user_id = int(channel["recipients"][0]["id"])
            if user_id in self.closed_dms:
                return discord_error(403, 50007, "Cannot send messages to this user")
        else:
            perms = self.channel_permissions(channel_id, self.application_id)
            if not (perms & PERM["view_channel"]) or not (perms & PERM["send_messages"]):
                return discord_error(403, 50013, "Missing Permissions")
            if (rec.body or {}).get("embeds") and not perms & PERM["embed_links"]:
                return discord_error(403, 50013, "Missing Permissions")
            if channel["type"] not in (0, 5):
                return discord_error(400, 50008, "Cannot send messages in a non-text channel")
        body = rec.body or {}
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            # As Discord does: the same nonce from the same author in this channel within a few minutes
            # returns the message already made instead of a second one.
            for earlier in self.messages.values():
                if (earlier["channel_id"] == str(channel_id) and earlier.get("nonce") == str(nonce)
                        and earlier["author"]["id"] == self.bot_user["id"]):
                    return json_response(self.public(earlier))
        message = self._make_message(channel_id, body, files=rec.files)
        if nonce is not None:
            message["nonce"] = str(nonce)
        return json_response(self.public(message))

    async def _channel_message(self, rec: RecordedRequest, channel_id: int, message_ref: str) -> web.Response:
        message = self.messages.get(int(message_ref)) if message_ref.isdigit() else None
        if message is None or message["channel_id"] != str(channel_id):
            return discord_error(404, 10008, "Unknown Message")
        return self._read_edit_or_delete(rec, message)

    def _read_edit_or_delete(self, rec: RecordedRequest, message: dict[str, Any],
                             after_edit: Callable[[], None] | None = None) -> web.Response:
        """GET, PATCH or DELETE one message: a channel's, or an interaction's through its webhook."""
        if rec.method == "GET":
            return json_response(self.public(message))
        if rec.method == "DELETE":
            self.messages.pop(int(message["id"]), None)
            return web.Response(status=204)
        if rec.method == "PATCH":
            self._apply_edit(message, rec.body or {}, rec.files)
            if after_edit is not None:
                after_edit()
            return json_response(self.public(message))
        return discord_error(405, 0, "405: Method Not Allowed")

    def _apply_edit(self, message: dict[str, Any], body: dict[str, Any], files: list[dict[str, Any]]) -> None:
        for key in ("content", "embeds", "components", "flags"):
            if key in body:
                message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        if files:
            message["_meta"]["files"] = files
        message["edited_timestamp"] = "2026-11-25T00:00:01+00:00"

    async def _get_channel(self, rec: RecordedRequest, channel_id: int) -> web.Response:
        channel = self.channels.get(channel_id)
        if channel is None:
            return discord_error(404, 10003, "Unknown Channel")
        return json_response(channel)

    async def _create_dm(self, rec: RecordedRequest) -> web.Response:
        user_id = int((rec.body or {}).get("recipient_id", 0))
        user = self.users.get(user_id)
        if user is None:
            return discord_error(400, 50033, "Invalid Recipient(s)")
        if user_id not in self.dm_channels:
            channel_id = self.snowflake()
            self.channels[channel_id] = {"id": str(channel_id), "type": 1, "recipients": [user],
                                         "last_message_id": None, "flags": 0}
            self.dm_channels[user_id] = channel_id
        return json_response(self.channels[self.dm_channels[user_id]])
