"""Handling a payment provider's webhook in three steps, none holding a transaction across the
network (decision 0031): record the event (its own short transaction), re-read the payment from
the provider (no transaction), apply it to escrow and mark the event processed (a new one)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.escrow.funding import apply_payment
from app.payments.models import WebhookEvent
from app.payments.provider import Payment, PaymentProvider, PayoutAccount, ProviderPayout

# What each event type is about; its object is re-read from the provider and applied. Other
# types are recorded only. Sandbox and Stripe types side by side: the provider's own names.
PAYMENT_EVENTS = (
    "payment.succeeded",
    "payment.failed",
)
PAYOUT_EVENTS = ("payout.paid", "payout.failed")  # → retrieve_payout → payouts.apply_payout
PAYOUT_ACCOUNT_EVENTS = ("payout_account.updated",)  # → retrieve_payout_account → apply_payout_account


class BadEvent(ValueError):
    """A signed body that is not an event we can read."""


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    object_id: str
    payload: dict[str, Any]


def _short_text(value: Any, limit: int) -> str:
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        raise BadEvent("not a short printable string")
    return value


def parse_event(body: bytes) -> Event:
    """`{"id", "type", "created", "data": {"object": {"id"}}}` (Stripe's shape), or BadEvent."""
    try:
        payload = json.loads(body)
        # Postgres stores neither a lone surrogate nor a NUL in JSONB: refuse them here, not there.
        json.dumps(payload, ensure_ascii=False).encode()
    except (ValueError, RecursionError) as exc:
        raise BadEvent("not JSON") from exc
    if not isinstance(payload, dict) or "\\u0000" in json.dumps(payload):
        raise BadEvent("not an event")
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise BadEvent("no data.object")
    return Event(
        id=_short_text(payload.get("id"), 255),
        type=_short_text(payload.get("type"), 100),
        object_id=_short_text(obj.get("id"), 40),
        payload=payload,
    )


async def record_event(sessionmaker: async_sessionmaker[AsyncSession], provider: str, event: Event) -> bool:
    """Step (a), its own short transaction: the event's row, written once per id. False when it
    was processed before (a duplicate); True when it is to be handled now — new, or recorded by
    an earlier attempt that failed before it finished (handling is idempotent)."""
    async with sessionmaker() as db, db.begin():
        await db.execute(
            insert(WebhookEvent)
            .values(provider=provider, event_id=event.id, type=event.type, payload=event.payload)
            .on_conflict_do_nothing(constraint="uq_payment_webhook_events_provider_event")
        )
        processed_at = await db.scalar(
            select(WebhookEvent.processed_at).where(
                WebhookEvent.provider == provider, WebhookEvent.event_id == event.id
            )
        )
    return processed_at is None


async def mark_processed(db: AsyncSession, provider: str, event_id: str) -> None:
    """In the transaction that applied the event: from now on it is answered as a duplicate."""
    await db.execute(
        update(WebhookEvent)
        .where(
            WebhookEvent.provider == provider, WebhookEvent.event_id == event_id, WebhookEvent.processed_at.is_(None)
        )
        .values(processed_at=utcnow())
    )


@dataclass(frozen=True)
class AccountOf:
    """A payout account as re-read from the provider, with the provider's name (its id is theirs)."""

    provider: str
    account: PayoutAccount


async def fetch_object(provider: PaymentProvider, event: Event) -> Payment | ProviderPayout | AccountOf | None:
    """Step (b), no transaction: what the event is about, re-read from the provider now (never
    taken from the event's body). None for an event type that changes nothing here."""
    if event.type in PAYMENT_EVENTS:
        return await provider.retrieve(event.object_id)
    if event.type in PAYOUT_EVENTS:
        return await provider.retrieve_payout(event.object_id)
    if event.type in PAYOUT_ACCOUNT_EVENTS:
        return AccountOf(provider.name, await provider.retrieve_payout_account(event.object_id))
    return None


async def apply_object(db: AsyncSession, found: Payment | ProviderPayout | AccountOf) -> None:
    """Step (c), in the caller's transaction: apply what the provider said."""
    if isinstance(found, Payment):
        await apply_payment(db, found)
    elif isinstance(found, ProviderPayout):
        from app.payouts.services import apply_payout

        await apply_payout(db, found)
    elif isinstance(found, AccountOf):
        from app.payouts.services import apply_payout_account

        await apply_payout_account(db, found.provider, found.account)
