"""Demo data: an active, signed contract with its stored PDF, made once."""

from sqlalchemy import func, select

from app.contracts.models import Contract, ContractDocument, ContractStatus, Signature
from app.platform.seed import demo_seed


async def test_demo_seed_adds_one_signed_contract_with_its_pdf(app, db, anonymous):
    await demo_seed(app.state.resources)
    await demo_seed(app.state.resources)
    contracts = (await db.scalars(select(Contract))).all()
    assert len(contracts) == 1 and contracts[0].status == ContractStatus.active
    contract = contracts[0]
    assert await db.scalar(select(func.count()).select_from(Signature)) == 2
    document = await db.scalar(select(ContractDocument).where(ContractDocument.final.is_(True)))
    assert document is not None and document.contract_id == contract.id and document.pages >= 2
    assert all(m.acceptance_criteria for m in contract.draft_terms.milestones)
    assert any("copyright" in clause for clause in contract.draft_terms.clauses)
    page = await anonymous.get(f"/verify/{contract.public_id}")
    assert page.status_code == 200 and "Conor" in page.text
