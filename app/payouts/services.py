"""Payouts (decision 0037): the verbs that take money from a contractor's balance to their payout
method, and apply what the provider says about it.

Money moves only in the ledger: `request_payout` posts payable → payouts in transit; the provider's
"paid" posts in transit → provider clearing; "failed" posts in transit → back to payable. The
provider is called by the worker (`send`) with no transaction open; its idempotency key
(`payout:<public_id>`) makes a repeat after a crash answer with the same payout, so a payout is
never sent twice and, through the recovery timer, never left half done."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import Role, User
from app.audit.chain import append
from app.contracts.models import Contract
from app.db import utcnow
from app.errors import DomainError, FormError, NotFound
from app.escrow.ledger import account, post_entry
from app.escrow.models import Account, AccountKind, EntryKind
from app.events import publish
from app.money import Money
from app.notifications import notify
from app.payments.provider import (
    PaymentProvider,
    PayoutAccount,
    PayoutRefused,
    PayoutState,
    ProviderError,
    ProviderPayout,
)
from app.payouts.models import Payout, PayoutMethod, PayoutStatus
from app.profiles.services import ensure_payout_allowed, get_profile
from app.web.urls import path_for
from app.worker.outbox import defer

log = logging.getLogger("pactline.payouts")

SIGNAL = "earnings"  # the live event the /earnings page re-renders its block on
STUCK_AFTER = timedelta(minutes=3)  # a payout still `requested` this long: its job died; send again
QUIET_AFTER = timedelta(minutes=15)  # a `sent` payout with no news this long: ask the provider
RECOVER_BATCH = 200

STATE_WORDS = {
    PayoutStatus.requested: "Requested",
    PayoutStatus.sent: "On its way",
    PayoutStatus.paid: "Paid",
    PayoutStatus.failed: "Failed — returned to your balance",
}


def payout_entry_reference(kind: EntryKind, public_id: str) -> str:
    """The ledger reference of a payout's entry (`payout:`, `payout_paid:`, `payout_returned:`
    and the payout's public id): one entry of each kind per payout; the reconciliation reads the
    payout back from it (`payout_of_reference`)."""
    return f"{kind}:{public_id}"


def payout_of_reference(reference: str) -> str:
    """The payout's public id in a reference made by `payout_entry_reference`."""
    return reference.rsplit(":", 1)[-1]


class NoPayoutMethod(DomainError):
    title = "Set up where we pay you first"


# ---------------------------------------------------------------- reading: the /earnings page


@dataclass
class CurrencyEarnings:
    currency: str
    available: int = 0  # the contractor's payable balance
    in_escrow: int = 0  # held for their contracts, before the fee
    in_transit: int = 0  # payouts on their way
    paid_out: int = 0  # payouts that arrived

    def money(self, name: str) -> Money:
        return Money(getattr(self, name), self.currency)


async def earnings_of(db: AsyncSession, user_id: int) -> list[CurrencyEarnings]:
    """Per currency, from the ledger: available, in escrow, on its way; and what was paid out."""
    found: dict[str, CurrencyEarnings] = {}

    def of(currency: str) -> CurrencyEarnings:
        return found.setdefault(currency, CurrencyEarnings(currency))

    own = await db.execute(
        select(Account.kind, Account.currency, Account.balance_minor).where(
            Account.owner_user_id == user_id,
            Account.kind.in_([AccountKind.contractor_payable, AccountKind.payouts_in_transit]),
        )
    )
    for kind, currency, balance in own.all():
        if kind == AccountKind.contractor_payable:
            of(currency).available = balance
        else:
            of(currency).in_transit = balance
    escrow = await db.execute(
        select(Account.currency, func.sum(Account.balance_minor))
        .join(Contract, Contract.id == Account.owner_contract_id)
        .where(Account.kind == AccountKind.escrow, Contract.contractor_id == user_id)
        .group_by(Account.currency)
    )
    for currency, total in escrow.all():
        if total:
            of(currency).in_escrow = int(total)
    paid = await db.execute(
        select(Payout.currency, func.sum(Payout.amount_minor))
        .where(Payout.user_id == user_id, Payout.status == PayoutStatus.paid)
        .group_by(Payout.currency)
    )
    for currency, total in paid.all():
        of(currency).paid_out = int(total)
    return sorted(found.values(), key=lambda e: e.currency)


async def method_of(db: AsyncSession, user_id: int, provider: str) -> PayoutMethod | None:
    return await db.scalar(
        select(PayoutMethod)
        .where(PayoutMethod.user_id == user_id, PayoutMethod.provider == provider)
        .execution_options(populate_existing=True)
    )


