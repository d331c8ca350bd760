"""The `fibrocircle` command (also `python -m bot`): run, try, ingest, articles, check, sync."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import tempfile
from pathlib import Path

from bot.config import DEFAULT_ARTICLE_PATH, Config, load_config, setup_logging
from bot.errors import SettingError

NO_TOKEN = (
    "DISCORD_TOKEN is not set, so the bot cannot connect to Discord. Create an application at "
    "https://discord.com/developers/applications, copy the token from its Bot tab into .env as "
    "DISCORD_TOKEN=..., then run this again (the README has every step). To try the bot without "
    "Discord: fibrocircle try \"/about\""
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fibrocircle", description="Fibro Circle, a Discord bot for fibromyalgia support groups.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="connect to Discord and serve (needs DISCORD_TOKEN)")

    tr = sub.add_parser("try", help="run the real bot against the built-in Discord emulator, step by step",
                        description="Each STEP: '/command sub option:value', '?/command option:partial' (autocomplete), "
                                    "'modal field=value', 'click LABEL'; prefix with @member, @moderator, @admin or @<user id>.")
    tr.add_argument("steps", nargs="+", metavar="STEP")
    tr.add_argument("--json", action="store_true", help="print one JSON object per step")
    tr.add_argument("--db", type=Path, help="database to use (default: a fresh temporary one)")
    tr.add_argument("--guild", type=int, default=None, help="server id to act in")
    tr.add_argument("--user", type=int, default=None, help="user id of the default actor")
    tr.add_argument("--role", choices=("member", "moderator", "admin"), default="member", help="role of the default actor")
    tr.add_argument("--raw", action="store_true",
                    help="send steps as a modified client could: skip the checks Discord's client makes "
                         "(required options, ranges, lengths, choices, form fields)")

    ing = sub.add_parser("ingest", help="load article files into the library and report what was found")
    ing.add_argument("files", nargs="*", type=Path, metavar="FILE", help=f"plain text or Markdown (default: {DEFAULT_ARTICLE_PATH})")
    ing.add_argument("--json", action="store_true")
    ing.add_argument("--db", type=Path, help="database to load into (default: FIBRO_DB_PATH)")

    arts = sub.add_parser("articles", help="list the articles in the library")
    arts.add_argument("--json", action="store_true")
    arts.add_argument("--db", type=Path, help="database to read (default: FIBRO_DB_PATH)")

    chk = sub.add_parser("check", help="validate commands, settings and the database without any network")
    chk.add_argument("--db", type=Path, help="database to check (default: FIBRO_DB_PATH)")
    sub.add_parser("sync", help="push the command list to Discord now (needs DISCORD_TOKEN)")
    mig = sub.add_parser("migrate", help="migrate the database and load the articles, then stop (before starting several bot processes)")
    mig.add_argument("--db", type=Path, help="database to prepare (default: FIBRO_DB_PATH)")

    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        config = load_config()
    except SettingError as exc:
        print(f"fibrocircle: {exc}", file=sys.stderr)
        return 2
    handlers = {"run": cmd_run, "try": cmd_try, "ingest": cmd_ingest, "articles": cmd_articles, "check": cmd_check, "sync": cmd_sync,
                "migrate": cmd_migrate}
    return handlers[args.command](args, config)


def _with_db(config: Config, db: Path | None) -> Config:
    if db is None:
        return config
    return Config(db_path=db.resolve(), dev_guild_id=config.dev_guild_id, log_level=config.log_level,
                  openapi_path=config.openapi_path, token=config.token)  # --db: that SQLite file


# -- run ------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace, config: Config) -> int:
    if not config.token:
        print(f"fibrocircle: {NO_TOKEN}", file=sys.stderr)
        return 2
    setup_logging(config)
    return asyncio.run(_run(config))


async def _run(config: Config) -> int:
    import discord

    from bot.app import FibroCircle

    bot = FibroCircle(config)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def request_stop() -> None:
        if not stopping.is_set():
            logging.getLogger("fibrocircle").info("shutting down")
            stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_stop)
    runner = asyncio.create_task(bot.start(config.token or ""))
    waiter = asyncio.create_task(stopping.wait())
    done, _ = await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
    # close() lets in-flight handlers finish their transactions, then closes the database.
    await bot.close()
    if runner in done and runner.exception() is not None:
        exc = runner.exception()
        refused = _refusal(exc)
        if refused:
            print(f"fibrocircle: {refused}", file=sys.stderr)
            return 2
        logging.getLogger("fibrocircle").error("the bot stopped: %s", type(exc).__name__)
        return 1
    waiter.cancel()
    runner.cancel()
    return 0


def _refusal(exc: BaseException) -> str | None:
    """What to tell the host when Discord refused the bot (the token, an intent, the server count),
    or None for any other failure."""
    import discord

    if isinstance(exc, discord.LoginFailure) or (isinstance(exc, discord.ConnectionClosed) and exc.code == 4004):
        return "Discord refused the token in DISCORD_TOKEN; reset it in the Developer Portal."
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return "Discord refused a privileged intent that is not enabled for this application in the Developer Portal."
    if isinstance(exc, discord.ConnectionClosed) and exc.code == 4011:
        return "Discord asks for sharding: the bot is in more servers than one gateway session may hold."
    return None


# -- try ------------------------------------------------------------------------------
def cmd_try(args: argparse.Namespace, config: Config) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord.client").setLevel(logging.ERROR)  # "PyNaCl is not installed" is noise here
    return asyncio.run(_try(args, config))


async def _try(args: argparse.Namespace, config: Config) -> int:
    from emulator.openapi import DEFAULT_OPENAPI_PATH
    from emulator.render import render_requests
    from emulator.session import DEFAULT_GUILD, BotSession

    with tempfile.TemporaryDirectory(prefix="fibrocircle-try-") as tmp:
        db_path = args.db.resolve() if args.db else Path(tmp) / "try.db"
        # A kept database keeps its emulated server beside it, so the next run continues it.
        world_path = db_path.with_name(db_path.name + ".discord.json") if args.db else None
        session = BotSession(db_path, openapi_path=config.openapi_path or DEFAULT_OPENAPI_PATH, guild_id=args.guild or DEFAULT_GUILD,
                             default_user=args.user, default_role=args.role, raw=args.raw, world_path=world_path,
                             shard_count=config.shard_count,  # every shard, in this one process
                             database_url=None if args.db else config.database_url)
        failed = refused = False
        out = []
        async with session:
            if not session.emulator.openapi.available and not args.json:
                print(f"note: OpenAPI check skipped: {session.emulator.openapi.reason}", file=sys.stderr)
            for step in args.steps:
                result = await session.run(step)
                # A step that could not be sent as written is the caller's mistake, not the bot's.
                if result.problem:
                    refused = True
                else:
                    failed |= not result.ok
                if args.json:
                    out.append(result.as_dict())
                    continue
                print(f"» {step}")
                if result.problem:
                    print(f"  ! {result.problem}" + (" (--raw sends it anyway)" if result.refused else "") + "\n")
                    continue
                if not result.answered:
                    print("  ! the bot did not answer (a member would see “This interaction failed”)")
                print(render_requests(result.requests, session.emulator))
                for error in result.errors:
                    print(f"  ! logged: {error}")
                print()
        invalid = session.emulator.ratelimits.invalid_requests
        if args.json:
            print(json.dumps(out, indent=2, ensure_ascii=False))
        elif not failed and not refused:
            checks = "Discord's rules" + (" and its OpenAPI description" if session.emulator.openapi.available else "")
            print(f"All {len(args.steps)} steps answered; every request passed {checks}.")
        if invalid and not args.json:  # Discord bans an IP for a while past 10,000 in 10 minutes
            print(f"{invalid} invalid request(s) (answered 401, 403 or 429), which count toward Discord's limit.")
        return 1 if failed else 2 if refused else 0


# -- ingest ---------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace, config: Config) -> int:
    from bot.article import ArticleFormatError
    from bot.ingest import load_file
    from bot.storage import open_database

    files = args.files or [DEFAULT_ARTICLE_PATH]
    missing = [f for f in files if not f.is_file()]
    for f in missing:
        print(f"fibrocircle: no file at {f}", file=sys.stderr)
    if missing:
        return 2
    config = _with_db(config, args.db)

    async def go() -> tuple[list, list[str]]:
        reports, problems = [], []
        async with open_database(config.database) as db:
            for path in files:  # each file in its own transaction: a bad one leaves the others loaded
                try:
                    reports.append(await load_file(db, path))
                except (ArticleFormatError, UnicodeDecodeError) as exc:
                    problems.append(f"{path} is not an article in the expected form: {exc}; nothing was loaded from it")
        return reports, problems

    reports, problems = asyncio.run(go())
    for problem in problems:
        print(f"fibrocircle: {problem}", file=sys.stderr)
    if args.json:
        data = [r.as_dict() for r in reports]
        print(json.dumps(data[0] if len(files) == 1 and data else data, indent=2, ensure_ascii=False))
    else:
        for report in reports:
            state = (f"loaded as article #{report.article_id}" if report.loaded else
                     f"already loaded as article #{report.article_id}, nothing changed")
            removed = "; ".join(f"{text} ({report.why.get(text, 'not part of the article')})" for text in report.removed)
            print(f"{report.source}: {state}\n  title: {report.title}\n"
                  f"  byline: {report.byline}\n"
                  f"  {report.paragraphs} paragraphs, {report.comments} comments ({report.named_comments} named, "
                  f"{report.replies} replies)\n  reference: {'stored' if report.reference else 'none beside the file'}\n"
                  f"  removed: {removed or 'nothing'}\n"
                  f"  articles in {config.db_path.name}: {report.articles}")
    return 2 if problems else 0


def cmd_articles(args: argparse.Namespace, config: Config) -> int:
    from bot.library import library
    from bot.storage import open_database

    config = _with_db(config, args.db)

    async def go():
        async with open_database(config.database) as db:
            return await library(db, every_server=True)

    articles = asyncio.run(go())
    if args.json:
        print(json.dumps([{"id": a.id, "title": a.title, "byline": a.byline, "source": a.source_name,
                           "server_id": None if a.guild_id is None else str(a.guild_id), "paragraphs": a.paragraphs,
                           "comments": a.comments, "reference": a.has_reference, "loaded_at": a.loaded_at}
                          for a in articles], indent=2, ensure_ascii=False))
        return 0
    if not articles:
        print(f"No articles in {config.db_path.name} yet: load one with fibrocircle ingest FILE.")
        return 0
    for a in articles:
        owner = "shared" if a.guild_id is None else f"uploaded in server {a.guild_id}"
        print(f"#{a.id} {a.title}\n   {a.byline or 'no byline'} · {a.paragraphs} paragraphs, {a.comments} comments · "
              f"{'reference' if a.has_reference else 'no reference'} · {owner} · {a.source_name}, loaded {a.loaded_at}")
    return 0


# -- check ----------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace, config: Config) -> int:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("discord.client").setLevel(logging.ERROR)
    return asyncio.run(_check(_with_db(config, args.db)))


async def _check(config: Config) -> int:
    from bot.app import FibroCircle
    from emulator import rules
    from emulator.openapi import DEFAULT_OPENAPI_PATH, OpenAPIChecker

    problems: list[str] = []
    print(f"settings: ok ({config!r})")
    bot = FibroCircle(config, sync_commands=False)
    try:
        await bot.setup_hook()
        payload = bot.command_payload()
        problems += rules.check_commands(payload)
        checker = OpenAPIChecker(config.openapi_path or DEFAULT_OPENAPI_PATH)
        if checker.available:
            problems += checker.check("PUT", "/applications/1/commands", payload)
            print(f"commands: {len(payload)} checked against Discord's rules and its OpenAPI description")
        else:
            print(f"commands: {len(payload)} checked against Discord's rules (OpenAPI check skipped: {checker.reason})")
        integrity = await bot.db.integrity_check()
        version = await bot.db.schema_version()
        print(f"database: {config.database_name} schema v{version}, integrity {integrity}")
        if integrity != "ok":
            problems.append(f"database integrity: {integrity}")
        cannot_write = await bot.db.write_problem()
        print(f"database writable: {'yes' if cannot_write is None else 'NO'}")
        if cannot_write is not None:
            problems.append(f"the database can't be written ({cannot_write}): members' posts would be refused; "
                            "free disk space or make the file and its folder writable")
    finally:
        await bot.db.close()  # the bot never connected: there is nothing else to close
    for problem in problems:
        print(f"  problem: {problem}")
    print("check passed" if not problems else f"check failed: {len(problems)} problem(s)")
    return 1 if problems else 0


# -- migrate --------------------------------------------------------------------------
def cmd_migrate(args: argparse.Namespace, config: Config) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return asyncio.run(_migrate(_with_db(config, args.db)))


async def _migrate(config: Config) -> int:
    from bot.app import prepare_database
    from bot.config import DEFAULT_ARTICLES_DIR
    from bot.storage import open_database

    async with open_database(config.database) as db:
        async with db.exclusive("start-up"):
            await prepare_database(db, DEFAULT_ARTICLE_PATH, DEFAULT_ARTICLES_DIR)
        print(f"database: {config.database_name} schema v{await db.schema_version()}, ready for the bot")
    return 0


# -- sync -----------------------------------------------------------------------------
def cmd_sync(args: argparse.Namespace, config: Config) -> int:
    if not config.token:
        print(f"fibrocircle: {NO_TOKEN}", file=sys.stderr)
        return 2
    setup_logging(config)

    async def go() -> int:
        from bot.app import FibroCircle

        bot = FibroCircle(config, sync_commands=False)
        try:
            await bot.login(config.token or "")
            await bot.sync_if_changed(force=True)
        finally:
            await bot.close()
        return 0

    return asyncio.run(go())
