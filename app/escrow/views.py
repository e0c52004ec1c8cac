"""What the milestone cards and the dashboards show of escrow, as one person sees it: each
milestone's state in plain words, its latest delivery, the review clock, and which actions
(Fund, Submit work, Approve and release, Ask for a revision) that person has on it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User
from app.contracts.models import Contract, ContractStatus, Milestone, MilestoneStatus
from app.contracts.terms import PlatformFee
from app.db import utcnow
from app.escrow import lifecycle
from app.escrow.models import Funding, FundingMilestone, FundingStatus, Submission, SubmissionAnswer, SubmissionFile
from app.files.models import StoredFile
from app.retainers.schedule import REMIND_BEFORE

# DESIGN §4: the state of a milestone in plain words, exactly these.
STATE_WORDS = {
    MilestoneStatus.pending: "Not funded yet",
    MilestoneStatus.funded: "Funded",
    MilestoneStatus.submitted: "Submitted",
    MilestoneStatus.revision_requested: "Revision asked",
    MilestoneStatus.approved: "Approved",
    MilestoneStatus.released: "Released",
    MilestoneStatus.refunded: "Refunded",
    MilestoneStatus.disputed: "Disputed",
    MilestoneStatus.settled: "Settled",
}

MESSAGE_MAX = 5000  # "What you delivered"
REASON_MAX = 4000  # "Ask for a revision"


def iso(moment: datetime | None) -> str:
    """For <time datetime>: UTC to the second, which every browser's Date.parse reads."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def time_left(end: datetime | None, now: datetime | None = None) -> str:
    """'in 6 days 23 hours', 'in 5 hours 12 minutes', 'in 3 minutes': the same words static/js/app.js
    writes as the countdown ticks (keep the two in step)."""
    if end is None:
        return ""
    seconds = int((end - (now or utcnow())).total_seconds())
    if seconds <= 0:
        return "any moment now"
    minutes = max(1, seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)

    def unit(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    if days:
        return "in " + unit(days, "day") + (" " + unit(hours, "hour") if hours else "")
    if hours:
        return "in " + unit(hours, "hour") + (" " + unit(minutes, "minute") if minutes else "")
    return "in " + unit(minutes, "minute")


@dataclass
class Delivery:
    submission: Submission
    files: list[StoredFile]


@dataclass
class MilestoneCard:
    milestone: Milestone
    words: str
    delivery: Delivery | None = None  # the latest submission
    revision_reason: str = ""  # the client's latest reason, while a revision is asked or after it
    open_funding: Funding | None = None  # a checkout in progress
    open_funding_ids: list[int] = field(default_factory=list)  # the milestones that checkout pays for
    funding_problem: str = ""  # the latest funding's failure (declined, cancelled), while still unfunded
    received_minor: int | None = None  # released: what the contractor received
    fee_minor: int | None = None  # released: Pactline's fee
    review_left: str = ""  # submitted: "in 6 days 23 hours"
    can_fund: bool = False
    can_submit: bool = False
    can_answer: bool = False
    may_download: bool = False
    form: dict[str, Any] = field(default_factory=dict)  # what was typed, when a post came back with errors
    errors: dict[str, list[str]] = field(default_factory=dict)
    refused: str = ""  # a verb's refusal, shown in the card
    overdue: bool = False  # a retainer period whose first day passed unfunded (decision 0042)

    @property
    def is_period(self) -> bool:
        """A retainer's period: funded before it starts, released at its end (decision 0042)."""
        return self.milestone.period_start is not None

    @property
    def covers(self) -> str:
        """'1 Dec 2026 to 31 Dec 2026': the period's days, both included."""
        m = self.milestone
        if m.period_start is None or m.period_end is None:
            return ""
        last = m.period_end - timedelta(days=1)
        return f"{m.period_start.day} {m.period_start.strftime('%b %Y')} to {last.day} {last.strftime('%b %Y')}"

    @property
    def releases_at(self) -> datetime | None:
        """When a funded period is released: 00:00 UTC on its end date."""
        end = self.milestone.period_end
        return datetime(end.year, end.month, end.day, tzinfo=UTC) if end is not None else None

    @property
    def releases_iso(self) -> str:
        return iso(self.releases_at)

    @property
    def id(self) -> int:
        return self.milestone.id

    @property
    def review_ends_iso(self) -> str:
        return iso(self.milestone.review_ends_at)

    @property
    def amount_minor(self) -> int:
        return self.milestone.amount_minor

    @property
    def currency(self) -> str:
        return self.milestone.currency


@dataclass
class Milestones:
    """The contract page's milestone section."""

    cards: list[MilestoneCard]
    fee: PlatformFee
    fund_all: list[MilestoneCard]  # pending milestones the client can pay for at once (2 or more)
    fund_all_minor: int
    currency: str
    fund_all_errors: dict[str, list[str]] = field(default_factory=dict)
    fund_all_refused: str = ""
    retainer: bool = False  # the rows are a retainer's periods

    @property
    def noun(self) -> str:
        return "periods" if self.retainer else "milestones"


async def _deliveries(db: AsyncSession, milestone_ids: list[int]) -> dict[int, list[Submission]]:
    """Milestone id → its submissions, newest first."""
    rows = await db.scalars(
        select(Submission).where(Submission.milestone_id.in_(milestone_ids)).order_by(Submission.number.desc())
    )
    by_milestone: dict[int, list[Submission]] = defaultdict(list)
    for s in rows.all():
        by_milestone[s.milestone_id].append(s)
    return by_milestone


async def _files(db: AsyncSession, submission_ids: list[int]) -> dict[int, list[StoredFile]]:
    if not submission_ids:
        return {}
    rows = await db.execute(
        select(SubmissionFile.submission_id, StoredFile)
        .join(StoredFile, StoredFile.id == SubmissionFile.file_id)
        .where(SubmissionFile.submission_id.in_(submission_ids))
        .order_by(StoredFile.id)
    )
    by_submission: dict[int, list[StoredFile]] = defaultdict(list)
    for submission_id, f in rows.all():
        by_submission[submission_id].append(f)
    return by_submission


async def _fundings(db: AsyncSession, milestone_ids: list[int]) -> tuple[dict[int, Funding], dict[int, list[int]]]:
    """Milestone id → the newest funding that covers it (open, paid, failed or refunded), and
    funding id → the milestones it covers."""
    rows = (
        await db.execute(
            select(FundingMilestone.milestone_id, Funding)
            .join(Funding, Funding.id == FundingMilestone.funding_id)
            .where(FundingMilestone.milestone_id.in_(milestone_ids))
            .order_by(Funding.created_at, Funding.id)
        )
    ).all()
    covered: dict[int, list[int]] = defaultdict(list)
    for milestone_id, funding in rows:
        covered[funding.id].append(milestone_id)
    return {milestone_id: funding for milestone_id, funding in rows}, covered


async def milestone_section(
    db: AsyncSession, contract: Contract, user: User, milestones: list[Milestone]
) -> Milestones:
    """Every live milestone of `contract` as a card for `user` (a party or an admin)."""
    fee = await lifecycle.release_fee(db, contract)
    ids = [m.id for m in milestones]
    submissions = await _deliveries(db, ids) if ids else {}
    latest = {mid: subs[0] for mid, subs in submissions.items()}
    files = await _files(db, [s.id for s in latest.values()])
    fundings, covered = await _fundings(db, ids) if ids else ({}, {})
    active = contract.status == ContractStatus.active
    is_client = user.id == contract.client_id and user.role != Role.admin
    is_contractor = user.id == contract.contractor_id and user.role != Role.admin
    now = utcnow()
    cards = []
    for m in milestones:
        status = MilestoneStatus(m.status)
        card = MilestoneCard(m, STATE_WORDS.get(status, status.replace("_", " ").capitalize()))
        submission = latest.get(m.id)
        if submission is not None:
            card.delivery = Delivery(submission, files.get(submission.id, []))
        asked = next(
            (s for s in submissions.get(m.id, []) if s.answer == SubmissionAnswer.revision_requested and s.reason), None
        )
        if asked is not None and m.revision_count:
            card.revision_reason = asked.reason
        funding = fundings.get(m.id)
        if status == MilestoneStatus.pending and funding is not None:
            if funding.status == FundingStatus.open:
                card.open_funding, card.open_funding_ids = funding, sorted(covered[funding.id])
            elif funding.status in (FundingStatus.failed, FundingStatus.refunded):
                card.funding_problem = funding.failure_message
        if status in (MilestoneStatus.released, MilestoneStatus.approved):
            card.fee_minor = fee.fee_minor(m.amount_minor)
            card.received_minor = m.amount_minor - card.fee_minor
        if status == MilestoneStatus.submitted:
            card.review_left = time_left(m.review_ends_at, now)
        card.can_fund = active and is_client and status == MilestoneStatus.pending
        if m.period_start is not None and status == MilestoneStatus.pending and m.period_start < now.date():
            card.overdue, card.words = True, "Overdue"
        card.can_submit = (
            active
            and is_contractor
            and m.period_start is None  # a period is released at its end, with nothing to submit
            and status in (MilestoneStatus.funded, MilestoneStatus.revision_requested)
        )
        card.can_answer = active and is_client and status == MilestoneStatus.submitted
        card.may_download = contract.party(user.id) and user.role != Role.admin
        cards.append(card)
    together = [c for c in cards if c.can_fund and c.open_funding is None]
    currencies = {c.currency for c in together}
    if len(together) < 2 or len(currencies) != 1:
        together = []
    return Milestones(
        cards=cards,
        fee=fee,
        fund_all=together,
        fund_all_minor=sum(c.amount_minor for c in together),
        currency=currencies.pop() if len(currencies) == 1 else "",
        retainer=contract.draft_terms.is_retainer,
    )


# ---------------------------------------------------------------- dashboards


@dataclass
class WaitingMilestone:
    milestone: Milestone
    contract: Contract
    review_left: str = ""

    @property
    def review_ends_iso(self) -> str:
        return iso(self.milestone.review_ends_at)


# What each role's dashboard lists, by milestone state: (heading, states), in this order.
CLIENT_GROUPS = (
    ("Work to review", (MilestoneStatus.submitted,)),
    ("Milestones to fund", (MilestoneStatus.pending,)),
)
CONTRACTOR_GROUPS = (
    ("Waiting for the client’s review", (MilestoneStatus.submitted,)),
    ("Funded: ready for work", (MilestoneStatus.funded,)),
    ("Revision asked", (MilestoneStatus.revision_requested,)),
)
DASHBOARD_LIMIT = 20


def _due_to_wait(m: Milestone, today: date) -> bool:
    """A retainer's later periods are scheduled ahead but not due: an unfunded one waits for the
    client from when its first funding reminder is due (decision 0042)."""
    return m.period_start is None or m.status != MilestoneStatus.pending or m.period_start - REMIND_BEFORE <= today


async def dashboard_milestones(db: AsyncSession, user: User) -> dict[str, Any]:
    """The milestones of `user`'s active contracts that wait for someone, grouped as the role's
    dashboard shows them, and the contracts whose live events refresh the block."""
    mine = Contract.client_id == user.id if user.role == Role.client else Contract.contractor_id == user.id
    contracts = list(
        (
            await db.scalars(
                select(Contract).where(mine, Contract.status == ContractStatus.active).order_by(Contract.id).limit(50)
            )
        ).all()
    )
    by_id = {c.id: c for c in contracts}
    groups = CLIENT_GROUPS if user.role == Role.client else CONTRACTOR_GROUPS
    wanted = [s for _, states in groups for s in states]
    milestones = (
        (
            await db.scalars(
                select(Milestone)
                .where(Milestone.contract_id.in_(list(by_id)), Milestone.status.in_(wanted))
                .order_by(
                    Milestone.review_ends_at.asc().nulls_last(), Milestone.due_date.asc().nulls_last(), Milestone.id
                )
            )
        ).all()
        if by_id
        else []
    )
    now = utcnow()
    listed = []
    for heading, states in groups:
        rows = [
            WaitingMilestone(m, by_id[m.contract_id], time_left(m.review_ends_at, now) if m.review_ends_at else "")
            for m in milestones
            if m.status in states and _due_to_wait(m, now.date())
        ][:DASHBOARD_LIMIT]
        listed.append((heading, rows))
    return {"milestone_groups": listed, "live_contracts": [c.id for c in contracts]}