async def payouts_of(db: AsyncSession, user_id: int, *, limit: int = 50) -> list[Payout]:
    rows = await db.scalars(
        select(Payout)
        .where(Payout.user_id == user_id)
        .order_by(Payout.requested_at.desc(), Payout.id.desc())
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


# ---------------------------------------------------------------- the payout method


def _contractor(user: User) -> None:
    if user.role != Role.contractor:
        raise NotFound(user.id)


async def start_method_setup(
    sessionmaker: async_sessionmaker[AsyncSession], provider: PaymentProvider, user: User, *, return_url: str
) -> str:
    """Where the contractor's browser goes to give their bank details: the provider's own page.
    A first visit makes the account at the provider (no transaction open), then the method row."""
    _contractor(user)
    async with sessionmaker() as db:
        method = await method_of(db, user.id, provider.name)
    if method is None:
        account_id = await provider.create_payout_account(user_id=user.id, email=user.email)
        async with sessionmaker() as db, db.begin():
            await db.execute(
                insert(PayoutMethod)
                .values(user_id=user.id, provider=provider.name, provider_account_id=account_id)
                .on_conflict_do_nothing(constraint="uq_payout_methods_user_provider")
            )
            # Two clicks at once: one row wins; the other account stays empty at the provider.
            method = await method_of(db, user.id, provider.name)
            assert method is not None
            if method.provider_account_id == account_id:
                await append(db, "payout_method_created", actor_id=user.id, subject_type="user",
                             subject_id=user.id, data={"provider": provider.name})  # fmt: skip
    return await provider.payout_account_setup_url(method.provider_account_id, return_url=return_url)


async def set_up_method(
    sessionmaker: async_sessionmaker[AsyncSession], provider: PaymentProvider, user: User
) -> PayoutMethod | None:
    """Back from the provider's page: the method refreshed from what the provider says now
    (read with no transaction open). None when the contractor has not started one."""
    _contractor(user)
    async with sessionmaker() as db:
        method = await method_of(db, user.id, provider.name)
    if method is None:
        return None
    found = await provider.retrieve_payout_account(method.provider_account_id)
    async with sessionmaker() as db, db.begin():
        await apply_payout_account(db, provider.name, found)
        return await method_of(db, user.id, provider.name)


async def apply_payout_account(db: AsyncSession, provider_name: str, found: PayoutAccount) -> None:
    """What the provider says about a payout account (from its webhook, or the return from its
    page): ready or not, and its label. The caller commits."""
    method = await db.scalar(
        select(PayoutMethod)
        .where(PayoutMethod.provider == provider_name, PayoutMethod.provider_account_id == found.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if method is None:
        log.warning("payout account %s of %s names no payout method; ignored", found.id, provider_name)
        return
    if (method.ready, method.label) == (found.ready, found.label):
        return
    method.ready, method.label, method.updated_at = found.ready, found.label, utcnow()
    await append(db, "payout_method_updated", subject_type="user", subject_id=method.user_id,
                 data={"provider": provider_name, "ready": found.ready, "label": found.label})  # fmt: skip
    publish(db, method.user_id, SIGNAL, {"method": "updated", "ready": found.ready})


async def set_automatic(db: AsyncSession, user: User, provider: str, on: bool) -> PayoutMethod:
    """ "Pay me automatically every Monday": on or off. The caller commits."""
    _contractor(user)
    method = await method_of(db, user.id, provider)
    if method is None:
        raise NoPayoutMethod("Set up where we pay you first; then you can choose automatic payouts.")
    await db.refresh(method, with_for_update=True)
    if method.auto_weekly != on:
        method.auto_weekly, method.updated_at = on, utcnow()
        await append(db, "payout_automatic_changed", actor_id=user.id, subject_type="user", subject_id=user.id,
                     data={"auto_weekly": on})  # fmt: skip
        publish(db, user.id, SIGNAL, {"method": "automatic", "auto_weekly": on})
    return method


# ---------------------------------------------------------------- requesting a payout


async def _lock_accounts(db: AsyncSession, user_id: int, currency: str) -> tuple[Account, Account]:
    """The contractor's payable and in-transit accounts, locked in id order (post_entry's order,
    so a payout and a returned payout never wait for each other crosswise)."""
    payable = await account(db, AccountKind.contractor_payable, currency, user_id=user_id)
    transit = await account(db, AccountKind.payouts_in_transit, currency, user_id=user_id)
    await db.execute(
        select(Account.id).where(Account.id.in_([payable.id, transit.id])).order_by(Account.id).with_for_update()
    )
    await db.refresh(payable)
    await db.refresh(transit)
    return payable, transit


async def request_payout(
    db: AsyncSession, user: User, amount: Money, *, provider: str, minimum_minor: int, automatic: bool = False
) -> Payout:
    """Take `amount` from the contractor's balance for their payout method. Refuses with the
    reason: not verified (VerificationRequired), no ready method (NoPayoutMethod), below the
    minimum or above what is available (FormError on `amount`). Under the balance's row lock, so
    two withdrawals at once make one payout when the balance covers one. The caller commits;
    the worker then sends it (`send_payout`)."""
    _contractor(user)
    ensure_payout_allowed(await get_profile(db, user.id))
    method = await method_of(db, user.id, provider)
    if method is None or not method.ready:
        raise NoPayoutMethod(
            "Before you can withdraw, tell us where to pay you: set up your bank account."
            if method is None
            else "Your bank account is not ready for payouts yet: finish its details first."
        )
    minimum = Money(minimum_minor, amount.currency)
    if amount < minimum:
        raise FormError({"amount": [f"The smallest withdrawal is {minimum}. You asked for {amount}."]})
    payable, transit = await _lock_accounts(db, user.id, amount.currency)
    available = Money(payable.balance_minor, amount.currency)
    if amount > available:
        raise FormError(
            {"amount": [f"You have {available} available, so you cannot withdraw {amount}. Enter {available} or less."]}
        )
    payout = Payout(
        public_id=f"po_{secrets.token_urlsafe(18)}",
        user_id=user.id,
        method_id=method.id,
        provider=provider,
        amount_minor=amount.amount_minor,
        currency=amount.currency,
        status=PayoutStatus.requested,
        automatic=automatic,
    )
    db.add(payout)
    await db.flush()
    await post_entry(db, EntryKind.payout, [(payable, -amount), (transit, amount)],
                     reference=payout_entry_reference(EntryKind.payout, payout.public_id),
                     description=f"Payout to {method.label}",
                     actor_id=user.id)  # fmt: skip
    await _audit(db, payout, "payout_requested", actor_id=None if automatic else user.id, automatic=automatic)
    defer(db, "send_payout", payout_id=payout.id)
    publish(db, user.id, SIGNAL, {"payout": payout.public_id, "status": PayoutStatus.requested.value})
    return payout


async def _audit(db: AsyncSession, payout: Payout, kind: str, *, actor_id: int | None = None, **data) -> None:
    await append(db, kind, actor_id=actor_id, subject_type="payout", subject_id=payout.public_id,
                 data={"user_id": payout.user_id, "amount_minor": payout.amount_minor, "currency": payout.currency,
                       "status": str(payout.status), **data})  # fmt: skip


# ---------------------------------------------------------------- sending it, and what the provider says


async def send(sessionmaker: async_sessionmaker[AsyncSession], provider: PaymentProvider, payout_id: int) -> str:
    """Ask the provider to pay a requested payout, with no transaction open, then record its
    answer. Run again after a crash (by the job's retry or the recovery timer), the provider's
    idempotency key answers with the payout it made the first time. A refusal for good fails the
    payout and returns the money; any other ProviderError propagates, for a retry."""
    async with sessionmaker() as db:
        row = (
            await db.execute(
                select(Payout, PayoutMethod.provider_account_id)
                .join(PayoutMethod, PayoutMethod.id == Payout.method_id)
                .where(Payout.id == payout_id)
            )
        ).one_or_none()
    if row is None:
        return "no such payout"
    payout, account_id = row
    if payout.status != PayoutStatus.requested:
        return f"{payout.public_id} is {payout.status} already"
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(Payout)
            .where(Payout.id == payout_id, Payout.status == PayoutStatus.requested)
            .values(attempts=Payout.attempts + 1)
        )
    try:
        found = await provider.create_payout(
            reference=payout.public_id,
            account_id=account_id,
            amount=Money(payout.amount_minor, payout.currency),
            idempotency_key=f"payout:{payout.public_id}",
        )
    except PayoutRefused as exc:
        log.warning("payout %s refused by %s: %s", payout.public_id, provider.name, exc)
        async with sessionmaker() as db, db.begin():
            await fail_unsent(db, payout_id, f"The payment service refused this payout ({exc}).")
        return f"{payout.public_id} refused: {exc}"
    async with sessionmaker() as db, db.begin():
        await apply_payout(db, found)
    return f"{payout.public_id} sent as {found.id} ({found.state})"


async def _locked(db: AsyncSession, **where) -> Payout | None:
    return await db.scalar(
        select(Payout).filter_by(**where).with_for_update().execution_options(populate_existing=True)
    )


async def fail_unsent(db: AsyncSession, payout_id: int, why: str) -> bool:
    """The provider refused a requested payout for good: it never left, so the money goes back
    to the balance (compare-and-set on `requested`). The caller commits."""
    payout = await _locked(db, id=payout_id)
    if payout is None or payout.status != PayoutStatus.requested:
        return False
    await _return_money(db, payout, why)
    return True


async def apply_payout(db: AsyncSession, found: ProviderPayout) -> None:
    """Apply what the provider says about a payout (re-read by the caller, never taken from a
    webhook's body). Idempotent under the payout's row lock: run twice, or an older state after a
    newer one, and money moves once. The caller commits."""
    payout = await _locked(db, public_id=found.reference)
    if payout is None:
        log.warning("provider payout %s names no payout (%r); ignored", found.id, found.reference)
        return
    if payout.provider_payout_id not in (None, found.id):
        log.warning("provider payout %s is not the one of payout %s; ignored", found.id, payout.public_id)
        return
    if found.amount != Money(payout.amount_minor, payout.currency):
        log.error("provider payout %s is %s, payout %s is not; ignored", found.id, found.amount, payout.public_id)
        return
    if payout.status in (PayoutStatus.paid, PayoutStatus.failed):
        return  # decided before: a replayed or late event
    if payout.provider_payout_id is None:
        payout.provider_payout_id = found.id
    if payout.status == PayoutStatus.requested:
        payout.status, payout.sent_at = PayoutStatus.sent, utcnow()
        await _audit(db, payout, "payout_sent", provider_payout_id=found.id)
        publish(db, payout.user_id, SIGNAL, {"payout": payout.public_id, "status": PayoutStatus.sent.value})
        if found.state not in (PayoutState.paid, PayoutState.failed):  # else only what became of it is said
            await _tell(db, payout, "payout.sent")
    if found.state == PayoutState.paid:
        amount = Money(payout.amount_minor, payout.currency)
        transit = await account(db, AccountKind.payouts_in_transit, payout.currency, user_id=payout.user_id)
        clearing = await account(db, AccountKind.provider_clearing, payout.currency)
        await post_entry(db, EntryKind.payout_paid, [(transit, -amount), (clearing, amount)],
                         reference=payout_entry_reference(EntryKind.payout_paid, payout.public_id),
                         description="Payout arrived")  # fmt: skip
        payout.status, payout.decided_at = PayoutStatus.paid, utcnow()
        await _audit(db, payout, "payout_paid", provider_payout_id=found.id)
        publish(db, payout.user_id, SIGNAL, {"payout": payout.public_id, "status": PayoutStatus.paid.value})
        await _tell(db, payout, "payout.paid")
    elif found.state == PayoutState.failed:
        why = found.failure_message or "The bank did not accept this payout."
        await _return_money(db, payout, why)
        defer(db, "return_failed_payout", payout_id=payout.id)


async def _return_money(db: AsyncSession, payout: Payout, why: str) -> None:
    amount = Money(payout.amount_minor, payout.currency)
    payable = await account(db, AccountKind.contractor_payable, payout.currency, user_id=payout.user_id)
    transit = await account(db, AccountKind.payouts_in_transit, payout.currency, user_id=payout.user_id)
    await post_entry(db, EntryKind.payout_returned, [(transit, -amount), (payable, amount)],
                     reference=payout_entry_reference(EntryKind.payout_returned, payout.public_id),
                     description="Payout failed: returned to your balance")  # fmt: skip
    payout.status, payout.decided_at = PayoutStatus.failed, utcnow()
    payout.failure_message = f"{why.rstrip('.')}. {amount} is back in your balance."
    await _audit(db, payout, "payout_failed", reason=why)
    publish(db, payout.user_id, SIGNAL, {"payout": payout.public_id, "status": PayoutStatus.failed.value})
    await _tell(db, payout, "payout.failed", reason=why.rstrip("."))


async def _tell(db: AsyncSession, payout: Payout, kind: str, **data) -> None:
    """The contractor's notification about their payout; it leads to /earnings, where its row is."""
    user = await db.get_one(User, payout.user_id)
    method = await db.get(PayoutMethod, payout.method_id)
    await notify(
        db,
        user,
        kind,
        link=path_for("earnings:index"),
        amount=str(Money(payout.amount_minor, payout.currency)),
        method=method.label if method is not None else "",
        state=kind.removeprefix("payout."),
        **data,
    )


async def return_failed(
    sessionmaker: async_sessionmaker[AsyncSession], provider: PaymentProvider, payout_id: int
) -> str:
    """After a failed payout: the provider brings its money back to the platform's balance where
    it does not do so itself. The ledger moved it already (in apply_payout)."""
    async with sessionmaker() as db:
        payout = await db.get(Payout, payout_id)
    if payout is None or payout.status != PayoutStatus.failed or payout.provider_payout_id is None:
        return "nothing to return"
    await provider.return_failed_payout(payout.provider_payout_id, idempotency_key=f"payout_return:{payout.public_id}")
    return f"returned {payout.public_id} at {provider.name}"


# ---------------------------------------------------------------- recovery and the weekly payouts


async def recover(
    sessionmaker: async_sessionmaker[AsyncSession], provider: PaymentProvider, *, now: datetime | None = None
) -> dict[str, int]:
    """Payouts a crash or a lost webhook left half done: `requested` for a few minutes (the job
    died before or after the provider's call) are sent again — the idempotency key makes that
    the same payout; `sent` with no news for a while are re-read from the provider and applied."""
    now = now or utcnow()
    done = {"resent": 0, "reread": 0, "errors": 0}
    async with sessionmaker() as db:
        stuck = list(
            await db.scalars(
                select(Payout.id)
                .where(
                    Payout.status == PayoutStatus.requested,
                    Payout.provider == provider.name,
                    Payout.requested_at < now - STUCK_AFTER,
                )  # fmt: skip
                .order_by(Payout.id)
                .limit(RECOVER_BATCH)
            )
        )
        quiet = list(
            await db.execute(
                select(Payout.id, Payout.provider_payout_id)
                .where(
                    Payout.status == PayoutStatus.sent,
                    Payout.provider == provider.name,
                    Payout.provider_payout_id.is_not(None),
                    func.coalesce(Payout.sent_at, Payout.requested_at) < now - QUIET_AFTER,
                )  # fmt: skip
                .order_by(Payout.id)
                .limit(RECOVER_BATCH)
            )
        )
    for payout_id in stuck:
        try:
            await send(sessionmaker, provider, payout_id)
            done["resent"] += 1
        except ProviderError:
            log.warning("payout %s: the provider did not answer; next round", payout_id, exc_info=True)
            done["errors"] += 1
    for _, provider_payout_id in quiet:
        try:
            found = await provider.retrieve_payout(provider_payout_id)
        except ProviderError:
            log.warning("payout %s could not be read; next round", provider_payout_id, exc_info=True)
            done["errors"] += 1
            continue
        async with sessionmaker() as db, db.begin():
            await apply_payout(db, found)
        done["reread"] += 1
    return done


@dataclass
class AutomaticRun:
    requested: list[str] = field(default_factory=list)  # payouts' public ids
    skipped: list[str] = field(default_factory=list)  # "user 7 EUR: why"


async def automatic_payouts(
    sessionmaker: async_sessionmaker[AsyncSession], provider: str, *, minimum_minor: int
) -> AutomaticRun:
    """The Monday run: for each contractor who chose "Pay me automatically every Monday", a
    payout of their whole available balance in each currency. One who fails a check (identity,
    method, minimum) is skipped and logged, not failed; each payout is its own transaction."""
    run = AutomaticRun()
    async with sessionmaker() as db:
        wanted = (
            await db.execute(
                select(Account.owner_user_id, Account.currency, Account.balance_minor)
                .join(PayoutMethod, PayoutMethod.user_id == Account.owner_user_id)
                .where(
                    PayoutMethod.auto_weekly.is_(True),
                    PayoutMethod.provider == provider,
                    Account.kind == AccountKind.contractor_payable,
                    Account.balance_minor > 0,
                )  # fmt: skip
                .order_by(Account.owner_user_id, Account.currency)
            )
        ).all()
    for user_id, currency, balance in wanted:
        async with sessionmaker() as db:
            user = await db.get_one(User, user_id)
            try:
                payout = await request_payout(db, user, Money(balance, currency), provider=provider,
                                              minimum_minor=minimum_minor, automatic=True)  # fmt: skip
                await db.commit()
                run.requested.append(payout.public_id)
            except (DomainError, FormError, NotFound) as exc:
                await db.rollback()
                why = exc.message if isinstance(exc, DomainError) else str(exc)
                run.skipped.append(f"user {user_id} {currency}: {why}")
                log.info("automatic payout for user %s in %s skipped: %s", user_id, currency, why)
    return run
