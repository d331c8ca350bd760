"""Drive the real bot against the emulator: what `fibrocircle try` and the end-to-end tests use.

The bot runs through its own `bot.start(token)`: login over REST, the gateway handshake, real
`discord.Interaction` objects built by discord.py from the payloads the emulator sends. Two class
attributes of discord.py point it at 127.0.0.1 instead of Discord.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from bot.app import FibroCircle, use_local_discord
from bot.config import DEFAULT_ARTICLE_PATH, DEFAULT_ARTICLES_DIR, Config
from emulator import rules
from emulator.server import DEFAULT_GUILD, PERSONA_ROLES, PERSONAS, Emulator, RecordedRequest

# A token of the right shape; the emulator accepts any.
FAKE_TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAw.emulat.or-token-not-a-real-discord-token"

OPTION_TYPES = discord.AppCommandOptionType
DEFERRED = (5, 6)  # "thinking..." and a deferred update of the message a component was on
FOLLOW_UP_HANG_GUARD = 60.0


class StepError(Exception):
    """A step that cannot be sent as written (unknown command, no modal open, no such button)."""


class ClientRefusal(StepError):
    """A step Discord's own client would not send (a required option missing, a number out of
    range, text too long): refused before any interaction exists, unless the session is raw."""


@dataclass
class StepResult:
    step: str
    requests: list[RecordedRequest] = field(default_factory=list)
    answered: bool = False
    latency: float | None = None
    errors: list[str] = field(default_factory=list)   # ERRORs logged while the step ran
    problem: str | None = None                        # why the step could not run
    refused: bool = False                             # Discord's client would not have sent it

    @property
    def violations(self) -> list[str]:
        return [v for r in self.requests for v in r.violations]

    @property
    def ok(self) -> bool:
        return self.answered and not self.violations and not self.errors and self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "answered": self.answered,
                "latency_ms": None if self.latency is None else round(self.latency * 1000, 2),
                "requests": [r.as_dict() for r in self.requests], "violations": self.violations,
                "errors": self.errors, **({"problem": self.problem} if self.problem else {}),
                **({"refused_by_client": True} if self.refused else {})}

    # What the bot said, for assertions in tests.
    def bodies(self) -> list[dict[str, Any]]:
        out = []
        for r in self.requests:
            body = r.body if isinstance(r.body, dict) else {}
            if r.path.endswith("/callback"):
                body = body.get("data") or {}
            out.append(body)
        return out

    def text(self) -> str:
        """Every piece of text the bot sent in this step, flattened (content, embeds, labels, modals)."""
        parts: list[str] = []
        for body in self.bodies():
            _collect_text(body, parts)
        return "\n".join(parts)

    def buttons(self) -> list[str]:
        labels = []
        for body in self.bodies():
            for row in body.get("components") or []:
                for comp in row.get("components") or []:
                    if comp.get("type") == 2 and comp.get("label"):
                        labels.append(comp["label"])
        return labels


def _collect_text(node: Any, parts: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("content", "title", "description", "name", "value", "text", "label", "placeholder") and isinstance(value, str):
                parts.append(value)
            else:
                _collect_text(value, parts)
    elif isinstance(node, list):
        for item in node:
            _collect_text(item, parts)


class _ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f": {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        self.records.append(f"{record.name}: {text}")


class BotSession:
    """An emulator, a guild with personas, and the real bot connected to it."""

    def __init__(self, db_path: Path, *, openapi_path: Path | None = None, guild_id: int = DEFAULT_GUILD,
                 default_user: int | None = None, default_role: str = "member",
                 article_path: Path = DEFAULT_ARTICLE_PATH, articles_folder: Path = DEFAULT_ARTICLES_DIR,
                 quiet: float = 0.12, extra_guilds: tuple[int, ...] = (),
                 shard_count: int | None = None, shard_ids: tuple[int, ...] | None = None, raw: bool = False,
                 world_path: Path | None = None, rate_scale: float = 1.0, database_url: str | None = None):
        self.db_path = Path(db_path)
        self.database_url = database_url  # PostgreSQL instead of the SQLite file at db_path
        self.openapi_path = openapi_path
        self.guild_id = guild_id
        self.default_role = default_role
        self.default_user = default_user or PERSONAS[default_role]
        self.article_path = article_path
        self.articles_folder = articles_folder
        self.quiet = quiet
        # Discord's rate limits; `rate_scale` below 1 shortens their windows (tests send a lot).
        self.emulator = Emulator(openapi_path=openapi_path, rate_scale=rate_scale)
        self.bot: FibroCircle | None = None
        self._bot_task: asyncio.Task | None = None
        self._errors = _ErrorCollector()
        self._saved: tuple[Any, Any] | None = None
        self.extra_guilds = extra_guilds
        self.shard_count, self.shard_ids = shard_count, shard_ids
        self.extra_bots: list[tuple[FibroCircle, asyncio.Task]] = []  # more processes' worth of shards
        self.raw = raw  # send steps as a modified client could, without the client's checks
        # Where the emulated servers are kept between runs (beside a kept database), or None.
        self.world_path = world_path
        # user -> (the modal, guild, channel, the message whose button opened it)
        self.last_modal: dict[int, tuple[dict[str, Any], int, int, dict[str, Any] | None]] = {}
        self._open_form: dict[str, Any] = {}  # the form the step being built submits

    # -- set-up ---------------------------------------------------------------------
    def _seed_world(self) -> None:
        if self.world_path is not None and self.world_path.is_file():
            self.emulator.load_world(self.world_path)  # the same servers as the last run
        for guild_id in (self.guild_id, *self.extra_guilds):
            if guild_id not in self.emulator.guilds:
                self.add_guild(guild_id)
        if self.default_user not in self.emulator.guilds[self.guild_id]["members"]:
            self.emulator.add_member(self.guild_id, self.default_user, name=f"Member {self.default_user % 10000}",
                                     role_names=PERSONA_ROLES[self.default_role])

    def add_guild(self, guild_id: int, name: str | None = None) -> None:
        self.emulator.seed_guild(guild_id, name)

    async def __aenter__(self) -> "BotSession":
        await self.emulator.start()
        self._seed_world()
        self._saved = use_local_discord(self.emulator.root_url)
        for name in ("discord", "fibrocircle"):
            logging.getLogger(name).addHandler(self._errors)
        try:
            await self.start_bot()
        except BaseException:
            await self.__aexit__(None, None, None)  # the emulator, loggers and discord.py's addresses put back
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        for bot, task in self.extra_bots:
            await self._stop(bot, task)
        self.extra_bots = []
        await self.stop_bot()
        if self.world_path is not None:
            self.emulator.save_world(self.world_path)
        await self.emulator.stop()
        for name in ("discord", "fibrocircle"):
            logging.getLogger(name).removeHandler(self._errors)
        if self._saved is not None:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._saved

    def make_config(self, shard_ids: tuple[int, ...] | None = None) -> Config:
        return Config(db_path=self.db_path, dev_guild_id=None, log_level="WARNING",
                      openapi_path=self.openapi_path, token=FAKE_TOKEN, shard_count=self.shard_count,
                      shard_ids=shard_ids if shard_ids is not None else self.shard_ids,
                      database_url=self.database_url)

    async def start_bot(self, timeout: float = 20.0) -> FibroCircle:
        self.bot, self._bot_task = await self._launch(self.make_config(), timeout)
        return self.bot

    async def start_extra_bot(self, shard_ids: tuple[int, ...], timeout: float = 60.0) -> FibroCircle:
        """Another bot on the same database with other shards, as a second process would run them."""
        bot, task = await self._launch(self.make_config(shard_ids), timeout)
        self.extra_bots.append((bot, task))
        return bot

    async def _launch(self, config: Config, timeout: float) -> tuple[FibroCircle, asyncio.Task]:
        bot = FibroCircle(config, article_path=self.article_path, articles_folder=self.articles_folder, guild_ready_timeout=0.05, identify_interval=0.05)
        task = asyncio.create_task(bot.start(FAKE_TOKEN), name="fibrocircle-bot")
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({ready, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if task in done:
                await bot.close()
                task.result()  # raises what stopped the bot
            raise TimeoutError("the bot did not become ready")
        return bot, task

    async def stop_bot(self) -> None:
        if self.bot is not None and self._bot_task is not None:
            await self._stop(self.bot, self._bot_task)
        self.bot, self._bot_task = None, None

    @staticmethod
    async def _stop(bot: FibroCircle, task: asyncio.Task) -> None:
        await bot.close()
        try:
            await asyncio.wait_for(task, 10)
        except (asyncio.CancelledError, Exception):
            pass

    async def restart_bot(self) -> FibroCircle:
        await self.stop_bot()
        return await self.start_bot()

    @property
    def errors(self) -> list[str]:
        return list(self._errors.records)

    # -- steps ----------------------------------------------------------------------
    async def run(self, step: str, *, guild_id: int | None = None, channel: str = "general",
                  timeout: float = 5.0, raw: bool | None = None) -> StepResult:
        """Run one step as written for `fibrocircle try`; see `parse_actor` for the syntax. A step
        Discord's client would refuse is refused here too, unless `raw` (or the session's `raw`)."""
        guild_id = guild_id or self.guild_id
        try:
            user_id, body = self.parse_actor(step, guild_id)
            payload = self.build_payload(body, guild_id=guild_id, user_id=user_id, channel=channel)
            if not (self.raw if raw is None else raw):
                self.check_as_client(payload)
        except StepError as exc:
            return StepResult(step=step, problem=str(exc), refused=isinstance(exc, ClientRefusal))
        return await self.run_payload(payload, label=step, timeout=timeout)

    def check_as_client(self, payload: dict[str, Any]) -> None:
        """Refuse what Discord's client would not send: a slash command against the command as the
        bot synced it, a form against the form the bot opened."""
        data = payload.get("data") or {}
        if payload["type"] == 2:
            synced = self.emulator.synced_command(data.get("name", ""), int(payload.get("guild_id") or 0))
            reason = rules.client_refusal(synced, data) if synced else None
        elif payload["type"] == 5:
            reason = rules.form_refusal(self._open_form, data)
        else:
            return
        if reason:
            raise ClientRefusal(f"Discord's client would not send this: {reason}")

    async def run_payload(self, payload: dict[str, Any], *, label: str = "raw interaction",
                          timeout: float = 5.0) -> StepResult:
        """Send an interaction payload as it is (for hostile or generated input) and collect the answer."""
        result = StepResult(step=label)
        start_req, start_err = len(self.emulator.requests), len(self._errors.records)
        record = await self.emulator.send_interaction(payload)
        try:
            await asyncio.wait_for(record.done.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        if record.response_type in DEFERRED:
            # The answer itself comes later: wait for it, however long this machine takes (the
            # timeout only keeps a bot that never answers from hanging the step).
            try:
                await asyncio.wait_for(record.followed_up.wait(), FOLLOW_UP_HANG_GUARD)
            except asyncio.TimeoutError:
                pass
        await self.settle()
        result.answered = record.response_type is not None
        result.latency = record.latency
        if record.response_type == 9 and record.modal is not None:
            channel_id = int(payload.get("channel_id") or 0)
            guild_id = int(payload.get("guild_id") or 0)
            self.last_modal[record.user_id] = (record.modal, guild_id, channel_id, payload.get("message"))
        result.requests = self.emulator.requests[start_req:]
        result.errors = self._errors.records[start_err:]
        return result

    async def settle(self, cap: float = 10.0) -> None:
        """Wait until the bot has gone quiet: no request for `quiet` seconds (follow-ups, DMs, edits)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + cap
        seen = len(self.emulator.requests)
        quiet_since = loop.time()
        while loop.time() < deadline:
            await asyncio.sleep(self.quiet / 4)
            if len(self.emulator.requests) != seen:
                seen, quiet_since = len(self.emulator.requests), loop.time()
            elif loop.time() - quiet_since >= self.quiet:
                return

    def parse_actor(self, step: str, guild_id: int) -> tuple[int, str]:
        step = step.strip()
        user_id = self.default_user
        if step.startswith("@"):
            who, _, rest = step.partition(" ")
            name = who[1:]
            if name in PERSONAS:
                user_id = PERSONAS[name]
            elif name.isdigit():
                user_id = int(name)
                if user_id not in self.emulator.guilds[guild_id]["members"]:
                    self.emulator.add_member(guild_id, user_id)
            else:
                raise StepError(f"unknown actor {who!r}: use @member, @moderator, @admin or @<user id>")
            step = rest.strip()
        return user_id, step

    def build_payload(self, body: str, *, guild_id: int, user_id: int, channel: str) -> dict[str, Any]:
        channel_obj = self.emulator.find_channel(guild_id, channel)
        channel_id = int(channel_obj["id"]) if channel_obj else 0
        if body.startswith("?/"):
            data = self._command_data(body[2:], guild_id, autocomplete=True)
            return self.emulator.interaction_payload(4, guild_id=guild_id, channel_id=channel_id, user_id=user_id, data=data)
        if body.startswith("/"):
            data = self._command_data(body[1:], guild_id)
            return self.emulator.interaction_payload(2, guild_id=guild_id, channel_id=channel_id, user_id=user_id, data=data)
        if body.startswith("modal"):
            return self._modal_payload(body[5:].strip(), user_id)
        if body.startswith("click "):
            return self._click_payload(body[6:].strip(), user_id, guild_id)
        if body.startswith("select "):
            return self._select_payload(body[7:].strip(), user_id, guild_id)
        raise StepError(f"a step starts with /command, ?/command, modal, click or select (got {body[:40]!r})")

    # commands ------------------------------------------------------------------------
    def _find_command(self, words: list[str]) -> tuple[app_commands.Command, list[str], list[str]]:
        assert self.bot is not None
        if not words:
            raise StepError("no command named")
        node: Any = self.bot.tree.get_command(words[0])
        if node is None:
            raise StepError(f"there is no /{words[0]} command")
        path = [words[0]]
        rest = words[1:]
        while isinstance(node, app_commands.Group):
            if not rest:
                subs = ", ".join(c.name for c in node.commands)
                raise StepError(f"/{' '.join(path)} needs a subcommand: {subs}")
            child = node.get_command(rest[0])
            if child is None:
                raise StepError(f"/{' '.join(path)} has no subcommand {rest[0]!r}")
            node, path, rest = child, path + [rest[0]], rest[1:]
        return node, path, rest

    def _command_data(self, text: str, guild_id: int, *, autocomplete: bool = False) -> dict[str, Any]:
        head = re.split(r"\s+(?=[\w-]+:)", text.strip(), maxsplit=1)
        words = head[0].split()
        command, path, leftover = self._find_command(words)
        raw_opts = (" ".join(leftover) + " " + (head[1] if len(head) > 1 else "")).strip()
        params = {p.name: p for p in command.parameters}
        values = _split_options(raw_opts, list(params))
        resolved: dict[str, dict[str, Any]] = {}
        options = []
        for n, (name, raw) in enumerate(values):
            param = params[name]
            focused = autocomplete and n == len(values) - 1
            option: dict[str, Any] = {"name": name, "type": param.type.value,
                                      "value": raw if focused else self._option_value(param, raw, guild_id, resolved)}
            if focused:
                option["focused"] = True
            options.append(option)
        if autocomplete and not any(o.get("focused") for o in options):
            raise StepError("an autocomplete step needs the option being typed, e.g. ?/quote topic:sl")
        for name in reversed(path[1:]):
            options = [{"name": name, "type": 1, "options": options}]
        # Groups nest as subcommand groups (type 2) above their subcommand.
        if len(path) == 3:
            options[0]["type"] = 2
        data: dict[str, Any] = {"id": str(self._command_id(path[0])), "name": path[0], "type": 1, "options": options}
        if resolved:
            data["resolved"] = resolved
        return data

    def _command_id(self, name: str) -> int:
        for scope in self.emulator.commands.values():
            for cmd in scope:
                if cmd["name"] == name:
                    return int(cmd["id"])
        return self.emulator.snowflake()

    def _option_value(self, param: app_commands.Parameter, raw: str, guild_id: int, resolved: dict) -> Any:
        kind = param.type
        for choice in param.choices:
            if raw.lower() in (choice.name.lower(), str(choice.value).lower()):
                return choice.value
        if kind is OPTION_TYPES.integer:
            return int(raw) if re.fullmatch(r"-?\d+", raw) else raw  # a wrong type is sent as typed
        if kind is OPTION_TYPES.number:
            try:
                return float(raw)
            except ValueError:
                return raw
        if kind is OPTION_TYPES.boolean:
            lowered = raw.lower()
            if lowered in ("true", "yes", "on", "1"):
                return True
            if lowered in ("false", "no", "off", "0"):
                return False
            return raw
        if kind is OPTION_TYPES.channel:
            channel = self.emulator.find_channel(guild_id, raw)
            if channel is None:
                raise StepError(f"no channel {raw!r} in this server")
            resolved.setdefault("channels", {})[channel["id"]] = {
                k: channel[k] for k in ("id", "type", "name", "guild_id", "parent_id", "permission_overwrites", "position", "nsfw", "flags")
            } | {"permissions": str(self.emulator.channel_permissions(int(channel["id"]), self.emulator.application_id))}
            return channel["id"]
        if kind is OPTION_TYPES.role:
            role = self.emulator.find_role(guild_id, raw)
            if role is None:
                raise StepError(f"no role {raw!r} in this server")
            resolved.setdefault("roles", {})[role["id"]] = role
            return role["id"]
        if kind in (OPTION_TYPES.user, OPTION_TYPES.mentionable):
            user_id = PERSONAS.get(raw.lstrip("@")) or (int(raw.strip("<@!>")) if raw.strip("<@!>").isdigit() else None)
            if user_id is None:
                raise StepError(f"no member {raw!r}: use @member, @moderator, @admin or an id")
            user = self.emulator.users.get(user_id) or self.emulator.add_user(user_id, f"Member {user_id % 10000}")
            resolved.setdefault("users", {})[str(user_id)] = user
            member = self.emulator.guilds[guild_id]["members"].get(user_id)
            if member is not None:
                resolved.setdefault("members", {})[str(user_id)] = {k: v for k, v in member.items() if k != "user"} | {"permissions": "0"}
            return str(user_id)
        if kind is OPTION_TYPES.attachment:
            path = Path(raw[5:] if raw.startswith("file:") else raw).expanduser()
            if not path.is_file():
                raise StepError(f"no file {path} to attach")
            att = self.emulator.add_attachment(path.name, path.read_bytes())
            resolved.setdefault("attachments", {})[att["id"]] = att
            return att["id"]
        return raw

    # modals and buttons ----------------------------------------------------------------
    def _modal_payload(self, text: str, user_id: int) -> dict[str, Any]:
        if user_id not in self.last_modal:
            raise StepError("no modal is open for this member: the previous step must open one")
        modal, guild_id, channel_id, opened_from = self.last_modal.pop(user_id)
        self._open_form = modal
        inputs = []  # (custom_id, label, input)
        for comp in modal.get("components") or []:
            for child in rules.children(comp):
                if child.get("type") in (4, *rules.CHOICE_TYPES):
                    inputs.append((child["custom_id"], comp.get("label") or child.get("label") or "", child))
        names = [i[0] for i in inputs] + [i[1] for i in inputs if i[1]]
        given = dict(_split_options(text, names, sep="="))
        unknown = set(given) - set(names)
        if unknown:
            raise StepError(f"the modal has no field {sorted(unknown)[0]!r}; fields: {', '.join(i[0] for i in inputs)}")
        values = {cid: _form_answer(child, given.get(cid, given.get(label))) for cid, label, child in inputs}

        def answered(comp: dict[str, Any]) -> dict[str, Any]:
            """Interactions > Modal Submit Data Structure: every component comes back with its id;
            a text input and a radio group with its `value` (a radio group's null when nothing is
            picked), a checkbox group with its `values`, a checkbox with true or false, a text
            display with nothing more."""
            out = {"type": comp["type"], "id": comp.get("id")}
            if comp["type"] in (4, *rules.CHOICE_TYPES):
                key = "values" if comp["type"] == rules.CHECKBOX_GROUP else "value"
                out.update({"custom_id": comp["custom_id"], key: values[comp["custom_id"]]})
            elif comp.get("component"):
                out["component"] = answered(comp["component"])
            elif comp.get("components"):
                out["components"] = [answered(c) for c in comp["components"]]
            return out

        data = {"custom_id": modal["custom_id"], "components": [answered(c) for c in modal.get("components") or []]}
        return self.emulator.interaction_payload(5, guild_id=guild_id, channel_id=channel_id, user_id=user_id,
                                                 data=data, message=opened_from)

    def _click_payload(self, label: str, user_id: int, guild_id: int) -> dict[str, Any]:
        label = label.strip().strip('"')
        for message in reversed(list(self.emulator.messages.values())):
            meta = message.get("_meta", {})
            if meta.get("ephemeral_for") not in (None, user_id):
                continue  # someone else's private reply
            for row in message.get("components") or []:
                for comp in row.get("components") or []:
                    if comp.get("type") == 2 and _label_matches(comp.get("label") or "", label):
                        if comp.get("disabled"):
                            raise StepError(f"the button {label!r} is disabled")
                        channel_id = int(message["channel_id"])
                        channel = self.emulator.channels.get(channel_id, {})
                        data = {"custom_id": comp["custom_id"], "component_type": 2}
                        msg = self.emulator.public(message)
                        if channel.get("type") == 1:  # a button in a DM
                            return self._dm_payload(3, channel_id, user_id, data, msg)
                        return self.emulator.interaction_payload(3, guild_id=int(channel.get("guild_id", guild_id)),
                                                                 channel_id=channel_id, user_id=user_id, data=data, message=msg)
        raise StepError(f"no message this member can see has a button {label!r}")

    def _select_payload(self, text: str, user_id: int, guild_id: int) -> dict[str, Any]:
        """'select Posts channel=community-posts': pick values in the menu with that placeholder (or id)."""
        menu_name, sep, raw_values = text.partition("=")
        if not sep:
            raise StepError("write select MENU=VALUE, e.g. select Posts channel=community-posts")
        values = [v.strip() for v in raw_values.split(",") if v.strip()]
        for message in reversed(list(self.emulator.messages.values())):
            if message.get("_meta", {}).get("ephemeral_for") not in (None, user_id):
                continue
            for row in message.get("components") or []:
                for comp in row.get("components") or []:
                    if comp.get("type") not in (3, 5, 6, 7, 8):
                        continue
                    if not (_label_matches(comp.get("placeholder") or "", menu_name) or comp.get("custom_id") == menu_name):
                        continue
                    channel_id = int(message["channel_id"])
                    resolved: dict[str, Any] = {}
                    picked = []
                    for value in values:
                        if comp["type"] == 3:  # plain options: by label or value
                            option = next((o for o in comp.get("options") or []
                                           if value.lower() in (o.get("label", "").lower(), str(o.get("value")).lower())), None)
                            if option is None:
                                raise StepError(f"the menu {menu_name!r} has no option {value!r}")
                            picked.append(option["value"])
                        elif comp["type"] == 8:
                            picked.append(self._option_value(_FakeParam(OPTION_TYPES.channel), value, guild_id, resolved))
                        elif comp["type"] == 6:
                            picked.append(self._option_value(_FakeParam(OPTION_TYPES.role), value, guild_id, resolved))
                        else:
                            picked.append(self._option_value(_FakeParam(OPTION_TYPES.user), value, guild_id, resolved))
                    data = {"custom_id": comp["custom_id"], "component_type": comp["type"], "values": picked}
                    if resolved:
                        data["resolved"] = resolved
                    return self.emulator.interaction_payload(3, guild_id=guild_id, channel_id=channel_id, user_id=user_id,
                                                             data=data, message=self.emulator.public(message))
        raise StepError(f"no message this member can see has a menu {menu_name!r}")

    def _dm_payload(self, kind: int, channel_id: int, user_id: int, data: dict, message: dict) -> dict[str, Any]:
        payload = self.emulator.interaction_payload(kind, guild_id=0, channel_id=channel_id, user_id=user_id,
                                                    data=data, message=message)
        payload.pop("guild_id", None)
        payload.pop("guild_locale", None)
        member = payload.pop("member")
        payload["user"] = member["user"]
        payload["channel"] = self.emulator.channels[channel_id]
        payload["context"] = 1
        # Interactions > Interaction Object > Authorizing Integration Owners: the app is installed to
        # servers, so in its bot's DM the GUILD_INSTALL key holds "0".
        payload["authorizing_integration_owners"] = {"0": "0"}
        return payload


