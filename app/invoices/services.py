"""Issuing receipts and invoices (decision 0040), in the transaction of the ledger entry each one
documents:

- a paid funding → a receipt from Pactline to the client (`issue_receipt`, from
  app/escrow/funding.py): one line per funded milestone, the total the client paid into escrow;
- a release, or the released part of a split or settlement → an invoice from the contractor to
  the client for the released amount (made by Pactline on the contractor's behalf, and saying so),
  and, when the signed fee is above zero, a fee invoice from Pactline to the contractor for it
  (`issue_release_documents`, from app/escrow/lifecycle.py). The contractor's invoice less the fee
  invoice is what the contractor receives.

Each is idempotent by (kind, ledger entry): issuing again for the same entry returns the first
document. Names, e-mail addresses, companies (name, address, country, registration number, VAT ID)
and the contract's title are copied onto the document when it is issued, so later changes never
alter a document already issued. Its number is taken at commit (app/invoices/numbering.py)."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.companies.models import Company, CompanyMember
from app.config import Settings, get_settings
from app.contracts.models import Contract, Milestone
from app.contracts.terms import PlatformFee
from app.escrow.models import EntryKind, Funding, FundingMilestone, JournalEntry
from app.invoices import numbering
from app.invoices.models import DocumentKind, Invoice
from app.money import Money, format_minor
from app.profiles.models import ContractorProfile


def new_public_id() -> str:
    return f"doc_{secrets.token_urlsafe(18)}"


# ---------------------------------------------------------------- who is on the document


def _company_block(company: Company | None) -> dict[str, Any] | None:
    if company is None:
        return None
    return {
        "name": company.name,
        "address": company.address,
        "country": company.country,
        "registration_number": company.registration_number,
        "vat_id": company.vat_id or None,
    }


async def _membership_company(db: AsyncSession, user_id: int) -> Company | None:
    """The company `user_id` is a current member of (the earliest, when several)."""
    return await db.scalar(
        select(Company)
        .join(CompanyMember, CompanyMember.company_id == Company.id)
        .where(CompanyMember.user_id == user_id, CompanyMember.left_at.is_(None))
        .order_by(CompanyMember.id)
        .limit(1)
    )


async def _person(db: AsyncSession, user_id: int, company: Company | None) -> dict[str, Any]:
    user = await db.get_one(User, user_id)
    country = await db.scalar(select(ContractorProfile.country).where(ContractorProfile.user_id == user_id))
    block = _company_block(company)
    return {
        "name": user.name,
        "email": user.email,
        "country": (block or {}).get("country") or country or None,
        "vat_id": (block or {}).get("vat_id"),
        "company": block,
    }


async def client_party(db: AsyncSession, contract: Contract) -> dict[str, Any]:
    """The client as billed: the contract's company, or else the company they belong to."""
    company = await db.get(Company, contract.company_id) if contract.company_id else None
    if company is None:
        company = await _membership_company(db, contract.client_id)
    return await _person(db, contract.client_id, company)


async def contractor_party(db: AsyncSession, contract: Contract) -> dict[str, Any]:
    return await _person(db, contract.contractor_id, await _membership_company(db, contract.contractor_id))


def platform_party(settings: Settings) -> dict[str, Any]:
    """Pactline as issuer, from PLATFORM_LEGAL_NAME / _ADDRESS / _COUNTRY / _VAT_ID."""
    return {
        "name": settings.platform_legal_name,
        "email": None,
        "address": settings.platform_address or None,
        "country": settings.platform_country or None,
        "vat_id": settings.platform_vat_id or None,
        "company": None,
    }


def _contract_block(contract: Contract) -> dict[str, Any]:
    return {"title": contract.title, "public_id": contract.public_id}


# ---------------------------------------------------------------- issuing


async def existing(db: AsyncSession, kind: DocumentKind, entry_id: int) -> Invoice | None:
    """The document of `kind` for ledger entry `entry_id`: committed, or staged in this transaction."""
    found = numbering.staged(db, kind, entry_id)
    if found is not None:
        return found
    return await db.scalar(select(Invoice).where(Invoice.kind == kind, Invoice.entry_id == entry_id))


