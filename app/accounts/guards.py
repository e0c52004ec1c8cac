"""Who is signed in, and route guards: 'sign in first', 'not found', 'confirm it's you'."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.accounts.models import Role, User, UserStatus
from app.accounts.sessions import (
    DEFAULT_MAX_AGE,
    SessionsUnavailable,
    end_session,
    session_exists,
    session_id,
    session_unreadable,
    touch_device,
)
from app.errors import DomainError, NotFound
from app.notifications.services import unread_query
from app.platform.resources import REDIS_UNAVAILABLE
from app.web.urls import path_for

log = logging.getLogger("pactline.accounts")

IDLE_TIMEOUT = 2 * 3600
STEP_UP_SECONDS = 10 * 60


class CurrentUserMiddleware(ASGIMiddleware):
    """Loads the signed-in user into scope["user"] (None for visitors) and ends stale sessions:
    idle for 2 hours, past their lifetime, suspended, or issued before a password change."""

    exclude_opt_key = "skip_session"

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope["user"] = await self._load(scope)
        await next_app(scope, receive, send)

    async def _load(self, scope: Scope) -> User | None:
        session = scope.get("session")
        if not isinstance(session, dict) or "uid" not in session:
            return None
        now = int(time.time())
        fresh = now - int(session.get("seen_at", 0)) <= IDLE_TIMEOUT and now - int(session.get("auth_at", 0)) <= int(
            session.get("max_age", DEFAULT_MAX_AGE)
        )
        user = None
        if fresh:
            uid = int(session["uid"])
            async with scope["app"].state.sessionmaker() as db:
                if renders_shell(scope):
                    # The bell's unread count comes in the same query as the person: a page
                    # costs no extra round trip for it.
                    row = (
                        await db.execute(select(User, unread_query(uid).scalar_subquery()).where(User.id == uid))
                    ).first()
                    user, unread = row if row is not None else (None, None)
                    scope.setdefault("state", {})["unread_notifications"] = unread
                else:
                    user = await db.get(User, uid)
        if user is not None and not user.is_active:
            end_session(scope)
            scope.setdefault("state", {})["signed_out_reason"] = "suspended"
            return None
        if user is None or user.session_epoch != session.get("epoch"):
            end_session(scope)
            return None
        if now - int(session.get("seen_at", 0)) > 60:
            session["seen_at"] = now
            request = Request(scope)
            sid = session_id(request)
            if sid:
                await touch_device(request, user.id, sid, now)
        return user


def renders_shell(scope: Scope) -> bool:
    """Whether this request may answer with a whole page (the top bar and its bell): not htmx's
    block re-fetches, not the event stream. Plain form posts count: a form with errors re-renders
    its whole page."""
    if scope.get("type") != "http" or scope.get("path") == "/events":
        return False
    for name, value in scope.get("headers") or ():
        if name == b"hx-request" and value == b"true":
            return False
    return True


class UserRechecks:
    """The streams of one process ask for their people's status and session epoch together: the
    asks of a short moment become one query, so thousands of open streams re-checking every
    heartbeat cost a few queries a second, not one per stream (and never a queue for the pool)."""

    GATHER_SECONDS = 0.05

    def __init__(self, sessionmaker) -> None:
        self.sessionmaker = sessionmaker
        self.waiting: dict[int, list[asyncio.Future]] = {}
        self.task: asyncio.Task | None = None

    async def status(self, user_id: int) -> tuple[UserStatus, int] | None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.waiting.setdefault(user_id, []).append(future)
        if self.task is None:
            self.task = loop.create_task(self._run(), name="user-rechecks")
        return await future

    async def _run(self) -> None:
        await asyncio.sleep(self.GATHER_SECONDS)
        batch, self.waiting, self.task = self.waiting, {}, None
        try:
            async with self.sessionmaker() as db:
                rows = {
                    row.id: (row.status, row.session_epoch)
                    for row in await db.execute(
                        select(User.id, User.status, User.session_epoch).where(User.id.in_(list(batch)))
                    )
                }
        except Exception as exc:  # noqa: BLE001 — handed to every asker, who decides
            for futures in batch.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
            return
        for uid, futures in batch.items():
            for future in futures:
                if not future.done():
                    future.set_result(rows.get(uid))


def still_signed_in(connection: ASGIConnection) -> Callable[[], Awaitable[bool]]:
    """For requests that outlive a page (the event stream): a check, to run every so often, that
    this browser is still signed in as the same person. False once the session was ended (sign-out,
    "sign out" of this device from another one), the person's sessions were all ended (password
    changed or reset, which also bumps the epoch) or the person was suspended.

    A store that cannot be asked does not end the stream: whatever it would have told us (a sign-out
    or a device revoked) could not have been recorded in it either, and the database check holds."""
    app = connection.scope["app"]
    user = current_user(connection)
    assert user is not None
    user_id, epoch = user.id, user.session_epoch
    sid = session_id(Request(connection.scope))

    rechecks = getattr(app.state, "user_rechecks", None)
    if rechecks is None:
        rechecks = app.state.user_rechecks = UserRechecks(app.state.sessionmaker)

    async def check() -> bool:
        try:
            row = await rechecks.status(user_id)
            if row is None or row[0] != UserStatus.active or row[1] != epoch:
                return False
        except (SQLAlchemyError, OSError) as exc:
            log.warning("could not re-check a live stream's user: %s", exc)
        if sid is None:
            return False
        try:
            return await session_exists(app.state.redis, sid)
        except REDIS_UNAVAILABLE:
            return True

    return check


def current_user(connection: ASGIConnection) -> User | None:
    return connection.scope.get("user")


# Handlers ask for who is signed in by name, like `db: DB`: `user: CurrentUser` behind a sign-in
# guard, `viewer: Viewer` on pages visitors see too.
CurrentUser = NamedDependency[User]
Viewer = NamedDependency[User | None]


def provide_user(request: Request) -> User:
    """The `user` dependency: the signed-in person, for handlers behind a sign-in guard.
    Without a guard a visitor gets the same "sign in first" answer the guard gives."""
    user = current_user(request)
    if user is None:
        raise _sign_in_first(request)
    return user


def provide_viewer(request: Request) -> User | None:
    """The `viewer` dependency: whoever is looking at a page visitors may see too (None for them)."""
    return current_user(request)


def _sign_in_first(connection: ASGIConnection) -> Exception:
    if session_unreadable(connection.scope):
        # The browser may well be signed in; we cannot tell until Redis answers. Not "sign in
        # again" (that would fail too), and the cookie is kept.
        return SessionsUnavailable()
    reason = connection.scope.get("state", {}).get("signed_out_reason")
    return NotAuthorizedException(detail=reason or "")


def requires_login(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if current_user(connection) is None:
        raise _sign_in_first(connection)


def requires_role(*roles: Role) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    """Visitors are sent to sign in; signed-in users of another role get 404, as if it did not exist."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        user = current_user(connection)
        if user is None:
            raise _sign_in_first(connection)
        if user.role not in roles:
            raise NotFound()

    return guard


