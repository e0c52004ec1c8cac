"""Who is signed in, and route guards that answer 'sign in first' or 'not found'."""

from __future__ import annotations

import time
from collections.abc import Callable

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from app.accounts.models import Role, User
from app.accounts.sessions import end_session

IDLE_TIMEOUT = 2 * 3600
ABSOLUTE_TIMEOUT = 14 * 24 * 3600


class CurrentUserMiddleware(ASGIMiddleware):
    """Loads the signed-in user into scope["user"] (None for visitors) and ends stale sessions."""

    exclude_opt_key = "skip_session"

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope["user"] = await self._load(scope)
        await next_app(scope, receive, send)

    async def _load(self, scope: Scope) -> User | None:
        session = scope.get("session")
        if not isinstance(session, dict) or "uid" not in session:
            return None
        now = int(time.time())
        fresh = now - int(session.get("seen_at", 0)) <= IDLE_TIMEOUT and now - int(
            session.get("auth_at", 0)
        ) <= int(session.get("max_age", ABSOLUTE_TIMEOUT))
        user = None
        if fresh:
            sessionmaker = scope["app"].state.sessionmaker
            async with sessionmaker() as db:
                user = await db.get(User, int(session["uid"]))
        if user is None or not user.is_active or user.session_epoch != session.get("epoch"):
            end_session(scope)
            return None
        if now - int(session.get("seen_at", 0)) > 60:
            session["seen_at"] = now
        return user


def current_user(connection: ASGIConnection) -> User | None:
    return connection.scope.get("user")


def requires_login(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if current_user(connection) is None:
        raise NotAuthorizedException()


def requires_role(*roles: Role) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    """Visitors are sent to sign in; signed-in users of another role get 404, as if it did not exist."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        user = current_user(connection)
        if user is None:
            raise NotAuthorizedException()
        if user.role not in roles:
            raise NotFoundException()

    return guard
