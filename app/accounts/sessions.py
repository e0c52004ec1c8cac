"""Server-side sessions in Redis: id rotation, a per-user list of devices, and a backend that
keeps its hands off the cookie while Redis is unreachable."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import Empty, Message, Scope
from litestar.utils.dataclass import extract_dataclass_items

from app.platform.resources import REDIS_UNAVAILABLE
from app.web.ratelimit import request_ip

log = logging.getLogger("pactline.sessions")

SESSION_COOKIE = "pactline_session"
SESSION_NAMESPACE = "sessions"
DEFAULT_MAX_AGE = 14 * 24 * 3600
REMEMBER_MAX_AGE = 30 * 24 * 3600
_NEW_ID = "pactline.new_session_id"
_OLD_ID = "pactline.old_session_id"
_UNREADABLE = "pactline.session_unreadable"
# Ids are secrets.token_hex(32); anything else in the cookie is not ours and never reaches Redis.
_SESSION_ID = re.compile(r"[0-9a-f]{64}")


class SessionsUnavailable(Exception):
    """A page that needs to know who is signed in, while the session store cannot be read."""


def _cookie_id(connection: ASGIConnection, key: str) -> str | None:
    value = connection.cookies.get(key)
    return value if value and _SESSION_ID.fullmatch(value) else None


def session_unreadable(scope: Scope) -> bool:
    """True when this request carried a session cookie that could not be read (Redis down)."""
    return bool(scope.get("state", {}).get(_UNREADABLE))


class SessionBackend(ServerSideSessionBackend):
    """Litestar keeps the id from the cookie; we swap in a fresh one when asked (sign-in,
    privilege change), delete the old one, and honour a per-session lifetime.

    While Redis is unreachable the request goes on as a visitor's (public pages render, pages that
    need a signed-in person answer 503 through `SessionsUnavailable`) and the cookie is left as
    it is, so the session is there again when Redis returns. Signing out still makes the browser
    forget its id."""

    def get_session_id(self, connection: ASGIConnection) -> str:
        return (
            connection.scope.get("state", {}).get(_NEW_ID)
            or _cookie_id(connection, self.config.key)
            or self.generate_session_id()
        )

    async def load_from_connection(self, connection: ASGIConnection) -> dict[str, Any]:
        sid = _cookie_id(connection, self.config.key)
        if sid is None:
            return {}
        try:
            data = await self.get(sid, store=self.config.get_store_from_app(connection.scope["app"]))
        except (*REDIS_UNAVAILABLE, OSError) as exc:
            log.warning("session store unavailable: %s", exc)
            connection.scope.setdefault("state", {})[_UNREADABLE] = True
            return {}
        return self.deserialize_data(data) if data is not None else {}

    async def store_in_message(self, scope_session: Any, message: Message, connection: ASGIConnection) -> None:
        state = connection.scope.setdefault("state", {})
        has_cookie = connection.cookies.get(self.config.key) is not None
        ending = scope_session is Empty or (not scope_session and has_cookie and _NEW_ID not in state)
        if not scope_session and not ending:
            return  # a visitor with nothing to remember gets no session (no Redis write, no cookie)
        if state.get(_UNREADABLE) and scope_session is not Empty:
            return  # we never saw this session: leave the cookie alone, it works again when Redis is back
        store = self.config.get_store_from_app(connection.scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        cookie_params = dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))
        old_id = state.pop(_OLD_ID, None)
        try:
            if old_id:
                await self.delete(old_id, store=store)
            if ending:
                if sid := _cookie_id(connection, self.config.key):
                    await self.delete(sid, store=store)
            else:
                sid = self.get_session_id(connection)
                await self.set(sid, self.serialize_data(scope_session, connection.scope), store=store)
                headers.add("Set-Cookie", Cookie(value=sid, key=self.config.key, **cookie_params).to_header(header=""))
        except (*REDIS_UNAVAILABLE, OSError) as exc:
            # The page was already decided (and any database change committed): send it. A session
            # we could not save is simply not handed out; the browser keeps the cookie it had.
            log.warning("session store unavailable while saving: %s", exc)
        if ending:
            # Signing out always reaches the browser; a record we could not delete expires on its own.
            headers.add(
                "Set-Cookie",
                Cookie(value="null", key=self.config.key, expires=0, **cookie_params).to_header(header=""),
            )

    async def set(self, session_id: str, data: bytes, store) -> None:
        try:
            max_age = int(json.loads(data).get("max_age", self.config.max_age))
        except (ValueError, AttributeError):
            max_age = self.config.max_age
        await store.set(session_id, data, expires_in=max_age)


class SessionConfig(ServerSideSessionConfig):
    _backend_class = SessionBackend


def session_id(request: Request) -> str | None:
    """This browser's session id: the one issued on this response, else the cookie's (if well-formed)."""
    return request.scope.get("state", {}).get(_NEW_ID) or _cookie_id(request, SESSION_COOKIE)


async def session_exists(redis, sid: str) -> bool:
    """Whether the session is still in the store (signing out or revoking a device deletes it)."""
    return bool(await redis.exists(f"{SESSION_NAMESPACE}:{sid}"))


def rotate_session(request: Request) -> str:
    """Give this browser a new session id on this response and forget the old one."""
    state = request.scope.setdefault("state", {})
    old = _cookie_id(request, SESSION_COOKIE)
    if old and _OLD_ID not in state:
        state[_OLD_ID] = old
    state[_NEW_ID] = secrets.token_hex(32)
    return state[_NEW_ID]


def replace_session(request: Request, data: dict[str, Any]) -> None:
    """Pre-sign-in state (a pending second step, a pending link) on a fresh session id: a planted
    (fixed) session id must not carry it."""
    rotate_session(request)
    request.scope["session"] = data  # type: ignore[typeddict-item]


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
    """Note when and where a device was last seen: a nicety, so a failure does not hold up the page."""
    redis = request.app.state.redis
    try:
        raw = await redis.hget(_devices_key(user_id), sid)
        if raw:
            entry = json.loads(raw)
            entry["seen_at"] = now
            entry["ip"] = request_ip(request)
            await redis.hset(_devices_key(user_id), sid, json.dumps(entry))
    except REDIS_UNAVAILABLE as exc:
        log.warning("device list not updated: %s", exc)


def device_handle(secret_key: str, sid: str) -> str:
    """What the devices page shows and posts for a session: it names the session without being
    the cookie, so the page's HTML (cached, saved, screenshotted, read by an extension) cannot be
    replayed as a sign-in."""
    return hmac.new(secret_key.encode(), f"device:{sid}".encode(), hashlib.sha256).hexdigest()[:32]


_HANDLE = re.compile(r"[0-9a-f]{32}")


@dataclass
class Device:
    handle: str
    device: str
    ip: str
    created_at: int
    seen_at: int
    current: bool


async def _live_sessions(request: Request, user_id: int) -> dict[str, dict]:
    """Session id -> device entry for the user's sessions that still exist (expired ones are dropped)."""
    redis = request.app.state.redis
    live = {}
    for sid_raw, raw in (await redis.hgetall(_devices_key(user_id))).items():
        sid = sid_raw.decode()
        if not await session_exists(redis, sid):
            await redis.hdel(_devices_key(user_id), sid)
            continue
        live[sid] = json.loads(raw)
    return live


