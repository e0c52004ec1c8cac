"""The public page at /c/<slug>: server-rendered, OpenGraph tags, only public fields."""

import re

from sqlalchemy import select

from app.profiles.models import ContractorProfile, KycStatus
from tests.profiles.test_edit_profile import FULL


async def _slug(db, user_id) -> str:
    return await db.scalar(select(ContractorProfile.slug).where(ContractorProfile.user_id == user_id))


async def test_a_visitor_sees_the_public_profile_with_open_graph_tags(contractor, anonymous, db):
    await contractor.post_form("/profile", FULL)
    slug = await _slug(db, contractor.user.id)
    page = await anonymous.get(f"/c/{slug}")
    assert page.status_code == 200
    assert f"<h1>{contractor.user.name}</h1>" in page.text
    assert "Bookkeeper for small shops" in page.text
    assert "€45.50</strong> per hour" in page.text
    assert "Available for new work" in page.text and "Based in Portugal" in page.text
    for skill in ("Bookkeeping", "Excel", "Accounting"):
        assert f'<li class="skill-list__item">{skill}</li>' in page.text
    assert '<meta property="og:type" content="profile">' in page.text
    assert f'<meta property="og:title" content="{contractor.user.name} · Bookkeeper for small shops">' in page.text
    assert re.search(rf'<meta property="og:url" content="http[^"]+/c/{slug}">', page.text)
    assert '<meta property="og:description" content="I keep the books' in page.text
    # Private fields never reach the public page.
    assert contractor.user.email not in page.text
    assert "Identity verified" not in page.text, "not verified yet"
    assert "Edit profile" not in page.text


async def test_a_verified_contractor_shows_the_badge_but_never_a_rejection_reason(contractor, anonymous, db):
    await contractor.post_form("/profile", FULL)
    profile = await db.scalar(select(ContractorProfile).where(ContractorProfile.user_id == contractor.user.id))
    profile.kyc_status, profile.kyc_reason = KycStatus.rejected, "Blurry passport photo"
    await db.commit()
    page = await anonymous.get(f"/c/{profile.slug}")
    assert "Blurry passport photo" not in page.text and "Identity verified" not in page.text
    profile.kyc_status, profile.kyc_reason = KycStatus.verified, None
    await db.commit()
    assert "Identity verified" in (await anonymous.get(f"/c/{profile.slug}")).text


async def test_an_unstarted_profile_is_hidden_from_others_but_previewed_by_its_owner(contractor, client, anonymous, db):
    await contractor.get("/profile")
    slug = await _slug(db, contractor.user.id)
    assert (await anonymous.get(f"/c/{slug}")).status_code == 404
    assert (await client.get(f"/c/{slug}")).status_code == 404
    own = await contractor.get(f"/c/{slug}")
    assert own.status_code == 200 and "Only you can see this page" in own.text


async def test_unknown_and_suspended_profiles_are_not_found(contractor, admin, anonymous, db):
    assert (await anonymous.get("/c/nobody-here")).status_code == 404
    await contractor.post_form("/profile", FULL)
    slug = await _slug(db, contractor.user.id)
    await admin.post_form(f"/admin/users/{contractor.user.id}/suspend", {"reason": "Fraud"})
    assert (await anonymous.get(f"/c/{slug}")).status_code == 404


async def test_two_contractors_with_the_same_name_get_different_addresses(app, db):
    from app.accounts.models import Role
    from app.profiles.services import ensure_profile
    from tests.support.factories import make_user

    first = await make_user(db, role=Role.contractor, name="Ana Silva")
    second = await make_user(db, role=Role.contractor, name="Ana Silva")
    a, b = await ensure_profile(db, first), await ensure_profile(db, second)
    await db.commit()
    assert (a.slug, b.slug) == ("ana-silva", "ana-silva-2")
