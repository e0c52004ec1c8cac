"""Escrow release figures: releases per second with 16 concurrent actors in one process, racing
on purpose, and the ledger's invariants checked in SQL afterwards (which must show no violation).

Everything is made through the real verbs: contracts are proposed, accepted, drafted, sent and
signed by both parties; each milestone is funded (`funding.open_funding`, then a succeeded
payment handed to `funding.apply_payment`, as the webhook handler does once it has re-read it —
the sandbox and its webhook are timed by bench/webhooks.py) and submitted (`lifecycle.submit`). The actors then call
`lifecycle.approve` (the client's "Approve and release") and `lifecycle.auto_approve` (the
timer's verb, with a clock past the review window) — the service verbs, each in a session and
transaction of its own, as the request handler and the worker timer do."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

ACTORS = 16
PAIRS = 8  # client/contractor pairs; contracts are spread over them
CONTRACTS = 64
MILESTONES = 5  # per contract (the proposal form's most)
# Each milestone's attempts are queued back to back, so that many actors take it at once: two
# client approvals (two tabs) and the auto-approval timer, the timer first, second or third in turn.
ATTEMPTS = ("approve", "approve", "auto")
SOLO_CONTRACTS = 8  # released by one actor with no race, for the ratio
PREPARE_TASKS = 4

# How a refused approval says why: the milestone is released, or its release was the contract's
# last and completed it (`_ensure_active` answers before the milestone's state is looked at).
ALREADY_RELEASED = "already approved and released"
COMPLETED = "This contract is not active"


@dataclass
class Pair:
    client: Any
    contractor: Any


async def _make_pairs(sessions) -> list[Pair]:
    from app.accounts.models import Role
    from app.accounts.services import create_user

    pairs = []
    async with sessions() as db, db.begin():
        for n in range(PAIRS):
            client = await create_user(db, email=f"bench.escrow.client{n}@pactline.test", name=f"Bench Client {n}",
                                       role=Role.client, password=None, verified=True)  # fmt: skip
            contractor = await create_user(db, email=f"bench.escrow.contractor{n}@pactline.test",
                                           name=f"Bench Contractor {n}", role=Role.contractor, password=None,
                                           verified=True)  # fmt: skip
            pairs.append(Pair(client, contractor))
    return pairs


async def active_contract(sessions, settings, pair: Pair, n: int) -> tuple[int, list[int]]:
    """An active contract with MILESTONES pending milestones, signed by both: the same steps as
    the demo seed (app/contracts/seed.py)."""
    from sqlalchemy import select

    from app.contracts.drafting import services as drafting
    from app.contracts.models import Milestone
    from app.contracts.signing import services as signing
    from app.contracts.terms import PlatformFee
    from app.marketplace import services as marketplace
    from app.marketplace.forms import JobInput, MilestoneInput, ProposalInput
    from app.marketplace.models import BudgetType, Visibility
    from app.money import Money

    context = signing.SignContext(ip="127.0.0.1", user_agent="pactline bench")
    amounts = [Money(10_000 + 1_237 * k) for k in range(MILESTONES)]
    total = Money(sum(a.amount_minor for a in amounts))
    due = date.today() + timedelta(days=30)
    async with sessions() as db, db.begin():
        job = await marketplace.create_job(
            db,
            pair.client,
            JobInput(title=f"Bench job {n}", description=f"A job made by the escrow bench, number {n}.",
                     skills=["bench"], budget_type=BudgetType.fixed, budget=total, deadline=due,
                     visibility=Visibility.public),
            publish_now=True,
        )  # fmt: skip
        proposal = await marketplace.apply(
            db,
            job.id,
            pair.contractor,
            ProposalInput(cover_letter="Happy to do this; it is a benchmark after all.", amount=total,
                          milestones=[MilestoneInput(f"Part {k + 1}", a, due) for k, a in enumerate(amounts)]),
        )  # fmt: skip
        await marketplace.accept(db, proposal.id, pair.client)
        contract = await drafting.draft_from_proposal(db, proposal.id, pair.client)
        version = await signing.send(db, contract.id, pair.client, fee=PlatformFee.current(settings))
        for person in (pair.client, pair.contractor):
            await signing.sign(db, contract.id, person, version_hash=version.terms_hash, typed_name=person.name,
                               consent=True, context=context)  # fmt: skip
        ids = list(
            await db.scalars(
                select(Milestone.id).where(Milestone.contract_id == contract.id).order_by(Milestone.position)
            )
        )
        return contract.id, ids


async def _fund_and_submit(sessions, pair: Pair, contract_id: int, milestone_ids: list[int]) -> None:
    from app.escrow import funding, lifecycle
    from app.money import Money
    from app.payments.provider import Payment, PaymentState

    for milestone_id in milestone_ids:
        async with sessions() as db, db.begin():
            f = await funding.open_funding(db, contract_id, pair.client, [milestone_id], provider="sandbox")
        payment = Payment(id=f"pay_bench_{f.public_id}", reference=f.public_id,
                          amount=Money(f.amount_minor, f.currency), state=PaymentState.succeeded)  # fmt: skip
        async with sessions() as db, db.begin():
            await funding.apply_payment(db, payment)
        async with sessions() as db, db.begin():
            await lifecycle.submit(db, milestone_id, pair.contractor, "Delivered: see the attached notes.")


async def prepare(sessions, settings, pairs: list[Pair], numbers: range) -> list[tuple[int, Pair]]:
    """(milestone id, its parties) for MILESTONES funded and submitted milestones of each contract
    numbered in `numbers`."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in numbers:
        queue.put_nowait(n)
    milestones: list[tuple[int, int, int, Pair]] = []

    async def worker() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            pair = pairs[n % PAIRS]
            contract_id, ids = await active_contract(sessions, settings, pair, n)
            await _fund_and_submit(sessions, pair, contract_id, ids)
            milestones.extend((k, contract_id, milestone_id, pair) for k, milestone_id in enumerate(ids))

    await asyncio.gather(*(worker() for _ in range(PREPARE_TASKS)))
    # Every contract's first milestone, then every second one…: the actors race on the same
    # milestone on purpose, not on the same contract's row lock by the order they were made in.
    return [(milestone_id, pair) for _, _, milestone_id, pair in sorted(milestones, key=lambda m: m[:3])]


