"""Development SMTP catcher: a real SMTP server on loopback that files messages under .data/mail.

The server side needs aiosmtpd, a development dependency, imported only when a catcher starts;
reading caught messages (the /dev/mail pages) needs nothing beyond the standard library."""

from __future__ import annotations

import email
import email.policy
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


class _FileHandler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook name)
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        (self.directory / name).write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


class MailCatcher:
    def __init__(self, directory: Path, port: int = 0) -> None:
        from aiosmtpd.controller import Controller

        self.directory = directory
        self._controller = Controller(_FileHandler(directory), hostname="127.0.0.1", port=port or _free_port())

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self._controller.port}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class CaughtMail:
    id: str
    received_at: datetime
    sender: str
    recipients: list[str]
    subject: str
    text: str
    html: str | None


def read_caught(directory: Path, limit: int = 100) -> list[CaughtMail]:
    if not directory.exists():
        return []
    files = sorted(directory.glob("*.eml"), reverse=True)[:limit]
    return [parse_caught(path) for path in files]


def parse_caught(path: Path) -> CaughtMail:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    return CaughtMail(
        id=path.stem,
        received_at=datetime.fromtimestamp(int(path.stem.split("-")[0]) / 1e9, UTC),
        sender=str(msg.get("From", "")),
        recipients=[a.strip() for a in str(msg.get("To", "")).split(",") if a.strip()],
        subject=str(msg.get("Subject", "")),
        text=text_part.get_content() if text_part else "",
        html=html_part.get_content() if html_part else None,
    )