class MFARequired(Exception):
    """An admin page was asked for by an admin who has not passed two-step sign-in."""

    def __init__(self, enrolled: bool, target: str) -> None:
        self.enrolled = enrolled
        self.target = target


def requires_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Admins only (others: 404), and only after two-step sign-in in this session."""
    requires_role(Role.admin)(connection, _)
    user = current_user(connection)
    assert user is not None
    if not connection.scope.get("session", {}).get("mfa_at"):
        raise MFARequired(enrolled=user.mfa_enabled_at is not None, target=connection.url.path)


def requires_login_admins_mfa(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Signed-in people; an admin (who may open other people's records) only after two-step sign-in."""
    requires_login(connection, _)
    user = current_user(connection)
    if user is not None and user.role == Role.admin:
        requires_admin(connection, _)


class StepUpRequired(Exception):
    def __init__(self, target: str) -> None:
        self.target = target


def requires_recent_auth(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Sensitive actions (e-mail, password, two-step sign-in, payout details, creating admins,
    suspending people) need a fresh confirmation: the code or password on /settings/confirm."""
    requires_login(connection, _)
    session = connection.scope.get("session", {})
    confirmed = int(session.get("reauth_at", 0))
    user = current_user(connection)
    if user is not None and user.password_hash is None and user.mfa_enabled_at is None:
        # Signed up with Google or LinkedIn and nothing else to ask for: a sign-in through the
        # provider in the last 10 minutes is the confirmation (the confirm page says so).
        confirmed = max(confirmed, int(session.get("auth_at", 0)))
    if time.time() - confirmed > STEP_UP_SECONDS:
        target = connection.url.path + (f"?{connection.url.query}" if connection.url.query else "")
        raise StepUpRequired(target)


def with_next(path: str, target: str, **params: str) -> str:
    """`path` with the same-site page to come back to (`?…&next=…`), after any other parameters."""
    query = [f"{name}={quote(value, safe='/')}" for name, value in params.items()]
    query.append(f"next={quote(target, safe='/')}")
    return path + "?" + "&".join(query)


def confirm_url(target: str) -> str:
    """The step-up page, coming back to `target` once confirmed."""
    return with_next(path_for("settings:confirm"), target)


class EmailNotVerified(DomainError):
    title = "Please confirm your e-mail address first"


def ensure_verified(user: User) -> None:
    """Money and signatures need a confirmed address: call before funding, signing or paying out."""
    if user.email_verified_at is None:
        raise EmailNotVerified(
            "Please confirm your e-mail address first: open the link we sent you, or ask for a new one at the top of the page."
        )
