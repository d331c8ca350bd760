"""/config: server admins set Fibro Circle up for their server and see at a glance how it is set up.

Everything about a setting (its default, its limits, the refusal messages, the audit row) lives in
bot/guild_settings.py; this cog only adds what only Discord knows: whether a channel still exists,
whether the bot may send there, who may change settings. Every reply is private to the admin.

The package: `cog.py` (the commands, forgetting channels and roles that are deleted, the welcome
when the bot joins a server), `wizard.py` (the setup wizard), `transfer.py` (export and import),
`channels.py` (channel and role checks), `replies.py` (what /config answers). Every change is
mirrored to the server's log channel (`cogs.utils.logchannel`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.config.cog import Admin

if TYPE_CHECKING:
    from bot.app import FibroCircle


async def setup(bot: FibroCircle) -> None:
    await bot.add_cog(Admin(bot))