async def list_devices(request: Request, user_id: int) -> list[Device]:
    """The user's signed-in devices, this one first, each named by its handle."""
    secret = request.app.state.settings.secret_key
    current = session_id(request)
    devices = [
        Device(device_handle(secret, sid), e["device"], e["ip"], e["created_at"], e["seen_at"], sid == current)
        for sid, e in (await _live_sessions(request, user_id)).items()
    ]
    return sorted(devices, key=lambda d: (not d.current, -d.seen_at))


async def _end(request: Request, user_id: int, sid: str) -> None:
    redis = request.app.state.redis
    await redis.delete(f"{SESSION_NAMESPACE}:{sid}")
    await redis.hdel(_devices_key(user_id), sid)


async def revoke_device(request: Request, user_id: int, handle: str) -> bool:
    """Sign out the user's own device with this handle. False when no device of theirs has it
    (another person's handle, an expired session, anything malformed)."""
    if not _HANDLE.fullmatch(handle):
        return False
    secret = request.app.state.settings.secret_key
    redis = request.app.state.redis
    for sid_raw in await redis.hkeys(_devices_key(user_id)):
        sid = sid_raw.decode()
        if hmac.compare_digest(device_handle(secret, sid), handle):
            await _end(request, user_id, sid)
            return True
    return False


async def revoke_other_devices(request: Request, user_id: int) -> int:
    """Sign out every device of the user but this one; returns how many were signed out."""
    current = session_id(request)
    others = [sid for sid in await _live_sessions(request, user_id) if sid != current]
    for sid in others:
        await _end(request, user_id, sid)
    return len(others)