async def race(sessions, milestones: list[tuple[int, Pair]], actors: int, attempts: tuple[str, ...]) -> dict[str, Any]:
    """ACTORS tasks take attempts off one queue; each milestone's ATTEMPTS are queued back to back,
    so they are taken by different actors at nearly the same moment."""
    from app.db import utcnow
    from app.errors import DomainError
    from app.escrow import lifecycle

    queue: asyncio.Queue[tuple[int, Pair, str]] = asyncio.Queue()
    for i, (milestone_id, pair) in enumerate(milestones):
        turn = i % len(attempts)
        for kind in attempts[turn:] + attempts[:turn]:
            queue.put_nowait((milestone_id, pair, kind))
    outcomes: Counter[str] = Counter()
    released: Counter[int] = Counter()  # milestone id → successful releases seen by the actors
    took: list[float] = []  # seconds, from opening the session to the commit, of each release
    later = utcnow() + timedelta(days=400)  # past any review window

    async def actor() -> None:
        while not queue.empty():
            milestone_id, pair, kind = queue.get_nowait()
            began = time.perf_counter()
            try:
                async with sessions() as db, db.begin():
                    if kind == "approve":
                        await lifecycle.approve(db, milestone_id, pair.client)
                        done = True
                    else:
                        done = await lifecycle.auto_approve(db, milestone_id, now=later)
            except DomainError as exc:
                if ALREADY_RELEASED in str(exc):
                    outcomes["refused: already released"] += 1
                elif COMPLETED in str(exc):
                    outcomes["refused: contract completed by that release"] += 1
                else:
                    outcomes[f"refused: {exc}"] += 1
                continue
            except Exception as exc:  # noqa: BLE001 — counted and shown: anything else is a failure
                outcomes[f"error: {type(exc).__name__}"] += 1
                continue
            if done:
                took.append(time.perf_counter() - began)
                released[milestone_id] += 1
                outcomes["released by the client" if kind == "approve" else "released by the timer"] += 1
            else:
                outcomes["timer found it already released"] += 1

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(actor() for _ in range(actors)))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    took.sort()
    return {"seconds": seconds, "cpu": cpu / seconds, "outcomes": dict(outcomes), "released": released,
            "release_p50_ms": percentile_ms(took, 50), "release_p99_ms": percentile_ms(took, 99)}  # fmt: skip