async def _issue(
    db: AsyncSession,
    kind: DocumentKind,
    *,
    issuer_key: str,
    issuer_user_id: int | None,
    issuer: dict[str, Any],
    recipient_user_id: int,
    recipient: dict[str, Any],
    contract: Contract,
    entry: JournalEntry,
    lines: list[dict[str, Any]],
    currency: str,
    milestone_id: int | None = None,
    funding_id: int | None = None,
) -> Invoice:
    found = await existing(db, kind, entry.id)
    if found is not None:
        return found
    total = sum(line["amount_minor"] for line in lines)
    invoice = Invoice(
        public_id=new_public_id(),
        kind=kind,
        issuer_key=issuer_key,
        issuer_user_id=issuer_user_id,
        recipient_user_id=recipient_user_id,
        contract_id=contract.id,
        milestone_id=milestone_id,
        funding_id=funding_id,
        entry_id=entry.id,
        currency=currency,
        total_minor=total,
        lines=lines,
        issuer=issuer,
        recipient={**recipient, "contract": _contract_block(contract)},
    )
    return await numbering.stage(db, invoice)


async def issue_receipt(
    db: AsyncSession, funding: Funding, contract: Contract, entry: JournalEntry, *, settings: Settings | None = None
) -> Invoice:
    """Pactline's receipt to the client for a paid funding: each funded milestone and its amount;
    the total is what the client paid into escrow. `entry` is the funding's first ledger entry."""
    settings = settings or get_settings()
    rows = (
        await db.execute(
            select(Milestone.id, Milestone.title, FundingMilestone.amount_minor)
            .join(FundingMilestone, FundingMilestone.milestone_id == Milestone.id)
            .where(FundingMilestone.funding_id == funding.id)
            .order_by(Milestone.position, Milestone.id)
        )
    ).all()
    lines = [
        {"description": f"Milestone “{title}”: paid into escrow", "amount_minor": amount, "milestone_id": mid}
        for mid, title, amount in rows
    ]
    if sum(line["amount_minor"] for line in lines) != funding.amount_minor:
        raise ValueError(f"funding {funding.public_id}: its milestones do not add up to what was paid")
    return await _issue(
        db,
        DocumentKind.receipt,
        issuer_key=numbering.PLATFORM_ISSUER,
        issuer_user_id=None,
        issuer=platform_party(settings),
        recipient_user_id=contract.client_id,
        recipient=await client_party(db, contract),
        contract=contract,
        entry=entry,
        lines=lines,
        currency=funding.currency,
        funding_id=funding.id,
    )


async def issue_release_documents(
    db: AsyncSession,
    contract: Contract,
    milestone: Milestone,
    entry: JournalEntry,
    released: Money,
    fee: PlatformFee,
    *,
    settings: Settings | None = None,
) -> list[Invoice]:
    """For `released` (a release, or the released part of a split or settlement): the
    contractor's invoice to the client for it, and Pactline's fee invoice to the contractor when
    the fee is above zero. Nothing for a release of zero."""
    if released.amount_minor <= 0:
        return []
    settings = settings or get_settings()
    client = await client_party(db, contract)
    contractor = await contractor_party(db, contract)
    if entry.kind == EntryKind.release:
        what = "work delivered and approved"
    elif released.amount_minor == milestone.amount_minor:
        what = "released to the contractor in full when the milestone was settled"
    else:
        what = "the part released to the contractor when the milestone was settled"
    documents = [
        await _issue(
            db,
            DocumentKind.contractor_invoice,
            issuer_key=numbering.user_issuer(contract.contractor_id),
            issuer_user_id=contract.contractor_id,
            issuer={**contractor, "on_behalf": True},
            recipient_user_id=contract.client_id,
            recipient=client,
            contract=contract,
            entry=entry,
            lines=[
                {
                    "description": f"Milestone “{milestone.title}”: {what}",
                    "amount_minor": released.amount_minor,
                    "milestone_id": milestone.id,
                }
            ],
            currency=released.currency,
            milestone_id=milestone.id,
        )
    ]
    charged = fee.fee_on(released)
    if charged.amount_minor > 0:
        documents.append(
            await _issue(
                db,
                DocumentKind.fee_invoice,
                issuer_key=numbering.PLATFORM_ISSUER,
                issuer_user_id=None,
                issuer=platform_party(settings),
                recipient_user_id=contract.contractor_id,
                recipient=contractor,
                contract=contract,
                entry=entry,
                lines=[
                    {
                        "description": f"Pactline fee, {fee.percent_text} of "
                        f"{format_minor(released.amount_minor, released.currency)} released for “{milestone.title}”",
                        "amount_minor": charged.amount_minor,
                        "milestone_id": milestone.id,
                    }
                ],
                currency=released.currency,
                milestone_id=milestone.id,
            )
        )
    return documents
