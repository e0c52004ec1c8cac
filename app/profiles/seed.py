"""Demo data for profiles: the demo contractor gets a complete public profile and a verified
identity, made through the real service verbs (submit documents, an admin approves)."""

from __future__ import annotations

import hashlib
import struct
import zlib

from sqlalchemy import text

from app.accounts.services import get_user_by_email
from app.files.storage import storage_for
from app.files.uploads import PNG, CheckedUpload
from app.profiles import services
from app.profiles.forms import ProfileInput
from app.profiles.models import Availability, KycStatus

DEMO_CONTRACTOR = "contractor@pactline.test"
DEMO_ADMIN = "admin@pactline.test"
_LOCK = 727275

DEMO_PROFILE = ProfileInput(
    headline="Python and PostgreSQL developer for small businesses",
    bio=(
        "I build and look after web applications for shops, clinics and agencies: online booking, "
        "invoicing, reports and the integrations that glue them together. Ten years of Python, "
        "clear written updates every week, and fixed-price milestones whenever the scope allows."
    ),
    skills=["Python", "PostgreSQL", "Django", "Data analysis", "Technical writing"],
    hourly_rate_minor=6500,
    currency="EUR",
    availability=Availability.available,
    country="PT",
)


def demo_png(rgb: tuple[int, int, int], size: int = 48) -> CheckedUpload:
    """A small solid-colour PNG, built here so the demo needs no binary files."""
    row = b"\x00" + bytes(rgb) * size
    raw = zlib.compress(row * size)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", raw)
        + chunk(b"IEND", b"")
    )
    return CheckedUpload(data, PNG, hashlib.sha256(data).hexdigest(), "demo.png")


async def seed_profiles(resources) -> list[str]:
    created: list[str] = []
    storage = storage_for(resources.settings)
    # Services commit as they go, so the lock is held on a connection of its own.
    async with resources.engine.connect() as lock:
        await lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK})
        try:
            async with resources.sessionmaker() as db:
                user = await get_user_by_email(db, DEMO_CONTRACTOR)
                admin = await get_user_by_email(db, DEMO_ADMIN)
                if user is None or admin is None:
                    return created
                profile = await services.get_profile(db, user.id)
                if profile is None or not profile.headline:
                    await services.update_profile(db, user, DEMO_PROFILE)
                    created.append(f"profile of {DEMO_CONTRACTOR}")
                profile = await services.ensure_profile(db, user)
                if not await services.portfolio_of(db, profile):
                    await services.add_portfolio_item(
                        db,
                        storage,
                        user,
                        title="Booking system for a physiotherapy clinic",
                        url="https://example.com/clinic-booking",
                        image=demo_png((14, 100, 112)),
                    )
                    created.append("portfolio item")
                if profile.kyc_status in (KycStatus.unverified, KycStatus.rejected):
                    await services.submit_documents(
                        db, storage, user, demo_png((200, 200, 200)), demo_png((230, 190, 160))
                    )
                    check = await services.latest_check(db, user.id)
                    assert check is not None
                    await services.decide(db, check.id, approve=True, reason=None, admin=admin)
                    await db.commit()
                    created.append(f"verified identity of {DEMO_CONTRACTOR}")
        finally:
            await lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK})
    return created
