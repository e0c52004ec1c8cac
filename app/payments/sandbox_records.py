"""The sandbox's list API for the daily reconciliation: every succeeded payment, refund and payout
it created in a window, as `ProviderRecord`s — what Stripe's list endpoints answer, read from the
sandbox's own tables in one short read-only session (never the caller's transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.money import Money
from app.payments.models import SandboxPayment, SandboxPaymentStatus, SandboxPayout, SandboxRefund
from app.payments.provider import PaymentState, PayoutState, ProviderRecord

PAGE = 5000  # rows per query, like a list API's pages: a long window never holds one huge result


async def _paged(db: AsyncSession, query, created, key):
    """Keyset pages of `query` in (created_at, id) order."""
    after = None
    while True:
        page = query
        if after is not None:
            page = page.where(tuple_(created, key) > tuple_(*after))
        rows = (await db.execute(page.order_by(created, key).limit(PAGE))).all()
        for row in rows:
            yield row
        if len(rows) < PAGE:
            return
        after = (rows[-1].created_at, rows[-1].id)


async def list_records(
    sessionmaker: async_sessionmaker[AsyncSession], *, since: datetime, until: datetime
) -> list[ProviderRecord]:
    records: list[ProviderRecord] = []
    async with sessionmaker() as db:
        payments = select(
            SandboxPayment.id,
            SandboxPayment.reference,
            SandboxPayment.amount_minor,
            SandboxPayment.currency,
            SandboxPayment.created_at,
        ).where(
            SandboxPayment.status == SandboxPaymentStatus.succeeded,
            SandboxPayment.created_at >= since,
            SandboxPayment.created_at < until,
        )
        async for row in _paged(db, payments, SandboxPayment.created_at, SandboxPayment.id):
            records.append(ProviderRecord("payment", row.id, row.reference, Money(row.amount_minor, row.currency),
                                          PaymentState.succeeded, row.created_at))  # fmt: skip
        refunds = (
            select(
                SandboxRefund.id,
                SandboxRefund.idempotency_key,
                SandboxRefund.amount_minor,
                SandboxPayment.currency,
                SandboxRefund.created_at,
            )
            .join(SandboxPayment, SandboxPayment.id == SandboxRefund.payment_id)
            .where(SandboxRefund.created_at >= since, SandboxRefund.created_at < until)
        )
        async for row in _paged(db, refunds, SandboxRefund.created_at, SandboxRefund.id):
            records.append(ProviderRecord("refund", row.id, row.idempotency_key, Money(row.amount_minor, row.currency),
                                          "succeeded", row.created_at))  # fmt: skip
        payouts = select(
            SandboxPayout.id,
            SandboxPayout.reference,
            SandboxPayout.amount_minor,
            SandboxPayout.currency,
            SandboxPayout.status,
            SandboxPayout.created_at,
        ).where(SandboxPayout.created_at >= since, SandboxPayout.created_at < until)
        async for row in _paged(db, payouts, SandboxPayout.created_at, SandboxPayout.id):
            records.append(ProviderRecord("payout", row.id, row.reference, Money(row.amount_minor, row.currency),
                                          PayoutState(row.status), row.created_at))  # fmt: skip
    return records