@dataclass
class _FakeParam:
    """Just enough of an option for `_option_value` to resolve a menu pick like a command option."""
    type: Any
    choices: tuple = ()


def _form_answer(field: dict[str, Any], given: str | None) -> Any:
    """What the member's client sends for one field: the text typed; for a radio group the value of
    the option named by its label or value (`anonymous=Keep my name off`), what is preselected when
    the step leaves it out, null when nothing is; for a checkbox group the options named, comma
    separated; for a checkbox yes or no. An answer that names no option is sent as written, so
    the client's check refuses it (or --raw sends it, as a modified client could)."""
    kind = field.get("type")
    if kind == 4:
        return given if given is not None else field.get("value") or ""
    if kind == rules.CHECKBOX:
        if given is None:
            return bool(field.get("default"))
        word = given.strip().lower()
        return True if word in ("yes", "y", "true", "on", "ticked", "x") else False if word in ("no", "n", "false", "off", "") else given
    options = field.get("options") or []

    def option_value(wanted: str) -> str:
        wanted = wanted.strip().strip('"')
        exact = [o for o in options if wanted.lower() in (str(o.get("value")).lower(), str(o.get("label")).lower())]
        close = exact or [o for o in options if _label_matches(o.get("label", ""), wanted)]
        return close[0]["value"] if len(close) == 1 else wanted

    if kind == rules.RADIO_GROUP:
        if given is None:
            return next((o["value"] for o in options if o.get("default")), None)
        return option_value(given) if given.strip() else None
    if given is None:
        return [o["value"] for o in options if o.get("default")]
    return [option_value(part) for part in given.split(",") if part.strip()]


def _label_matches(actual: str, wanted: str) -> bool:
    a, w = actual.lower().strip(), wanted.lower().strip()
    return a == w or a.startswith(w) or re.sub(r"[^\w ]", "", a).strip() == w


def _split_options(text: str, names: list[str], sep: str = ":") -> list[tuple[str, str]]:
    """'topic:sleep well count:2' -> [('topic', 'sleep well'), ('count', '2')]: a value runs to the
    next known `name:` of that command."""
    text = text.strip()
    if not text:
        return []
    if not names:
        raise StepError(f"this takes no options (got {text[:40]!r})")
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"(?:^|\s)({alternatives}){re.escape(sep)}")
    matches = list(pattern.finditer(text))
    if not matches or matches[0].start() != 0:
        first = text.split(sep, 1)[0] if sep in text else text
        raise StepError(f"unknown option {first.split()[0]!r}; this takes: {', '.join(names)}")
    out = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        out.append((m.group(1), text[m.end():end].strip()))
    return out
