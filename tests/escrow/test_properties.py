"""Property-based tests of the escrow verbs on real Postgres (issue 14).

A Hypothesis state machine drives the real service verbs over random programs: fund one or
several milestones (the payment succeeded, declined, pending, for the wrong amount, from a
payment that is not the funding's, replayed, or arriving late after the client cancelled the
checkout), cancel a checkout, submit, approve (also by the wrong party), ask for a revision,
auto-approve (with `now` past the review window and before it),
remove one by a signed amendment (refunded in full when funded),
freeze, settle with a valid split and with invalid ones, and replay an earlier verb. Its
contracts are signed through the signing service with different `PlatformFee` rates, and their
milestones have random amounts (odd ones like 1, 99 and 12 345 minor units included).

Refund by amendment is a real amendment (app/contracts/amendments): one party proposes removing
the milestone, both sign, and the second signature applies it under the contract's and the
milestones' row locks, refunding a funded milestone in full (a pending one is only removed) and
completing the contract when nothing is left open.

After EVERY step the books are checked in SQL (raw queries, not the service): each journal
entry has two or more postings summing to zero per currency; no escrow is below zero; each
account's `balance_minor` is the sum of its postings; each contract's escrow holds exactly its
funded, submitted, being-revised and disputed milestones; fees + contractor payables + refunds
+ escrow = − provider clearing (money is conserved) and nothing is in client funding; each
milestone has exactly one funding entry once funded, one release entry iff released, one refund
entry iff refunded, one settlement entry iff settled; each contractor's payable is the sum over
their released and settled milestones of the released part less the signed fee rounded half up
per release; a contract is completed iff all its milestones that were not removed are released,
refunded or settled. Then the model's predictions are compared with what happened: what each
verb should have done (done, refused, nothing), every milestone's, funding's and contract's
state, and every balance the program touched.

The Hypothesis engine runs in a thread and hands each step to the test's event loop (where the
app's database pool lives) with `asyncio.run_coroutine_threadsafe`. PACTLINE_PROPERTY_STEPS sets
how many steps run (default 600); the steps actually run, the time taken and what each verb did
are written to test-artifacts/escrow-properties.txt. Programs are generated from fixed seeds and
no example database is used, so a run is the same every time. A failure is shrunk to a short
program (up to Hypothesis' five minutes on the database; PACTLINE_PROPERTY_SHRINK=0 skips that):
with `complete_if_done` taken out of a release it came down to "two contracts of 1 minor unit;
fund, submit, approve the first milestone"."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import select, text

from app.accounts.models import Role
from app.contracts.amendments import services as amendments
from app.contracts.amendments.forms import ProposedRemoval
from app.contracts.documents import services as documents
from app.contracts.drafting import services as drafting
from app.contracts.models import ContractVersion, Milestone
from app.contracts.signing import services as signing
from app.contracts.terms import PlatformFee
from app.db import utcnow
from app.errors import DomainError, FormError, NotFound
from app.escrow import funding, lifecycle
from app.marketplace.forms import JobInput, MilestoneInput, ProposalInput
from app.marketplace.models import BudgetType, Visibility
from app.marketplace.services import accept, apply, create_job
from app.money import Money
from app.payments.provider import Payment, PaymentState
from tests.conftest import ARTIFACTS
from tests.contracts.helpers import CTX, sign
from tests.support.factories import make_user

STEPS = int(os.environ.get("PACTLINE_PROPERTY_STEPS", "600"))
STEPS_PER_PROGRAM = 50
# Shrinking a failure re-runs programs on the database (up to Hypothesis' five minutes); 0 skips it.
SHRINK = os.environ.get("PACTLINE_PROPERTY_SHRINK", "1") != "0"
STEP_TIMEOUT = 120.0  # seconds one step may take before the run is called stuck

HELD = frozenset({"funded", "submitted", "revision_requested", "disputed"})
FINISHED = frozenset({"released", "refunded", "settled"})

FEES_BP = st.sampled_from([0, 1000, 750, 333]) | st.integers(min_value=0, max_value=5000)
AMOUNTS = st.sampled_from([1, 99, 12345, 100000]) | st.integers(min_value=1, max_value=10**8)
CONTRACTS = st.lists(st.tuples(FEES_BP, st.lists(AMOUNTS, min_size=1, max_size=4)), min_size=2, max_size=3)
PICK = st.integers(min_value=0, max_value=10**6)
AIM = st.integers(min_value=0, max_value=3)  # 0: any milestone; otherwise one the verb fits, if any


def fee_of(bp: int, amount: int) -> int:
    return PlatformFee(bp).fee_minor(amount)


# ---------------------------------------------------------------- the books, in SQL

_UNBALANCED = """
    SELECT e.id, p.currency, coalesce(sum(p.amount_minor), 0) AS total, count(p.id) AS lines
    FROM ledger_entries e LEFT JOIN ledger_postings p ON p.entry_id = e.id
    WHERE e.contract_id = ANY(:ids) OR e.contract_id IS NULL
    GROUP BY e.id, p.currency
    HAVING coalesce(sum(p.amount_minor), 0) <> 0 OR count(p.id) < 2
