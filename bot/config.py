"""Process settings, read from the environment and an optional `.env` file.

Every setting is declared once in SETTINGS, so `.env.example`, the README and the checks
below cannot drift apart. The token is never printed: `Config.__repr__` hides it.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

from bot.errors import SettingError
from bot.shards import parse_shard_ids

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_DB_PATH = DATA_DIR / "fibrocircle.db"
DEFAULT_ARTICLE_PATH = DATA_DIR / "article.txt"
# More articles for the library, loaded at start-up (plain text or Markdown, each with its
# NAME.reference.json beside it when there is one); a file already loaded changes nothing.
DEFAULT_ARTICLES_DIR = DATA_DIR / "articles"

# name -> (description for .env.example and the README, default or None)
SETTINGS: dict[str, tuple[str, str | None]] = {
    "DISCORD_TOKEN": (
        "The bot token from the Discord Developer Portal (Bot tab, Reset Token). Needed by `run` and `sync` only.",
        None,
    ),
    "FIBRO_DB_PATH": ("Where the SQLite database lives.", "data/fibrocircle.db"),
    "FIBRO_DATABASE_URL": (
        "Optional: postgresql://USER:PASSWORD@HOST:PORT/DATABASE to keep the data in PostgreSQL instead "
        "(several bot processes on one database); unset: the SQLite file above.",
        None,
    ),
    "FIBRO_DEV_GUILD_ID": (
        "Optional: a server id where commands sync instantly while you develop (global sync takes up to an hour).",
        None,
    ),
    "FIBRO_LOG_LEVEL": ("DEBUG, INFO, WARNING or ERROR.", "INFO"),
    "FIBRO_EMULATOR_URL": (
        "Testing only: the address of a Discord emulator on this machine (http://127.0.0.1:PORT); "
        "the bot then talks to it instead of Discord.",
        None,
    ),
    "FIBRO_SHARD_COUNT": (
        "Optional: how many shards the bot runs in all, over every process (unset: what Discord recommends).",
        None,
    ),
    "FIBRO_SHARD_IDS": (
        "Optional: the shards this process runs, such as 0-3 or 0-3,8 (needs FIBRO_SHARD_COUNT; unset: all of them).",
        None,
    ),
    "FIBRO_OPENAPI_PATH": (
        "Optional: Discord's openapi.json, used by `try` and `check` to validate requests.",
        "../shared/discord-api-spec/openapi.json",
    ),
}

# A Discord bot token is three base64url parts joined by dots.
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{20,}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOOPBACK_URL = re.compile(r"^http://(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):\d{1,5}$")


@dataclass(frozen=True)
class Config:
    db_path: Path
    dev_guild_id: int | None
    log_level: str
    openapi_path: Path | None
    token: str | None = field(default=None, repr=False)
    emulator_url: str | None = None
    shard_count: int | None = None          # None: as many as Discord recommends
    shard_ids: tuple[int, ...] | None = None  # None: every shard
    database_url: str | None = field(default=None, repr=False)  # PostgreSQL; None: the SQLite file

    @property
    def database(self) -> "str | Path":
        """What bot.storage.open_database opens: the PostgreSQL URL when set, else the SQLite file."""
        return self.database_url or self.db_path

    @property
    def database_name(self) -> str:
        """The database for messages: the file, or PostgreSQL's host and database (no password)."""
        if self.database_url is None:
            return str(self.db_path)
        return "postgresql://" + self.database_url.rpartition("@")[2].split("//", 1)[-1]

    def __repr__(self) -> str:  # never show the token
        return (
            f"Config(db_path={self.db_path}, dev_guild_id={self.dev_guild_id}, "
            f"log_level={self.log_level}, token={'set' if self.token else 'missing'})"
        )


