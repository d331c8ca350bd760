"""Fibro Circle: a Discord bot for fibromyalgia and chronic-pain support groups.

The package is split in two. The domain core (article parsing, the study card, topics, safety,
posts, per-guild settings, storage) is plain Python and SQL and never imports discord. Only
`bot.app` (the running bot), `bot.session` (which drives it against the emulator) and `cogs/`
speak Discord.
"""

__version__ = "0.1.0"
