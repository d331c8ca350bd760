"""Per-server settings: declared once with their defaults, validated, cached and audit-logged.

Every setting a server can change is declared in SETTINGS below, with its type, default and
limits. Nothing else keeps per-server configuration, so `/config show`, validation, export and
import cannot drift apart. A misspelt name fails loudly: `UnknownSetting` (a KeyError) for code,
a `UserFacingError` with a suggestion for what an admin typed.

Storage: only values that differ from the default are stored, one row each in guild_settings
(value as JSON). So a server that never touched a setting follows the default, and setting a
value back to its default removes the row.

Every change writes an audit row in the same transaction (who, which setting, old and new).

Caching: one process owns the database (the bot). All GuildSettings objects built over the same
`Database` share one cache, and every write through any of them invalidates it, so nobody reads
a stale value after a write. A write through another connection to the same file (another
process) is not noticed: call `invalidate()` after such a write.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import json
import logging
import re
import unicodedata
import weakref
from dataclasses import dataclass, fields
from typing import Any, Awaitable, Callable, Iterator, Literal, Mapping

import aiosqlite

from bot import audit
from bot.audit import AuditEntry
from bot.errors import UserFacingError
from bot.safety import DEFAULT_CRISIS_RESOURCES
from bot.storage import Database, discord_id, utcnow

log = logging.getLogger(__name__)

Kind = Literal["channel", "role", "bool", "int", "text", "article", "articles"]
NOTHING_CHANGED = "Nothing was changed."
# Discord ids are 64-bit; SQLite integers are signed 64-bit.
MAX_ID = 2**63 - 1

EXPORT_FORMAT = "fibro-circle-settings"
EXPORT_VERSION = 1
# A settings file is a few hundred bytes; anything much larger is the wrong file.
MAX_IMPORT_BYTES = 64 * 1024


class UnknownSetting(KeyError):
    """Code asked for a setting that is not declared: a programming error, never shown to members."""

    def __init__(self, name: object):
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"no setting is declared as {self.name!r}; declared: {', '.join(SETTINGS)}"


# -- validators: take a Python value, return it cleaned, or raise UserFacingError ------------

def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _check_id(setting: "Setting", value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise UserFacingError(
            f"{setting.label} must be a {setting.kind} of this server, or empty; "
            f"{_shown(value)} is not a {setting.kind} id. {NOTHING_CHANGED}"
        )
    return value


def _check_bool(setting: "Setting", value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise UserFacingError(f"{setting.label} must be on or off; you gave {_shown(value)}. {NOTHING_CHANGED}")


def _check_int(setting: "Setting", value: Any) -> int:
    lo, hi = setting.minimum, setting.maximum
    assert lo is not None and hi is not None
    allowed = f"between {lo:,} and {hi:,} {setting.unit}"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserFacingError(
            f"{setting.label} must be a whole number {allowed}; you gave {_shown(value)}. {NOTHING_CHANGED}"
        )
    if not lo <= value <= hi:
        hint = f" {setting.hint}" if setting.hint else ""
        raise UserFacingError(f"{setting.label} must be {allowed}; you gave {value:,}.{hint} {NOTHING_CHANGED}")
    return value


# Invisible characters that reorder or hide text: refused in anything the bot shows members.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def _check_text(setting: "Setting", value: Any) -> str:
    assert setting.max_length is not None
    if not isinstance(value, str):
        raise UserFacingError(f"{setting.label} must be text; you gave {_shown(value)}. {NOTHING_CHANGED}")
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if any(ch in _BIDI_CONTROLS or (unicodedata.category(ch) == "Cc" and ch not in "\n\t") for ch in text):
        raise UserFacingError(
            f"{setting.label} contains invisible control characters; type it again without them. {NOTHING_CHANGED}"
        )
    # Text made only of zero-width characters shows as nothing at all.
    if not "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip():
        hint = f" {setting.hint}" if setting.hint else ""
        raise UserFacingError(f"{setting.label} can't be empty.{hint} {NOTHING_CHANGED}")
    if len(text) > setting.max_length:
        raise UserFacingError(
            f"{setting.label} must be at most {setting.max_length:,} characters so that it fits in one "
            f"message field; yours has {len(text):,}. {NOTHING_CHANGED}"
        )
    return text


# Articles are numbered by the library (bot/library.py); ids that are not (or no longer) in it are
# ignored where the library is read, so a deleted article never breaks a server's settings.
MAX_HIDDEN_ARTICLES = 500


def _check_article(setting: "Setting", value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise UserFacingError(f"{setting.label} must be an article's number; you gave {_shown(value)}. {NOTHING_CHANGED}")
    return value


def _check_articles(setting: "Setting", value: Any) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or len(value) > MAX_HIDDEN_ARTICLES or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_ID for v in value):
        raise UserFacingError(f"{setting.label} must be a list of article numbers; you gave {_shown(value)}. "
                              f"{NOTHING_CHANGED}")
    return tuple(sorted(set(value)))


_VALIDATORS: dict[str, Callable[["Setting", Any], Any]] = {
    "article": _check_article,
    "articles": _check_articles,
    "channel": _check_id,
    "role": _check_id,
    "bool": _check_bool,
    "int": _check_int,
    "text": _check_text,
}


@dataclass(frozen=True, slots=True)
class Setting:
    name: str  # what admins type and what the export file uses, e.g. "cooldown_seconds"
    kind: Kind
    default: Any
    label: str  # how messages name it, e.g. "Cooldown"
    description: str  # one line for /config show (at most 100 characters: usable as a choice description)
    minimum: int | None = None  # int settings
    maximum: int | None = None
    unit: str = ""
    max_length: int | None = None  # text settings
    hint: str = ""  # added to the refusal message for a value out of range
    internal: bool = False  # kept by the bot itself: not shown, exported or changed by admins
    validator: Callable[["Setting", Any], Any] | None = None  # None: the one for its kind

    def validate(self, value: Any) -> Any:
        """The value cleaned, or UserFacingError saying why and what is allowed."""
        check = self.validator or _VALIDATORS[self.kind]
        return check(self, value)


# The declarations. Each default is chosen so that a server that only invites the bot is safe:
# nothing is published, nobody gets pinged, and members can still reach help.
_DECLARED = (
    # Unset by default: the bot never publishes in a channel an admin did not choose.
    Setting("posts_channel", "channel", None, "Posts channel",
            "Where approved member posts are published."),
    # Unset by default: moderators review pending posts with /mod queue until one is chosen.
    Setting("queue_channel", "channel", None, "Queue channel",
            "Where moderators review pending posts (and are alerted to urgent ones)."),
    # Unset by default: the audit log is always kept in the database; mirroring it is opt-in.
    Setting("log_channel", "channel", None, "Log channel",
            "Where the audit log is mirrored: setting changes and moderation decisions."),
    # Unset by default: members with Manage Server can always moderate.
    Setting("moderator_role", "role", None, "Moderator role",
            "Members with this role review posts (Manage Server always can)."),
    # Default from the safety guide: one short, kind message with one or two resources.
    # At most 1,000 characters so that it fits in one embed field (1,024).
    Setting("crisis_resources", "text", DEFAULT_CRISIS_RESOURCES, "Crisis resources text",
            "Shown at once to a member whose post suggests a crisis.", max_length=1000,
            hint="Members in crisis must always be shown somewhere to turn; reset it to get the default back."),
    # On by default: sharing experiences is what the server invited the bot for; posts wait for review.
    Setting("posting_enabled", "bool", True, "Posting",
            "Whether members can share posts with /share."),
    # On by default: health is private, and many members will only share without their name.
    Setting("anonymous_allowed", "bool", True, "Anonymous posting",
            "Whether members may post without their name (moderators review either way)."),
    # 5 minutes: time to fix a typo and resend, but nobody can flood the queue.
    Setting("cooldown_seconds", "int", 300, "Cooldown",
            "Time a member waits between two posts.", minimum=0, maximum=86_400, unit="seconds",
            hint="0 turns the cooldown off; 86,400 is one day."),
    # 5 a day: plenty for an active member, still a queue that volunteer moderators can keep up with.
    Setting("daily_cap", "int", 5, "Daily cap",
            "Most posts a member can share in 24 hours.", minimum=1, maximum=50, unit="posts a day",
            hint="To stop posting altogether, turn posting off instead."),
    # 0 by default: a support group welcomes newcomers; raise it if the server is raided.
    Setting("min_member_age_hours", "int", 0, "Minimum membership age",
            "How long someone must have been a member before they can post.", minimum=0, maximum=720,
            unit="hours", hint="720 hours is 30 days."),
    # On by default: moderators can be targeted for their decisions (safety guide).
    Setting("decisions_anonymous", "bool", True, "Anonymous decisions",
            "Authors are told a decision without the moderator's name."),
    # Unset by default: the server's first article (the seed) is featured until an admin chooses.
    Setting("featured_article", "article", None, "Featured article",
            "The article /study shows when a member names none (/config articles)."),
    # Empty by default: a server shows every article of the library and its own uploads.
    Setting("hidden_articles", "articles", (), "Articles turned off",
            "Library articles this server does not show (/config articles)."),
    # Internal: remembers that the setup wizard was offered, so it is offered once.
    Setting("setup_offered", "bool", False, "Setup offered",
            "The setup wizard was offered to this server.", internal=True),
)
SETTINGS: dict[str, Setting] = {s.name: s for s in _DECLARED}
# The log channel names settings as admins read them ("Cooldown", in minutes).
audit.SETTING_NAMES.update({s.name: (s.label, s.unit) for s in _DECLARED})


def setting(name: str) -> Setting:
    """The declaration of `name`, for code; a misspelt name raises UnknownSetting."""
    try:
        return SETTINGS[name]
    except (KeyError, TypeError):
        raise UnknownSetting(name) from None


def admin_settings() -> list[Setting]:
    """The settings admins can see and change, in display order."""
    return [s for s in _DECLARED if not s.internal]


def lookup(text: str) -> Setting:
    """The setting an admin named ("Cooldown-Seconds" works too); UserFacingError with a suggestion if none."""
    key = re.sub(r"[\s\-]+", "_", str(text).strip().lower())
    found = SETTINGS.get(key)
    if found is not None and not found.internal:
        return found
    names = [s.name for s in admin_settings()]
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.5)
    # "cooldown" should find cooldown_seconds even though the spelling is far from the whole name.
    close = close or [n for n in names if key and (n.startswith(key) or key in n.split("_"))][:1]
    guess = f" Did you mean {close[0]}?" if close else ""
    raise UserFacingError(f"There is no setting called {_shown(str(text))}.{guess} Settings: {', '.join(names)}.")


# -- reading what admins type, and the JSON form used in files and the database ---------------

_TRUE_WORDS = frozenset({"on", "true", "yes", "y", "1", "enable", "enabled"})
_FALSE_WORDS = frozenset({"off", "false", "no", "n", "0", "disable", "disabled"})
_EMPTY_WORDS = frozenset({"", "none", "null", "off", "clear", "unset", "not set"})
_MENTION = {"channel": re.compile(r"^<#(\d+)>$"), "role": re.compile(r"^<@&(\d+)>$")}


def parse_value(name: str, raw_text: str) -> Any:
    """Turn what an admin typed into a valid value for setting `name`, or raise UserFacingError."""
    s = lookup(name)
    raw = str(raw_text).strip()
    word = raw.lower()
    if s.kind in ("channel", "role"):
        if word in _EMPTY_WORDS:
            return None
        mention = _MENTION[s.kind].match(raw)
        digits = mention.group(1) if mention else raw
        if not digits.isdigit():
            raise UserFacingError(
                f"{s.label} must be a {s.kind} of this server (pick it from the list) or 'none'; "
                f"you gave {_shown(raw)}. {NOTHING_CHANGED}"
            )
        return s.validate(int(digits))
    if s.kind == "bool":
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        return s.validate(raw)  # refuses with the message that says on or off
    if s.kind == "int":
        compact = re.sub(r"[\s,_]", "", raw)
        if re.fullmatch(r"[+-]?\d+", compact):
            return s.validate(int(compact))
        return s.validate(raw)  # refuses with "must be a whole number between ..."
    return s.validate(raw_text)


def to_json(s: Setting, value: Any) -> Any:
    # Ids are written as strings: JSON readers in other languages lose digits past 2**53.
    if s.kind in ("channel", "role") and value is not None:
        return str(value)
    if s.kind == "articles":
        return list(value)
    return value


def from_json(s: Setting, value: Any) -> Any:
    """Read a value from a file or the database, then validate it."""
    if s.kind in ("channel", "role") and isinstance(value, str):
        value = value.strip()
        if value.isdigit():
            value = int(value)
        elif value.lower() in _EMPTY_WORDS:
            value = None
    return s.validate(value)


# -- what code reads ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class GuildConfig:
    """One server's settings. Attributes match SETTINGS exactly (checked below)."""

    guild_id: int
    posts_channel: int | None
    queue_channel: int | None
    log_channel: int | None
    moderator_role: int | None
    crisis_resources: str
    posting_enabled: bool
    anonymous_allowed: bool
    cooldown_seconds: int
    daily_cap: int
    min_member_age_hours: int
    decisions_anonymous: bool
    featured_article: int | None
    hidden_articles: tuple[int, ...]
    setup_offered: bool

    @classmethod
    def build(cls, guild_id: int, values: Mapping[str, Any]) -> "GuildConfig":
        """Defaults overlaid with `values` (which must already be valid)."""
        merged = {name: s.default for name, s in SETTINGS.items()}
        for name, value in values.items():
            setting(name)
            merged[name] = value
        return cls(guild_id=guild_id, **merged)

    def value(self, name: str) -> Any:
        return getattr(self, setting(name).name)

    def is_default(self, name: str) -> bool:
        s = setting(name)
        return getattr(self, s.name) == s.default

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SETTINGS}


