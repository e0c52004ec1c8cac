"""Stored PDF renderings of contract versions (one per version and final/draft), the document
panel on the contract page, and the public checks: a contract's own audit events and uploads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.audit.chain import check_subject
from app.audit.models import AuditEvent
from app.config import Settings
from app.contracts.documents.pdf import EventLine, PartyLine, PdfSource, SignatureLine, render_pdf
from app.contracts.models import Contract, ContractDocument, ContractStatus, ContractVersion, Signature
from app.errors import NotFound
from app.events import publish
from app.files.storage import new_key, storage_for
from app.web.urls import path_for
from app.worker.outbox import defer

# Once signed, the PDF people download is the signed rendering of the binding version.
SIGNED_STATES = frozenset({ContractStatus.active, ContractStatus.completed, ContractStatus.terminated})


def verify_url(settings: Settings, public_id: str) -> str:
    """The public verification page's absolute address (printed and QR-coded on every PDF)."""
    return settings.app_base_url + path_for("contracts:verify", public_id=public_id)


def pdf_url(contract_id: int) -> str:
    return path_for("contracts:pdf", contract_id=contract_id)


def proof_url(contract_id: int) -> str:
    return path_for("contracts:proof", contract_id=contract_id)


def document_event(contract_id: int) -> str:
    return f"contract-{contract_id}-document"


def wants_final(contract: Contract) -> bool:
    return contract.status in SIGNED_STATES


async def find_document(db: AsyncSession, version_id: int, final: bool) -> ContractDocument | None:
    return await db.scalar(
        select(ContractDocument).where(ContractDocument.version_id == version_id, ContractDocument.final == final)
    )


# ---------------------------------------------------------------- what a rendering shows


def _mentions(event: AuditEvent, version: ContractVersion) -> bool:
    data = event.data or {}
    return data.get("terms_hash") == version.terms_hash or data.get("version") == version.number


async def _events_for(db: AsyncSession, contract: Contract, version: ContractVersion, final: bool) -> list[AuditEvent]:
    """The contract's events a rendering lists, cut at a point fixed by the version so that a
    rendering made later shows the same events: a draft up to the event that sent the version
    (the first one naming it), a signed rendering up to the last one naming it (the activation,
    or the applied amendment)."""
    events = list(
        (
            await db.scalars(
                select(AuditEvent)
                .where(AuditEvent.subject_type == "contract", AuditEvent.subject_id == contract.public_id)
                .order_by(AuditEvent.seq)
            )
        ).all()
    )
    marks = [e.seq for e in events if _mentions(e, version)]
    if not marks:
        return events
    cutoff = marks[-1] if final else marks[0]
    return [e for e in events if e.seq <= cutoff]


async def _party(db: AsyncSession, user_id: int, role: str, company_name: str | None = None) -> PartyLine:
    user = await db.get(User, user_id)
    return PartyLine(role=role, name=user.name if user else "Former user", company=company_name)


async def company_name(db: AsyncSession, contract: Contract) -> str | None:
    if contract.company_id is None:
        return None
    from app.companies.models import Company

    company = await db.get(Company, contract.company_id)
    return company.name if company else None


async def build_source(
    db: AsyncSession, settings: Settings, contract: Contract, version: ContractVersion, *, final: bool
) -> PdfSource:
    client = await _party(db, contract.client_id, "Client", await company_name(db, contract))
    contractor = await _party(db, contract.contractor_id, "Contractor")
    signatures: tuple[SignatureLine, ...] = ()
    if final:
        rows = (
            await db.scalars(select(Signature).where(Signature.version_id == version.id).order_by(Signature.created_at))
        ).all()
        parties = {contract.client_id: client, contract.contractor_id: contractor}
        signatures = tuple(
            SignatureLine(
                role=parties[s.user_id].role if s.user_id in parties else "Signer",
                name=parties[s.user_id].name if s.user_id in parties else s.typed_name,
                typed_name=s.typed_name,
                signed_at=s.created_at,
                ip=s.ip,
                user_agent=s.user_agent,
            )
            for s in rows
        )
    events = await _events_for(db, contract, version, final)
    return PdfSource(
        public_id=contract.public_id,
        version_number=version.number,
        terms=version.terms,
        terms_hash=version.terms_hash,
        final=final,
        client=client,
        contractor=contractor,
        sent_at=version.created_at,
        verify_url=verify_url(settings, contract.public_id),
        signatures=signatures,
        events=tuple(EventLine(e.seq, e.kind, e.occurred_at, e.hash) for e in events),
    )


