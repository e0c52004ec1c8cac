"""Profile rules: editing, completeness, portfolio, private files and the KYC state machine
`unverified → pending → verified | rejected` (rejected may start again)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.audit import record_event
from app.accounts.models import Role, User
from app.db import utcnow
from app.errors import DomainError, FormError, NotFound
from app.files.models import FilePurpose, StoredFile
from app.files.services import store_file
from app.files.storage import Storage
from app.files.uploads import CheckedUpload
from app.notifications import notify
from app.profiles.forms import ProfileInput
from app.profiles.models import ContractorProfile, KycCheck, KycMethod, KycStatus, PortfolioItem
from app.web.urls import path_for

MIN_SKILLS = 3
MIN_BIO = 80
MAX_PORTFOLIO = 12

# ---------------------------------------------------------------- profile


def slugify(name: str, fallback: str = "contractor") -> str:
    """'Zoë Müller' → 'zoe-muller': for public URLs and download file names."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")
    return slug or fallback


async def get_profile(db: AsyncSession, user_id: int) -> ContractorProfile | None:
    return await db.scalar(select(ContractorProfile).where(ContractorProfile.user_id == user_id))


async def ensure_profile(db: AsyncSession, user: User) -> ContractorProfile:
    """The contractor's profile, created on first visit with a public address from their name."""
    if user.role != Role.contractor:
        raise DomainError("Only contractors have a profile.")
    profile = await get_profile(db, user.id)
    if profile is not None:
        return profile
    base = slugify(user.name)
    taken = set((await db.scalars(select(ContractorProfile.slug).where(ContractorProfile.slug.like(f"{base}%")))).all())
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    profile = ContractorProfile(user_id=user.id, slug=slug, skills=[], kyc_status=KycStatus.unverified)
    db.add(profile)
    await db.flush()
    return profile


async def update_profile(db: AsyncSession, user: User, data: ProfileInput) -> ContractorProfile:
    profile = await ensure_profile(db, user)
    profile.headline, profile.bio, profile.skills = data.headline, data.bio, data.skills
    profile.hourly_rate_minor, profile.currency = data.hourly_rate_minor, data.currency
    profile.availability, profile.country = data.availability, data.country
    await record_event(db, "profile_updated", user_id=user.id)
    await db.commit()
    return profile


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    done: bool


@dataclass(frozen=True)
class Completeness:
    steps: list[Step]

    @property
    def percent(self) -> int:
        return round(100 * sum(s.done for s in self.steps) / len(self.steps))

    @property
    def missing(self) -> list[Step]:
        return [s for s in self.steps if not s.done]


def completeness(profile: ContractorProfile, portfolio_count: int) -> Completeness:
    return Completeness(
        [
            Step("headline", "Add a headline that says what you do", bool(profile.headline)),
            Step("bio", f"Write a bio of at least {MIN_BIO} characters", len(profile.bio or "") >= MIN_BIO),
            Step("skills", f"List at least {MIN_SKILLS} skills", len(profile.skills or []) >= MIN_SKILLS),
            Step("hourly_rate", "Set your hourly rate", profile.hourly_rate_minor is not None),
            Step("availability", "Say whether you are available", profile.availability is not None),
            Step("country", "Choose your country", profile.country is not None),
            Step("portfolio", "Add at least one portfolio item", portfolio_count > 0),
        ]
    )


async def portfolio_of(db: AsyncSession, profile: ContractorProfile) -> list[PortfolioItem]:
    return list(
        (
            await db.scalars(
                select(PortfolioItem).where(PortfolioItem.profile_id == profile.id).order_by(PortfolioItem.id)
            )
        ).all()
    )


async def public_profile(db: AsyncSession, slug: str, viewer: User | None) -> tuple[ContractorProfile, User]:
    """The profile behind /c/<slug>. NotFound when there is none to show: unknown, suspended
    owner, or not started yet (the owner still sees their own preview)."""
    row = (
        await db.execute(
            select(ContractorProfile, User)
            .join(User, User.id == ContractorProfile.user_id)
            .where(ContractorProfile.slug == slug)
        )
    ).first()
    if row is None:
        raise NotFound(slug)
    profile, owner = row
    is_owner = viewer is not None and viewer.id == owner.id
    if not is_owner and (not owner.is_active or not profile.headline):
        raise NotFound(slug)
    return profile, owner


# ---------------------------------------------------------------- files