def percentile_ms(ordered: list[float], pct: int) -> float | None:
    """Nearest-rank percentile of sorted seconds, in milliseconds."""
    if not ordered:
        return None
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1] * 1000


# Each query returns the number of violations (rows that break the rule).
INVARIANTS: dict[str, str] = {
    "an entry's postings do not sum to zero": """
        SELECT count(*) FROM (
            SELECT entry_id, currency FROM ledger_postings GROUP BY entry_id, currency HAVING sum(amount_minor) <> 0
        ) AS unbalanced""",
    "an account's balance is not the sum of its postings": """
        SELECT count(*) FROM ledger_accounts a
        WHERE a.balance_minor <> COALESCE((SELECT sum(p.amount_minor) FROM ledger_postings p WHERE p.account_id = a.id), 0)""",
    "an escrow went below zero at some entry": """
        SELECT count(*) FROM (
            SELECT sum(p.amount_minor) OVER (PARTITION BY p.account_id ORDER BY p.entry_id, p.id) AS running
            FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
            WHERE a.kind = 'escrow'
        ) AS steps WHERE running < 0""",
    "an escrow does not equal its held milestones": """
        SELECT count(*) FROM contracts c
        WHERE COALESCE((SELECT sum(a.balance_minor) FROM ledger_accounts a
                        WHERE a.kind = 'escrow' AND a.owner_contract_id = c.id), 0)
           <> COALESCE((SELECT sum(m.amount_minor) FROM contract_milestones m
                        WHERE m.contract_id = c.id
                          AND m.status IN ('funded', 'submitted', 'revision_requested', 'disputed')), 0)""",
    "a released milestone has not exactly one release entry": """
        SELECT count(*) FROM contract_milestones m
        WHERE m.status = 'released'
          AND (SELECT count(*) FROM ledger_entries e WHERE e.milestone_id = m.id AND e.kind = 'release') <> 1""",
    "a release entry for a milestone that is not released": """
        SELECT count(*) FROM ledger_entries e JOIN contract_milestones m ON m.id = e.milestone_id
        WHERE e.kind = 'release' AND m.status <> 'released'""",
}


async def check(sessions, milestones: list[tuple[int, Pair]], released: Counter[int]) -> dict[str, Any]:
    from sqlalchemy import func, select, text

    from app.contracts.models import Milestone, MilestoneStatus
    from app.escrow.ledger import verify

    counts: dict[str, int] = {}
    async with sessions() as db:
        for name, sql in INVARIANTS.items():
            counts[name] = int(await db.scalar(text(sql)) or 0)
        ids = [milestone_id for milestone_id, _ in milestones]
        still_held = await db.scalar(
            select(func.count()).where(Milestone.id.in_(ids), Milestone.status != MilestoneStatus.released)
        )
        verdict = await verify(db)
    # What the actors saw must agree with the books: each milestone released once, none left held.
    counts["a milestone the actors released other than once"] = sum(
        1 for milestone_id in ids if released[milestone_id] != 1
    )
    counts["a milestone left unreleased"] = int(still_held or 0)
    counts["pactline ledger verify failed" + (f" ({verdict.reason})" if verdict.reason else "")] = int(not verdict.ok)
    return {"violations": sum(counts.values()), "checks": counts, "ledger_entries_verified": verdict.entries}


_EXPECTED = ("released by", "refused: already released", "refused: contract completed", "timer found")


