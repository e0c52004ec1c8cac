"""An active contract with its parties, and the ledger accounts a funding and a release use."""

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.contracts.models import Contract, Milestone
from app.escrow import ledger
from app.escrow.models import Account, AccountKind
from tests.contracts.helpers import active_contract
from tests.support.factories import make_user


@dataclass
class Books:
    contract: Contract
    milestones: list[Milestone]
    clearing: Account
    funding: Account
    escrow: Account
    payable: Account
    fees: Account
    refunds: Account


@pytest.fixture
async def books(db) -> Books:
    client = await make_user(db, role=Role.client)
    contractor = await make_user(db, role=Role.contractor)
    contract, _ = await active_contract(db, client, contractor)
    milestones = list(
        await db.scalars(select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position))
    )
    result = Books(
        contract,
        milestones,
        clearing=await ledger.account(db, AccountKind.provider_clearing, "EUR"),
        funding=await ledger.account(db, AccountKind.client_funding, "EUR", user_id=client.id),
        escrow=await ledger.account(db, AccountKind.escrow, "EUR", contract_id=contract.id),
        payable=await ledger.account(db, AccountKind.contractor_payable, "EUR", user_id=contractor.id),
        fees=await ledger.account(db, AccountKind.platform_fees, "EUR"),
        refunds=await ledger.account(db, AccountKind.refunds, "EUR", user_id=client.id),
    )
    await db.commit()
    return result
