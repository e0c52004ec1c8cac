"""Server-side sessions in Redis: id rotation, a per-user list of devices, and a store that
degrades to 'signed out' while Redis is unreachable."""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.stores.redis import RedisStore
from litestar.types import Empty, Message, Scope
from redis.exceptions import RedisError

from app.web.ratelimit import request_ip

log = logging.getLogger("pactline.sessions")

SESSION_COOKIE = "pactline_session"
SESSION_NAMESPACE = "sessions"
DEFAULT_MAX_AGE = 14 * 24 * 3600
REMEMBER_MAX_AGE = 30 * 24 * 3600
_NEW_ID = "pactline.new_session_id"
_OLD_ID = "pactline.old_session_id"


class SessionBackend(ServerSideSessionBackend):
    """Litestar keeps the id from the cookie; we swap in a fresh one when asked (sign-in,
    privilege change), delete the old one, and honour a per-session lifetime."""

    def get_session_id(self, connection: ASGIConnection) -> str:
        return connection.scope.get("state", {}).get(_NEW_ID) or super().get_session_id(connection)

    async def store_in_message(self, scope_session: Any, message: Message, connection: ASGIConnection) -> None:
        if not scope_session and scope_session is not Empty and not connection.cookies.get(self.config.key):
            # A visitor with nothing to remember gets no session (no Redis write, no cookie).
            return
        state = connection.scope.setdefault("state", {})
        old_id = state.pop(_OLD_ID, None)
        if old_id:
            await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
        await super().store_in_message(scope_session, message, connection)

    async def set(self, session_id: str, data: bytes, store) -> None:
        try:
            max_age = int(json.loads(data).get("max_age", self.config.max_age))
        except (ValueError, AttributeError):
            max_age = self.config.max_age
        await store.set(session_id, data, expires_in=max_age)


class SessionConfig(ServerSideSessionConfig):
    _backend_class = SessionBackend


class TolerantRedisStore(RedisStore):
    """Reading a session while Redis is down behaves like having none, so public pages still render."""

    async def get(self, key: str, renew_for: int | None = None) -> bytes | None:
        try:
            return await super().get(key, renew_for=renew_for)
        except (RedisError, OSError) as exc:
            log.warning("session store unavailable: %s", exc)
            return None


def session_id(request: Request) -> str | None:
    return request.scope.get("state", {}).get(_NEW_ID) or request.cookies.get(SESSION_COOKIE)


def rotate_session(request: Request) -> str:
    """Give this browser a new session id on this response and forget the old one."""
    state = request.scope.setdefault("state", {})
    old = request.cookies.get(SESSION_COOKIE)
    if old and _OLD_ID not in state:
        state[_OLD_ID] = old
    state[_NEW_ID] = secrets.token_hex(32)
    return state[_NEW_ID]


def end_session(scope: Scope) -> None:
    scope["session"] = Empty  # type: ignore[typeddict-item]


def _devices_key(user_id: int) -> str:
    return f"user-sessions:{user_id}"


def describe_device(user_agent: str) -> str:
    ua = user_agent.lower()
    browser = next(
        (
            name
            for key, name in (("edg/", "Edge"), ("firefox", "Firefox"), ("chrome", "Chrome"), ("safari", "Safari"))
            if key in ua
        ),
        "Browser",
    )
    system = next(
        (
            name
            for key, name in (
                ("iphone", "iPhone"),
                ("ipad", "iPad"),
                ("android", "Android"),
                ("windows", "Windows"),
                ("mac os", "Mac"),
                ("linux", "Linux"),
            )
            if key in ua
        ),
        "unknown device",
    )
    return f"{browser} on {system}"


async def start_session(
    request: Request, user_id: int, epoch: int, *, remember: bool = False, extra: dict | None = None
) -> None:
    """Sign the browser in: fresh id, user data, and an entry in the user's device list."""
    new_id = rotate_session(request)
    now = int(time.time())
    data = {
        "uid": user_id,
        "epoch": epoch,
        "auth_at": now,
        "seen_at": now,
        "max_age": REMEMBER_MAX_AGE if remember else DEFAULT_MAX_AGE,
        **(extra or {}),
    }
    request.scope["session"] = data  # type: ignore[typeddict-item]
    entry = {
        "device": describe_device(request.headers.get("user-agent", "")),
        "ip": request_ip(request),
        "created_at": now,
        "seen_at": now,
    }
    redis = request.app.state.redis
    await redis.hset(_devices_key(user_id), new_id, json.dumps(entry))
    await redis.expire(_devices_key(user_id), REMEMBER_MAX_AGE)
    old = request.scope["state"].get(_OLD_ID)
    if old:
        await redis.hdel(_devices_key(user_id), old)


async def touch_device(request: Request, user_id: int, sid: str, now: int) -> None:
    redis = request.app.state.redis
    raw = await redis.hget(_devices_key(user_id), sid)
    if raw:
        entry = json.loads(raw)
        entry["seen_at"] = now
        entry["ip"] = request_ip(request)
        await redis.hset(_devices_key(user_id), sid, json.dumps(entry))


@dataclass
class Device:
    session_id: str
    device: str
    ip: str
    created_at: int
    seen_at: int
    current: bool


async def list_devices(request: Request, user_id: int) -> list[Device]:
    """The user's live sessions (entries whose session has expired are dropped)."""
    redis = request.app.state.redis
    current = session_id(request)
    entries = await redis.hgetall(_devices_key(user_id))
    devices = []
    for sid_raw, raw in entries.items():
        sid = sid_raw.decode()
        if not await redis.exists(f"{SESSION_NAMESPACE}:{sid}"):
            await redis.hdel(_devices_key(user_id), sid)
            continue
        entry = json.loads(raw)
        devices.append(Device(sid, entry["device"], entry["ip"], entry["created_at"], entry["seen_at"], sid == current))
    return sorted(devices, key=lambda d: (not d.current, -d.seen_at))


async def revoke_device(request: Request, user_id: int, sid: str) -> bool:
    redis = request.app.state.redis
    if not await redis.hexists(_devices_key(user_id), sid):
        return False
    await redis.delete(f"{SESSION_NAMESPACE}:{sid}")
    await redis.hdel(_devices_key(user_id), sid)
    return True


async def revoke_other_devices(request: Request, user_id: int) -> None:
    current = session_id(request)
    for device in await list_devices(request, user_id):
        if device.session_id != current:
            await revoke_device(request, user_id, device.session_id)
