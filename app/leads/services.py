"""Lead intake rules: API keys, receiving, de-duplicating, enriching, publishing, dead letters."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User
from app.accounts.services import create_user, get_user_by_email, normalize_email
from app.companies.models import CompanyMember, MemberRole
from app.companies.services import Membership
from app.db import utcnow
from app.errors import DomainError, FormError, NotFound
from app.leads.enrichment import enrich, mask_contacts
from app.leads.forms import LeadInput
from app.leads.models import ApiKey, Lead, LeadStatus
from app.marketplace.forms import JobInput
from app.marketplace.models import BudgetType, Visibility
from app.marketplace.services import create_job
from app.money import DEFAULT_CURRENCY, Money
from app.notifications import notify
from app.web.urls import path_for
from app.worker.models import OutboxJob
from app.worker.outbox import defer

DEDUPE_WINDOW = timedelta(hours=24)
CONFIRMATION_LIFETIME = timedelta(hours=48)
_CONFIRMATION_PURPOSE = "lead-confirmation"
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")
TITLE_SIMILARITY = 0.5


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# ---------------------------------------------------------------- API keys


async def create_api_key(db: AsyncSession, membership: Membership, user: User, name: str) -> tuple[ApiKey, str]:
    if not membership.is_owner:
        raise DomainError("Only the company's owner can create API keys.")
    name = name.strip()
    if not name or len(name) > 100:
        raise FormError({"key_name": ["Give the key a name, like “Website contact form”."]})
    raw = "pl_" + secrets.token_urlsafe(32)
    key = ApiKey(
        company_id=membership.company.id, name=name, prefix=raw[:10], key_hash=_digest(raw), created_by=user.id
    )
    db.add(key)
    await db.flush()
    return key, raw


async def revoke_api_key(db: AsyncSession, membership: Membership, key_id: int) -> ApiKey:
    key = await db.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.company_id == membership.company.id))
    if key is None:
        raise NotFound(key_id)
    if not membership.is_owner:
        raise DomainError("Only the company's owner can revoke API keys.")
    key.revoked_at = key.revoked_at or utcnow()
    return key


async def key_for(db: AsyncSession, raw: str) -> ApiKey | None:
    if not raw.startswith("pl_"):
        return None
    key = await db.scalar(select(ApiKey).where(ApiKey.key_hash == _digest(raw), ApiKey.revoked_at.is_(None)))
    if key is not None:
        key.last_used_at = utcnow()
    return key


# ---------------------------------------------------------------- receiving


def _step(lead: Lead, status: str, note: str = "") -> None:
    lead.journey = [
        *(lead.journey or []),
        {"at": utcnow().isoformat(timespec="seconds"), "status": status, "note": note},
    ]


async def receive(
    db: AsyncSession,
    data: LeadInput,
    *,
    source: str,
    company_id: int | None = None,
    api_key_id: int | None = None,
) -> Lead:
    lead = Lead(
        company_id=company_id,
        api_key_id=api_key_id,
        source=source,
        status=LeadStatus.received,
        name=data.name,
        email=data.email,
        email_normalized=normalize_email(data.email),
        phone=data.phone,
        title=data.title,
        description=data.description,
        budget_text=data.budget,
        journey=[],
    )
    _step(lead, "received", "from the website form" if source == "form" else "through the API")
    db.add(lead)
    await db.flush()
    if source != "form":
        # A partner's request is processed once it is committed; a form request waits for its link.
        defer(db, "process_lead", lead_id=lead.id)
    return lead


# ---------------------------------------------------------------- the public form: confirmation by e-mail


def confirmation_token(secret_key: str, lead_id: int, nonce: str) -> str:
    """The link's token: an HMAC of (purpose, lead id, nonce) with the secret key. The worker that
    sends the e-mail rebuilds it from the row, so it never sits in a job's arguments or in a
    column; the random nonce keeps it unguessable from the id."""
    message = f"{_CONFIRMATION_PURPOSE}:{lead_id}:{nonce}".encode()
    mac = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


async def receive_from_form(db: AsyncSession, data: LeadInput, secret_key: str) -> Lead:
    """A request from the public form. It waits, unconfirmed, until its requester follows the link
    e-mailed to the address they gave: until then nothing reaches any account under that address."""
    lead = await receive(db, data, source="form")
    lead.status = LeadStatus.unconfirmed
    lead.confirm_nonce = secrets.token_hex(16)
    lead.confirm_token_hash = _digest(confirmation_token(secret_key, lead.id, lead.confirm_nonce))
    lead.confirm_expires_at = utcnow() + CONFIRMATION_LIFETIME
    _step(lead, "unconfirmed", "waiting for the requester to confirm by e-mail")
    # The link is e-mailed once this commits; the task makes it from the row.
    defer(db, "send_quote_confirmation", lead_id=lead.id)
    return lead


@dataclass(frozen=True)
class ConfirmationMail:
    """What the worker needs to send the confirmation e-mail of one lead."""

    to: str
    name: str
    title: str
    token: str
    expires_at: Any


async def confirmation_mail(db: AsyncSession, lead_id: int, secret_key: str) -> ConfirmationMail | None:
    """The e-mail to send, or None when there is nothing to send (already sent, confirmed, expired)."""
    lead = await db.get(Lead, lead_id)
    if (
        lead is None
        or lead.status != LeadStatus.unconfirmed
        or lead.confirmation_sent_at is not None
        or lead.confirm_nonce is None
        or lead.confirm_expires_at is None
        or lead.confirm_expires_at <= utcnow()
    ):
        return None
    return ConfirmationMail(
        to=lead.email,
        name=lead.name,
        # The title is the requester's own words; a spammer's, if someone else typed the address.
        title=mask_contacts(lead.title),
        token=confirmation_token(secret_key, lead.id, lead.confirm_nonce),
        expires_at=lead.confirm_expires_at,
    )


async def mark_confirmation_sent(db: AsyncSession, lead_id: int) -> None:
    await db.execute(
        update(Lead)
        .where(Lead.id == lead_id, Lead.confirmation_sent_at.is_(None))
        .values(confirmation_sent_at=utcnow())
    )


async def lead_for_link(db: AsyncSession, token: str, *, lock: bool = False) -> Lead | None:
    """The form lead this confirmation link belongs to, whatever its state (the page explains it)."""
    if not _TOKEN_SHAPE.match(token):
        return None
    query = select(Lead).where(Lead.confirm_token_hash == _digest(token), Lead.source == "form")
    return await db.scalar(query.with_for_update() if lock else query)


def link_state(lead: Lead) -> str:
    """pending | confirmed | expired, as the confirmation page tells it."""
    if lead.confirmed_at is not None:
        return "confirmed"
    if lead.status == LeadStatus.expired or (lead.confirm_expires_at or utcnow()) <= utcnow():
        return "expired"
    return "pending"


async def confirm(db: AsyncSession, token: str) -> tuple[Lead, bool] | None:
    """Confirm the request behind the link: (lead, True) when this call confirmed it and it now
    goes to processing; (lead, False) when it was already confirmed or has expired; None for a
    link that is not ours. The row lock makes a double click confirm once."""
    lead = await lead_for_link(db, token, lock=True)
    if lead is None:
        return None
    if link_state(lead) != "pending":
        return lead, False
    lead.status, lead.confirmed_at = LeadStatus.received, utcnow()
    _step(lead, "confirmed", "the requester followed the e-mailed link")
    defer(db, "process_lead", lead_id=lead.id)
    return lead, True


async def expire_unconfirmed(db: AsyncSession) -> int:
    """Unconfirmed requests past their link's lifetime become `expired`; they never reach anyone."""
    leads = (
        await db.scalars(
            select(Lead)
            .where(Lead.status == LeadStatus.unconfirmed, Lead.confirm_expires_at <= utcnow())
            .with_for_update(skip_locked=True)
        )
    ).all()
    for lead in leads:
        lead.status, lead.processed_at = LeadStatus.expired, utcnow()
        _step(lead, "expired", "the requester did not confirm in time")
    return len(leads)


