"""Measure the real bot at scale: one command, numbers printed (JSON with --json).

    python -m benchmarks.run                    # 1,000,000 posts in 1,000 guilds, 100 interactions/s
    python -m benchmarks.run --posts 100000 --guilds 100 --duration 20 --json

Three processes: this driver, the emulator (`python -m benchmarks.emulator_process`, which also generates the
open-loop load so that its timing does not compete with the driver), and the bot itself
(`python -m bot run`, pointed at the emulator with FIBRO_EMULATOR_URL). Latency is measured in the
emulator from sending an interaction to the bot's first response arriving.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import aiohttp

from benchmarks.generate import OUT_DIR, generate, guild_ids
from emulator.server import PERSONAS
from emulator.session import FAKE_TOKEN

QUOTE_QUERIES = ["sleep", "opioids", "weather", "diet", "family", "tremors", "fatigue", "insomnia", "opiods",
                 "gluten", "husband", "cold winter", "pain meds", "exercise", "doctor", "depression"]
QUESTIONS = ["how many people took part", "what is the ventral tegmental area", "do painkillers work",
             "where was the study done", "what did the MRI show", "who led the study"]


def command(name: str, *options: dict[str, Any], sub: str | None = None) -> dict[str, Any]:
    opts = list(options)
    if sub:
        opts = [{"name": sub, "type": 1, "options": opts}]
    return {"id": "1", "name": name, "type": 1, "options": opts}


def text_option(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "type": 3, "value": value}


def share_submission() -> dict[str, Any]:
    """A member submitting the /share form (the form's id carries the interaction that opened it)."""
    fields = [("experience", "Week {n}: the cold makes my legs ache and I sleep badly, pacing helps a little."),
              ("topic", "sleep"), ("anonymous", "yes")]
    return {"custom_id": "fibrocircle:share:{n}",
            "components": [{"type": 18, "component": {"type": 4, "custom_id": cid, "value": v}} for cid, v in fields]}


def approve_click() -> tuple[dict[str, Any], dict[str, Any]]:
    """A moderator pressing Approve on a pending post's queue message (the id comes from a pool)."""
    custom_id = "fibrocircle:post:approve:{pending}"
    message = {"id": "1", "channel_id": "1", "type": 0, "content": "", "embeds": [], "attachments": [],
               "author": {"id": "1", "username": "Fibro Circle", "discriminator": "0", "avatar": None, "bot": True},
               "timestamp": "2026-11-25T00:00:00+00:00", "edited_timestamp": None, "tts": False,
               "mention_everyone": False, "mentions": [], "mention_roles": [], "pinned": False, "flags": 0,
               "components": [{"type": 1, "components": [{"type": 2, "style": 3, "label": "Approve", "custom_id": custom_id}]}]}
    return {"custom_id": custom_id, "component_type": 2}, message


def default_mix() -> list[dict[str, Any]]:
    mix: list[dict[str, Any]] = []
    for q in QUOTE_QUERIES:
        mix.append({"name": "/quote", "weight": 3 / len(QUOTE_QUERIES), "data": command("quote", text_option("topic", q))})
    for q in QUESTIONS:
        mix.append({"name": "/study ask", "weight": 2 / len(QUESTIONS),
                    "data": command("study", text_option("question", q), sub="ask")})
    mix.append({"name": "/about", "weight": 1, "data": command("about")})
    mix.append({"name": "/share submit", "weight": 1, "kind": 5, "data": share_submission()})
    data, message = approve_click()
    # Manage Server counts as moderator in every server, whatever its settings.
    mix.append({"name": "approve", "weight": 1, "kind": 3, "data": data, "message": message,
                "user_id": PERSONAS["admin"], "uses": ["pending"]})
    return mix


PENDING = "SELECT guild_id, id FROM posts WHERE state = 'pending'"


async def pending_pools(db: "Path | str") -> dict[str, list[int]]:
    """The pending posts of each server (for the approvals), from the SQLite file or the PostgreSQL URL."""
    pools: dict[str, list[int]] = {}
    if isinstance(db, str):
        import asyncpg

        conn = await asyncpg.connect(db)
        try:
            rows = [tuple(r) for r in await conn.fetch(PENDING)]
        finally:
            await conn.close()
    else:
        import sqlite3
        with sqlite3.connect(db) as conn:
            rows = conn.execute(PENDING).fetchall()
    for guild_id, post_id in rows:
        pools.setdefault(f"pending:{guild_id}", []).append(post_id)
    return pools


def database_env(db: "Path | str") -> dict[str, str]:
    """How a bot process is told where its database is: a SQLite path or a PostgreSQL URL."""
    return {"FIBRO_DATABASE_URL": db} if isinstance(db, str) else {"FIBRO_DB_PATH": str(db)}


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": round(ordered[-1], 2)}


def load_average() -> list[float]:
    """The machine's load average over 1, 5 and 15 minutes."""
    return [round(x, 2) for x in os.getloadavg()]


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


class Harness:
    def __init__(self, db: Path | str, guilds: int, workdir: Path, openapi: bool, processes: int = 1, shards: int | None = None):
        self.db, self.guilds, self.workdir, self.openapi = db, guilds, workdir, openapi
        self.processes, self.shards = processes, shards
        self.emulator: subprocess.Popen | None = None
        self.bots: list[subprocess.Popen] = []
        self.url = ""
        self.bot_logs = [workdir / f"bot-{n}.log" for n in range(processes)]

    @property
    def bot(self) -> subprocess.Popen | None:
        return self.bots[0] if self.bots else None

    def shard_ranges(self) -> list[str | None]:
        """Each process's FIBRO_SHARD_IDS: the shards cut into `processes` consecutive ranges."""
        if self.shards is None:
            return [None] * self.processes
        cuts = [round(n * self.shards / self.processes) for n in range(self.processes + 1)]
        return [f"{cuts[n]}-{cuts[n + 1] - 1}" for n in range(self.processes)]

    def start_emulator(self) -> None:
        ready = self.workdir / "emulator.url"
        args = [sys.executable, "-m", "benchmarks.emulator_process", "--guilds", str(self.guilds), "--ready-file", str(ready)]
        if not self.openapi:
            args.append("--no-openapi")
        self.emulator = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while not ready.exists():
            if time.time() > deadline or self.emulator.poll() is not None:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.05)
        self.url = ready.read_text().strip()

    def start_bot(self) -> float:
        env = {**{k: v for k, v in os.environ.items() if k not in ("FIBRO_DB_PATH", "FIBRO_DATABASE_URL")},
               "DISCORD_TOKEN": FAKE_TOKEN, **database_env(self.db),
               "FIBRO_EMULATOR_URL": self.url, "FIBRO_LOG_LEVEL": "INFO"}
        started = time.perf_counter()
        if self.processes > 1:  # the one-off start-up work once, as the plain-process topology does it
            subprocess.run([sys.executable, "-m", "bot", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        for log, shard_ids in zip(self.bot_logs, self.shard_ranges()):
            process_env = dict(env)
            if self.shards is not None:
                process_env.update(FIBRO_SHARD_COUNT=str(self.shards), FIBRO_SHARD_IDS=shard_ids or "")
            self.bots.append(subprocess.Popen([sys.executable, "-m", "bot", "run"], env=process_env,
                                              stdout=log.open("w"), stderr=subprocess.STDOUT))
        return started

    def stop(self) -> str:
        for bot in self.bots:
            if bot.poll() is None:
                bot.send_signal(signal.SIGTERM)
        for bot in self.bots:
            try:
                bot.wait(20)
            except subprocess.TimeoutExpired:
                bot.kill()
        if self.emulator is not None and self.emulator.poll() is None:
            self.emulator.terminate()
            self.emulator.wait(10)
        return "\n".join(log.read_text() for log in self.bot_logs if log.exists())


async def post(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> dict[str, Any]:
    async with http.post(url, json=body, timeout=aiohttp.ClientTimeout(total=3600)) as resp:
        return await resp.json()


async def wait_ready(http: aiohttp.ClientSession, h: Harness, started: float) -> float:
    """Ready = the bot answers its first interaction (after login, gateway, guilds, start-up work)."""
    guild = guild_ids(h.guilds)[0]
    while True:
        for bot, log in zip(h.bots, h.bot_logs):
            if bot.poll() is not None:
                raise RuntimeError(f"the bot exited: {log.read_text()[-2000:]}")
        try:
            async with http.get(f"{h.url}/_emulator/state") as resp:
                state = await resp.json()
            if state["all_shards_connected"]:
                answer = await post(http, f"{h.url}/_emulator/interactions",
                                    {"guild_id": guild, "user_id": PERSONAS["member"], "data": command("about"), "wait": 10})
                if answer.get("answered"):
                    return time.perf_counter() - started
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.02)


def summarise(load: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"offered_rate": load["offered_rate"], "duration_s": round(load["duration_s"], 2), "commands": {}}
    answered = 0
    for name, stats in load["results"].items():
        answered += stats["answered"]
        out["commands"][name] = {"sent": stats["sent"], "answered": stats["answered"], **percentiles(stats["latencies_ms"])}
    out["throughput_per_s"] = round(answered / max(load["duration_s"], 1e-9), 1)
    out["late_responses"] = load["late_responses"]
    # Answers of 401, 403 or 429 (Discord bans an IP for a while past 10,000 in 10 minutes).
    out["invalid_requests"] = load.get("invalid_requests", 0)
    out["rate_limited"] = load.get("rate_limited", 0)
    out["started_at"] = load.get("started_at")  # Unix time, to line the timeline up with the bot's log
    out["timeline"] = load.get("timeline", [])
    return out


async def drive(h: Harness, args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {}
    async with aiohttp.ClientSession() as http:
        started = h.start_bot()
        report["ready_seconds"] = round(await wait_ready(http, h, started), 2)
        ids = guild_ids(h.guilds)
        pools = await pending_pools(h.db)
        base = {"mix": default_mix(), "guild_ids": ids, "timeout": 10, "seed": 3}
        await post(http, f"{h.url}/_emulator/load", {**base, "rate": 50, "duration": 2, "pools": pools})  # warm caches
        # Each run gets its own ids to approve: the warm-up may have approved some already.
        fixed = await post(http, f"{h.url}/_emulator/load", {**base, "rate": args.rate, "duration": args.duration,
                                                              "pools": await pending_pools(h.db)})
        report["fixed_rate"] = summarise(fixed)
        # The highest rate that is still sustained: everything answered, throughput keeps up, p99 < 100 ms.
        best = None
        rate = args.rate
        while rate <= args.max_rate:
            run = summarise(await post(http, f"{h.url}/_emulator/load", {**base, "rate": rate, "duration": args.ramp_duration,
                                                                          "pools": await pending_pools(h.db)}))
            sent = sum(c["sent"] for c in run["commands"].values())
            answered = sum(c["answered"] for c in run["commands"].values())
            worst_p99 = max((c["p99"] or 0) for c in run["commands"].values())
            ok = answered == sent and run["throughput_per_s"] >= 0.95 * rate and worst_p99 < 100
            if not ok:
                break
            best = {"rate": rate, **run}
            rate = int(rate * 1.5)
        report["max_sustained"] = best
        report["bot_peak_rss_mb"] = peak_rss_mb(h.bot.pid) if h.bot else None
        # Every approval made during the runs is published and told by now, or soon: wait for the
        # workers to go quiet, then count what the emulator saw twice.
        await asyncio.sleep(3)
        async with http.get(f"{h.url}/_emulator/state") as resp:
            report["duplicates"] = (await resp.json())["duplicates"]
    return report


async def time_sql(db_path: Path | str, guilds: int, repeat: int) -> dict[str, Any]:
    """The queries behind /quote and /study ask, timed straight against the database (no Discord)."""
    from bot import quotes, study

    out: dict[str, Any] = {}
    async with open_database(db_path) as db:
        ids = guild_ids(guilds)
        quote_times, ask_times = [], []
        for n in range(repeat):
            q = QUOTE_QUERIES[n % len(QUOTE_QUERIES)]
            t = time.perf_counter()
            await quotes.find_quotes(db, guild_id=ids[n % len(ids)], query=q, user_id=1, channel_id=1, count=1)
            quote_times.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            await study.ask(db, QUESTIONS[n % len(QUESTIONS)])
            ask_times.append((time.perf_counter() - t) * 1000)
        out["/quote find_quotes"] = percentiles(quote_times)
        out["/study ask"] = percentiles(ask_times)
    return out


@contextlib.contextmanager
def postgres_copy(source: Path, work: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """A PostgreSQL database holding the generated data: FIBRO_DATABASE_URL when it is set, otherwise
    a database in a throwaway cluster (tests/pg_cluster.py, with PostgreSQL's durable defaults) that
    is removed afterwards. The schema is the bot's own (`fibrocircle migrate`); the rows are copied
    from the generated SQLite file."""
    from benchmarks.pg_load import copy_into
    from tests.pg_cluster import PgCluster

    given = os.environ.get("FIBRO_DATABASE_URL", "").strip()
    with contextlib.ExitStack() as stack:
        if given:
            url, where = given, "FIBRO_DATABASE_URL"
        else:
            cluster = stack.enter_context(PgCluster.start(durable=True))
            url, where = cluster.create_database("bench"), "a throwaway cluster"
        env = {**{k: v for k, v in os.environ.items() if k != "FIBRO_DB_PATH"}, "FIBRO_DATABASE_URL": url}
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bot", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        copied = asyncio.run(copy_into(source, url))
        info = {"database": where, "rows_copied": sum(copied.values()), "load_seconds": round(time.perf_counter() - started, 1)}
        yield url, info


@contextlib.asynccontextmanager
async def open_database(db: Path | str) -> AsyncIterator[Any]:
    """The bot's own storage for a SQLite path or a PostgreSQL URL."""
    from bot import storage

    if isinstance(db, str):
        database = storage.open_database(db)
    else:
        database = storage.Database(db)
    async with database:
        yield database


def print_report(report: dict[str, Any]) -> None:
    gen = report["data"]
    print(f"data: {gen['posts']:,} posts ({gen['pending']:,} pending) in {gen['guilds']:,} guilds, "
          f"{gen['tags']:,} topic tags, {gen['db_size_mb']} MB; generated and indexed in {gen.get('generate_and_index_seconds', 'n/a')} s")
    print(f"backend: {report['backend']}, {report['processes']} process(es), shards: {report['shards'] or 'as recommended'}")
    if report.get("postgres"):
        pg = report["postgres"]
        print(f"postgres: {pg['database']}, {pg['rows_copied']:,} rows copied in after migrate, {pg['load_seconds']} s")
    print(f"ready: {report['ready_seconds']} s from start to the first answer"
          + (" (start-up re-tagged every post: the data predates the topic list or the safety detector)"
             if report.get("retagged_at_start") else ""))
    load = report["load_average"]
    print(f"load average (1, 5, 15 min): {', '.join(map(str, load['start']))} at the start, "
          f"{', '.join(map(str, load['end']))} at the end")
    fixed = report["fixed_rate"]
    print(f"\nopen loop at {fixed['offered_rate']}/s for {fixed['duration_s']} s: throughput {fixed['throughput_per_s']}/s, "
          f"late (>3 s) {fixed['late_responses']}, answered 429 {fixed['rate_limited']}, "
          f"invalid requests (401/403/429) {fixed['invalid_requests']}")
    print(f"  {'command':<14}{'sent':>7}{'answered':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for name, c in fixed["commands"].items():
        print(f"  {name:<14}{c['sent']:>7}{c['answered']:>10}{c['p50'] or '-':>9}{c['p95'] or '-':>9}{c['p99'] or '-':>9}{c['max'] or '-':>9}")
    slow = [s for s in fixed.get("timeline", []) if s["max"] >= 100]
    print(f"  seconds with an answer slower than 100 ms: {len(slow)} of {len(fixed.get('timeline', []))}"
          + (": " + ", ".join(f"{s['second']} s (max {s['max']:.0f}, p50 {s['p50']:.0f})" for s in slow[:8]) if slow else ""))
    ratio = report.get("quote_about_ratio")
    print(f"\n/quote p50 / /about p50 = {ratio}")
    best = report.get("max_sustained")
    print(f"highest sustained rate: {best['rate'] if best else 'below the fixed rate'}/s"
          + (f" (throughput {best['throughput_per_s']}/s)" if best else ""))
    print(f"bot peak RSS: {report['bot_peak_rss_mb']} MB; longest event-loop stall: {report.get('loop_stall_ms')} ms")
    print(f"sent twice: {report['duplicates']['published']} published posts, {report['duplicates']['dms']} DMs")
    print("\nSQL alone (ms):")
    for name, p in report["sql_ms"].items():
        print(f"  {name:<22} p50 {p['p50']}  p95 {p['p95']}  p99 {p['p99']}  max {p['max']}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run")
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--guilds", type=int, default=1_000)
    parser.add_argument("--rate", type=int, default=100, help="interactions per second in the fixed-rate run")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--ramp-duration", type=float, default=10.0)
    parser.add_argument("--max-rate", type=int, default=2000)
    parser.add_argument("--db", type=Path, help="a generated database to reuse (default: generate under benchmarks/out)")
    parser.add_argument("--no-openapi", action="store_true", help="the emulator skips the OpenAPI check")
    parser.add_argument("--sql-repeat", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite",
                        help="the database the bots share; postgres: FIBRO_DATABASE_URL when set (its tables are "
                             "emptied and filled), otherwise a throwaway cluster made for the run")
    parser.add_argument("--processes", type=int, default=1, help="bot processes sharing the database")
    parser.add_argument("--shards", type=int, default=None, help="shards in all, split over the processes")
    args = parser.parse_args()
    if args.processes < 1 or (args.shards is not None and args.shards < args.processes):
        parser.error("--processes must be at least 1 and --shards at least --processes")

    # "spread": server ids spread over shards (the ids before them sat on a few shards).
    source = args.db or OUT_DIR / f"bench-{args.posts}-{args.guilds}-spread.db"
    report: dict[str, Any] = {"backend": args.backend, "processes": args.processes, "shards": args.shards}
    # Other work on the machine moves the tail latencies: the figures are read with the load they met.
    report["load_average"] = {"start": load_average()}
    if args.db is None and not source.exists():
        report["data"] = generate(source, args.posts, args.guilds)
    else:
        import sqlite3
        with sqlite3.connect(source) as conn:
            report["data"] = {
                "posts": conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0],
                "pending": conn.execute("SELECT COUNT(*) FROM posts WHERE state='pending'").fetchone()[0],
                "tags": conn.execute("SELECT COUNT(*) FROM topic_tags WHERE source='post'").fetchone()[0],
                "guilds": args.guilds, "db_size_mb": round(source.stat().st_size / 1e6, 1),
                "generate_and_index_seconds": "(reused)",
            }
    with tempfile.TemporaryDirectory(prefix="fibro-bench-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        db: Path | str
        if args.backend == "postgres":
            db, report["postgres"] = stack.enter_context(postgres_copy(source, work))
        else:
            db = work / "bench.db"
            shutil.copy(source, db)  # the run writes (shares, approvals): keep the generated copy clean
            os.sync()  # else the first checkpoint pays for flushing the fresh copy
        report["sql_ms"] = asyncio.run(time_sql(db, args.guilds, args.sql_repeat))
        if args.backend == "sqlite":
            # Opening the copy applied any new migration (an index is hundreds of MB): written
            # back now, not by the kernel in the middle of the measured run.
            os.sync()
        h = Harness(db, args.guilds, work, openapi=not args.no_openapi, processes=args.processes, shards=args.shards)
        try:
            h.start_emulator()
            report.update(asyncio.run(drive(h, args)))
        finally:
            log = h.stop()
        # A generated database older than the topic list or the safety detector is re-tagged (and its
        # posts scanned) at start-up, in the copy, on every run: the measured run then follows that
        # rewrite of every post.
        report["retagged_at_start"] = "recomputing the topics of every comment and post" in log
        for line in log.splitlines():
            if "longest stall" in line:  # the longest over every process
                stall = float(line.split("longest stall ")[1].split(" ms")[0])
                report["loop_stall_ms"] = max(stall, report.get("loop_stall_ms") or 0.0)
    report["load_average"]["end"] = load_average()
    commands = report["fixed_rate"]["commands"]
    if commands.get("/quote", {}).get("p50") and commands.get("/about", {}).get("p50"):
        report["quote_about_ratio"] = round(commands["/quote"]["p50"] / commands["/about"]["p50"], 2)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
