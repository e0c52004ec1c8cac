"""A contract's statement (page and CSV) for its two parties, and /payments, the client's money
page. Both re-render their live block when money moves for the person looking (the "payments"
signal for a client, "earnings" for a contractor, published by the ledger after commit)."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import CurrentUser, requires_role
from app.accounts.models import Role, User
from app.contracts.models import Contract
from app.db import DB
from app.errors import NotFound
from app.invoices.queries import documents_for
from app.statements.chart import Series, build_charts, monthly_totals
from app.statements.queries import CLIENT_MONTHLY, client_money, statement_of
from app.statements.signals import EARNINGS_SIGNAL, PAYMENTS_SIGNAL
from app.statements.spreadsheet import statement_csv
from app.web.templating import render

CLIENT_SERIES = (Series("paid_in", "Paid in"), Series("released", "Released"))


async def _party_contract(db: AsyncSession, contract_id: int, user: User) -> Contract:
    """The statement is the two parties' only: anyone else (admins too) gets 404."""
    contract = await db.get(Contract, contract_id)
    if contract is None or user.id not in (contract.client_id, contract.contractor_id):
        raise NotFound(contract_id)
    return contract


class StatementController(Controller):
    path = "/contracts/{contract_id:int}"
    guards = [requires_role(Role.client, Role.contractor)]

    @get("/statement", name="statements:page")
    async def page(self, request: Request, contract_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        contract = await _party_contract(db, contract_id, user)
        statement = await statement_of(db, contract)
        signal = PAYMENTS_SIGNAL if user.id == contract.client_id else EARNINGS_SIGNAL
        context = {
            "contract": contract,
            "statement": statement,
            "documents": await documents_for(db, user.id, contract_id=contract.id),
            "signal": signal,
            "is_client": user.id == contract.client_id,
        }
        return render(request, "statements/page.html", context, block="live")

    @get("/statement.csv", name="statements:csv")
    async def csv(self, contract_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        contract = await _party_contract(db, contract_id, user)
        body = statement_csv(await statement_of(db, contract))
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="statement-{contract.public_id}.csv"',
                "Cache-Control": "private, no-store",
            },
        )


class PaymentsController(Controller):
    path = "/payments"
    guards = [requires_role(Role.client)]

    @get("/", name="payments:index")
    async def index(self, request: Request, db: DB, user: CurrentUser) -> Response:
        money = await client_money(db, user.id)
        monthly = await monthly_totals(db, CLIENT_MONTHLY, {"user_id": user.id}, [s.key for s in CLIENT_SERIES])
        context = {
            "money": money,
            "charts": build_charts("payments", "Your payments", CLIENT_SERIES, monthly),
            "documents": await documents_for(db, user.id),
            "signal": PAYMENTS_SIGNAL,
        }
        return render(request, "payments/index.html", context, block="live")
