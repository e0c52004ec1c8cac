"""demo-seed gives the demo contractor a complete public profile and a verified identity,
through the real verbs; running it twice adds nothing."""

from sqlalchemy import func, select

from app.files.models import FilePurpose, StoredFile
from app.profiles.models import ContractorProfile, KycCheck, PortfolioItem
from app.profiles.services import completeness, ensure_payout_allowed
from tests.profiles.helpers import stored_keys


async def _counts(db):
    # The profile's own files: the demo conversation's picture is counted by its own seed test.
    conversation_files = (FilePurpose.message_attachment, FilePurpose.message_thumbnail)
    return [
        await db.scalar(select(func.count()).select_from(ContractorProfile)),
        await db.scalar(select(func.count()).select_from(PortfolioItem)),
        await db.scalar(
            select(func.count()).select_from(StoredFile).where(StoredFile.purpose.not_in(conversation_files))
        ),
        await db.scalar(select(func.count()).select_from(KycCheck)),
    ]


async def test_the_demo_contractor_is_complete_verified_and_public(app, db, anonymous):
    from app.platform.seed import demo_seed

    await demo_seed(app.state.resources)
    profile = await db.scalar(select(ContractorProfile))
    assert profile.kyc_status == "verified"
    ensure_payout_allowed(profile)
    assert completeness(profile, 1).percent == 100
    check = await db.scalar(select(KycCheck))
    assert check.status == "verified" and check.decided_by_id is not None
    page = await anonymous.get(f"/c/{profile.slug}")
    assert page.status_code == 200 and "Identity verified" in page.text

    before, files = await _counts(db), stored_keys(app)
    await demo_seed(app.state.resources)
    assert await _counts(db) == before == [1, 1, 3, 1]
    assert stored_keys(app) == files
