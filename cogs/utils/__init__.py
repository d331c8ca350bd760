"""What several cogs share; not an extension. `replies` (the one error handler, private replies,
base views and forms, form values, deferring in time), `formats` (the brand, clipping, times,
Discord's limits), `checks` (Manage Server, moderators, the bot's missing permissions),
`logchannel` (mirroring the audit log)."""
