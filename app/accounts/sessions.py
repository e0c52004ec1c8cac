"""Server-side sessions in Redis, with id rotation and a store that degrades when Redis is down."""

from __future__ import annotations

import logging
import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.redis import RedisStore
from litestar.types import Empty, Message, Scope
from redis.exceptions import RedisError

log = logging.getLogger("pactline.sessions")

_NEW_ID = "pactline.new_session_id"
_ROTATE = "pactline.rotate_session"

SESSION_COOKIE = "pactline_session"


class SessionBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: ASGIConnection) -> str:
        new_id = connection.scope.get("state", {}).get(_NEW_ID)
        return new_id or super().get_session_id(connection)

    async def store_in_message(self, scope_session: Any, message: Message, connection: ASGIConnection) -> None:
        state = connection.scope.setdefault("state", {})
        if state.pop(_ROTATE, False) and _NEW_ID not in state:
            old_id = connection.cookies.get(self.config.key)
            if old_id:
                await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
            state[_NEW_ID] = self.generate_session_id()
        await super().store_in_message(scope_session, message, connection)


class SessionConfig(ServerSideSessionConfig):
    _backend_class = SessionBackend


def rotate_session(scope: Scope) -> None:
    """Issue a fresh session id on this response and forget the old one (sign-in, privilege change)."""
    scope.setdefault("state", {})[_ROTATE] = True


def end_session(scope: Scope) -> None:
    scope["session"] = Empty  # type: ignore[typeddict-item]


def start_session(scope: Scope, user_id: int, epoch: int) -> None:
    now = int(time.time())
    rotate_session(scope)
    session = dict(scope.get("session") or {})
    session.update({"uid": user_id, "epoch": epoch, "auth_at": now, "seen_at": now})
    scope["session"] = session  # type: ignore[typeddict-item]


class TolerantRedisStore(RedisStore):
    """Reading a session while Redis is down behaves like having none, so public pages still render."""

    async def get(self, key: str, renew_for: int | None = None) -> bytes | None:
        try:
            return await super().get(key, renew_for=renew_for)
        except (RedisError, OSError) as exc:
            log.warning("session store unavailable: %s", exc)
            return None