# Fail at import, not at run time, if a setting is declared without its attribute or vice versa.
if [f.name for f in fields(GuildConfig)] != ["guild_id", *SETTINGS]:
    raise RuntimeError("GuildConfig attributes and SETTINGS declarations differ; keep them in the same order")


@dataclass(frozen=True, slots=True)
class SettingChange:
    name: str
    old: Any
    new: Any
    audit: AuditEntry | None = None  # the audit row written with it; None when nothing changed

    @property
    def changed(self) -> bool:
        return self.old != self.new


class ImportResult(list):
    """The SettingChanges an import made (a list), plus `.skipped`: one sentence per setting left alone."""

    def __init__(self, changes: list[SettingChange] = (), skipped: list[str] = ()):
        super().__init__(changes)
        self.skipped: list[str] = list(skipped)


@dataclass(frozen=True, slots=True)
class SettingView:
    """One line of /config show. `value` is raw (ids as ints) so the cog can check channels and roles."""

    name: str
    value_text: str
    is_default: bool
    description: str
    kind: Kind
    value: Any
    label: str


def _duration(amount: int, unit: str) -> str:
    seconds = amount * 3600 if unit == "hours" else amount
    for size, word in ((86_400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n:,} {word}{'s' if n != 1 else ''}"
    return ""


def value_text(s: Setting, value: Any) -> str:
    """A value as admins read it. Ids become mentions (`<#id>`, `<@&id>`), which embeds show as names."""
    if s.kind == "articles":
        return ", ".join(f"#{v}" for v in value) if value else "none"
    if value is None:
        return "the first article" if s.kind == "article" else "not set"
    if s.kind == "article":
        return f"#{value}"
    if s.kind == "channel":
        return f"<#{value}>"
    if s.kind == "role":
        return f"<@&{value}>"
    if s.kind == "bool":
        return "on" if value else "off"
    if s.kind == "int":
        text = f"{value:,} {s.unit}"
        longer = _duration(value, s.unit) if s.unit in ("seconds", "hours") else ""
        if longer and longer != text:
            text += f" ({longer})"
        return text
    return str(value)


def describe(config: GuildConfig, *, include_internal: bool = False) -> list[SettingView]:
    """Every setting with its value and whether it is the default, in display order."""
    views = []
    for s in _DECLARED:
        if s.internal and not include_internal:
            continue
        value = getattr(config, s.name)
        views.append(SettingView(s.name, value_text(s, value), value == s.default, s.description,
                                 s.kind, value, s.label))
    return views


def setup_gaps(config: GuildConfig) -> list[str]:
    """What is not set up yet, as sentences for /config show (the cog adds what only Discord knows)."""
    gaps = []
    if not config.posting_enabled:
        gaps.append("Posting is off: members can't share posts.")
    if config.posts_channel is None:
        gaps.append("No posts channel: approved posts are not published anywhere yet.")
    if config.queue_channel is None:
        gaps.append("No queue channel: moderators see pending posts only with /mod queue, and urgent posts raise no alert.")
    if config.moderator_role is None:
        gaps.append("No moderator role: only members with Manage Server can review posts.")
    if config.log_channel is None:
        gaps.append("No log channel: changes are kept in the audit log but not shown in any channel.")
    return gaps


def read_settings_file(raw: bytes | str) -> dict[str, Any]:
    """Decode an uploaded settings file into JSON data for `import_`, or say what is wrong with it."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_IMPORT_BYTES:
            raise UserFacingError(
                f"That file is {len(raw):,} bytes; a settings file is at most {MAX_IMPORT_BYTES:,}. "
                f"Use a file made by /config export. {NOTHING_CHANGED}"
            )
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UserFacingError(f"That file is not text (UTF-8). Use a file made by /config export. {NOTHING_CHANGED}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise UserFacingError(
            f"That file is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}). {NOTHING_CHANGED}"
        ) from None
    if not isinstance(data, dict):
        raise UserFacingError(f"That file is not a settings file from /config export. {NOTHING_CHANGED}")
    return data


# -- the shared cache ---------------------------------------------------------------------------

class _ConfigCache:
    """GuildConfigs of one Database, shared by every GuildSettings over it.

    A read that overlapped a write must not be kept: it may have seen the old rows (or, on the
    one shared connection, rows of a transaction that later rolled back). Each write bumps the
    guild's generation when it starts and ends; a read is stored only if the generation did not
    move while it ran and no write is in progress.
    """

    def __init__(self) -> None:
        self.configs: dict[int, GuildConfig] = {}
        self.generation: dict[int, int] = {}
        self.writers: dict[int, int] = {}

    def _bump(self, guild_id: int) -> None:
        self.generation[guild_id] = self.generation.get(guild_id, 0) + 1
        self.configs.pop(guild_id, None)

    def store(self, guild_id: int, generation_at_start: int, config: GuildConfig) -> None:
        if self.generation.get(guild_id, 0) == generation_at_start and not self.writers.get(guild_id):
            self.configs[guild_id] = config

    @contextlib.contextmanager
    def writing(self, guild_id: int) -> Iterator[None]:
        self.writers[guild_id] = self.writers.get(guild_id, 0) + 1
        self._bump(guild_id)
        try:
            yield
        finally:
            self.writers[guild_id] -= 1
            if not self.writers[guild_id]:
                del self.writers[guild_id]
            self._bump(guild_id)

    def clear(self, guild_id: int | None = None) -> None:
        if guild_id is None:
            for gid in list(self.configs):
                self._bump(gid)
        else:
            self._bump(guild_id)


_CACHES: "weakref.WeakKeyDictionary[Database, _ConfigCache]" = weakref.WeakKeyDictionary()
# Sent with the server's id when its settings change; None (notices missed) clears every server.
NOTICE_CHANNEL = "fibro_guild_settings"


def _notice_guild(payload: str | None) -> int | None:
    return int(payload) if payload and payload.isdigit() else None

# exists(kind, id) -> bool, where kind is "channel" or "role"; may be sync or async.
ExistsCheck = Callable[[str, int], "bool | Awaitable[bool]"]


class GuildSettings:
    """Reads and changes per-server settings. One per bot, built over the bot's Database."""

    def __init__(self, db: Database):
        self.db = db
        cache = _CACHES.get(db)
        if cache is None:
            cache = _CACHES[db] = _ConfigCache()
            # Other processes' changes clear this process's copy (PostgreSQL's LISTEN/NOTIFY; on
            # SQLite nothing arrives, and invalidate() is the way).
            db.on_notice(NOTICE_CHANNEL, lambda payload: cache.clear(_notice_guild(payload)))
        self._cache = cache

    # -- reading --------------------------------------------------------------------------------
    async def get(self, guild_id: int) -> GuildConfig:
        cached = self._cache.configs.get(guild_id)
        if cached is not None:
            return cached
        generation = self._cache.generation.get(guild_id, 0)
        rows = await self.db.fetchall("SELECT key, value FROM guild_settings WHERE guild_id = ?", (guild_id,))
        config = GuildConfig.build(guild_id, _stored_values(guild_id, rows))
        self._cache.store(guild_id, generation, config)
        return config

    def invalidate(self, guild_id: int | None = None) -> None:
        """Forget cached settings (of one server, or all) after a write made outside this process."""
        self._cache.clear(guild_id)

    # -- changing -------------------------------------------------------------------------------
    async def set(self, guild_id: int, name: str, value: Any, *, actor_id: int | None) -> SettingChange:
        """Validate and store one value. UnknownSetting for an undeclared name, UserFacingError for a bad value."""
        s = setting(name)
        clean = s.validate(value)
        changes = await self._apply(guild_id, lambda current: {s.name: clean}, actor_id=actor_id, how="set")
        return changes[0] if changes else SettingChange(s.name, clean, clean)

    async def reset(self, guild_id: int, name: str, *, actor_id: int | None) -> SettingChange:
        """Put one setting back to its default."""
        s = setting(name)
        changes = await self._apply(guild_id, lambda current: {s.name: s.default}, actor_id=actor_id, how="reset")
        return changes[0] if changes else SettingChange(s.name, s.default, s.default)

    async def set_many(
        self, guild_id: int, values: Mapping[str, Any], *, actor_id: int | None, how: str = "set"
    ) -> list[SettingChange]:
        """Validate every value first, then store them all in one transaction (all or nothing).

        `how` is written to the audit log ("set", "wizard", "import", "reset").
        Returns only the settings whose value actually changed.
        """
        clean = _validate_all(values)
        return await self._apply(guild_id, lambda current: clean, actor_id=actor_id, how=how)

    async def forget_channel(self, guild_id: int, channel_id: int) -> list[str]:
        """A channel was deleted: reset every setting that pointed at it. Returns their names."""
        return await self._forget(guild_id, "channel", channel_id)

    async def forget_role(self, guild_id: int, role_id: int) -> list[str]:
        """A role was deleted: reset every setting that pointed at it. Returns their names."""
        return await self._forget(guild_id, "role", role_id)

    async def _forget(self, guild_id: int, kind: str, thing_id: int) -> list[str]:
        # Channels are deleted often in busy servers: skip the write when nothing uses this one.
        config = await self.get(guild_id)
        if not any(s.kind == kind and getattr(config, s.name) == thing_id for s in _DECLARED):
            return []

        def pointing_at_it(current: dict[str, Any]) -> dict[str, Any]:
            return {n: SETTINGS[n].default for n, v in current.items()
                    if SETTINGS[n].kind == kind and v == thing_id}

        changes = await self._apply(guild_id, pointing_at_it, actor_id=None, how=f"{kind} deleted")
        return [c.name for c in changes]

    # -- export and import ----------------------------------------------------------------------
    async def export(self, guild_id: int) -> dict[str, Any]:
        """Every admin setting of the server as JSON data, for /config export."""
        config = await self.get(guild_id)
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "settings": {s.name: to_json(s, getattr(config, s.name)) for s in admin_settings()},
        }

    async def import_(
        self,
        guild_id: int,
        data: Any,
        *,
        actor_id: int | None,
        exists: ExistsCheck | None = None,
        missing: Literal["refuse", "skip"] = "refuse",
    ) -> ImportResult:
        """Apply a file made by `export`. Everything is checked first; a bad file changes nothing.

        Settings absent from the file are left as they are. `exists(kind, id)` says whether a
        channel or role id exists in this server; ids that don't are refused (the whole import
        fails, naming them) or, with missing="skip", left unchanged and listed in `.skipped`.
        """
        values = _validate_import(data)
        skipped: list[str] = []
        if exists is not None:
            absent = []
            for name, value in values.items():
                s = SETTINGS[name]
                if s.kind in ("channel", "role") and value is not None:
                    found = exists(s.kind, value)
                    if inspect.isawaitable(found):
                        found = await found
                    if not found:
                        absent.append(name)
            if absent and missing == "refuse":
                lines = [f"{n}: {SETTINGS[n].kind} {values[n]} does not exist in this server" for n in absent]
                raise UserFacingError(
                    "That file names channels or roles this server doesn't have:\n- " + "\n- ".join(lines)
                    + f"\nCreate or choose them here first, or remove them from the file. {NOTHING_CHANGED}"
                )
            for name in absent:
                skipped.append(f"{name} was left as it is: {SETTINGS[name].kind} {values.pop(name)} "
                               "does not exist in this server.")
        changes = await self._apply(guild_id, lambda current: values, actor_id=actor_id, how="import")
        return ImportResult(changes, skipped)

    # -- the one write path ---------------------------------------------------------------------
    async def _apply(
        self,
        guild_id: int,
        decide: Callable[[dict[str, Any]], Mapping[str, Any]],
        *,
        actor_id: int | None,
        how: str,
    ) -> list[SettingChange]:
        """Read the stored values inside the transaction, ask `decide` for the new ones (already
        valid), write what differs and an audit row for each, commit, then drop the cache."""
        changes: list[SettingChange] = []
        with self._cache.writing(guild_id):
            async with self.db.transaction() as tx:
                current = {**{n: s.default for n, s in SETTINGS.items()},
                           **_stored_values(guild_id, await _rows(tx, guild_id))}
                now = utcnow()
                for name, new in decide(current).items():
                    s = SETTINGS[name]
                    old = current[name]
                    if new == s.default:
                        # Defaults are not stored, so a better default later reaches this server.
                        await tx.execute("DELETE FROM guild_settings WHERE guild_id = ? AND key = ?", (guild_id, name))
                    elif new != old:
                        await tx.execute(
                            "INSERT INTO guild_settings (guild_id, key, value, updated_at, updated_by) "
                            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, key) DO UPDATE SET "
                            "value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                            (guild_id, name, json.dumps(to_json(s, new), ensure_ascii=False), now, actor_id),
                        )
                    if new == old:
                        continue
                    entry = await audit.record(
                        tx, guild_id=guild_id, actor_id=actor_id, action=audit.SETTING_CHANGED, target=name,
                        detail={"setting": name, "kind": s.kind, "old": to_json(s, old),
                                "new": to_json(s, new), "how": how},
                    )
                    changes.append(SettingChange(name, old, new, entry))
                if changes:
                    await self.db.notify(tx, NOTICE_CHANNEL, str(guild_id))
        return changes


