"""The real bot, through its own bot.start, against the emulator: /about, sync, errors, rules."""

import asyncio
import json
import os
import subprocess
import sys
import time

import aiohttp
import pytest
from discord import app_commands

from emulator import rules
from emulator.session import BotSession
from support import OPENAPI_PATH, is_ephemeral, step

FIBRO = [sys.executable, "-m", "bot"]


async def test_about_is_answered_privately_and_passes_every_check(session):
    result = await step(session, "/about")
    assert is_ephemeral(result)
    text = result.text()
    assert "About Fibro Circle" in text
    assert "Not medical advice" in text
    assert "24 reader comments" in text  # computed from the database, not written in
    assert "/mydata" in text and "moderator" in text


async def test_commands_are_synced_once_and_validated(session):
    puts = [r for r in session.emulator.requests if r.method == "PUT" and r.path.endswith("/commands")]
    assert len(puts) == 1 and puts[0].status == 200 and puts[0].violations == []
    names = {c["name"] for c in puts[0].body}
    assert {"about"} <= names
    await session.restart_bot()
    puts = [r for r in session.emulator.requests if r.method == "PUT" and r.path.endswith("/commands")]
    assert len(puts) == 1, "an unchanged command set must not be synced again"
    await step(session, "/about")


async def test_unexpected_error_gets_a_kind_reply_with_a_reference(session, caplog):
    @app_commands.command(name="boom", description="fails on purpose")
    async def boom(interaction):
        raise RuntimeError("broken on purpose")

    session.bot.tree.add_command(boom)
    result = await session.run("/boom")
    assert result.answered and result.violations == []
    assert is_ephemeral(result)
    assert "something went wrong on our side" in result.text()
    ref = result.text().split("reference `")[1][:8]
    assert any(ref in e and "RuntimeError" in e for e in result.errors)
    session._errors.records.clear()  # this ERROR was the point of the test


async def test_user_facing_errors_are_ephemeral_and_not_logged_as_errors(session):
    from bot.errors import UserFacingError

    @app_commands.command(name="refuse", description="refuses kindly")
    async def refuse(interaction):
        raise UserFacingError("That can't be done, and nothing was changed.")

    session.bot.tree.add_command(refuse)
    result = await step(session, "/refuse")
    assert is_ephemeral(result)
    assert result.text() == "That can't be done, and nothing was changed."


async def test_a_slow_first_response_is_flagged(session):
    session.emulator.deadline = 0.05

    @app_commands.command(name="slow", description="answers late")
    async def slow(interaction):
        await asyncio.sleep(0.2)
        await interaction.response.send_message("late", ephemeral=True)

    session.bot.tree.add_command(slow)
    result = await session.run("/slow")
    # Discord refuses a late first answer (10062) and the member sees "This interaction failed".
    assert not result.answered
    assert any("first response after" in v for v in result.violations)
    assert [r.status for r in result.requests if r.path.endswith("/callback")] == [404]


async def test_emulator_answers_invalid_bodies_like_discord(session):
    emu = session.emulator
    payload = emu.interaction_payload(2, guild_id=session.guild_id, channel_id=int(emu.find_channel(session.guild_id, "general")["id"]),
                                      user_id=1, data={"name": "nothing", "type": 1})
    from emulator.server import InteractionRecord
    emu.interactions[int(payload["id"])] = InteractionRecord(id=int(payload["id"]), token=payload["token"], payload=payload,
                                                             user_id=1, sent_at=time.perf_counter())
    url = f"{emu.base_url}/interactions/{payload['id']}/{payload['token']}/callback"
    bad = {"type": 8, "data": {"choices": [{"name": f"c{i}", "value": str(i)} for i in range(30)]}}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json=bad) as resp:
            assert resp.status == 400
            body = await resp.json()
            assert body["code"] == 50035
        async with http.get(f"{emu.base_url}/no/such/route") as resp:
            assert resp.status == 404
    assert any("unknown route" in v for v in emu.requests[-1].violations)
    assert any("30 choices" in v for v in emu.requests[-2].violations)


