"""Reading issued documents for the pages that list them (/payments, /earnings, a statement)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.invoices.models import DocumentKind, Invoice


async def documents_for(
    db: AsyncSession,
    user_id: int,
    *,
    contract_id: int | None = None,
    kinds: tuple[DocumentKind, ...] | None = None,
    limit: int = 200,
) -> list[Invoice]:
    """The documents `user_id` may download — issued by them or to them — newest first; one
    contract's only when `contract_id` is given."""
    query = select(Invoice).where(or_(Invoice.issuer_user_id == user_id, Invoice.recipient_user_id == user_id))
    if contract_id is not None:
        query = query.where(Invoice.contract_id == contract_id)
    if kinds:
        query = query.where(Invoice.kind.in_([str(k) for k in kinds]))
    rows = await db.scalars(query.order_by(Invoice.issued_at.desc(), Invoice.id.desc()).limit(limit))
    return list(rows.all())
