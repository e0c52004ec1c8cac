"""A real uvicorn server in a subprocess, for SSE and browser tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


RUNNING: set[LiveServer] = set()


@contextlib.contextmanager
def live_servers_paused():
    """Freeze the session's live server processes (SIGSTOP) for a test that must own the outbox:
    their dispatchers poll the same database and would hand its rows to the real queue."""
    paused = [s for s in RUNNING if s.process and s.process.poll() is None]
    for server in paused:
        os.kill(server.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for server in paused:
            os.kill(server.process.pid, signal.SIGCONT)


class LiveServer:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "PORT": str(self.port), "APP_BASE_URL": f"http://127.0.0.1:{self.port}"}
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"live server exited; log:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    RUNNING.add(self)
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"live server did not start; log:\n{self.log_path.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        RUNNING.discard(self)
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()