async def _rows(tx: aiosqlite.Connection, guild_id: int) -> list[Any]:
    async with tx.execute("SELECT key, value FROM guild_settings WHERE guild_id = ?", (guild_id,)) as cur:
        return list(await cur.fetchall())


def _stored_values(guild_id: int, rows: list[Any]) -> dict[str, Any]:
    """Stored rows as valid values. A row the code no longer accepts (a setting removed, a range
    narrowed) is ignored with a warning: the server falls back to the default instead of breaking."""
    values = {}
    for row in rows:
        s = SETTINGS.get(row["key"])
        if s is None:
            log.warning("guild %s: ignoring stored setting %r, which is no longer declared", guild_id, row["key"])
            continue
        try:
            values[s.name] = from_json(s, json.loads(row["value"]))
        except (UserFacingError, json.JSONDecodeError) as e:
            log.warning("guild %s: stored %s is not valid any more (%s); using the default", guild_id, s.name, e)
    return values


def _validate_all(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate every value; one UserFacingError listing every bad one. Unknown names: UnknownSetting."""
    clean, problems = {}, []
    for name, value in values.items():
        s = setting(name)
        try:
            clean[s.name] = s.validate(value)
        except UserFacingError as e:
            problems.append(str(e).replace(f" {NOTHING_CHANGED}", ""))
    if problems:
        raise UserFacingError("\n".join(problems) + f"\n{NOTHING_CHANGED}")
    return clean


def _validate_import(data: Any) -> dict[str, Any]:
    """The settings of an export file, all valid, or a UserFacingError naming every wrong key."""
    not_ours = f"That file is not a settings file from /config export. {NOTHING_CHANGED}"
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise UserFacingError(not_ours)
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise UserFacingError(not_ours)
    if version > EXPORT_VERSION:
        raise UserFacingError(
            f"That file was made by a newer version of the bot (format {version}; this one reads "
            f"{EXPORT_VERSION}). {NOTHING_CHANGED}"
        )
    settings_in_file = data.get("settings")
    if not isinstance(settings_in_file, dict):
        raise UserFacingError(f"That file has no \"settings\" section. {NOTHING_CHANGED}")
    clean, problems = {}, []
    for key, value in settings_in_file.items():
        s = SETTINGS.get(key) if isinstance(key, str) else None
        if s is None or s.internal:
            close = difflib.get_close_matches(str(key), [x.name for x in admin_settings()], n=1)
            guess = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{_shown(str(key))}: not a setting{guess}")
            continue
        try:
            clean[s.name] = from_json(s, value)
        except UserFacingError as e:
            problems.append(f"{s.name}: " + str(e).replace(f" {NOTHING_CHANGED}", ""))
    if problems:
        shown = problems[:10] + ([f"…and {len(problems) - 10} more"] if len(problems) > 10 else [])
        raise UserFacingError("That file has settings this bot can't use:\n- " + "\n- ".join(shown)
                              + f"\n{NOTHING_CHANGED}")
    return clean


# -- a member's rows ("what the bot keeps about me", "forget me") ---------------------------------

async def export_member_changes(conn: Any, user_id: int) -> list[dict[str, Any]]:
    """The settings a member changed (the newest value each), as JSON-ready data."""
    rows = await conn.execute_fetchall(
        "SELECT guild_id, key, value, updated_at FROM guild_settings WHERE updated_by = ? ORDER BY guild_id, key",
        (user_id,),
    )
    return [{"server_id": discord_id(r["guild_id"]), "setting": r["key"], "value": json.loads(r["value"]),
             "changed_at": r["updated_at"]} for r in rows]


async def forget_member(tx: Any, user_id: int) -> None:
    """The settings a member changed stay, but no longer name them (inside the caller's transaction)."""
    await tx.execute("UPDATE guild_settings SET updated_by = NULL WHERE updated_by = ?", (user_id,))


async def forget_guild(tx: Any, guild_id: int) -> None:
    """Every setting of a server the bot has left, inside the caller's transaction (the caller
    clears the cache with `GuildSettings.invalidate` after the commit)."""
    await tx.execute("DELETE FROM guild_settings WHERE guild_id = ?", (guild_id,))