"""
_ESCROW_BELOW_ZERO = """
    SELECT a.id, a.balance_minor, coalesce(sum(p.amount_minor), 0) AS total
    FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id
    WHERE a.kind = 'escrow'
    GROUP BY a.id HAVING a.balance_minor < 0 OR coalesce(sum(p.amount_minor), 0) < 0
"""
_BALANCE_COLUMN = """
    SELECT a.id, a.kind, a.balance_minor, coalesce(sum(p.amount_minor), 0) AS total
    FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id
    GROUP BY a.id HAVING a.balance_minor <> coalesce(sum(p.amount_minor), 0)
"""
_ESCROW_VS_MILESTONES = """
    WITH held AS (
        SELECT contract_id, currency, sum(amount_minor) AS total FROM contract_milestones
        WHERE status IN ('funded', 'submitted', 'revision_requested', 'disputed') AND contract_id = ANY(:ids)
        GROUP BY contract_id, currency
    ), escrow AS (
        SELECT a.owner_contract_id AS contract_id, a.currency, coalesce(sum(p.amount_minor), 0) AS total
        FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id
        WHERE a.kind = 'escrow' AND a.owner_contract_id = ANY(:ids) GROUP BY a.owner_contract_id, a.currency
    )
    SELECT coalesce(h.contract_id, e.contract_id) AS contract_id, coalesce(h.currency, e.currency) AS currency,
           coalesce(h.total, 0) AS held, coalesce(e.total, 0) AS escrow
    FROM held h FULL JOIN escrow e ON e.contract_id = h.contract_id AND e.currency = h.currency
    WHERE coalesce(h.total, 0) <> coalesce(e.total, 0)
"""
_CONSERVED = """
    SELECT a.currency,
           coalesce(sum(p.amount_minor) FILTER (
               WHERE a.kind IN ('platform_fees', 'contractor_payable', 'refunds', 'escrow')), 0) AS kept,
           coalesce(sum(p.amount_minor) FILTER (WHERE a.kind = 'provider_clearing'), 0) AS clearing,
           coalesce(sum(p.amount_minor) FILTER (WHERE a.kind = 'client_funding'), 0) AS client_funding
    FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id
    GROUP BY a.currency
"""
_ENTRIES_PER_MILESTONE = """
    SELECT m.id, m.status,
           count(e.id) FILTER (WHERE e.kind = 'funding') AS fundings,
           count(e.id) FILTER (WHERE e.kind = 'release') AS releases,
           count(e.id) FILTER (WHERE e.kind = 'refund') AS refunds,
           count(e.id) FILTER (WHERE e.kind = 'settlement') AS settlements
    FROM contract_milestones m LEFT JOIN ledger_entries e ON e.milestone_id = m.id
    WHERE m.contract_id = ANY(:ids)
    GROUP BY m.id
    HAVING count(e.id) FILTER (WHERE e.kind = 'funding') <> (m.status NOT IN ('pending', 'removed'))::int
        OR count(e.id) FILTER (WHERE e.kind = 'release') <> (m.status = 'released')::int
        OR count(e.id) FILTER (WHERE e.kind = 'refund') <> (m.status = 'refunded')::int
        OR count(e.id) FILTER (WHERE e.kind = 'settlement') <> (m.status = 'settled')::int
"""
# The released part of a settled milestone is read from its `milestone_settled` audit event,
# the fee rate from the version in force; the payable itself from the ledger.
_PAYABLE = """
    WITH rate AS (
        SELECT c.id AS contract_id, c.contractor_id,
               coalesce((v.terms -> 'platform_fee' ->> 'rate_bp')::bigint, 0) AS bp
        FROM contracts c JOIN contract_versions v ON v.id = c.current_version_id
        WHERE c.contractor_id = :contractor
    ), paid AS (
        SELECT m.contract_id, m.currency, m.amount_minor AS part FROM contract_milestones m WHERE m.status = 'released'
        UNION ALL
        SELECT m.contract_id, m.currency, (a.data ->> 'release_minor')::bigint AS part
        FROM contract_milestones m
        JOIN audit_events a ON a.kind = 'milestone_settled' AND (a.data ->> 'milestone_id')::bigint = m.id
        WHERE m.status = 'settled'
    ), expected AS (
        SELECT r.contractor_id, p.currency, sum(p.part - (p.part * r.bp + 5000) / 10000) AS total
        FROM paid p JOIN rate r ON r.contract_id = p.contract_id
        GROUP BY r.contractor_id, p.currency
    ), actual AS (
        SELECT a.owner_user_id AS contractor_id, a.currency, coalesce(sum(p.amount_minor), 0) AS total
        FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id
        WHERE a.kind = 'contractor_payable' AND a.owner_user_id = :contractor GROUP BY a.owner_user_id, a.currency
    )
    SELECT coalesce(x.contractor_id, y.contractor_id) AS contractor_id, coalesce(x.total, 0) AS expected,
           coalesce(y.total, 0) AS actual
    FROM expected x FULL JOIN actual y ON y.contractor_id = x.contractor_id AND y.currency = x.currency
    WHERE coalesce(x.total, 0) <> coalesce(y.total, 0)
