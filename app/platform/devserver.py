"""`make dev`: embedded services, migrations, demo data, then web + worker in one process.

Before anything starts it makes sure it is the only `make dev` of this data directory (a lock
file the kernel releases when the process dies, however it dies) and that its port is free (the
socket is bound then and handed to uvicorn, so nobody can take the port in between)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import json
import os
import signal
import socket
from pathlib import Path

import uvicorn

from app.config import data_dir, load_settings
from app.platform.embedded import DEV_DEPENDENCIES, ServiceError, services_for
from app.platform.migrate import upgrade

LOCK_FILE = "dev.lock"


def run_dev(port: int, host: str = "127.0.0.1") -> None:
    environment = os.environ.get("ENVIRONMENT", "").strip().lower()
    if environment not in ("", "development"):
        raise ServiceError(
            f"`pactline dev` runs the development server (demo data, /dev/mail), but ENVIRONMENT={environment}. "
            "Unset ENVIRONMENT to use it; in production run uvicorn and `pactline worker` (see the Procfile)."
        )
    os.environ["ENVIRONMENT"] = "development"
    data = data_dir()
    # SIGTERM ends the process like Ctrl-C does, so every `finally` below runs.
    signal.signal(signal.SIGTERM, _interrupt)
    with dev_lock(data) as lock, bound_socket(host, port) as listener:
        lock.claim(port)
        with services_for(data):
            catcher = None
            if not os.environ.get("SMTP_URL"):
                catcher = _mail_catcher(data / "mail")
                catcher.start()
                os.environ["SMTP_URL"] = catcher.url
            os.environ.setdefault("RUN_WORKER_IN_PROCESS", "1")
            os.environ.setdefault("PORT", str(port))
            try:
                settings = load_settings()
                upgrade(settings)
                asyncio.run(_seed(settings))
                from app.asgi import create_app

                config = uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning", lifespan="on")
                # uvicorn re-raises the Ctrl-C it handled once it has shut down; that is the normal way out.
                with contextlib.suppress(KeyboardInterrupt):
                    _DevServer(config, f"http://{host}:{port}").run(sockets=[listener])
            finally:
                # Stopping must finish: a second Ctrl-C (or the one `uv run` forwards when no terminal
                # delivered the first) would otherwise break off the shutdown of Postgres and Redis.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                if catcher is not None:
                    catcher.stop()


class _DevServer(uvicorn.Server):
    """Says "running" once the app has started and listens, not before."""

    def __init__(self, config: uvicorn.Config, url: str) -> None:
        super().__init__(config)
        self.url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            print(f"\n  Pactline is running at {self.url}  (Ctrl-C stops everything)\n", flush=True)


class _DevLock:
    def __init__(self, handle) -> None:
        self._handle = handle

    def claim(self, port: int) -> None:
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(json.dumps({"pid": os.getpid(), "port": port}))
        self._handle.flush()


@contextlib.contextmanager
def dev_lock(data: Path):
    """One `make dev` per data directory: a second one would share the first one's Postgres and
    Redis and break when the first stops. The lock is an flock, so a killed holder releases it."""
    data.mkdir(parents=True, exist_ok=True)
    path = data / LOCK_FILE
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = _read_holder(handle.read())
        handle.close()
        where = f"on port {holder['port']} (pid {holder['pid']})" if holder else "(starting up)"
        raise ServiceError(
            f"Pactline is already running {where} with the data in {data}.\n"
            + (f"Open http://127.0.0.1:{holder['port']}, or stop" if holder else "Stop")
            + " it (Ctrl-C in its terminal) before starting another; "
            "a second copy needs its own data: PACTLINE_DATA_DIR=.data-2 PORT=9000 make dev"
        ) from None
    try:
        yield _DevLock(handle)
    finally:
        # Never unlink a lock file: another process may be waiting on this very inode.
        handle.seek(0)
        handle.truncate()
        handle.close()


def _read_holder(text: str) -> dict | None:
    try:
        holder = json.loads(text)
        return {"pid": int(holder["pid"]), "port": int(holder["port"])}
    except (ValueError, KeyError, TypeError):
        return None


@contextlib.contextmanager
def bound_socket(host: str, port: int):
    """Bind and listen on (host, port) now, before any service starts; uvicorn serves on this socket."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As uvicorn does: a port whose last connections linger in TIME_WAIT is free, one with a listener is not.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServiceError(
                f"Port {port} is in use by another program, so Pactline did not start anything.\n"
                f"Stop that program, or pick another port: PORT={_free_port_near(host, port)} make dev"
            ) from None
        raise ServiceError(f"Cannot listen on {host}:{port}: {exc.strerror}") from None
    try:
        yield sock
    finally:
        sock.close()


def _free_port_near(host: str, port: int) -> int:
    for candidate in [9000, *range(port + 1, port + 50)]:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, candidate))
                probe.listen(1)
            except OSError:
                continue
            return candidate
    return 9000


def _mail_catcher(directory: Path):
    try:
        from app.mail.catcher import MailCatcher

        return MailCatcher(directory)
    except ImportError as exc:
        raise ServiceError(DEV_DEPENDENCIES.format(what="mail catcher", variable="SMTP_URL")) from exc


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


async def _seed(settings) -> None:
    from app.platform.resources import Resources
    from app.platform.seed import demo_seed

    resources = Resources.create(settings)
    try:
        await demo_seed(resources)
    finally:
        await resources.close()