async def unsent_confirmations(db: AsyncSession, older_than: timedelta) -> list[int]:
    """Unconfirmed leads whose e-mail never left (the queue was away when they were received)."""
    return list(
        (
            await db.scalars(
                select(Lead.id).where(
                    Lead.status == LeadStatus.unconfirmed,
                    Lead.confirmation_sent_at.is_(None),
                    Lead.confirm_expires_at > utcnow(),
                    Lead.created_at < utcnow() - older_than,
                )
            )
        ).all()
    )


# ---------------------------------------------------------------- processing (worker)


_DEDUPE_LOCK_CLASS = 7301  # advisory locks on (class, hash of the address): leads of one requester


async def _duplicate_of(db: AsyncSession, lead: Lead) -> Lead | None:
    """Another live lead of the same requester with a similar title within the window, in either
    order: confirmation links are followed in any order, so the later id may be processed first.
    The address's advisory lock (held to commit) makes two leads processed at once decide one
    after the other, so exactly one of them is published."""
    await db.execute(select(func.pg_advisory_xact_lock(_DEDUPE_LOCK_CLASS, func.hashtext(lead.email_normalized))))
    return await db.scalar(
        select(Lead)
        .where(
            Lead.id != lead.id,
            Lead.email_normalized == lead.email_normalized,
            Lead.created_at.between(lead.created_at - DEDUPE_WINDOW, lead.created_at + DEDUPE_WINDOW),
            Lead.status.in_([LeadStatus.received, LeadStatus.enriched, LeadStatus.published]),
            func.similarity(Lead.title, lead.title) >= TITLE_SIMILARITY,
        )
        .order_by(Lead.id)
        .limit(1)
    )