async def readable_file(db: AsyncSession, viewer: User | None, file_id: int, *, admin_ok: bool) -> StoredFile:
    """A file the viewer may download. Portfolio images are public; identity documents only
    for their owner and admins (who passed two-step sign-in). Anything else: NotFound (404)."""
    row = await db.get(StoredFile, file_id)
    if row is None:
        raise NotFound(file_id)
    if FilePurpose(row.purpose).is_public:
        shown = await db.scalar(
            select(func.count())
            .select_from(PortfolioItem)
            .join(ContractorProfile, ContractorProfile.id == PortfolioItem.profile_id)
            .join(User, User.id == ContractorProfile.user_id)
            .where(PortfolioItem.image_file_id == row.id, User.status == "active")
        )
        if shown:
            return row
    if viewer is not None and (viewer.id == row.owner_id or (viewer.role == Role.admin and admin_ok)):
        return row
    raise NotFound(file_id)


# ---------------------------------------------------------------- portfolio


async def add_portfolio_item(
    db: AsyncSession,
    storage: Storage,
    user: User,
    *,
    title: str,
    url: str | None,
    image: CheckedUpload | None,
) -> PortfolioItem:
    profile = await ensure_profile(db, user)
    if len(await portfolio_of(db, profile)) >= MAX_PORTFOLIO:
        raise DomainError(f"You can show at most {MAX_PORTFOLIO} portfolio items. Remove one first.")
    stored = await store_file(db, storage, user, FilePurpose.portfolio_image, image) if image else None
    try:
        item = PortfolioItem(profile_id=profile.id, title=title, url=url, image_file_id=stored.id if stored else None)
        db.add(item)
        await record_event(db, "portfolio_item_added", user_id=user.id, title=title)
        await db.commit()
    except Exception:
        await db.rollback()
        if stored is not None:
            await storage.delete(stored.storage_key)
        raise
    return item


async def remove_portfolio_item(db: AsyncSession, storage: Storage, user: User, item_id: int) -> None:
    profile = await get_profile(db, user.id)
    item = await db.get(PortfolioItem, item_id)
    if profile is None or item is None or item.profile_id != profile.id:
        raise NotFound(item_id)
    key = None
    if item.image_file_id is not None:
        image = await db.get(StoredFile, item.image_file_id)
        if image is not None:
            key = image.storage_key
            await db.delete(image)
    await db.delete(item)
    await record_event(db, "portfolio_item_removed", user_id=user.id, title=item.title)
    await db.commit()
    if key:
        await storage.delete(key)


# ---------------------------------------------------------------- KYC


class VerificationRequired(DomainError):
    title = "Identity verification required"


def ensure_payout_allowed(profile: ContractorProfile | None) -> None:
    """Payouts need a verified identity (DESIGN §2): the escrow feature calls this before paying out."""
    if profile is None or profile.kyc_status != KycStatus.verified:
        raise VerificationRequired(
            "Before we can pay you, we need to confirm who you are. Verify your identity on your profile: "
            "it takes a few minutes with an ID document and a selfie."
        )


def ensure_can_start_kyc(profile: ContractorProfile) -> None:
    """Only unverified or rejected contractors start a check (checked again under a row lock)."""
    if profile.kyc_status == KycStatus.pending:
        raise DomainError("Your identity check is already being reviewed. We will tell you as soon as it is decided.")
    if profile.kyc_status == KycStatus.verified:
        raise DomainError("Your identity is already verified.")


async def _lock_profile_for_kyc(db: AsyncSession, user: User) -> ContractorProfile:
    profile = await ensure_profile(db, user)
    await db.refresh(profile, with_for_update=True)
    ensure_can_start_kyc(profile)
    return profile


async def submit_documents(
    db: AsyncSession, storage: Storage, user: User, id_document: CheckedUpload, selfie: CheckedUpload
) -> KycCheck:
    """Default adapter: the contractor uploads an ID document and a selfie; an admin reviews them."""
    profile = await _lock_profile_for_kyc(db, user)
    stored: list[StoredFile] = []
    try:
        stored.append(await store_file(db, storage, user, FilePurpose.kyc_id_document, id_document))
        stored.append(await store_file(db, storage, user, FilePurpose.kyc_selfie, selfie))
        check = KycCheck(
            user_id=user.id,
            method=KycMethod.documents,
            status=KycStatus.pending,
            id_document_file_id=stored[0].id,
            selfie_file_id=stored[1].id,
        )
        db.add(check)
        profile.kyc_status, profile.kyc_reason = KycStatus.pending, None
        await record_event(db, "kyc_submitted", user_id=user.id, method=KycMethod.documents.value)
        await db.commit()
    except Exception:
        await db.rollback()
        for row in stored:
            await storage.delete(row.storage_key)
        raise
    return check


