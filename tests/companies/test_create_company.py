"""A client sets up a company; bad details are explained next to their fields."""

from sqlalchemy import select

from app.companies.models import Company, CompanyMember, MemberRole

ACME = {
    "name": "Acme Robotics",
    "country": "DE",
    "registration_number": "HRB 123456",
    "vat_id": "DE 123 456 789",
    "address": "Robotstraße 1, Berlin",
}


async def test_a_client_creates_a_company_and_becomes_its_owner(client, db):
    response = await client.post_form("/company", ACME)
    assert response.status_code == 303
    company = await db.scalar(select(Company))
    assert company.name == "Acme Robotics" and company.vat_id == "DE123456789" and company.verification == "unverified"
    member = await db.scalar(select(CompanyMember))
    assert (member.user_id, member.role) == (client.user.id, MemberRole.owner)
    page = await client.get("/company")
    assert "Acme Robotics" in page.text and "Ask for verification" in page.text


async def test_a_malformed_eu_vat_number_is_explained(client, db):
    response = await client.post_form("/company", {**ACME, "vat_id": "FR123"})
    assert response.status_code == 422
    assert "starts with DE" in response.text
    response = await client.post_form("/company", {**ACME, "vat_id": "DE12345"})
    assert response.status_code == 422
    assert (
        "doesn&#39;t look like a DE VAT number" in response.text or "doesn't look like a DE VAT number" in response.text
    )
    assert await db.scalar(select(Company)) is None


async def test_vat_is_optional_and_unchecked_outside_the_eu(client, db):
    response = await client.post_form("/company", {**ACME, "country": "US", "vat_id": ""})
    assert response.status_code == 303


async def test_missing_fields_are_named(client):
    response = await client.post_form("/company", {"name": "", "country": "", "registration_number": "", "address": ""})
    assert response.status_code == 422
    for message in (
        "Enter the company's registered name.",
        "Choose the country",
        "Enter the number from the company register.",
        "Enter the registered address.",
    ):
        assert message.replace("'", "&#39;") in response.text or message in response.text


async def test_contractors_have_no_company_pages(contractor):
    assert (await contractor.get("/company")).status_code == 404
    assert (await contractor.post_form("/company", ACME)).status_code == 404