"""
_COMPLETION = """
    SELECT c.id, c.status,
           coalesce(bool_and(m.status IN ('released', 'refunded', 'settled')) FILTER (WHERE m.status <> 'removed'),
                    false) AS finished
    FROM contracts c JOIN contract_milestones m ON m.contract_id = c.id
    WHERE c.status IN ('active', 'completed') AND c.id = ANY(:ids)
    GROUP BY c.id
    HAVING (c.status = 'completed') <> coalesce(
        bool_and(m.status IN ('released', 'refunded', 'settled')) FILTER (WHERE m.status <> 'removed'), false)
"""


async def books_problems(db, contract_ids: list[int], contractor_id: int) -> list[str]:
    """Everything wrong with the ledger as a whole (balances, escrow, conservation) and with the
    program's contracts, their entries and their contractor's payable, as sentences (none: all
    good). The program's own: a program's failure must not fail the next one while Hypothesis
    shrinks it (a contract no program touches any more was checked when its program ended)."""
    found = []

    async def rows(sql: str):
        return (await db.execute(text(sql), {"ids": contract_ids, "contractor": contractor_id})).all()

    for r in await rows(_UNBALANCED):
        found.append(f"entry {r.id}: {r.lines} {r.currency} posting(s) summing to {r.total}")
    for r in await rows(_ESCROW_BELOW_ZERO):
        found.append(f"escrow account {r.id} below zero: column {r.balance_minor}, postings {r.total}")
    for r in await rows(_BALANCE_COLUMN):
        found.append(f"{r.kind} account {r.id}: balance column {r.balance_minor} but postings sum to {r.total}")
    for r in await rows(_ESCROW_VS_MILESTONES):
        found.append(f"contract {r.contract_id}: escrow holds {r.escrow} {r.currency}, its milestones {r.held}")
    for r in await rows(_CONSERVED):
        if r.kept != -r.clearing or r.client_funding != 0:
            found.append(
                f"{r.currency}: fees + payables + refunds + escrow = {r.kept}, provider clearing {r.clearing}, "
                f"client funding {r.client_funding}"
            )
    for r in await rows(_ENTRIES_PER_MILESTONE):
        found.append(
            f"milestone {r.id} ({r.status}): {r.fundings} funding, {r.releases} release, {r.refunds} refund, "
            f"{r.settlements} settlement entries"
        )
    for r in await rows(_PAYABLE):
        found.append(f"contractor {r.contractor_id}: payable {r.actual}, released less fees {r.expected}")
    for r in await rows(_COMPLETION):
        found.append(f"contract {r.id} is {r.status} but its milestones finished = {r.finished}")
    return found


# ---------------------------------------------------------------- the model


@dataclass
class MMilestone:
    id: int
    amount: int
    contract: MContract
    status: str = "pending"


@dataclass
class MContract:
    id: int
    fee_bp: int
    status: str = "active"
    milestones: list[MMilestone] = field(default_factory=list)

    def finish_if_done(self) -> None:
        if self.status == "active" and all(m.status in FINISHED for m in self.milestones if m.status != "removed"):
            self.status = "completed"


@dataclass
class MFunding:
    id: int
    public_id: str
    contract: MContract
    milestones: list[MMilestone]
    status: str = "open"
    payment_id: str | None = None

    @property
    def amount(self) -> int:
        return sum(m.amount for m in self.milestones)


@dataclass
class Tally:
    steps: int = 0
    programs: int = 0
    checks: int = 0
    outcomes: Counter = field(default_factory=Counter)  # (verb, outcome) → times


class Refused(Exception):
    """The verb refused (DomainError or NotFound) and its session rolled back."""


@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    app: object
    tally: Tally
    budget: int
    # Set at the first failure: from then on (shrinking, the final replay) every program runs in
    # full, so a replayed program draws what it drew the first time.
    failed: bool = False

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(STEP_TIMEOUT)


def verb_rule(**strategies):
    """A rule that does nothing in a program that signed no contracts (the budget was spent)."""

    def decorate(function):
        @functools.wraps(function)
        def guarded(self, **kwargs):
            if self.contracts:
                with self.failing():
                    function(self, **kwargs)

        return rule(**strategies)(guarded)

    return decorate


class EscrowMachine(RuleBasedStateMachine):
    world: World  # set by the test before Hypothesis makes machines

    def __init__(self) -> None:
        super().__init__()
        self.sm = self.world.app.state.sessionmaker
        self.contracts: list[MContract] = []
        self.fundings: list[MFunding] = []
        self.history: list[tuple] = []  # (method, args) of verbs that did something
        self.client = self.contractor = None
        self.fees = self.clearing = self.entries = 0  # platform-wide, from the program's start
        self.refunds = self.payable = 0  # this program's client and contractor

    # ------------------------------------------------------------ plumbing

    def run(self, coro):
        return self.world.run(coro)

    @contextlib.contextmanager
    def failing(self):
        try:
            yield
        except BaseException:
            self.world.failed = True
            raise

    async def attempt(self, verb):
        """Run `verb(session)` in a session of its own: committed when it returns, rolled back
        (and Refused raised) when it refuses."""
        async with self.sm() as s:
            try:
                result = await verb(s)
            except (DomainError, NotFound, FormError) as exc:
                await s.rollback()
                raise Refused(str(exc)) from exc
            await s.commit()
            return result

    def step(self, verb_name: str, should: bool, coro) -> object:
        """Run a verb the model expects to be done (`should`) or refused, and check it was."""
        self.world.tally.steps += 1
        try:
            result = self.run(coro)
        except Refused as exc:
            self.world.tally.outcomes[verb_name, "refused"] += 1
            assert not should, f"{verb_name} was refused but the model expected it to be done: {exc}"
            return None
        self.world.tally.outcomes[verb_name, "done"] += 1
        assert should, f"{verb_name} was done but the model expected a refusal"
        return result

    def milestones(self) -> list[MMilestone]:
        return [m for c in self.contracts for m in c.milestones]

    def pick(self, items: list, n: int, aim: int = 0, fits=None):
        if aim and fits is not None and (fitting := [x for x in items if fits(x)]):
            items = fitting
        return items[n % len(items)] if items else None

    # ------------------------------------------------------------ setup

    @initialize(specs=CONTRACTS)
    def sign_contracts(self, specs):
        if self.world.tally.steps >= self.world.budget and not self.world.failed:
            return  # the budget is spent: Hypothesis' remaining programs do nothing
        self.world.tally.programs += 1
        self.run(self._sign_contracts(specs))

    async def _sign_contracts(self, specs) -> None:
        async with self.sm() as db:
            self.client = await make_user(db, role=Role.client)
            self.contractor = await make_user(db, role=Role.contractor)
            for fee_bp, amounts in specs:
                contract_id = await self._signed(db, fee_bp, amounts)
                ids = (
                    await db.scalars(
                        select(Milestone.id).where(Milestone.contract_id == contract_id).order_by(Milestone.position)
                    )
                ).all()
                c = MContract(contract_id, fee_bp)
                c.milestones = [MMilestone(i, a, c) for i, a in zip(ids, amounts, strict=True)]
                self.contracts.append(c)
            self.start = await self.platform(db)

    async def _signed(self, db, fee_bp: int, amounts: list[int]) -> int:
        total = Money(sum(amounts))
        job = await create_job(
            db, self.client,
            JobInput(title="Shop redesign", description="A new look and a faster checkout for a small shop.", skills=["web"],
                     budget_type=BudgetType.fixed, budget=total, deadline=date(2030, 1, 1), visibility=Visibility.public),
            publish_now=True,
        )  # fmt: skip
        parts = [MilestoneInput(f"Part {n}", Money(a), date(2030, 2, n)) for n, a in enumerate(amounts, start=1)]
        proposal = await apply(
            db, job.id, self.contractor,
            ProposalInput(cover_letter="I redesigned four shops last year; happy to show them.", amount=total, milestones=parts),
        )  # fmt: skip
        await accept(db, proposal.id, self.client)
        await db.commit()
        contract = await drafting.draft_from_proposal(db, proposal.id, self.client)
        version = await signing.send(db, contract.id, self.client, fee=PlatformFee(fee_bp))
        await db.commit()
        await sign(db, contract.id, self.client, version.terms_hash)
        await sign(db, contract.id, self.contractor, version.terms_hash)
        await db.commit()
        return contract.id

    async def platform(self, db) -> dict[str, int]:
        """The platform-wide numbers the program moves: fees, provider clearing, entries."""
        row = (
            await db.execute(
                text("""
                SELECT coalesce(sum(p.amount_minor) FILTER (WHERE a.kind = 'platform_fees'), 0) AS fees,
                       coalesce(sum(p.amount_minor) FILTER (WHERE a.kind = 'provider_clearing'), 0) AS clearing,
                       (SELECT count(*) FROM ledger_entries) AS entries
                FROM ledger_accounts a JOIN ledger_postings p ON p.account_id = a.id
                """)
            )
        ).one()
        return {"fees": int(row.fees), "clearing": int(row.clearing), "entries": int(row.entries)}

    # ------------------------------------------------------------ funding

    @verb_rule(
        c=PICK,
        bits=st.integers(min_value=1, max_value=15),
        aim=AIM,
        then=st.sampled_from(["succeeded", "succeeded", "succeeded", "succeeded", "failed", "pending", "wrong amount",
                              "nothing yet"]),
    )  # fmt: skip
    def fund(self, c, bits, aim, then):
        """Open a checkout for one or several milestones and, mostly, hear from the provider."""
        contract = self.pick(self.contracts, c, aim, lambda x: any(m.status == "pending" for m in x.milestones))
        chosen = [m for i, m in enumerate(contract.milestones) if bits >> i & 1 or len(contract.milestones) == 1]
        if aim:
            chosen = [m for m in chosen if m.status == "pending"] or chosen
        chosen = chosen or contract.milestones[:1]
        opened = self.do_open_checkout(contract, [m.id for m in chosen])
        if opened is not None and then != "nothing yet":
            self.do_provider_says(opened, then)

    def do_open_checkout(self, contract: MContract, ids: list[int]) -> MFunding | None:
        chosen = [m for m in contract.milestones if m.id in ids]
        open_ones = [f for f in self.fundings if f.status == "open" and f.contract is contract]
        overlapping = [f for f in open_ones if {m.id for m in f.milestones} & set(ids)]
        same = len(overlapping) == 1 and sorted(m.id for m in overlapping[0].milestones) == sorted(ids)
        should = (
            contract.status == "active" and all(m.status == "pending" for m in chosen) and (not overlapping or same)
        )

        async def verb(db):
            f = await funding.open_funding(db, contract.id, self.client, ids, provider="sandbox")
            return f.id, f.public_id, f.amount_minor

        result = self.step("open checkout", should, self.attempt(verb))
        if result is None:
            return None
        funding_id, public_id, amount = result
        assert amount == sum(m.amount for m in chosen), "a funding is for exactly its milestones' amounts"
        if same:
            assert funding_id == overlapping[0].id, "the same milestones again must give back the open checkout"
            return overlapping[0]
        opened = MFunding(funding_id, public_id, contract, chosen)
        self.fundings.append(opened)
        self.history.append(("do_open_checkout", (contract, ids)))
        return opened

    @verb_rule(
        f=PICK,
        how=st.sampled_from(
            ["succeeded", "succeeded", "succeeded", "failed", "pending", "wrong amount", "not its payment"]
        ),
    )
    def provider_says(self, f, how):
        payment = self.pick(self.fundings, f)
        if payment is not None:
            self.do_provider_says(payment, how)

    def do_provider_says(self, f: MFunding, how: str) -> None:
        pid = f"pay_{f.public_id}" + ("_other" if how == "not its payment" else "")
        state = {"failed": PaymentState.failed, "pending": PaymentState.pending}.get(how, PaymentState.succeeded)
        amount = f.amount + (1 if how == "wrong amount" else 0)
        payment = Payment(id=pid, reference=f.public_id, amount=Money(amount), state=state,
                          failure_message="Your card was declined." if state == PaymentState.failed else "")  # fmt: skip
        before = f.status
        if f.payment_id in (None, pid):  # a payment that is not the funding's is ignored
            f.payment_id = pid
            if state == PaymentState.failed and f.status == "open":
                f.status = "failed"
            elif state == PaymentState.succeeded and f.status not in ("paid", "refunded"):
                fundable = (
                    f.status == "open"
                    and f.contract.status == "active"
                    and amount == f.amount
                    and all(m.status == "pending" for m in f.milestones)
                )
                self.clearing -= amount
                if fundable:
                    f.status = "paid"
                    for m in f.milestones:
                        m.status = "funded"
                    self.entries += len(f.milestones)
                else:  # through escrow and straight back to the client
                    f.status = "refunded"
                    self.refunds += amount
                    self.entries += 2

        async def verb(db):
            await funding.apply_payment(db, payment)

        self.step(f"payment {how}", True, self.attempt(verb))
        self.world.tally.outcomes[f"payment {how}", f"{before} → {f.status}"] += 1
        self.history.append(("do_provider_says", (f, how)))

    @verb_rule(f=PICK, aim=AIM)
    def cancel_checkout(self, f, aim):
        payment = self.pick(self.fundings, f, aim, lambda x: x.status == "open")
        if payment is not None:
            self.do_cancel_checkout(payment)

    def do_cancel_checkout(self, f: MFunding) -> None:
        should = f.status == "open"

        async def verb(db):
            await funding.cancel_by_client(db, f.contract.id, f.public_id, self.client)

        self.step("cancel checkout", should, self.attempt(verb))
        if should:
            f.status = "failed"
            self.history.append(("do_cancel_checkout", (f,)))

    # ------------------------------------------------------------ the milestone's life

    @verb_rule(m=PICK, aim=AIM, wrong_party=st.booleans())
    def submit(self, m, aim, wrong_party):
        target = self.pick(self.milestones(), m, aim, lambda x: x.status in ("funded", "revision_requested"))
        self.do_submit(target, wrong_party and aim == 1)

    def do_submit(self, m: MMilestone, wrong_party: bool) -> None:
        should = not wrong_party and m.contract.status == "active" and m.status in ("funded", "revision_requested")
        who = self.client if wrong_party else self.contractor

        async def verb(db):
            await lifecycle.submit(db, m.id, who, "The work is in the shared folder.")

        self.step("submit", should, self.attempt(verb))
        if should:
            m.status = "submitted"
            self.history.append(("do_submit", (m, wrong_party)))

    @verb_rule(m=PICK, aim=AIM, wrong_party=st.booleans())
    def approve(self, m, aim, wrong_party):
        target = self.pick(self.milestones(), m, aim, lambda x: x.status == "submitted")
        self.do_approve(target, wrong_party and aim == 1)

    def do_approve(self, m: MMilestone, wrong_party: bool) -> None:
        should = not wrong_party and m.contract.status == "active" and m.status == "submitted"
        who = self.contractor if wrong_party else self.client

        async def verb(db):
            await lifecycle.approve(db, m.id, who)

        self.step("approve", should, self.attempt(verb))
        if should:
            self.released(m, m.amount, "released")
            self.history.append(("do_approve", (m, wrong_party)))

    def released(self, m: MMilestone, part: int, status: str) -> None:
        fee = fee_of(m.contract.fee_bp, part)
        self.fees += fee
        self.payable += part - fee
        self.entries += 1
        m.status = status
        m.contract.finish_if_done()

    @verb_rule(m=PICK, aim=AIM)
    def ask_for_revision(self, m, aim):
        self.do_ask_for_revision(self.pick(self.milestones(), m, aim, lambda x: x.status == "submitted"))

    def do_ask_for_revision(self, m: MMilestone) -> None:
        should = m.contract.status == "active" and m.status == "submitted"

        async def verb(db):
            await lifecycle.request_revision(db, m.id, self.client, "Please make the logo larger.")

        self.step("ask for a revision", should, self.attempt(verb))
        if should:
            m.status = "revision_requested"
            self.history.append(("do_ask_for_revision", (m,)))

    @verb_rule(m=PICK, aim=AIM, late=st.booleans(), seconds=st.integers(min_value=0, max_value=10**6))
    def auto_approve(self, m, aim, late, seconds):
        self.do_auto_approve(self.pick(self.milestones(), m, aim, lambda x: x.status == "submitted"), late, seconds)

    def do_auto_approve(self, m: MMilestone, late: bool, seconds: int) -> None:
        should = late and m.contract.status == "active" and m.status == "submitted"

        async def verb(db):
            ends = await db.scalar(select(Milestone.review_ends_at).where(Milestone.id == m.id))
            if ends is None:  # no clock running: any moment
                ends = utcnow() + timedelta(days=30 if late else 0)
            now = ends + timedelta(seconds=seconds) if late else ends - timedelta(seconds=seconds + 1)
            if not await lifecycle.auto_approve(db, m.id, now=now):
                raise Refused("nothing to auto-approve")
            return True

        self.step(f"auto-approve {'after' if late else 'before'} the window", should, self.attempt(verb))
        if should:
            self.released(m, m.amount, "released")
            self.history.append(("do_auto_approve", (m, late, seconds)))

    # ------------------------------------------------------------ refunds and disputes

    @verb_rule(m=PICK, aim=AIM, by_contractor=st.booleans())
    def remove_by_amendment(self, m, aim, by_contractor):
        self.do_remove_by_amendment(self.pick(self.milestones(), m, aim, lambda x: x.status == "funded"), by_contractor)

    def do_remove_by_amendment(self, m: MMilestone, by_contractor: bool) -> None:
        """A signed amendment removing the milestone: one party proposes, both sign, and the
        second signature applies it (a funded milestone is refunded in full, a pending one removed)."""
        c = m.contract
        paying = any(f.status == "open" and m in f.milestones for f in self.fundings)
        others = [x for x in c.milestones if x is not m and x.status not in ("removed", "refunded")]
        should = c.status == "active" and m.status in ("pending", "funded") and not paying and bool(others)
        proposer, other = (self.contractor, self.client) if by_contractor else (self.client, self.contractor)

        async def propose(db):
            a = await amendments.propose(db, c.id, proposer, [ProposedRemoval(m.id)], "Plans changed.")
            return a.id, a.version_id

        async def sign_it(db, who, amendment_id, version_id):
            version_hash = await db.scalar(select(ContractVersion.terms_hash).where(ContractVersion.id == version_id))
            await amendments.sign_amendment(db, amendment_id, who, version_hash=version_hash, typed_name=who.name,
                                            consent=True, context=CTX)  # fmt: skip

        result = self.step("remove by amendment", should, self.attempt(propose))
        if result is None:
            return
        for who in (proposer, other):
            self.run(self.attempt(lambda db, who=who: sign_it(db, who, *result)))
        self.world.tally.outcomes[
            "remove by amendment", f"{m.status} → {'refunded' if m.status == 'funded' else 'removed'}"
        ] += 1
        if m.status == "funded":
            self.refunds += m.amount
            self.entries += 1
            m.status = "refunded"
        else:
            m.status = "removed"
        c.finish_if_done()
        self.history.append(("do_remove_by_amendment", (m, by_contractor)))

    @verb_rule(m=PICK, aim=AIM)
    def freeze(self, m, aim):
        self.do_freeze(self.pick(self.milestones(), m, aim, lambda x: x.status in HELD - {"disputed"}))

    def do_freeze(self, m: MMilestone) -> None:
        should = m.status in HELD - {"disputed"}

        async def verb(db):
            await lifecycle.freeze(db, m.id, actor_id=None)

        self.step("freeze", should, self.attempt(verb))
        if should:
            m.status = "disputed"
            self.history.append(("do_freeze", (m,)))

    @verb_rule(
        m=PICK,
        aim=AIM,
        split=st.sampled_from(["share", "share", "all refunded", "all released", "one over", "one under",
                               "negative", "other currency"]),
        share=st.integers(min_value=0, max_value=1000),
    )  # fmt: skip
    def settle(self, m, aim, split, share):
        self.do_settle(self.pick(self.milestones(), m, aim, lambda x: x.status == "disputed"), split, share)

    def do_settle(self, m: MMilestone, split: str, share: int) -> None:
        held = m.amount
        refund = {"all refunded": held, "all released": 0, "negative": -1}.get(split, held * share // 1000)
        release = held - refund + {"one over": 1, "one under": -1}.get(split, 0)
        currency = "USD" if split == "other currency" else "EUR"
        valid = split in ("share", "all refunded", "all released")
        should = valid and m.status == "disputed"

        async def verb(db):
            await lifecycle.settle(db, m.id, Money(refund, currency), Money(release, "EUR"), actor_id=None)

        self.step(f"settle ({'valid' if valid else 'invalid'} split)", should, self.attempt(verb))
        if should:
            self.refunds += refund
            self.released(m, release, "settled")
            self.history.append(("do_settle", (m, split, share)))

    @verb_rule(m=PICK, choice=st.integers(min_value=0, max_value=5), share=st.integers(min_value=0, max_value=1000))
    def advance(self, m, choice, share):
        """The next ordinary verb of an unfinished milestone (random rules alone reach a release
        rarely): fund a pending one, submit funded work, answer a submission, settle a dispute."""
        target = self.pick(self.milestones(), m, 1, lambda x: x.status not in FINISHED)
        match target.status:
            case "pending":
                opened = self.do_open_checkout(target.contract, [target.id])
                if opened is not None:
                    self.do_provider_says(opened, "succeeded")
            case "funded" | "revision_requested":
                self.do_submit(target, False)
            case "submitted":
                if choice <= 1:
                    self.do_approve(target, False)
                elif choice <= 3:
                    self.do_auto_approve(target, True, share)
                else:
                    self.do_ask_for_revision(target)
            case "disputed":
                self.do_settle(target, "share", share)

    # ------------------------------------------------------------ replays

    @verb_rule(k=PICK)
    def replay(self, k):
        """An earlier verb again (a double click, a retried request, a webhook sent twice): the
        model says what it should do now, and money moves once."""
        if self.history:
            method, args = self.history[k % len(self.history)]
            getattr(self, method)(*args)

    def teardown(self) -> None:
        for m in self.milestones():
            self.world.tally.outcomes["a milestone ended the program", m.status] += 1
        for c in self.contracts:
            self.world.tally.outcomes["a contract ended the program", c.status] += 1

    # ------------------------------------------------------------ after every step

    @invariant()
    def the_books_hold(self):
        if not self.contracts:
            return
        self.world.tally.checks += 1
        with self.failing():
            self.run(self._check())

    async def _check(self) -> None:
        async with self.sm() as db:
            problems = await books_problems(db, [c.id for c in self.contracts], self.contractor.id)
            assert not problems, "the books are wrong:\n" + "\n".join(problems)
            ids = [m.id for m in self.milestones()]
            statuses = dict(
                (
                    await db.execute(
                        text("SELECT id, status FROM contract_milestones WHERE id = ANY(:ids)"), {"ids": ids}
                    )
                ).all()
            )
            for m in self.milestones():
                assert statuses[m.id] == m.status, f"milestone {m.id} is {statuses[m.id]}, the model says {m.status}"
            contract_statuses = dict(
                (
                    await db.execute(
                        text("SELECT id, status FROM contracts WHERE id = ANY(:ids)"),
                        {"ids": [c.id for c in self.contracts]},
                    )
                ).all()
            )
            for c in self.contracts:
                assert contract_statuses[c.id] == c.status, (
                    f"contract {c.id} is {contract_statuses[c.id]}, not {c.status}"
                )
                escrow = await db.scalar(
                    text("""SELECT coalesce(sum(p.amount_minor), 0) FROM ledger_postings p
                            JOIN ledger_accounts a ON a.id = p.account_id
                            WHERE a.kind = 'escrow' AND a.owner_contract_id = :id"""),
                    {"id": c.id},
                )
                assert escrow == sum(m.amount for m in c.milestones if m.status in HELD), f"escrow of contract {c.id}"
            funding_statuses = dict(
                (
                    await db.execute(
                        text("SELECT id, status FROM escrow_fundings WHERE id = ANY(:ids)"),
                        {"ids": [f.id for f in self.fundings]},
                    )
                ).all()
            )
            for f in self.fundings:
                assert funding_statuses[f.id] == f.status, f"funding {f.id} is {funding_statuses[f.id]}, not {f.status}"
            owned = """SELECT coalesce(sum(p.amount_minor), 0) FROM ledger_postings p
                       JOIN ledger_accounts a ON a.id = p.account_id WHERE a.kind = :kind AND a.owner_user_id = :user"""
            refunds = await db.scalar(text(owned), {"kind": "refunds", "user": self.client.id})
            payable = await db.scalar(text(owned), {"kind": "contractor_payable", "user": self.contractor.id})
            assert (refunds, payable) == (self.refunds, self.payable), "the client's refunds, the contractor's payable"
            now = await self.platform(db)
            moved = {k: now[k] - self.start[k] for k in now}
            assert moved == {"fees": self.fees, "clearing": self.clearing, "entries": self.entries}, (
                f"platform fees, provider clearing and entries moved {moved}"
            )


def machine_for(world: World, n: int):
    def make() -> EscrowMachine:
        return EscrowMachine()

    EscrowMachine.world = world
    return seed(20261201 + n)(make)


def run_programs(world: World, budget: int) -> None:
    """Hypothesis, in this thread: programs of STEPS_PER_PROGRAM steps until `budget` steps ran."""
    rounds = 0
    while world.tally.steps < budget:
        left = budget - world.tally.steps
        run_state_machine_as_test(
            machine_for(world, rounds),
            settings=settings(
                # About half a program's steps are verbs (the others find nothing to do, say a
                # payment before any checkout); programs after the budget is spent do nothing.
                max_examples=2 * math.ceil(left / STEPS_PER_PROGRAM) + 2,
                stateful_step_count=STEPS_PER_PROGRAM,
                deadline=None,
                database=None,
                phases=[Phase.generate, Phase.shrink] if SHRINK else [Phase.generate],
                suppress_health_check=list(HealthCheck),
                print_blob=True,
            ),
            # Hypothesis ends a program early now and then (and its first one at once): each
            # runs its full length, so the budget is spent on long programs.
            _min_steps=STEPS_PER_PROGRAM - 1,
        )
        rounds += 1


@pytest.fixture
def no_pdf(monkeypatch):
    """The signed PDF is not what these tests are about; rendering hundreds of them would be
    most of the run. Activation still writes everything else (milestones, audit, e-mails)."""
    monkeypatch.setattr(documents, "render_final_later", lambda db, contract_id, version_id: None)


async def test_random_programs_of_escrow_verbs_keep_the_books_right(app, no_pdf):
    world = World(asyncio.get_running_loop(), app, Tally(), STEPS)
    started = time.perf_counter()
    try:
        await asyncio.to_thread(run_programs, world, STEPS)
    finally:
        seconds = time.perf_counter() - started
        t = world.tally
        rows = [
            f"{t.steps} steps in {t.programs} programs, the books checked in SQL {t.checks} times, {seconds:.1f} s "
            f"(PACTLINE_PROPERTY_STEPS={STEPS}, {STEPS_PER_PROGRAM} steps a program)",
            *(f"{n:7d}  {verb}: {outcome}" for (verb, outcome), n in sorted(t.outcomes.items())),
        ]
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "escrow-properties.txt").write_text("\n".join(rows) + "\n")
        print("\n" + rows[0])
    assert world.tally.steps >= STEPS