async def start_provider_check(db: AsyncSession, user: User, session_id: str) -> KycCheck:
    """Provider adapter: a hosted session was created; the decision arrives by signed webhook."""
    profile = await _lock_profile_for_kyc(db, user)
    check = KycCheck(
        user_id=user.id, method=KycMethod.provider, status=KycStatus.pending, provider_session_id=session_id
    )
    db.add(check)
    profile.kyc_status, profile.kyc_reason = KycStatus.pending, None
    await record_event(db, "kyc_submitted", user_id=user.id, method=KycMethod.provider.value)
    await db.commit()
    return check


class AlreadyDecided(DomainError):
    title = "Already decided"


async def decide(
    db: AsyncSession, check_id: int, *, approve: bool, reason: str | None, admin: User | None
) -> tuple[KycCheck, ContractorProfile]:
    """Compare-and-set on `status = 'pending'`: of two admins deciding at once, one wins and the
    other gets AlreadyDecided (409). The caller publishes the live update and commits."""
    if not approve and not (reason or "").strip():
        raise FormError({"reason": ["Say why, so the contractor knows what to fix."]})
    status = KycStatus.verified if approve else KycStatus.rejected
    now = utcnow()
    result = await db.execute(
        update(KycCheck)
        .where(KycCheck.id == check_id, KycCheck.status == KycStatus.pending)
        .values(
            status=status,
            reason=None if approve else reason.strip()[:500],
            decided_by_id=admin.id if admin else None,
            decided_at=now,
        )
        .returning(KycCheck.id)
    )
    if result.scalar() is None:
        if await db.get(KycCheck, check_id) is None:
            raise NotFound(check_id)
        raise AlreadyDecided("This identity check was already decided, perhaps by another admin. Reload to see it.")
    check = await db.get(KycCheck, check_id, populate_existing=True)
    assert check is not None
    profile = await db.scalar(
        select(ContractorProfile).where(ContractorProfile.user_id == check.user_id).with_for_update()
    )
    assert profile is not None
    profile.kyc_status, profile.kyc_reason = status, check.reason
    kind = "kyc_approved" if approve else "kyc_rejected"
    await record_event(
        db, kind, user_id=check.user_id, actor_id=admin.id if admin else None, reason=check.reason, method=check.method
    )
    await notify(
        db,
        check.user_id,
        "kyc.decided",
        link=path_for("profiles:kyc"),
        decision="approved" if approve else "not approved",
        approved=approve,
        reason=check.reason or "",
    )
    return check, profile


async def latest_check(db: AsyncSession, user_id: int) -> KycCheck | None:
    return await db.scalar(select(KycCheck).where(KycCheck.user_id == user_id).order_by(KycCheck.id.desc()).limit(1))


async def pending_checks(db: AsyncSession) -> list[tuple[KycCheck, User, StoredFile | None]]:
    """Oldest first, with the ID document's file row (an image is shown inline, a PDF linked)."""
    rows = await db.execute(
        select(KycCheck, User, StoredFile)
        .join(User, User.id == KycCheck.user_id)
        .outerjoin(StoredFile, StoredFile.id == KycCheck.id_document_file_id)
        .where(KycCheck.status == KycStatus.pending, KycCheck.method == KycMethod.documents)
        .order_by(KycCheck.id)
    )
    return [(check, user, document) for check, user, document in rows.all()]


async def remember_webhook_event(db: AsyncSession, event_id: str, payload: dict[str, Any]) -> bool:
    """Store the provider's event id; False when it was seen before (a replay changes nothing).
    Runs in the same transaction as the decision it leads to."""
    from sqlalchemy.dialects.postgresql import insert

    from app.profiles.models import KycWebhookEvent

    result = await db.execute(
        insert(KycWebhookEvent)
        .values(event_id=event_id[:100], payload=payload)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(KycWebhookEvent.id)
    )
    return result.scalar() is not None


async def check_for_session(db: AsyncSession, session_id: str) -> KycCheck | None:
    return await db.scalar(select(KycCheck).where(KycCheck.provider_session_id == session_id))
