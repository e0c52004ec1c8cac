"""Payouts tests: a contractor with money earned (a milestone released through the escrow verbs),
a verified identity, and a sandbox bank account set up through the provider and its page."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.contracts.models import Milestone
from app.escrow import funding, lifecycle
from app.escrow.models import Account, AccountKind, JournalEntry
from app.money import Money
from app.payments import sandbox_payouts
from app.payments.provider import Payment, PaymentState
from app.payments.sandbox import SandboxProvider
from app.payouts import services
from app.payouts.models import Payout, PayoutMethod
from app.profiles.models import KycStatus
from app.profiles.services import ensure_profile
from tests.contracts.helpers import active_contract
from tests.support.factories import make_user
from tests.support.polling import wait_for  # noqa: F401 (the payouts tests import it from here)

EARNED = Money(90_000, "EUR")  # "Design", €1,000.00, released less the 10 % fee
IDEMPOTENCY = re.compile(r'name="idempotency_key" value="([^"]+)"')


async def earn(db, contractor: User) -> Money:
    """A client funds the contract's first milestone, the contractor submits, the client approves:
    €900.00 lands in the contractor's balance."""
    client = await make_user(db, role=Role.client)
    contract, _ = await active_contract(db, client, contractor)
    design = await db.scalar(
        select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position).limit(1)
    )
    f = await funding.open_funding(db, contract.id, client, [design.id], provider="sandbox")
    await db.commit()
    await funding.apply_payment(
        db, Payment(f"pay_{f.public_id}", f.public_id, Money(f.amount_minor, f.currency), PaymentState.succeeded)
    )
    await db.commit()
    await lifecycle.submit(db, design.id, contractor, "The designs are in the shared folder.")
    await db.commit()
    await lifecycle.approve(db, design.id, client)
    await db.commit()
    return EARNED


async def verify_identity(db, user: User) -> None:
    profile = await ensure_profile(db, user)
    profile.kyc_status = KycStatus.verified
    await db.commit()


async def bank_account(app, user: User, iban=sandbox_payouts.ARRIVES) -> PayoutMethod:
    """The contractor sets up a sandbox bank account: the account at the provider, its page saved
    with a test IBAN, and the return to Pactline (which reads it back from the provider)."""
    sessionmaker = app.state.sessionmaker
    provider = SandboxProvider(sessionmaker)
    await services.start_method_setup(sessionmaker, provider, user, return_url="/earnings/method/return")
    async with sessionmaker() as db:
        method = await services.method_of(db, user.id, "sandbox")
        account = await sandbox_payouts.bank_account_for(db, method.provider_account_id, user.id)
        await sandbox_payouts.save_bank_details(db, account, "Noor Designer", iban)
        await db.commit()
    method = await services.set_up_method(sessionmaker, provider, user)
    assert method is not None and method.ready
    return method


async def ready_contractor(app, db, user: User, *, iban=sandbox_payouts.ARRIVES) -> Money:
    earned = await earn(db, user)
    await verify_identity(db, user)
    await bank_account(app, user, iban)
    return earned


async def balance(db, kind: AccountKind, user_id: int, currency: str = "EUR") -> int:
    value = await db.scalar(
        select(Account.balance_minor).where(
            Account.kind == kind, Account.owner_user_id == user_id, Account.currency == currency
        )
    )
    return value or 0


async def payouts(db, user_id: int) -> list[Payout]:
    return list(
        (
            await db.scalars(
                select(Payout)
                .where(Payout.user_id == user_id)
                .order_by(Payout.id)
                .execution_options(populate_existing=True)  # fmt: skip
            )
        ).all()
    )


async def entries(db, prefix: str) -> int:
    return await db.scalar(
        select(func.count()).select_from(JournalEntry).where(JournalEntry.reference.like(f"{prefix}%"))
    )


async def withdraw_form(web, currency: str = "EUR") -> dict[str, str]:
    """The Withdraw form as /earnings renders it: its key and the prefilled amount."""
    page = await web.get("/earnings")
    assert page.status_code == 200, page.text[:300]
    key = IDEMPOTENCY.search(page.text)
    assert key, "no idempotency key in the Withdraw form"
    return {"idempotency_key": key.group(1), "currency": currency}
