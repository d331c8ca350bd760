"""Run the Discord emulator in its own process: `python -m bot.emulator --port 8765`.

Point a bot at it with FIBRO_EMULATOR_URL=http://127.0.0.1:8765 and drive it through /_emulator/.
"""

import argparse
import asyncio
import logging
from pathlib import Path

from bot.config import DEFAULT_OPENAPI_PATH
from bot.emulator.server import DEFAULT_GUILD, ControlAPI, Emulator


async def serve(port: int, guilds: int, openapi: Path | None, ready_file: Path | None) -> None:
    emulator = Emulator(openapi_path=openapi, port=port)
    ControlAPI(emulator)
    for n in range(guilds):
        emulator.seed_guild(DEFAULT_GUILD + n * 10_000)
    await emulator.start()
    print(f"emulator listening on {emulator.root_url} with {guilds} guild(s)", flush=True)
    if ready_file is not None:
        ready_file.write_text(emulator.root_url)
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.emulator")
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
