"""A contractor fills in their profile; the completeness meter says what is still missing."""

from sqlalchemy import select

from app.profiles.models import ContractorProfile

FULL = {
    "headline": "Bookkeeper for small shops",
    "bio": "I keep the books of twenty small shops in Lisbon: invoices, VAT returns, payroll and a monthly report in plain words.",
    "skills": "Bookkeeping, Excel, bookkeeping , Accounting",
    "hourly_rate": "45,50",
    "currency": "EUR",
    "availability": "available",
    "country": "PT",
}


async def test_first_visit_creates_a_profile_with_a_public_address_and_lists_what_is_missing(contractor, db):
    page = await contractor.get("/profile")
    assert page.status_code == 200
    assert "Profile 0% complete" in page.text
    assert "Add a headline that says what you do" in page.text and "Set your hourly rate" in page.text
    profile = await db.scalar(select(ContractorProfile).where(ContractorProfile.user_id == contractor.user.id))
    assert profile.slug.startswith("test-contractor")
    assert f'href="/c/{profile.slug}"' in page.text
    assert '<datalist id="skill-suggestions">' in page.text


async def test_saving_the_profile_stores_every_field_and_raises_the_meter(contractor, db):
    response = await contractor.post_form("/profile", FULL)
    assert response.status_code == 303 and response.headers["location"] == "/profile"
    profile = await db.scalar(select(ContractorProfile).where(ContractorProfile.user_id == contractor.user.id))
    assert profile.headline == "Bookkeeper for small shops"
    assert profile.skills == ["Bookkeeping", "Excel", "Accounting"], "duplicates are dropped, order kept"
    assert (profile.hourly_rate_minor, profile.currency) == (4550, "EUR")
    assert (profile.availability, profile.country) == ("available", "PT")
    page = await contractor.get("/profile")
    assert "Profile 86% complete" in page.text  # everything but a portfolio item
    assert "Add at least one portfolio item" in page.text
    assert "Set your hourly rate" not in page.text


async def test_bad_values_are_explained_next_to_their_fields_and_nothing_is_saved(contractor, db):
    await contractor.post_form("/profile", FULL)
    bad = FULL | {"hourly_rate": "lots", "country": "XX", "currency": "BTC", "headline": "New headline"}
    response = await contractor.post_form("/profile", bad)
    assert response.status_code == 422
    assert "Enter an amount like 1200 or 1200.50." in response.text
    assert "Choose your country from the list." in response.text
    assert "Choose euro, US dollar or pound sterling." in response.text
    assert 'value="New headline"' in response.text, "what was typed is kept"
    profile = await db.scalar(select(ContractorProfile).where(ContractorProfile.user_id == contractor.user.id))
    await db.refresh(profile)
    assert profile.headline == "Bookkeeper for small shops" and profile.hourly_rate_minor == 4550


async def test_the_profile_pages_are_for_contractors_only(client, admin, anonymous):
    assert (await client.get("/profile")).status_code == 404
    assert (await client.post_form("/profile", FULL)).status_code == 404
    assert (await admin.get("/profile")).status_code == 404
    response = await anonymous.get("/profile")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/profile"


async def test_contractors_find_their_profile_in_the_navigation(contractor):
    page = await contractor.get("/dashboard")
    assert 'href="/profile"' in page.text