# ---------------------------------------------------------------- stored renderings


async def ensure_document(
    db: AsyncSession, settings: Settings, contract: Contract, version: ContractVersion, *, final: bool
) -> tuple[ContractDocument, bytes | None, bool]:
    """The stored rendering of `version`, rendered and stored first if there is none.
    Returns (row, bytes if rendered now else None, whether this call created it). Two callers
    racing both render, one row wins (unique version+final), the loser's file is deleted."""
    existing = await find_document(db, version.id, final)
    if existing is not None:
        return existing, None, False
    source = await build_source(db, settings, contract, version, final=final)
    if not (db.new or db.dirty or db.deleted):
        # Only reads so far: end that transaction, so the connection goes back to the pool for
        # the half second the rendering takes (sessions keep their objects after a commit).
        await db.commit()
    rendered = await render_pdf(source)
    storage = storage_for(settings)
    key = new_key("contracts")
    await storage.put(key, rendered.data)
    created_id = await db.scalar(
        insert(ContractDocument)
        .values(
            contract_id=contract.id,
            version_id=version.id,
            final=final,
            terms_hash=version.terms_hash,
            storage_key=key,
            sha256=rendered.sha256,
            size_bytes=rendered.size,
            pages=rendered.pages,
        )
        .on_conflict_do_nothing(constraint="uq_contract_documents_version_final")
        .returning(ContractDocument.id)
    )
    if created_id is None:  # someone else stored it first (waited for their commit): use theirs
        await storage.delete(key)
        winner = await find_document(db, version.id, final)
        assert winner is not None
        return winner, None, False
    document = await db.get(ContractDocument, created_id)
    assert document is not None
    return document, rendered.data, True


async def version_to_show(db: AsyncSession, contract: Contract) -> tuple[ContractVersion, bool]:
    """The version and kind of rendering /pdf answers with: the signed rendering of the current
    version once the contract is signed, the draft rendering of the latest sent version before."""
    if contract.current_version_id is None:
        raise NotFound(contract.id)
    version = await db.get(ContractVersion, contract.current_version_id)
    if version is None:
        raise NotFound(contract.id)
    return version, wants_final(contract)


async def get_or_render(
    db: AsyncSession, settings: Settings, contract: Contract
) -> tuple[ContractDocument, ContractVersion, bytes]:
    """What GET /contracts/<id>/pdf answers with (DESIGN §5: always the PDF itself). A signed
    rendering made here is announced to both parties like the worker's. The caller commits."""
    version, final = await version_to_show(db, contract)
    document, data, created = await ensure_document(db, settings, contract, version, final=final)
    if created and final:
        await announce(db, contract)
    if data is None:
        data = await storage_for(settings).get(document.storage_key)
    return document, version, data


async def announce(db: AsyncSession, contract: Contract) -> None:
    """Tell both parties the signed PDF is stored (in the caller's transaction): a signal, their
    open contract page re-fetches its document panel (GET /contracts/<id>/document)."""
    for user_id in (contract.client_id, contract.contractor_id):
        publish(db, user_id, document_event(contract.id), {"state": "ready"})


def render_final_later(db: AsyncSession, contract_id: int, version_id: int) -> None:
    """In the transaction that makes `version_id` the signed version (activation, applied
    amendment): once it commits, the worker renders and stores the signed PDF and updates both
    parties' pages."""
    defer(db, "render_contract_pdf", contract_id=contract_id, version_id=version_id, final=True)


def size_label(size_bytes: int) -> str:
    if size_bytes < 1024 * 1024:
        return f"{max(1, round(size_bytes / 1024))} KB"
    return f"{size_bytes / (1024 * 1024):.1f} MB"


