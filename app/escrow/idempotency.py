"""Idempotency keys for money-moving POSTs: a key is claimed in its own short transaction before
the work, and the answer the browser got is kept so that a replay gets it back (decision 0032)."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from litestar import Request, Response
from litestar.response import File, Stream
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from app.db import utcnow
from app.escrow.models import IdempotencyKey
from app.web.errors import error_response

log = logging.getLogger("pactline.escrow")

FIELD = "idempotency_key"
"""The form field that carries the key (`forms.idempotency_input()` renders it)."""

KEEP = timedelta(hours=24)
"""Like Stripe: a key (and the answer kept with it) lives for a day, then the purge timer removes it."""

MAX_BODY = 256 * 1024
"""A kept body larger than this is dropped; its status and headers are still kept and replayed."""

KEPT_HEADERS = frozenset({"content-type", "location", "vary", "retry-after"})
"""Headers a replay repeats, besides every `HX-*` one (HX-Redirect, HX-Location, HX-Trigger, …).
Never Set-Cookie: a replay must not hand out a session, and flash messages live in the session."""

OUT_OF_DATE = "This form is out of date. Reload the page and try again."
IN_FLIGHT = "This payment is already being processed. Wait a moment and reload the page."
REUSED = "This form was already used for something else. Reload the page and try again."

_KEY = re.compile(r"[A-Za-z0-9_.:\-]{1,255}")


def new_idempotency_key() -> str:
    """A fresh key for one rendering of a form (32 characters of the allowed alphabet)."""
    return secrets.token_urlsafe(24)


def valid_key(key: object) -> bool:
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def fingerprint_of(scope: str, fields: Mapping[str, str]) -> str:
    """SHA-256 of the scope and the sorted fields: the same request always gives the same hash."""
    canonical = json.dumps([scope, sorted((str(k), str(v)) for k, v in fields.items())], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class _Kept:
    status: int
    headers: dict[str, str]
    body: bytes

    def response(self) -> Response:
        return Response(self.body, status_code=self.status, headers=self.headers)


async def once(
    request: Request,
    *,
    user_id: int,
    key: str | None,
    scope: str,
    fingerprint: Mapping[str, str],
    work: Callable[[], Awaitable[Response]],
) -> Response:
    """Run `work` at most once for `user_id`'s `key` and answer every repeat with its first answer.

    `scope` names the action ("escrow:fund"); `fingerprint` holds the fields that make the request
    what it is (contract, milestones, amount): the same key with other fields is refused (422). A key
    still running answers 409. `work` commits its own transaction and returns a plain response
    (a page, a redirect, an htmx answer); if it raises, the key is released so that a retry runs
    it again (its transaction rolled back, nothing happened) and the exception goes on to the
    app's handlers. A missing or malformed key is refused (400) without running anything."""
    if not valid_key(key):
        return error_response(request, 400, OUT_OF_DATE)
    assert key is not None
    digest = fingerprint_of(scope, fingerprint)
    sessionmaker = request.app.state.sessionmaker

    row_id: int | None = None
    for _ in range(3):  # the row we collided with may be released (deleted) before we read it
        async with sessionmaker() as session, session.begin():
            row_id = await session.scalar(
                insert(IdempotencyKey)
                .values(user_id=user_id, key=key, scope=scope, fingerprint=digest, status="in_flight")
                .on_conflict_do_nothing(index_elements=["user_id", "key"])
                .returning(IdempotencyKey.id)
            )
            if row_id is not None:
                break
            existing = (
                await session.execute(
                    select(
                        IdempotencyKey.scope,
                        IdempotencyKey.fingerprint,
                        IdempotencyKey.status,
                        IdempotencyKey.response_status,
                        IdempotencyKey.response_headers,
                        IdempotencyKey.response_body,
                    ).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
                )
            ).one_or_none()
        if existing is None:
            continue
        if existing.scope != scope or existing.fingerprint != digest:
            return error_response(request, 422, REUSED)
        if existing.status != "done":
            return error_response(request, 409, IN_FLIGHT)
        return _Kept(
            existing.response_status, dict(existing.response_headers or {}), existing.response_body or b""
        ).response()
    if row_id is None:  # claimed and released three times over: someone is hammering this key
        return error_response(request, 409, IN_FLIGHT)

    try:
        response = await work()
        kept = _keep(request, response)
    except BaseException:
        async with sessionmaker() as session, session.begin():
            await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id))
        raise

    body = kept.body
    if len(body) > MAX_BODY:
        log.warning("idempotent answer of %s bytes for %s not kept (over %s)", len(body), scope, MAX_BODY)
        body = b""
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == row_id)
            .values(
                status="done",
                response_status=kept.status,
                response_headers=kept.headers,
                response_body=body,
                finished_at=utcnow(),
            )
        )
    # The browser gets exactly what is kept (a replay sends the same bytes), plus what only the
    # first answer may carry: the cookies and background tasks the work set.
    first = kept.response()
    first.cookies = list(response.cookies)
    first.background = response.background
    return first


def _keep(request: Request, response: Response) -> _Kept:
    """Render `response` the way Litestar will send it (a Template is rendered here, a Redirect gets
    its Location) and keep the status, the replayable headers and the body bytes."""
    if not isinstance(response, Response) or isinstance(response, Stream | File):
        raise TypeError(f"an idempotent action must answer with a plain response, not {type(response).__name__}")
    sent = response.to_asgi_response(None, request)
    headers = {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in sent.headers.headers
        if name.decode("latin-1").lower() in KEPT_HEADERS or name.lower().startswith(b"hx-")
    }
    return _Kept(sent.status_code, headers, bytes(sent.body))


async def purge(sessionmaker, *, older_than: timedelta = KEEP) -> int:
    """Delete keys older than a day (done or not: a key stuck in flight that long belongs to a
    request that died, and its work, if it committed, shows on the page)."""
    async with sessionmaker() as session, session.begin():
        result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - older_than))
    return result.rowcount or 0
