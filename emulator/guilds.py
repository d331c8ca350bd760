"""Routes about a server: its channels (made within the bot's permissions), its roles and a
member."""

from __future__ import annotations

from aiohttp import web

from emulator.rest import RecordedRequest, discord_error, json_response
from emulator.world import PERM


class GuildRoutes:
    """`Emulator`'s handlers for /guilds/{id}/channels, /roles and /members/{id}."""

    def _list_or_refuse(self, rec: RecordedRequest, guild_id: int, what: str, permission: str) -> web.Response | None:
        """The answer to GET /guilds/{id}/<what> and to a POST the bot may not make (an unknown
        server, the bot without `permission`); None: go on and create one."""
        if guild_id not in self.guilds:
            return discord_error(404, 10004, "Unknown Guild")
        if rec.method == "GET":
            return json_response(self.guilds[guild_id][what])
        if not self.base_permissions(guild_id, self.application_id) & PERM[permission]:
            return discord_error(403, 50013, "Missing Permissions")
        return None

    async def _guild_channels(self, rec: RecordedRequest, guild_id: int) -> web.Response:
        if (answer := self._list_or_refuse(rec, guild_id, "channels", "manage_channels")) is not None:
            return answer
        body = rec.body or {}
        # Guild > Create Guild Channel: "Only permissions your bot has in the guild ... can be
        # allowed/denied" in its permission overwrites.
        bot_perms = self.base_permissions(guild_id, self.application_id)
        for ow in body.get("permission_overwrites") or []:
            beyond = (int(ow.get("allow", 0)) | int(ow.get("deny", 0))) & ~bot_perms
            if beyond:
                return discord_error(403, 50013, "Missing Permissions")
        channel = self.add_channel(guild_id, body.get("name", "channel"), kind=int(body.get("type") or 0))
        channel["permission_overwrites"] = [
            {"id": str(o["id"]), "type": int(o.get("type", 0)), "allow": str(o.get("allow", 0)), "deny": str(o.get("deny", 0))}
            for o in body.get("permission_overwrites") or []]
        channel["topic"] = body.get("topic")
        await self.dispatch("CHANNEL_CREATE", channel)
        return json_response(channel, 201)

    async def _guild_roles(self, rec: RecordedRequest, guild_id: int) -> web.Response:
        if (answer := self._list_or_refuse(rec, guild_id, "roles", "manage_roles")) is not None:
            return answer
        body = rec.body or {}
        role = self.add_role(guild_id, body.get("name", "new role"), int(body.get("permissions") or 0))
        await self.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": role})
        return json_response(role)

    async def _get_member(self, rec: RecordedRequest, guild_id: int, user_id: int) -> web.Response:
        member = self.guilds.get(guild_id, {}).get("members", {}).get(user_id)
        if member is None:
            return discord_error(404, 10007, "Unknown Member")
        return json_response(member)
