"""A throwaway PostgreSQL cluster on this machine, for the tests and the benchmark.

    with PgCluster.start() as cluster:        # raises PgUnavailable (with the reason) when it cannot
        url = cluster.create_database("t1")   # postgresql://postgres@127.0.0.1:PORT/t1
        ...
    # the server stopped and its folder removed

The cluster lives in a fresh folder under the system's temporary directory: `initdb` there, the
server listening on 127.0.0.1 on a free port and on a unix socket in the same folder, nothing else.
`initdb` refuses to run as root, so as root the folder belongs to the `postgres` user and the
commands run through `runuser -u postgres`; otherwise they run as the current user. Durability is
off by default (fsync, synchronous commit), which makes the tests faster and changes no result;
`durable=True` keeps PostgreSQL's defaults, for measurements.

`python -m tests.pg_cluster` starts one, prints its URL and keeps it until Ctrl-C (for trying the
bot on PostgreSQL by hand).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/usr/pgsql-*/bin")
START_TIMEOUT = 60.0  # a hang guard only: a cluster starts in about two seconds


class PgUnavailable(RuntimeError):
    """No throwaway cluster can be had here; the message says why, in plain words."""


def find_bindir() -> Path | None:
    """The folder with initdb, pg_ctl and postgres: FIBRO_PG_BINDIR, then PATH, then the usual
    packaged places (the newest version first)."""
    given = os.environ.get("FIBRO_PG_BINDIR")
    if given:
        return Path(given) if (Path(given) / "initdb").is_file() else None
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    found = [Path(p) for pattern in SEARCH for p in glob.glob(pattern) if (Path(p) / "initdb").is_file()]

    def version(path: Path) -> tuple[int, ...]:
        digits = "".join(c if c.isdigit() else " " for c in str(path)).split()
        return tuple(int(d) for d in digits)

    return max(found, key=version) if found else None


def problem() -> str | None:
    """Why no cluster can be started here, or None when it is worth trying."""
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        return "the asyncpg package is not installed (pip install -e '.[test]')"
    bindir = find_bindir()
    if bindir is None:
        return "no PostgreSQL server is installed (initdb not found; Debian: apt-get install postgresql)"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing (initdb refuses to run as root)"
        try:
            import pwd
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the server as"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgCluster:
    folder: Path
    bindir: Path
    port: int
    user: str = "postgres"
    as_postgres: bool = False  # the commands run through runuser -u postgres
    _names: int = 0
    _stopped: bool = False

    # -- starting and stopping --------------------------------------------------------
    @classmethod
    def start(cls, *, durable: bool = False, settings: dict[str, str] | None = None) -> "PgCluster":
        """initdb in a fresh folder and start the server; PgUnavailable says why when it cannot."""
        reason = problem()
        if reason:
            raise PgUnavailable(reason)
        bindir = find_bindir()
        assert bindir is not None
        as_postgres = os.geteuid() == 0
        folder = Path(tempfile.mkdtemp(prefix="fibro-pg-"))
        if as_postgres:
            import pwd
            entry = pwd.getpwnam("postgres")
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        cluster = cls(folder=folder, bindir=bindir, port=0, as_postgres=as_postgres)
        try:
            cluster._initdb()
            options = {"listen_addresses": "127.0.0.1", "unix_socket_directories": str(folder),
                       "max_connections": "200", "shared_buffers": "128MB", "logging_collector": "off"}
            if not durable:
                options.update(fsync="off", synchronous_commit="off", full_page_writes="off")
            options.update(settings or {})
            cluster._start(options)
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _run(self, *args: str, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        try:
            done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=timeout, cwd=self.folder)
        except subprocess.TimeoutExpired as exc:
            raise PgUnavailable(f"{args[0]} did not finish within {timeout:.0f} s") from exc
        if done.returncode != 0:
            raise PgUnavailable(f"{args[0]} failed ({done.returncode}): {done.stdout.strip()[-800:]}")
        return done

    def _initdb(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "--encoding=UTF8",
                  "--locale=C.UTF-8", "--no-sync", "--no-instructions")

    def _start(self, options: dict[str, str]) -> None:
        with (self.data / "postgresql.conf").open("a") as conf:
            for name, value in options.items():
                conf.write(f"{name} = '{value}'\n")
        for attempt in range(5):  # another program may take the free port between finding and binding
            self.port = free_port()
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(int(START_TIMEOUT)),
                          "-o", f"-p {self.port}", "start")
                return
            except PgUnavailable:
                if attempt == 4 or "could not bind" not in self.log_tail():
                    raise PgUnavailable(f"the server did not start: {self.log_tail()}") from None

    def stop(self) -> None:
        """Stop the server at once (nothing in it is kept) and remove its folder. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(PgUnavailable):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "PgCluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- where it is --------------------------------------------------------------------
    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def log_tail(self, chars: int = 800) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:].strip()
        except OSError:
            return "(no server log)"

    @property
    def url(self) -> str:
        """The cluster's own `postgres` database, over TCP on 127.0.0.1."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        """A database's URL over TCP on 127.0.0.1, as FIBRO_DATABASE_URL takes it."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def socket_url(self, database: str = "postgres") -> str:
        """The same database over the unix socket in the cluster's folder."""
        return f"postgresql://{self.user}@/{database}?host={self.folder}&port={self.port}"

    # -- databases ----------------------------------------------------------------------
    def create_database(self, name: str | None = None, *, template: str = "template0") -> str:
        """CREATE DATABASE name TEMPLATE template (a fresh name when none is given); its URL. A
        database that is already filled (migrated, seeded) makes a quick template for many tests:
        copying it takes a fraction of a second."""
        if name is None:
            self._names += 1
            name = f"t{os.getpid()}_{self._names}"
        self.sql(f'CREATE DATABASE "{_name(name)}" TEMPLATE "{_name(template)}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """DROP DATABASE, closing whatever connections are still open to it (a bot that crashed)."""
        self.sql(f'DROP DATABASE IF EXISTS "{_name(name)}" WITH (FORCE)')

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement through psql over the cluster's socket; what it printed."""
        command = [str(self.bindir / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", str(self.folder),
                   "-p", str(self.port), "-U", self.user, "-d", database, "-c", statement]
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=START_TIMEOUT)
        if done.returncode != 0:
            raise PgUnavailable(f"{statement.split()[0]} {statement.split()[1]} failed: {done.stdout.strip()[-400:]}")
        return done.stdout.strip()


def _name(name: str) -> str:
    """A database name made of letters, digits and underscores only (they are quoted into SQL)."""
    if not name or not all(c.isalnum() or c == "_" for c in name) or len(name) > 63:
        raise ValueError(f"not a database name for a test cluster: {name!r}")
    return name


def main() -> None:
    try:
        cluster = PgCluster.start()
    except PgUnavailable as exc:
        print(f"no PostgreSQL cluster: {exc}", file=sys.stderr)
        raise SystemExit(1)
    with cluster:
        print(f"PostgreSQL on {cluster.url} (folder {cluster.folder}); Ctrl-C stops it and removes the folder",
              flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
