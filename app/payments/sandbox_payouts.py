"""The sandbox provider's payout side: the contractor's bank account (filled in on the sandbox's
own page, /sandbox/bank/<id>), payouts to it, and the job that settles them a moment later and
tells the app by a signed webhook — what a real provider's payout API does, run inside the app.

Like the payment side, every call opens its own session and commits it, never joining the
caller's transaction: the sandbox is a remote service that happens to share the database."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.errors import NotFound
from app.money import Money
from app.payments.models import SandboxPayout, SandboxPayoutAccount, SandboxPayoutStatus
from app.payments.provider import PayoutAccount, PayoutRefused, PayoutState, ProviderError, ProviderPayout
from app.web.urls import path_for
from app.worker.outbox import defer
from app.worker.registry import task

log = logging.getLogger("pactline.payments")

BANK_REFUSED = "The bank could not credit this account, so the transfer came back."


@dataclass(frozen=True)
class TestIban:
    number: str  # as printed, in groups of four
    outcome: str  # what it does, in plain words
    fails: bool

    __test__ = False  # an IBAN, not a pytest class

    @property
    def compact(self) -> str:
        return self.number.replace(" ", "")


ARRIVES = TestIban("DE89 3704 0044 0532 0130 00", "Payouts arrive.", fails=False)
BOUNCES = TestIban("DE62 3704 0044 0532 0130 01", "Payouts fail and come back to your balance.", fails=True)
TEST_IBANS = (ARRIVES, BOUNCES)


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(24)


def as_account(row: SandboxPayoutAccount) -> PayoutAccount:
    ready = bool(row.holder_name and row.iban_last4)
    return PayoutAccount(
        id=row.id,
        ready=ready,
        label=f"Bank account •••• {row.iban_last4}" if row.iban_last4 else "Bank account (no details yet)",
        missing="" if ready else "The account holder and IBAN are still missing.",
    )


def as_payout(row: SandboxPayout) -> ProviderPayout:
    return ProviderPayout(
        id=row.id,
        reference=row.reference,
        account_id=row.account_id,
        amount=Money(row.amount_minor, row.currency),
        state=PayoutState(row.status),
        failure_message=row.failure_message,
    )


class SandboxPayouts:
    """The payout half of `PaymentProvider` for the sandbox; SandboxProvider inherits it."""

    _sessionmaker: async_sessionmaker[AsyncSession]

    async def create_payout_account(self, *, user_id: int, email: str) -> str:
        account_id = _new_id("sbacct_")
        async with self._sessionmaker() as db, db.begin():
            db.add(SandboxPayoutAccount(id=account_id, user_id=user_id, email=email))
        return account_id

    async def payout_account_setup_url(self, account_id: str, *, return_url: str) -> str:
        async with self._sessionmaker() as db:
            if await db.get(SandboxPayoutAccount, account_id) is None:
                raise ProviderError(f"no sandbox payout account {account_id!r}")
        return path_for("sandbox-bank:show", account_id=account_id) + "?" + urlencode({"return_to": return_url})

    async def retrieve_payout_account(self, account_id: str) -> PayoutAccount:
        async with self._sessionmaker() as db:
            row = await db.get(SandboxPayoutAccount, account_id)
        if row is None:
            raise ProviderError(f"no sandbox payout account {account_id!r}")
        return as_account(row)

    async def create_payout(
        self, *, reference: str, account_id: str, amount: Money, idempotency_key: str
    ) -> ProviderPayout:
        async with self._sessionmaker() as db, db.begin():
            # The account's row lock first: two calls with one key wait for each other here, and
            # the second then finds the first one's payout below.
            account = await db.scalar(
                select(SandboxPayoutAccount).where(SandboxPayoutAccount.id == account_id).with_for_update()
            )
            if account is None:
                raise PayoutRefused(f"no sandbox payout account {account_id!r}")
            earlier = await db.scalar(select(SandboxPayout).where(SandboxPayout.idempotency_key == idempotency_key))
            if earlier is not None:
                same = (earlier.account_id, earlier.reference, earlier.amount_minor, earlier.currency) == (
                    account_id, reference, amount.amount_minor, amount.currency)  # fmt: skip
                if not same:
                    raise PayoutRefused("this idempotency key was used for another payout")
                return as_payout(earlier)  # the same request again: the first payout
            if not as_account(account).ready:
                raise PayoutRefused("this bank account is not set up: its holder and IBAN are missing")
            if amount.amount_minor <= 0:
                raise PayoutRefused("a payout is an amount above zero")
            row = SandboxPayout(
                id=_new_id("sbpo_"),
                account_id=account_id,
                reference=reference,
                amount_minor=amount.amount_minor,
                currency=amount.currency,
                status=SandboxPayoutStatus.pending,
                idempotency_key=idempotency_key,
            )
            db.add(row)
            # The bank answers later, not inside this call (a real transfer takes a day or more).
            defer(db, "settle_sandbox_payout", payout_id=row.id)
            found = as_payout(row)
        return found

    async def retrieve_payout(self, payout_id: str) -> ProviderPayout:
        async with self._sessionmaker() as db:
            row = await db.get(SandboxPayout, payout_id)
        if row is None:
            raise ProviderError(f"no sandbox payout {payout_id!r}")
        return as_payout(row)

    async def return_failed_payout(self, payout_id: str, *, idempotency_key: str) -> None:
        """Nothing to do at the sandbox: a failed sandbox payout never left the platform's balance
        (there is no connected account to take it back from, as there is with Stripe)."""
        async with self._sessionmaker() as db:
            row = await db.get(SandboxPayout, payout_id)
        if row is None:
            raise ProviderError(f"no sandbox payout {payout_id!r}")
        if row.status != SandboxPayoutStatus.failed:
            raise PayoutRefused(f"sandbox payout {payout_id} has not failed ({row.status})")


# ---------------------------------------------------------------- the bank's side and the hosted page


@task(retries=10, retry_delay=2.0, max_delay=300.0, timeout=60)
async def settle_sandbox_payout(ctx: dict, *, payout_id: str) -> str:
    """The bank's answer to a sandbox payout: paid, or failed for the test IBAN that bounces.
    A compare-and-set from pending, so a second run changes nothing; the event goes to the app
    as a signed webhook (written in the same transaction)."""
    from app.payments.sandbox import record_event

    async with ctx["sessionmaker"]() as db, db.begin():
        row = await db.get(SandboxPayout, payout_id)
        if row is None:
            return "no such payout"
        account = await db.get_one(SandboxPayoutAccount, row.account_id)
        target = SandboxPayoutStatus.failed if account.fails_payouts else SandboxPayoutStatus.paid
        moved = await db.scalar(
            update(SandboxPayout)
            .where(SandboxPayout.id == payout_id, SandboxPayout.status == SandboxPayoutStatus.pending)
            .values(
                status=target,
                failure_message=BANK_REFUSED if target == SandboxPayoutStatus.failed else "",
                updated_at=utcnow(),
            )
            .returning(SandboxPayout.id)
        )
        if moved is None:
            return f"settled before ({row.status})"
        record_event(db, f"payout.{target.value}", payout_id)
    return f"payout {payout_id}: {target.value}"


async def bank_account_for(db: AsyncSession, account_id: str, user_id: int) -> SandboxPayoutAccount:
    """The account behind /sandbox/bank/<id>, for its contractor only (anyone else: NotFound)."""
    if len(account_id) > 40:
        raise NotFound(account_id)
    row = await db.get(SandboxPayoutAccount, account_id, populate_existing=True)
    if row is None or row.user_id != user_id:
        raise NotFound(account_id)
    return row


async def save_bank_details(db: AsyncSession, account: SandboxPayoutAccount, holder: str, iban: TestIban) -> None:
    """The contractor saved the page: the account's details, and `payout_account.updated` for the
    app (its webhook, in the same transaction). The caller commits."""
    from app.payments.sandbox import record_event

    account.holder_name, account.iban_last4, account.fails_payouts = holder, iban.compact[-4:], iban.fails
    account.updated_at = utcnow()
    record_event(db, "payout_account.updated", account.id)