async def _owner_for(db: AsyncSession, lead: Lead) -> tuple[User, bool]:
    """Who the draft job belongs to: the company's owner for API leads; for the public form, the
    requester's client account — created (without a password) when they have none yet."""
    if lead.company_id is not None:
        owner = await db.scalar(
            select(User)
            .join(CompanyMember, CompanyMember.user_id == User.id)
            .where(
                CompanyMember.company_id == lead.company_id,
                CompanyMember.role == MemberRole.owner,
                CompanyMember.left_at.is_(None),
            )
        )
        if owner is None:
            raise RuntimeError(f"company {lead.company_id} has no owner")
        return owner, False
    user = await get_user_by_email(db, lead.email)
    if user is not None:
        if user.role != Role.client:
            raise DomainError("the requester's account is not a client account")
        return user, False
    # The requester confirmed this address by following our link: it counts as verified.
    verified = lead.confirmed_at is not None
    user = await create_user(db, email=lead.email, name=lead.name, role=Role.client, password=None, verified=verified)
    return user, True


async def process(db: AsyncSession, lead_id: int) -> tuple[Lead, bool]:
    """Run one lead through de-duplication, enrichment and publishing. Returns the lead and
    whether a new account was created for the requester (they get a link to set a password)."""
    lead = await db.get(Lead, lead_id, with_for_update=True)
    if lead is None or lead.status not in (LeadStatus.received, LeadStatus.enriched):
        return lead, False
    if lead.source == "form" and lead.confirmed_at is None:
        return lead, False  # never into an account without its requester's confirmation
    original = await _duplicate_of(db, lead)
    if original is not None:
        lead.status, lead.duplicate_of_id, lead.processed_at = LeadStatus.duplicate, original.id, utcnow()
        _step(lead, "duplicate", f"same request as lead #{original.id} from the last 24 hours")
        return lead, False
    enriched = enrich(lead.title, lead.description, lead.budget_text)
    lead.category, lead.public_description, lead.quality_score = (
        enriched.category,
        enriched.public_description,
        enriched.quality_score,
    )
    if enriched.budget is not None:
        lead.budget_minor, lead.currency = enriched.budget.amount_minor, enriched.budget.currency
    lead.status = LeadStatus.enriched
    _step(lead, "enriched", f"category {enriched.category}, quality {enriched.quality_score}/100")
    owner, created = await _owner_for(db, lead)
    job = await create_job(
        db,
        owner,
        JobInput(
            title=lead.title[:200],
            description=enriched.public_description,
            skills=[enriched.category] if enriched.category != "other" else [],
            budget_type=BudgetType.fixed,
            budget=enriched.budget or Money(100_00, DEFAULT_CURRENCY),
            deadline=None,
            visibility=Visibility.public,
        ),
    )
    lead.status, lead.job_id, lead.failure, lead.attempts = LeadStatus.published, job.id, None, lead.attempts + 1
    lead.processed_at = utcnow()
    _step(
        lead,
        "published",
        f"draft job #{job.id} for {owner.email}" + ("" if enriched.budget else " (budget to be confirmed)"),
    )
    return lead, created


