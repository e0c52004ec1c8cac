"""GET /invoices/<public id>: a receipt's or an invoice's PDF, for its issuer and its recipient
only. Anyone else, an admin included, gets 404 as if it did not exist; a visitor is sent to sign in."""

from __future__ import annotations

import re

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.params import FromPath
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import CurrentUser, requires_login
from app.accounts.models import User
from app.contracts.documents.controllers import attachment
from app.db import DB
from app.errors import NotFound
from app.invoices.models import Invoice
from app.invoices.pdf import stored_pdf

PUBLIC_ID = re.compile(r"doc_[A-Za-z0-9_-]{1,36}")


async def document_for(db: AsyncSession, public_id: str, user: User) -> Invoice:
    """The document `public_id` if `user` issued it or received it; NotFound otherwise."""
    if not PUBLIC_ID.fullmatch(public_id):
        raise NotFound(public_id)
    invoice = await db.scalar(
        select(Invoice).where(
            Invoice.public_id == public_id,
            or_(Invoice.issuer_user_id == user.id, Invoice.recipient_user_id == user.id),
        )
    )
    if invoice is None:
        raise NotFound(public_id)
    return invoice


class InvoiceController(Controller):
    path = "/invoices"
    guards = [requires_login]

    @get("/{public_id:str}", name="invoices:pdf")
    async def pdf(
        self, request: Request, public_id: FromPath[str], db: DB, state: State, user: CurrentUser
    ) -> Response:
        """The PDF itself: the stored copy, or rendered and stored now on the first download."""
        invoice = await document_for(db, public_id, user)
        data = await stored_pdf(db, state.settings, invoice)
        await db.commit()
        return Response(data, media_type="application/pdf", headers=attachment(f"{invoice.number}.pdf"))
