"""`record_event`: the one entry point for security-relevant account history.

Each event is written twice in the caller's transaction: to `account_events` (with the address
and browser, for the console's activity list; personal data that can be purged) and to the
tamper-evident audit chain (what happened, to whom, by whom — no address, since the chain can
never be edited).

Failed sign-ins are not such events: anyone can cause any number of them, for any address. They
go to `record_failed_sign_in` instead — a bounded, expiring table that keeps addresses hashed."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar import Request
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import AccountEvent, FailedSignIn
from app.audit.chain import append
from app.db import utcnow
from app.web.ratelimit import request_ip

MAX_TEXT = 320  # what someone typed (an e-mail, a reason) is kept this long at most


def _bounded(value: Any) -> Any:
    """Typed text is stored bounded and without NUL (JSONB refuses it): a hostile sign-in attempt
    must not put a megabyte into the append-only chain."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")[:MAX_TEXT]
    return value


# Failed sign-ins are kept 30 days, at most 50 per address tried and 100,000 in all; each new row
# trims at most TRIM_BATCH old ones, so the work per failure stays small.
FAILED_SIGN_IN_RETENTION = timedelta(days=30)
FAILED_SIGN_INS_PER_ADDRESS = 50
FAILED_SIGN_INS_TOTAL = 100_000
TRIM_BATCH = 500


@dataclass(frozen=True)
class Origin:
    """Where an action came from: the client's address (as the rate limits see it) and browser.
    Service verbs take it instead of the request."""

    ip: str
    user_agent: str

    @classmethod
    def of(cls, request: Request) -> Origin:
        return cls(request_ip(request), request.headers.get("user-agent") or "")


async def record_event(
    session: AsyncSession,
    kind: str,
    *,
    user_id: int | None = None,
    actor_id: int | None = None,
    request: Request | Origin | None = None,
    **data: Any,
) -> AccountEvent:
    """Add an event to the caller's transaction (it is kept only if that commits). `request` (or
    the `Origin` taken from it) gives the stored address and browser."""
    ip, user_agent = _origin(request)
    data = {key: _bounded(value) for key, value in data.items()}
    event = AccountEvent(
        user_id=user_id,
        actor_id=actor_id if actor_id is not None else user_id,
        kind=kind,
        ip=ip,
        user_agent=user_agent,
        data=data,
    )
    session.add(event)
    await append(
        session,
        kind,
        actor_id=event.actor_id,
        subject_type="user" if user_id is not None else None,
        subject_id=user_id,
        data=data,
    )
    return event


def _origin(request: Request | Origin | None) -> tuple[str | None, str | None]:
    """(address, browser) of the request, each None when unknown or not storable."""
    if request is None:
        return None, None
    origin = request if isinstance(request, Origin) else Origin.of(request)
    try:
        ip: str | None = str(ipaddress.ip_address(origin.ip))
    except ValueError:
        ip = None  # "unknown", or a forwarded hop that is not an address
    return ip, origin.user_agent[:400] or None


def email_hash(normalized_email: str) -> str:
    return hashlib.sha256(normalized_email.encode("utf-8", "surrogatepass")).hexdigest()


async def record_failed_sign_in(
    session: AsyncSession, *, normalized_email: str, step: str, user_id: int | None, request: Request | Origin | None
) -> None:
    """Add a failed sign-in to the caller's transaction and trim the table back to its bounds."""
    ip, user_agent = _origin(request)
    digest = email_hash(normalized_email)
    session.add(FailedSignIn(user_id=user_id, email_hash=digest, step=step, ip=ip, user_agent=user_agent))
    await session.flush()
    await trim_failed_sign_ins(session, digest)


async def trim_failed_sign_ins(session: AsyncSession, digest: str | None = None) -> int:
    """Delete rows past the retention, past the total cap and (given an address hash) past that
    address's cap. Rows another transaction is deleting are skipped, never waited for, so two
    failures at once cannot deadlock here."""
    doomed = [
        select(FailedSignIn.id).where(FailedSignIn.created_at < utcnow() - FAILED_SIGN_IN_RETENTION),
        select(FailedSignIn.id).where(
            FailedSignIn.id <= select(func.max(FailedSignIn.id)).scalar_subquery() - FAILED_SIGN_INS_TOTAL
        ),
    ]
    if digest is not None:
        doomed.append(
            select(FailedSignIn.id)
            .where(FailedSignIn.email_hash == digest)
            .order_by(FailedSignIn.id.desc())
            .offset(FAILED_SIGN_INS_PER_ADDRESS)
        )
    deleted = 0
    for query in doomed:
        ids = query.limit(TRIM_BATCH).with_for_update(skip_locked=True)
        result = await session.execute(delete(FailedSignIn).where(FailedSignIn.id.in_(ids)))
        deleted += result.rowcount or 0
    return deleted
