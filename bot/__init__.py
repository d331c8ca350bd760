"""Fibro Circle: a Discord bot for fibromyalgia and chronic-pain support groups.

The package holds two things. The domain core (article parsing, the study card, topics, safety,
posts, per-guild settings, storage) is plain Python and SQL and never imports discord, the cogs or
the emulator. The running bot (`bot.app`, and `bot.cli`, the command line) loads the cogs in
`cogs/`, which speak Discord. The emulator and the session that drives the bot against it live in
`emulator/`, beside this package.
"""

__version__ = "0.1.0"
