"""Worker side of company verification: ask the business registry, when one is configured."""

from __future__ import annotations

from sqlalchemy import update

from app.companies.models import Company, Verification
from app.companies.registry import registry_for, same_name
from app.worker.registry import task


@task(retries=3, retry_delay=5.0, max_delay=120.0, timeout=60)
async def check_company_registry(ctx: dict, *, company_id: int) -> str:
    registry = registry_for(ctx["settings"])
    async with ctx["sessionmaker"]() as db:
        company = await db.get(Company, company_id)
        if company is None or company.verification != Verification.pending:
            return "not pending"
        answer = await registry.look_up(company.country, company.registration_number)
        if answer is None:
            return "left for an administrator"
        matched = answer.found and answer.active and same_name(company.name, answer.name)
        note = (f"Registry name: {answer.name}. " if answer.name else "") + answer.note
        values: dict = {"registry_note": note[:500]}
        if matched:
            values |= {
                "verification": Verification.verified,
                "verification_note": "Matched the company register automatically.",
            }
        # Compare-and-set: an administrator may have decided in the meantime.
        await db.execute(
            update(Company)
            .where(Company.id == company_id, Company.verification == Verification.pending)
            .values(**values)
        )
        await db.commit()
        return "verified" if matched else "left for an administrator"
