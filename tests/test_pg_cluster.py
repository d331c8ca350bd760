"""The throwaway PostgreSQL cluster the tests on PostgreSQL run against (tests/pg_cluster.py)."""

from __future__ import annotations

import time

import pytest

import pg_cluster


async def test_the_cluster_answers_on_loopback_and_on_its_socket(pg_server, pg_url):
    import asyncpg

    assert pg_url.startswith(f"postgresql://postgres@127.0.0.1:{pg_server.port}/")
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SELECT 1") == 1
        # Only loopback and the socket in its own folder: nothing listens anywhere else.
        assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
        assert await conn.fetchval("SHOW unix_socket_directories") == str(pg_server.folder)
        assert await conn.fetchval("SELECT current_database()") == pg_url.rsplit("/", 1)[1]
        await conn.execute("CREATE TABLE t(x int)")
    finally:
        await conn.close()
    conn = await asyncpg.connect(pg_server.socket_url(pg_url.rsplit("/", 1)[1]))
    try:
        # The same database over the socket; the table made above is there, and other tests'
        # databases are not this one.
        assert await conn.fetchval("SELECT count(*) FROM t") == 0
    finally:
        await conn.close()


async def test_each_test_gets_an_empty_database(pg_url):
    import asyncpg

    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    finally:
        await conn.close()


async def test_a_filled_database_is_a_template_for_others(pg_server):
    import asyncpg

    source = pg_server.create_database("template_check")
    conn = await asyncpg.connect(source)
    await conn.execute("CREATE TABLE kept(x int); INSERT INTO kept VALUES (7)")
    await conn.close()
    try:
        copy = pg_server.create_database("template_copy", template="template_check")
        conn = await asyncpg.connect(copy)
        try:
            assert await conn.fetchval("SELECT x FROM kept") == 7
        finally:
            await conn.close()
    finally:
        pg_server.drop_database("template_copy")
        pg_server.drop_database("template_check")


def test_a_stopped_cluster_leaves_nothing_behind():
    if pg_cluster.problem():
        pytest.skip(pg_cluster.problem())
    cluster = pg_cluster.PgCluster.start()
    folder, pid_file = cluster.folder, cluster.data / "postmaster.pid"
    pid = int(pid_file.read_text().split()[0])
    cluster.stop()
    assert not folder.exists()
    # The server removes its pid file just before it exits: give it that moment (a hang guard only).
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_where_postgresql_is_installed_the_cluster_is_had():
    """On this image and in CI the tests on PostgreSQL must run, not be skipped: a server that is
    installed but does not start is a failure, not a reason to skip."""
    if pg_cluster.find_bindir() is None:
        pytest.skip("no PostgreSQL server is installed here")
    assert pg_cluster.problem() is None
    with pg_cluster.PgCluster.start() as cluster:
        assert cluster.port > 0


def test_names_that_are_not_plain_are_refused():
    with pytest.raises(ValueError):
        pg_cluster._name('x"; DROP DATABASE postgres; --')