def test_rules_catch_what_discord_rejects():
    assert rules.check_message({"content": "x" * 2001, "allowed_mentions": {"parse": []}})
    assert rules.check_message({"content": "hi"}), "a message without allowed_mentions could ping"
    assert rules.check_message({"content": "hi", "allowed_mentions": {"parse": ["everyone"]}})
    assert rules.check_message({"content": "hi", "allowed_mentions": {"parse": []}}) == []
    embed = {"title": "t" * 257, "fields": [{"name": "n", "value": "v" * 1025}]}
    problems = rules.check_message({"embeds": [embed], "allowed_mentions": {"parse": []}})
    assert len(problems) == 2
    big = [{"title": "x", "description": "d" * 4000}, {"title": "y", "description": "d" * 2500}]
    assert any("6000" in p for p in rules.check_message({"embeds": big, "allowed_mentions": {"parse": []}}))
    rows = [{"type": 1, "components": [{"type": 2, "style": 1, "label": "a", "custom_id": "same"}] * 2}]
    assert any("used twice" in p for p in rules.check_components(rows, "c"))
    assert rules.check_modal({"title": "t" * 46, "custom_id": "m", "components": [{"type": 1, "components": [{"type": 4, "custom_id": "a", "label": "l", "max_length": 5000}]}]})
    cmd = {"name": "Bad Name", "description": "", "type": 1, "options": [
        {"name": "a", "description": "d", "type": 3, "required": False},
        {"name": "b", "description": "d", "type": 3, "required": True}]}
    problems = rules.check_commands([cmd])
    assert any("lowercase" in p for p in problems)
    assert any("description" in p for p in problems)
    assert any("required option comes after" in p for p in problems)


def test_the_whole_command_tree_passes_the_rules_offline(tmp_path):
    env = {**os.environ, "FIBRO_DB_PATH": str(tmp_path / "check.db")}
    env.pop("DISCORD_TOKEN", None)
    out = subprocess.run(FIBRO + ["check"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "check passed" in out.stdout
    assert "integrity ok" in out.stdout


def test_run_without_token_exits_quickly_with_help(tmp_path):
    env = {**os.environ, "FIBRO_DB_PATH": str(tmp_path / "run.db")}
    env.pop("DISCORD_TOKEN", None)
    start = time.perf_counter()
    out = subprocess.run(FIBRO + ["run"], capture_output=True, text=True, env=env, timeout=10, cwd=tmp_path)
    elapsed = time.perf_counter() - start
    assert out.returncode != 0
    assert elapsed < 2.0
    assert "DISCORD_TOKEN" in out.stderr and "fibrocircle try" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_malformed_token_is_named_and_never_printed(tmp_path):
    secret = "not-a-token-but-secret-value-123"
    env = {**os.environ, "DISCORD_TOKEN": secret, "FIBRO_DB_PATH": str(tmp_path / "t.db")}
    out = subprocess.run(FIBRO + ["run"], capture_output=True, text=True, env=env, timeout=10, cwd=tmp_path)
    assert out.returncode == 2
    assert "DISCORD_TOKEN" in out.stderr and secret not in out.stderr + out.stdout


def test_try_json_prints_checked_requests(tmp_path):
    env = {**os.environ, "FIBRO_DB_PATH": str(tmp_path / "unused.db")}
    out = subprocess.run(FIBRO + ["try", "--json", "/about"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    steps = json.loads(out.stdout)
    assert len(steps) == 1 and steps[0]["step"] == "/about"
    assert steps[0]["violations"] == [] and steps[0]["answered"] is True
    callback = steps[0]["requests"][0]
    assert callback["method"] == "POST" and callback["path"].endswith("/callback")
    assert callback["body"]["data"]["allowed_mentions"] == {"parse": []}


def test_try_refuses_a_step_it_cannot_send_as_a_usage_error(tmp_path):
    out = subprocess.run(FIBRO + ["try", "/no-such-command"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2  # the step's mistake, not the bot's (that is 1)
    assert "no /no-such-command command" in out.stdout


def test_ingest_json_on_an_empty_database(tmp_path):
    out = subprocess.run(FIBRO + ["ingest", "--json", "--db", str(tmp_path / "i.db")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert (report["articles"], report["paragraphs"], report["comments"], report["named_comments"]) == (1, 12, 24, 4)
    again = json.loads(subprocess.run(FIBRO + ["ingest", "--json", "--db", str(tmp_path / "i.db")],
                                      capture_output=True, text=True, timeout=60).stdout)
    assert again["loaded"] is False and again["articles"] == 1


@pytest.mark.skipif(OPENAPI_PATH is None, reason="Discord's openapi.json is not beside the project (../shared)")
async def test_openapi_check_is_active(session):
    assert session.emulator.openapi.available
    problems = session.emulator.openapi.check("POST", "/channels/1/messages", {"content": 5})
    assert problems and "content" in problems[0]


async def test_the_readme_first_session_works_as_written(session):
    """The example a new admin copies from the README: every step answered, the post quoted."""
    import re
    import shlex

    from bot.config import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(\.venv/bin/fibrocircle try --db [^\n]*\\\n(?:[^\n]*\\\n)*[^\n]*)\n```", readme).group(1)
    words = shlex.split(block.replace("\\\n", " "))
    steps = [w for w in words[words.index("--db") + 2:]]
    assert len(steps) >= 6
    results = [await step(session, s) for s in steps]
    assert "Cold mornings are the worst for my legs." in results[-1].text()
    assert "this server's community" in results[-1].text()
