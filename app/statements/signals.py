"""The live signals of the money pages: when a journal entry of a contract is posted, its client's
/payments and its contractor's /earnings (and the statement each of them may have open) re-fetch
their block once the transaction commits. A signal names what changed, never carries HTML."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.events import publish

PAYMENTS_SIGNAL = "payments"  # the client's money moved: /payments and their statements refresh
EARNINGS_SIGNAL = "earnings"  # the contractor's: /earnings and their statements (app/payouts uses it too)


def money_moved(db: AsyncSession, *, entry_id: int, contract_id: int, client_id: int, contractor_id: int) -> None:
    data = {"entry": entry_id, "contract": contract_id}
    publish(db, client_id, PAYMENTS_SIGNAL, data)
    publish(db, contractor_id, EARNINGS_SIGNAL, data)