async def mark_failed(db: AsyncSession, lead_id: int, error: str, attempts: int) -> Lead | None:
    """Each failed attempt rolled back its own changes: record the outcome in a fresh transaction."""
    lead = await db.get(Lead, lead_id, with_for_update=True)
    if lead is None or lead.status in (LeadStatus.published, LeadStatus.duplicate):
        return None
    lead.status, lead.failure, lead.attempts, lead.processed_at = LeadStatus.failed, error[-2000:], attempts, utcnow()
    last_line = error.strip().splitlines()[-1][:300] if error.strip() else "unknown error"
    _step(lead, "failed", last_line)
    # Every administrator hears of it with the change: replay or discard it on the leads page.
    for admin in (await db.scalars(select(User).where(User.role == Role.admin).order_by(User.id))).all():
        await notify(db, admin, "lead.dead_letter", link=path_for("admin:leads"), lead_id=lead.id,
                     lead=lead.title, error=last_line, attempts=attempts)  # fmt: skip
    return lead


async def replay(db: AsyncSession, lead_id: int) -> Lead:
    result = await db.execute(
        update(Lead)
        .where(Lead.id == lead_id, Lead.status == LeadStatus.failed, Lead.discarded_at.is_(None))
        .values(status=LeadStatus.received, failure=None, attempts=0)
        .returning(Lead.id)
    )
    if result.scalar_one_or_none() is None:
        raise DomainError("Only a failed lead that was not discarded can be replayed.")
    lead = await db.get(Lead, lead_id, populate_existing=True)
    assert lead is not None
    _step(lead, "received", "replayed by an administrator")
    defer(db, "process_lead", lead_id=lead.id)
    return lead


async def discard(db: AsyncSession, lead_id: int) -> Lead:
    lead = await db.get(Lead, lead_id, with_for_update=True)
    if lead is None or lead.status != LeadStatus.failed:
        raise DomainError("Only a failed lead can be discarded.")
    lead.discarded_at = utcnow()
    _step(lead, "discarded", "by an administrator")
    return lead


async def dead_letters(db: AsyncSession) -> list[Lead]:
    return list(
        (
            await db.scalars(
                select(Lead)
                .where(Lead.status == LeadStatus.failed, Lead.discarded_at.is_(None))
                .order_by(Lead.id.desc())
            )
        ).all()
    )


async def company_keys(db: AsyncSession, company_id: int) -> list[ApiKey]:
    return list(
        (await db.scalars(select(ApiKey).where(ApiKey.company_id == company_id).order_by(ApiKey.id.desc()))).all()
    )


async def company_leads(db: AsyncSession, company_id: int) -> list[Lead]:
    return list(
        (await db.scalars(select(Lead).where(Lead.company_id == company_id).order_by(Lead.id.desc()).limit(20))).all()
    )


async def stuck_leads(db: AsyncSession, older_than: timedelta) -> list[int]:
    return list(
        (
            await db.scalars(
                select(Lead.id).where(
                    Lead.status.in_([LeadStatus.received, LeadStatus.enriched]),
                    Lead.created_at < utcnow() - older_than,
                    (Lead.source != "form") | Lead.confirmed_at.is_not(None),
                )
            )
        ).all()
    )


async def pending_in_outbox(db: AsyncSession, function: str) -> set[int]:
    """Leads that already have a `function` job row waiting for the dispatcher."""
    rows = await db.scalars(
        select(OutboxJob.kwargs).where(OutboxJob.function == function, OutboxJob.enqueued_at.is_(None))
    )
    return {kwargs.get("lead_id") for kwargs in rows}


async def requeue_stuck(db: AsyncSession, older_than: timedelta) -> int:
    """Leads left waiting (their job was lost by the queue, e.g. a Redis that restarted without
    its data) get a new job row, unless one is still waiting to be handed over; confirmation
    e-mails that never left likewise. Unconfirmed requests past their link expire."""
    ids = set(await stuck_leads(db, older_than)) - await pending_in_outbox(db, "process_lead")
    unsent = set(await unsent_confirmations(db, older_than)) - await pending_in_outbox(db, "send_quote_confirmation")
    await expire_unconfirmed(db)
    for lead_id in sorted(ids):
        defer(db, "process_lead", lead_id=lead_id)
    for lead_id in sorted(unsent):
        defer(db, "send_quote_confirmation", lead_id=lead_id)
    return len(ids) + len(unsent)
