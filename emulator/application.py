"""Routes about the application itself: the bot user, the application, the gateway's address and
the slash commands synced."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.rest import RecordedRequest, json_response


class ApplicationRoutes:
    """`Emulator`'s handlers for /users/@me, /oauth2/applications/@me, /gateway/bot and commands."""

    async def _get_me(self, rec: RecordedRequest) -> web.Response:
        return json_response(self.bot_user)

    async def _get_application(self, rec: RecordedRequest) -> web.Response:
        return json_response({"id": str(self.application_id), "name": "Fibro Circle", "icon": None,
                              "description": "Support-group companion", "bot_public": True,
                              "bot_require_code_grant": False, "verify_key": "0" * 64, "flags": 0,
                              "owner": {"id": "1", "username": "owner", "discriminator": "0", "avatar": None},
                              "team": None, "summary": "", "rpc_origins": []})

    async def _get_gateway_bot(self, rec: RecordedRequest) -> web.Response:
        return json_response({"url": f"ws://{self.host}:{self.port}/gateway", "shards": self.recommended_shards,
                              "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0,
                                                      "max_concurrency": self.max_concurrency}})

    async def _put_commands(self, rec: RecordedRequest, scope: str) -> web.Response:
        synced = []
        for command in rec.body or []:
            synced.append({**command, "id": str(self.snowflake()), "application_id": str(self.application_id),
                           "version": str(self.snowflake()), **({"guild_id": scope} if scope != "global" else {})})
        self.commands[scope] = synced
        return json_response(synced)

    def synced_command(self, name: str, guild_id: int) -> dict[str, Any] | None:
        """The chat command a member of this server sees under that name (a server's own first)."""
        for scope in (str(guild_id), "global"):
            for command in self.commands.get(scope, []):
                if command["name"] == name and command.get("type", 1) == 1:
                    return command
        return None

    async def _get_commands(self, rec: RecordedRequest, scope: str) -> web.Response:
        return json_response(self.commands.get(scope, []))
