"""What Discord's client lets through: a step it would refuse (a required option missing, a number
out of range, a form field too short) is refused before any interaction exists, by `try` as a
usage error. Raw mode sends it anyway, as a modified client could, and the bot answers kindly."""

import os
import subprocess
import sys

import pytest

from support import is_ephemeral, step

FIBRO = [sys.executable, "-m", "bot"]
GENERIC = "something went wrong"


@pytest.mark.parametrize("text, reason", [
    ("/quote topic:sleep count:9", "/quote count: the value must be at most 5"),
    ("/quote topic:sleep count:0", "/quote count: the value must be at least 1"),
    ("/quote topic:sleep count:two", "/quote count: a whole number is needed"),
    ("/study ask", "/study ask needs the option question"),
    ("/study ask question:" + "why " * 80, "/study ask question: at most 300 characters are allowed"),
    ("/study summary length:enormous", "/study summary length: pick one of"),
    ("/quote topic:sleep ephemeral:maybe", "/quote ephemeral: True or False is needed"),
])
async def test_the_client_refuses_what_it_would_not_send(session, text, reason):
    sent = len(session.emulator.interactions)
    result = await session.run(text)
    assert result.refused and not result.answered
    assert result.problem.startswith("Discord's client would not send this") and reason in result.problem
    assert len(session.emulator.interactions) == sent, "no interaction reached the bot"


async def test_a_form_field_shorter_than_its_minimum_is_refused(session):
    await step(session, "/share")
    result = await session.run("modal experience=short")
    assert result.refused and "at least 10 characters" in result.problem


async def test_valid_input_is_not_refused(session):
    await step(session, "/quote topic:sleep count:5")
    await step(session, "/study summary length:full")


@pytest.mark.parametrize("text", [
    "/quote topic:sleep count:9",
    "/quote topic:sleep count:-3",
    "/study ask",
    "/study ask question:" + "why " * 80,
    "/study summary length:enormous",
])
async def test_raw_input_a_modified_client_sends_gets_a_kind_answer(session, text):
    result = await session.run(text, raw=True)
    assert not result.refused and result.answered
    assert result.violations == [] and result.errors == [], (result.violations, result.errors)
    assert is_ephemeral(result)
    said = result.text()
    assert said and GENERIC not in said.lower(), said


async def test_a_raw_form_with_a_short_field_gets_a_kind_answer(session):
    await step(session, "/share")
    result = await session.run("modal experience=short anonymous=named", raw=True)
    assert result.answered and result.errors == [] and result.violations == []
    assert GENERIC not in result.text().lower() and "short" in result.text()
    assert await session.bot.db.fetchval("SELECT COUNT(*) FROM posts") == 0


def run_try(*args: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "FIBRO_DB_PATH": str(tmp_path / "unused.db")}
    return subprocess.run(FIBRO + ["try", *args], capture_output=True, text=True, env=env, timeout=120)


def test_try_refuses_as_the_client_would_and_exits_as_a_usage_error(tmp_path):
    out = run_try("/quote topic:sleep count:9", "/study ask", tmp_path=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout.count("Discord's client would not send this") == 2
    assert "must be at most 5" in out.stdout and "needs the option question" in out.stdout
    assert GENERIC not in out.stdout.lower()


def test_try_raw_sends_it_and_the_bot_answers_kindly(tmp_path):
    out = run_try("--raw", "/quote topic:sleep count:9", "/study ask", tmp_path=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "would not send" not in out.stdout and GENERIC not in out.stdout.lower()