async def document_panel_context(db: AsyncSession, contract: Contract) -> dict[str, Any]:
    """What templates/contracts/_document.html needs (passed to it as `document`)."""
    context: dict[str, Any] = {
        "contract_id": contract.id,
        "event": document_event(contract.id),
        "pdf_url": pdf_url(contract.id),
        "proof_url": proof_url(contract.id),
        "verify_path": path_for("contracts:verify", public_id=contract.public_id),
        "state": "none",
        "version_number": None,
        "pages": None,
        "size": None,
    }
    if contract.current_version_id is None:
        return context
    version = await db.get(ContractVersion, contract.current_version_id)
    if version is None:
        return context
    context["version_number"] = version.number
    if not wants_final(contract):
        context["state"] = "draft"
        return context
    stored = await find_document(db, version.id, True)
    if stored is None:
        context["state"] = "preparing"
        return context
    context |= {"state": "ready", "pages": stored.pages, "size": size_label(stored.size_bytes)}
    return context


# ---------------------------------------------------------------- public checks


async def contract_by_public_id(db: AsyncSession, public_id: str) -> Contract:
    contract = await db.scalar(select(Contract).where(Contract.public_id == public_id))
    if contract is None:
        raise NotFound(public_id)
    return contract


STATE_WORDS = {
    ContractStatus.draft: "Being drafted. Nobody has signed it.",
    ContractStatus.sent: "Sent for signature. It is not in force until both parties sign the same version.",
    ContractStatus.active: "Signed by both parties and in force.",
    ContractStatus.completed: "Signed by both parties and completed: all the work was delivered and paid.",
    ContractStatus.cancelled: "Cancelled before both parties signed it.",
    ContractStatus.terminated: "Signed by both parties, then ended early.",
}


async def public_summary(db: AsyncSession, contract: Contract) -> dict[str, Any]:
    """What anyone with the link may see: names, state, the signed version's number, hash and
    signature times, and whether the history checks out. Never terms, amounts, e-mail, IPs or
    browsers."""
    client = await db.get(User, contract.client_id)
    contractor = await db.get(User, contract.contractor_id)
    version = await db.get(ContractVersion, contract.current_version_id) if contract.current_version_id else None
    signatures: list[dict[str, Any]] = []
    if version is not None:
        rows = (
            await db.scalars(select(Signature).where(Signature.version_id == version.id).order_by(Signature.created_at))
        ).all()
        names = {contract.client_id: client, contract.contractor_id: contractor}
        signatures = [
            {
                "role": "Client" if s.user_id == contract.client_id else "Contractor",
                "name": names[s.user_id].name if names.get(s.user_id) else "Former user",
                "signed_at": s.created_at,
            }
            for s in rows
        ]
    return {
        "public_id": contract.public_id,
        "client_name": client.name if client else "Former user",
        "company_name": await company_name(db, contract),
        "contractor_name": contractor.name if contractor else "Former user",
        "status": contract.status,
        "state_words": STATE_WORDS.get(contract.status, contract.status),
        "signed": wants_final(contract),
        "version_number": version.number if version else None,
        "version_hash": version.terms_hash if version else None,
        "signatures": signatures,
        "events": await check_subject(db, "contract", contract.public_id),
    }


@dataclass(frozen=True)
class UploadMatch:
    genuine: bool
    version_number: int | None = None
    draft: bool = False  # the file is an unsigned draft rendering of that version


async def match_upload(db: AsyncSession, contract: Contract, sha256: str) -> UploadMatch:
    """Compare an uploaded file's SHA-256 with this contract's stored renderings."""
    rows = (
        await db.execute(
            select(ContractDocument.final, ContractVersion.number)
            .join(ContractVersion, ContractVersion.id == ContractDocument.version_id)
            .where(ContractDocument.contract_id == contract.id, ContractDocument.sha256 == sha256)
            .order_by(ContractDocument.final.desc(), ContractVersion.number.desc())
        )
    ).all()
    if not rows:
        return UploadMatch(False)
    final, number = rows[0]
    return UploadMatch(genuine=bool(final), version_number=number, draft=not final)
