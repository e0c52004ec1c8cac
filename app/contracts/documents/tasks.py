"""Rendering a contract version's PDF in the worker, once, and telling both parties it is ready."""

from __future__ import annotations

from app.contracts.documents.services import announce, ensure_document
from app.contracts.models import Contract, ContractVersion
from app.worker.registry import task


@task(retries=4, retry_delay=2.0, max_delay=60.0, timeout=180)
async def render_contract_pdf(ctx: dict, *, contract_id: int, version_id: int, final: bool) -> dict:
    """Idempotent: a rendering that is already stored is left alone and nobody is told twice."""
    async with ctx["sessionmaker"]() as db:
        contract = await db.get(Contract, contract_id)
        version = await db.get(ContractVersion, version_id)
        if contract is None or version is None or version.contract_id != contract.id:
            return {"skipped": "no such contract version"}
        document, _, created = await ensure_document(db, ctx["settings"], contract, version, final=final)
        if created:
            await announce(db, contract)
        await db.commit()
        return {"document_id": document.id, "created": created, "sha256": document.sha256}