def _resolve(path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else (PROJECT_ROOT / p)


def load_config(env: dict[str, str] | None = None, *, dotenv: bool = True) -> Config:
    """Read settings; raise SettingError with one line naming the setting and the fix."""
    if env is None:
        if dotenv:
            load_dotenv(PROJECT_ROOT / ".env", override=False)
        env = dict(os.environ)

    token = (env.get("DISCORD_TOKEN") or "").strip() or None
    if token is not None and not TOKEN_SHAPE.match(token):
        raise SettingError(
            "DISCORD_TOKEN does not look like a bot token (three dot-separated parts); "
            "copy it again from the Developer Portal's Bot tab."
        )

    db = (env.get("FIBRO_DB_PATH") or "").strip() or SETTINGS["FIBRO_DB_PATH"][1]
    db_path = _resolve(db)
    if db_path.exists() and db_path.is_dir():
        raise SettingError(f"FIBRO_DB_PATH points at a folder ({db_path}); give a file path such as data/fibrocircle.db.")

    raw_guild = (env.get("FIBRO_DEV_GUILD_ID") or "").strip()
    dev_guild_id = None
    if raw_guild:
        if not raw_guild.isdigit() or not (15 <= len(raw_guild) <= 21):
            raise SettingError(
                "FIBRO_DEV_GUILD_ID must be a server id (a 17-20 digit number: right-click the server "
                "with Developer Mode on, Copy Server ID), or left empty."
            )
        dev_guild_id = int(raw_guild)

    level = ((env.get("FIBRO_LOG_LEVEL") or "").strip() or "INFO").upper()
    if level not in LOG_LEVELS:
        raise SettingError(f"FIBRO_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (got {level!r}).")

    openapi = (env.get("FIBRO_OPENAPI_PATH") or "").strip()
    openapi_path = _resolve(openapi) if openapi else None  # None: the emulator's own default

    emulator_url = (env.get("FIBRO_EMULATOR_URL") or "").strip().rstrip("/") or None
    if emulator_url is not None and not LOOPBACK_URL.match(emulator_url):
        raise SettingError(
            "FIBRO_EMULATOR_URL must be a loopback address such as http://127.0.0.1:8080 "
            "(the emulator only ever runs on this machine), or left empty to use Discord."
        )

    database_url = (env.get("FIBRO_DATABASE_URL") or "").strip() or None
    if database_url is not None and not database_url.startswith(("postgresql://", "postgres://")):
        raise SettingError(
            "FIBRO_DATABASE_URL must be a PostgreSQL address such as postgresql://fibro:PASSWORD@127.0.0.1:5432/fibro, "
            "or left empty to use the SQLite file (FIBRO_DB_PATH)."
        )

    shard_count, shard_ids = _shards(env)
    return Config(db_path=db_path, dev_guild_id=dev_guild_id, log_level=level,
                  openapi_path=openapi_path, token=token, emulator_url=emulator_url,
                  shard_count=shard_count, shard_ids=shard_ids, database_url=database_url)


def _shards(env: dict[str, str]) -> tuple[int | None, tuple[int, ...] | None]:
    raw_count = (env.get("FIBRO_SHARD_COUNT") or "").strip()
    raw_ids = (env.get("FIBRO_SHARD_IDS") or "").strip()
    if not raw_count:
        if raw_ids:
            raise SettingError("FIBRO_SHARD_IDS needs FIBRO_SHARD_COUNT too (the number of shards over every process).")
        return None, None
    if not raw_count.isdigit() or not (1 <= int(raw_count) <= 4096):
        raise SettingError("FIBRO_SHARD_COUNT must be a whole number from 1 to 4096, or left empty "
                           "to run as many shards as Discord recommends.")
    count = int(raw_count)
    if not raw_ids:
        return count, None
    try:
        return count, parse_shard_ids(raw_ids, count)
    except ValueError as exc:
        raise SettingError(f"FIBRO_SHARD_IDS: {exc}; give shard numbers or ranges such as 0-3 or 0-3,8.") from None


class TokenFilter(logging.Filter):
    """Blanks the token out of any log record, whatever logged it."""

    def __init__(self, token: str | None):
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token:
            msg = record.getMessage()
            if self.token in msg:
                record.msg = msg.replace(self.token, "[token hidden]")
                record.args = ()
        return True


def setup_logging(config: Config) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(TokenFilter(config.token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config.log_level)
