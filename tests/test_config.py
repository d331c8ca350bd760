import logging

import pytest

from bot.config import PROJECT_ROOT, SETTINGS, TokenFilter, load_config
from bot.errors import SettingError

GOOD_TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAw.abcdef.ghijklmnopqrstuvwxyz0123456"


def test_defaults():
    config = load_config({}, dotenv=False)
    assert config.token is None
    assert config.db_path == PROJECT_ROOT / "data" / "fibrocircle.db"
    assert config.dev_guild_id is None and config.log_level == "INFO"


@pytest.mark.parametrize("env,named", [
    ({"DISCORD_TOKEN": "abc"}, "DISCORD_TOKEN"),
    ({"FIBRO_DEV_GUILD_ID": "my-server"}, "FIBRO_DEV_GUILD_ID"),
    ({"FIBRO_DEV_GUILD_ID": "12"}, "FIBRO_DEV_GUILD_ID"),
    ({"FIBRO_LOG_LEVEL": "LOUD"}, "FIBRO_LOG_LEVEL"),
    ({"FIBRO_DB_PATH": "/"}, "FIBRO_DB_PATH"),
    ({"FIBRO_SHARD_COUNT": "0"}, "FIBRO_SHARD_COUNT"),
    ({"FIBRO_SHARD_COUNT": "eight"}, "FIBRO_SHARD_COUNT"),
    ({"FIBRO_SHARD_IDS": "0-3"}, "FIBRO_SHARD_IDS"),
    ({"FIBRO_SHARD_COUNT": "4", "FIBRO_SHARD_IDS": "2-5"}, "FIBRO_SHARD_IDS"),
    ({"FIBRO_SHARD_COUNT": "4", "FIBRO_SHARD_IDS": "3-1"}, "FIBRO_SHARD_IDS"),
    ({"FIBRO_SHARD_COUNT": "4", "FIBRO_SHARD_IDS": "one"}, "FIBRO_SHARD_IDS"),
])
def test_malformed_settings_are_one_line_errors_naming_the_setting(env, named):
    with pytest.raises(SettingError) as err:
        load_config(env, dotenv=False)
    message = str(err.value)
    assert message.startswith(named) and "\n" not in message
    if "DISCORD_TOKEN" in env:
        assert env["DISCORD_TOKEN"] not in message


def test_shards_default_to_what_discord_recommends_and_take_ranges():
    config = load_config({}, dotenv=False)
    assert (config.shard_count, config.shard_ids) == (None, None)
    config = load_config({"FIBRO_SHARD_COUNT": "16", "FIBRO_SHARD_IDS": "0-3, 8,10-11"}, dotenv=False)
    assert config.shard_count == 16 and config.shard_ids == (0, 1, 2, 3, 8, 10, 11)
    config = load_config({"FIBRO_SHARD_COUNT": "4"}, dotenv=False)
    assert (config.shard_count, config.shard_ids) == (4, None)


def test_token_is_never_shown():
    config = load_config({"DISCORD_TOKEN": GOOD_TOKEN, "FIBRO_DEV_GUILD_ID": "123456789012345678"}, dotenv=False)
    assert config.token == GOOD_TOKEN and config.dev_guild_id == 123456789012345678
    assert GOOD_TOKEN not in repr(config) and GOOD_TOKEN not in str(config)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "connecting with %s", (GOOD_TOKEN,), None)
    TokenFilter(GOOD_TOKEN).filter(record)
    assert GOOD_TOKEN not in record.getMessage()


def test_env_example_lists_every_setting():
    example = (PROJECT_ROOT / ".env.example").read_text()
    readme = (PROJECT_ROOT / "README.md").read_text()
    for name in SETTINGS:
        assert f"\n{name}=" in example
        assert name in readme
