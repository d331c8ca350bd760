"""The emulator in its own process, for the benchmark: `python -m benchmarks.emulator_process --port 8765`.

Point a bot at it with FIBRO_EMULATOR_URL=http://127.0.0.1:8765 and drive it through /_emulator/:
the control API seeds guilds, sends interactions, reads what the bot did and generates open-loop load.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator.openapi import DEFAULT_OPENAPI_PATH
from benchmarks.generate import guild_ids
from emulator.server import Emulator, Fault, json_response


# -- control API: drive an emulator that runs in its own process ---------------------------
class ControlAPI:
    """HTTP routes under /_emulator/ so that a test or benchmark in another process can seed guilds,
    send interactions and read what the bot did. Only ever bound to loopback."""

    def __init__(self, emulator: Emulator):
        self.emulator = emulator
        app = emulator.app
        app.router.add_post("/_emulator/guilds", self.add_guild)
        app.router.add_post("/_emulator/interactions", self.interaction)
        app.router.add_get("/_emulator/requests", self.requests)
        app.router.add_post("/_emulator/faults", self.faults)
        app.router.add_get("/_emulator/state", self.state)
        app.router.add_post("/_emulator/load", self.load)

    async def add_guild(self, request: web.Request) -> web.Response:
        body = await request.json()
        for guild_id in body.get("ids") or [body["id"]]:
            if int(guild_id) not in self.emulator.guilds:
                self.emulator.seed_guild(int(guild_id), body.get("name"))
                if self.emulator.session_for(int(guild_id)) is not None:
                    await self.emulator.join_guild(int(guild_id))
        return json_response({"guilds": len(self.emulator.guilds)})

    async def interaction(self, request: web.Request) -> web.Response:
        """Body: kind, guild_id, channel (name), user_id, data, optional message, optional wait (s).
        Answers once the bot's first response arrived (or the wait ran out)."""
        body = await request.json()
        emu = self.emulator
        guild_id = int(body["guild_id"])
        channel = emu.find_channel(guild_id, body.get("channel", "general"))
        payload = emu.interaction_payload(int(body.get("kind", 2)), guild_id=guild_id,
                                          channel_id=int(channel["id"]) if channel else 0,
                                          user_id=int(body["user_id"]), data=body["data"], message=body.get("message"))
        if body.get("id"):  # the same interaction delivered twice
            payload["id"], payload["token"] = str(body["id"]), f"itoken-{body['id']}"
            if int(body["id"]) in emu.interactions:
                await emu.dispatch("INTERACTION_CREATE", payload)
                return json_response({"id": payload["id"], "redelivered": True})
        record = await emu.send_interaction(payload)
        try:
            await asyncio.wait_for(record.done.wait(), float(body.get("wait", 5.0)))
        except asyncio.TimeoutError:
            pass
        return json_response({"id": payload["id"], "answered": record.response_type is not None,
                              "response_type": record.response_type,
                              "latency_ms": None if record.latency is None else record.latency * 1000})

    async def requests(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", 0))
        return json_response({"total": len(self.emulator.requests),
                              "requests": [r.as_dict() | {"n": r.n, "interaction_id": r.interaction_id}
                                           for r in self.emulator.requests[since:]]})

    async def faults(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.emulator.faults = [Fault(**f) for f in body.get("faults", [])]
        return json_response({"faults": len(self.emulator.faults)})

    async def load(self, request: web.Request) -> web.Response:
        return json_response(await LoadGenerator(self.emulator).run(await request.json()))

    async def state(self, request: web.Request) -> web.Response:
        emu = self.emulator
        return json_response({"connected": emu.connected, "all_shards_connected": emu.all_shards_connected,
                              "duplicates": emu.duplicates(), "identify_count": emu.gateway.identify_count,
                              "shards": sorted(emu.sessions), "guilds": len(emu.guilds),
                              "commands": {k: len(v) for k, v in emu.commands.items()},
                              "late_responses": len(emu.late_responses),
                              "invalid_requests": emu.ratelimits.invalid_requests})


class LoadGenerator:
    """Open-loop load from inside the emulator's process: interactions are sent on a fixed schedule
    whatever the bot's answers, and each latency runs from sending to the first response arriving."""

    def __init__(self, emulator: Emulator):
        self.emulator = emulator

    @staticmethod
    def _fill(template: Any, values: dict[str, Any]) -> Any:
        if isinstance(template, str):
            if template.startswith("{") and template.endswith("}") and template[1:-1] in values:
                return values[template[1:-1]]  # a whole-value placeholder keeps its type
            for key, value in values.items():
                template = template.replace("{" + key + "}", str(value))
            return template
        if isinstance(template, list):
            return [LoadGenerator._fill(t, values) for t in template]
        if isinstance(template, dict):
            return {k: LoadGenerator._fill(v, values) for k, v in template.items()}
        return template

    async def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        # The emulator is the measuring instrument: its own garbage collection (a full pass over the
        # guilds, the API description and every request recorded took up to 280 ms) must not pause
        # it in the middle of a run. Collected before, frozen, and nothing collected until the end.
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            return await self._run(spec)
        finally:
            gc.enable()

    async def _run(self, spec: dict[str, Any]) -> dict[str, Any]:
        import random

        emu = self.emulator
        rate, duration = float(spec["rate"]), float(spec["duration"])
        mix = spec["mix"]
        weights = [float(m.get("weight", 1)) for m in mix]
        guild_ids = [int(g) for g in spec.get("guild_ids") or list(emu.guilds)]
        pools = {name: list(items) for name, items in (spec.get("pools") or {}).items()}
        rng = random.Random(spec.get("seed", 1))
        timeout = float(spec.get("timeout", 5.0))
        results: dict[str, dict[str, Any]] = {m["name"]: {"sent": 0, "answered": 0, "latencies_ms": []} for m in mix}
        pending: list[asyncio.Task] = []
        loop = asyncio.get_running_loop()
        total = int(rate * duration)
        start = loop.time()
        started_at = time.time()
        samples: list[tuple[float, float]] = []  # (seconds into the run when sent, latency in ms)

        async def fire(entry: dict[str, Any], n: int) -> None:
            guild_id = rng.choice(guild_ids)
            values: dict[str, Any] = {"n": n, "guild": guild_id}
            for pool_name in entry.get("uses", []):
                pool = pools.get(f"{pool_name}:{guild_id}") or pools.get(pool_name) or []
                if not pool:
                    return  # nothing left to approve here: skip, do not count
                values[pool_name] = pool.pop()
            user_id = int(entry["user_id"]) if entry.get("user_id") else 500_000_000_000_000_000 + rng.randrange(100_000)
            channel = emu.find_channel(guild_id, entry.get("channel", "general"))
            payload = emu.interaction_payload(int(entry.get("kind", 2)), guild_id=guild_id,
                                              channel_id=int(channel["id"]) if channel else 0, user_id=user_id,
                                              data=self._fill(entry["data"], values),
                                              message=self._fill(entry.get("message"), values))
            stats = results[entry["name"]]
            stats["sent"] += 1
            record = await emu.send_interaction(payload)
            try:
                await asyncio.wait_for(record.done.wait(), timeout)
            except asyncio.TimeoutError:
                return
            stats["answered"] += 1
            stats["latencies_ms"].append(record.latency * 1000)
            samples.append((record.sent_at - start_perf, record.latency * 1000))

        start_perf = time.perf_counter()
        for n in range(total):
            target = start + n / rate
            delay = target - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            entry = rng.choices(mix, weights)[0]
            pending.append(asyncio.create_task(fire(entry, n)))
        sent_for = loop.time() - start
        await asyncio.gather(*pending, return_exceptions=True)
        return {"offered_rate": rate, "duration_s": sent_for, "results": results,
                "started_at": started_at, "timeline": timeline(samples),
                "late_responses": len(emu.late_responses), "invalid_requests": emu.ratelimits.invalid_requests,
                "rate_limited": len(emu.ratelimits.limited)}


def timeline(samples: list[tuple[float, float]]) -> list[dict[str, Any]]:
    """Latency second by second of the run (by when each interaction was sent): a stretch of slow
    answers shows when the replies waited, and for how long, where p99 over the whole run cannot."""
    seconds: dict[int, list[float]] = {}
    for sent, latency in samples:
        seconds.setdefault(max(0, int(sent)), []).append(latency)
    out = []
    for second in sorted(seconds):
        ordered = sorted(seconds[second])
        out.append({"second": second, "answered": len(ordered), "p50": round(ordered[len(ordered) // 2], 2),
                    "max": round(ordered[-1], 2)})
    return out


async def serve(port: int, guilds: int, openapi: Path | None, ready_file: Path | None) -> None:
    emulator = Emulator(openapi_path=openapi, port=port)
    ControlAPI(emulator)
    for guild_id in guild_ids(guilds):
        emulator.seed_guild(guild_id)
    await emulator.start()
    print(f"emulator listening on {emulator.root_url} with {guilds} guild(s)", flush=True)
    if ready_file is not None:
        ready_file.write_text(emulator.root_url)
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.emulator_process")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--guilds", type=int, default=1)
    parser.add_argument("--openapi", type=Path, default=DEFAULT_OPENAPI_PATH)
    parser.add_argument("--no-openapi", action="store_true", help="skip the OpenAPI check (faster)")
    parser.add_argument("--ready-file", type=Path, help="write the URL here once listening")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    try:
        asyncio.run(serve(args.port, args.guilds, None if args.no_openapi else args.openapi, args.ready_file))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
