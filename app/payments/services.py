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

# What each event type is about: "payment", "payout" or "payout_account". Its object is re-read
# from the provider and applied; other types are recorded only. Each provider's own names.
SANDBOX_EVENT_KINDS = {
    "payment.succeeded": "payment",
    "payment.failed": "payment",
    "payout.paid": "payout",
    "payout.failed": "payout",
    "payout_account.updated": "payout_account",
}

# Stripe (decision 0038). Every checkout.session.* and payment_intent.* event re-reads the same
# payment (the session, found from its PaymentIntent when need be), so their order never matters.
# Payout and account events come from connected accounts: the event's `account` says whose.
STRIPE_EVENT_KINDS = {
    "checkout.session.completed": "payment",
    "checkout.session.async_payment_succeeded": "payment",
    "checkout.session.async_payment_failed": "payment",
    "checkout.session.expired": "payment",
    "payment_intent.succeeded": "payment",
    "payment_intent.payment_failed": "payment",
    "payment_intent.requires_action": "payment",
    "payout.paid": "payout",
    "payout.failed": "payout",
    "account.updated": "payout_account",
}


class BadEvent(ValueError):
    """A signed body that is not an event we can read."""


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    object_id: str
    payload: dict[str, Any]
    account: str | None = None  # a Stripe connected account's event: that account's id


def _short_text(value: Any, limit: int) -> str:
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        raise BadEvent("not a short printable string")
    return value


def parse_event(body: bytes) -> Event:
    """`{"id", "type", "created", "data": {"object": {"id"}}}` (Stripe's shape, with `account`
    for a connected account's event), or BadEvent."""
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
        object_id=_short_text(obj.get("id"), 255),
        payload=payload,
        account=_short_text(payload["account"], 255) if payload.get("account") is not None else None,
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


def kind_of(event: Event) -> str | None:
    """What the event is about ("payment", "payout", "payout_account"); None: recorded only."""
    kind = SANDBOX_EVENT_KINDS.get(event.type) or STRIPE_EVENT_KINDS.get(event.type)
    if kind == "payment" and event.account:
        return None  # a connected account's own payment: ours are all made on the platform account
    return kind


Found = Payment | ProviderPayout | PayoutAccount


async def fetch_object(provider: PaymentProvider, event: Event) -> Found | None:
    """Step (b), no transaction: what the event is about, re-read from the provider now (never
    taken from the event's body). None for an event type that changes nothing here."""
    kind = kind_of(event)
    if kind == "payment":
        return await provider.retrieve(event.object_id)
    if kind == "payout":
        # Stripe's payout lives on the connected account: the adapter's id names both.
        payout_id = f"{event.account}/{event.object_id}" if event.account else event.object_id
        return await provider.retrieve_payout(payout_id)
    if kind == "payout_account":
        return await provider.retrieve_payout_account(event.object_id)
    return None


async def apply_object(db: AsyncSession, found: Found, *, provider: str) -> None:
    """Step (c), in the caller's transaction: apply what `provider` said."""
    if isinstance(found, Payment):
        await apply_payment(db, found)
    elif isinstance(found, ProviderPayout):
        from app.payouts.services import apply_payout

        await apply_payout(db, found)
    elif isinstance(found, PayoutAccount):
        from app.payouts.services import apply_payout_account

        await apply_payout_account(db, provider, found)
