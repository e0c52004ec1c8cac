"""Lead intake rules: API keys, receiving, de-duplicating, enriching, publishing, dead letters."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User
from app.accounts.services import EMAIL_PATTERN, create_user, get_user_by_email, normalize_email
from app.companies.models import CompanyMember, MemberRole
from app.companies.services import Membership
from app.db import utcnow
from app.errors import DomainError, FormError
from app.leads.enrichment import enrich
from app.leads.models import ApiKey, Lead, LeadStatus
from app.marketplace.models import BudgetType, Visibility
from app.marketplace.services import JobInput, create_job
from app.money import DEFAULT_CURRENCY, Money

DEDUPE_WINDOW = timedelta(hours=24)
TITLE_SIMILARITY = 0.5
FIELDS: dict[str, tuple[bool, int]] = {
    # name: (required, max length)
    "name": (True, 200),
    "email": (True, 320),
    "title": (True, 200),
    "description": (True, 10_000),
    "phone": (False, 40),
    "budget": (False, 100),
}


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
        raise LookupError(key_id)
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


def _is_text(value: str) -> bool:
    """JSON can carry lone surrogates ("\\udcff"), which no database text column can store."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_payload(payload: Any) -> dict[str, str]:
    """The lead's fields, or FormError naming each problem (the API answers 422 with them)."""
    if not isinstance(payload, dict):
        raise FormError({"body": ["Send a JSON object."]})
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    for name, (required, limit) in FIELDS.items():
        value = payload.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                errors[name] = ["This field is required."]
            continue
        if not isinstance(value, str):
            errors[name] = ["Must be a string."]
            continue
        if not _is_text(value):
            errors[name] = ["Must be text: it contains an escape (like \\udcff) that is half a character."]
            continue
        if len(value) > limit:
            errors[name] = [f"At most {limit} characters."]
            continue
        cleaned[name] = value.strip()
    unknown = sorted(set(payload) - set(FIELDS))
    if unknown:
        errors["unknown"] = [f"Unknown field(s): {', '.join(unknown)}."]
    if "email" in cleaned and not EMAIL_PATTERN.match(normalize_email(cleaned["email"])):
        errors["email"] = ["Must be an e-mail address."]
    if errors:
        raise FormError(errors)
    return cleaned


def _step(lead: Lead, status: str, note: str = "") -> None:
    lead.journey = [
        *(lead.journey or []),
        {"at": utcnow().isoformat(timespec="seconds"), "status": status, "note": note},
    ]


async def receive(
    db: AsyncSession,
    fields: dict[str, str],
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
        name=fields["name"],
        email=fields["email"],
        email_normalized=normalize_email(fields["email"]),
        phone=fields.get("phone"),
        title=fields["title"],
        description=fields["description"],
        budget_text=fields.get("budget"),
        journey=[],
    )
    _step(lead, "received", "from the website form" if source == "form" else "through the API")
    db.add(lead)
    await db.flush()
    return lead


# ---------------------------------------------------------------- processing (worker)


async def _duplicate_of(db: AsyncSession, lead: Lead) -> Lead | None:
    return await db.scalar(
        select(Lead)
        .where(
            Lead.id < lead.id,
            Lead.email_normalized == lead.email_normalized,
            Lead.created_at > lead.created_at - DEDUPE_WINDOW,
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
    return await create_user(db, email=lead.email, name=lead.name, role=Role.client, password=None), True


async def process(db: AsyncSession, lead_id: int) -> tuple[Lead, bool]:
    """Run one lead through de-duplication, enrichment and publishing. Returns the lead and
    whether a new account was created for the requester (they get a link to set a password)."""
    lead = await db.get(Lead, lead_id, with_for_update=True)
    if lead is None or lead.status not in (LeadStatus.received, LeadStatus.enriched):
        return lead, False
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
    _step(lead, "failed", error.strip().splitlines()[-1][:300] if error.strip() else "unknown error")
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
                    Lead.status.in_([LeadStatus.received, LeadStatus.enriched]), Lead.created_at < utcnow() - older_than
                )
            )
        ).all()
    )