def _row(raced: dict[str, Any], milestones: int, attempts: tuple[str, ...], actors: int) -> dict[str, Any]:
    outcomes = raced["outcomes"]
    releases = sum(raced["released"].values())
    return {
        "actors": actors,
        "milestones": milestones,
        "attempts": milestones * len(attempts),
        "attempts_per_milestone": list(attempts),
        "seconds": raced["seconds"],
        "releases": releases,
        "releases_per_s": releases / raced["seconds"],
        "attempts_per_s": milestones * len(attempts) / raced["seconds"],
        "process_cpu": raced["cpu"],
        "release_p50_ms": raced["release_p50_ms"],
        "release_p99_ms": raced["release_p99_ms"],
        "refused_already_released": outcomes.get("refused: already released", 0),
        "refused_completed": outcomes.get("refused: contract completed by that release", 0),
        "timer_found_released": outcomes.get("timer found it already released", 0),
        "outcomes": outcomes,
        "errors": sum(n for name, n in outcomes.items() if not name.startswith(_EXPECTED)),
    }


async def _measure(env: dict[str, str]) -> dict[str, Any]:
    from app.config import load_settings
    from app.db import make_engine, make_sessionmaker

    settings = load_settings(env)
    engine = make_engine(settings, pool_size=ACTORS + 2, max_overflow=4)
    sessions = make_sessionmaker(engine)
    try:
        started = time.perf_counter()
        pairs = await _make_pairs(sessions)
        milestones = await prepare(sessions, settings, pairs, range(CONTRACTS))
        solo_milestones = await prepare(sessions, settings, pairs, range(CONTRACTS, CONTRACTS + SOLO_CONTRACTS))
        prepare_seconds = time.perf_counter() - started
        # The same verbs one at a time with no race first, for the ratio; then the race.
        solo = await race(sessions, solo_milestones, 1, ("approve",))
        raced = await race(sessions, milestones, ACTORS, ATTEMPTS)
        released = raced["released"] + solo["released"]
        checked = await check(sessions, milestones + solo_milestones, released)
    finally:
        await engine.dispose()
    return {
        "through": "service verbs lifecycle.approve / lifecycle.auto_approve, a session and transaction each",
        "contracts": CONTRACTS,
        "prepare_seconds": prepare_seconds,
        "race": _row(raced, len(milestones), ATTEMPTS, ACTORS),
        "solo": _row(solo, len(solo_milestones), ("approve",), 1),
        **checked,
    }


def measure(env: dict[str, str]) -> dict[str, Any]:
    return asyncio.run(_measure(env))


def describe(result: dict[str, Any]) -> str:
    race, solo = result["race"], result["solo"]
    lines = [
        "escrow releases in one process, through the service verbs (lifecycle.approve, and lifecycle.auto_approve "
        "for the timer; not an HTTP route), a session and transaction per attempt:",
        f"{'actors':<34}{'releases/s':>11}{'p50 ms':>8}{'p99 ms':>8}{'releases':>10}{'attempts':>10}"
        f"{'refused':>9}{'errors':>8}{'cpu':>6}",
    ]
    for label, r in (
        (f"{solo['actors']} (one approval each, no race)", solo),
        (f"{race['actors']} (2 approvals + timer racing)", race),
    ):
        refused = r["refused_already_released"] + r["refused_completed"] + r["timer_found_released"]
        lines.append(
            f"{label:<34}{r['releases_per_s']:>11.1f}{r['release_p50_ms'] or 0:>8.1f}{r['release_p99_ms'] or 0:>8.1f}"
            f"{r['releases']:>10}{r['attempts']:>10}{refused:>9}"
            f"{r['errors']:>8}{r['process_cpu']:>6.2f}"
        )
    ratio = race["releases_per_s"] / solo["releases_per_s"] if solo["releases_per_s"] else float("nan")
    lines += [
        f"  {race['actors']} actors vs 1: {ratio:.2f}×; racing, {race['refused_already_released']} approvals were "
        f"refused as already released, {race['refused_completed']} as the contract was completed by that release, "
        f"and {race['timer_found_released']} timer runs found the milestone already released",
        f"  invariants in SQL afterwards (zero sums, balances = postings, escrow never below zero, escrow = held "
        f"milestones, one release entry per released milestone, ledger verify over "
        f"{result['ledger_entries_verified']} entries): violations: {result['violations']}",
    ]
    for name, n in result["checks"].items():
        if n:
            lines.append(f"    {n} × {name}")
    for name, n in race["outcomes"].items():
        if not name.startswith(_EXPECTED):
            lines.append(f"    {n} × {name}")
    return "\n".join(lines)
