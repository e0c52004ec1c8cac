"""The contract review assistant in the worker: findings for a draft, shown live next to the editor."""

from __future__ import annotations

from dataclasses import asdict

from app.contracts.models import Contract
from app.contracts.review.rules import review_with
from app.events import publish
from app.worker.registry import task


def review_adapter(settings):
    """The optional second opinion (a language model behind an HTTP adapter); off by default."""
    from app.contracts.review.adapter import adapter_for

    return adapter_for(settings)


@task(retries=3, retry_delay=1.0, timeout=60)
async def review_contract(ctx: dict, *, contract_id: int, rev: int) -> dict | None:
    """Review the working copy as it was at `rev`; a newer save makes this run's result moot."""
    async with ctx["sessionmaker"]() as db:
        contract = await db.get(Contract, contract_id)
        if contract is None or contract.draft_rev != rev:
            return None
        result = await review_with(contract.draft_terms, review_adapter(ctx["settings"]))
        report = {
            "rev": rev,
            "score": result.risk_score,
            "level": result.level,
            "findings": [asdict(f) for f in result.findings],
        }
        contract = await db.get(Contract, contract_id, with_for_update=True, populate_existing=True)
        if contract is None or contract.draft_rev != rev:
            return None
        contract.review = report
        # A signal: an open editor re-fetches its review block (GET /contracts/<id>/review).
        for user_id in (contract.client_id, contract.contractor_id):
            publish(db, user_id, f"contract-{contract.id}-review", {"rev": rev, "level": result.level})
        await db.commit()
        return report
