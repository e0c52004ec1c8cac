"""POST /api/leads: key first, then JSON, then the fields; 202 and the worker takes it from there."""

import asyncio

import httpx
from sqlalchemy import select

from app.accounts.models import Role
from app.leads.models import Lead
from tests.companies.test_create_company import ACME
from tests.conftest import persona

LEAD = {
    "name": "Sam Buyer",
    "email": "Sam@Example.test",
    "title": "Logo for my bakery",
    "description": "We need a logo for our bakery in Berlin, call +49 170 1234567. Budget €900.",
    "budget": "€900",
}


async def company_with_key(client) -> str:
    await client.post_form("/company", ACME)
    page = await client.post_form("/company/intake/keys", {"key_name": "Website form"})
    assert page.status_code == 200
    return page.text.split("data-api-key>")[1].split("<")[0]


def api(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def wait_for_status(db, lead_id, statuses, timeout=20):
    for _ in range(int(timeout / 0.1)):
        lead = await db.scalar(select(Lead).where(Lead.id == lead_id).execution_options(populate_existing=True))
        if lead.status in statuses:
            return lead
        await asyncio.sleep(0.1)
    raise AssertionError(f"lead {lead_id} stayed {lead.status}")


async def test_a_lead_becomes_a_draft_job_for_the_company_with_contacts_masked(app, client, db):
    key = await company_with_key(client)
    async with api(app) as http:
        response = await http.post("/api/leads", json=LEAD, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 202, response.text
        lead_id = response.json()["id"]
        assert response.json()["status"] == "received"
        lead = await wait_for_status(db, lead_id, {"published"})
        assert lead.job_id and lead.category == "design" and lead.budget_minor == 90000 and lead.currency == "EUR"
        status = await http.get(f"/api/leads/{lead_id}", headers={"Authorization": f"Bearer {key}"})
        assert [step["status"] for step in status.json()["journey"]] == ["received", "enriched", "published"]
    from app.marketplace.models import Job

    job = await db.get(Job, lead.job_id)
    assert job.client_id == client.user.id and job.status == "draft"
    assert "1234567" not in job.description and "[phone number hidden]" in job.description
    intake = await client.get("/company/intake")
    assert "Logo for my bakery" in intake.text and "Published" in intake.text


async def test_the_same_lead_twice_becomes_one_job(app, client, db):
    key = await company_with_key(client)
    async with api(app) as http:
        first = (await http.post("/api/leads", json=LEAD, headers={"Authorization": f"Bearer {key}"})).json()["id"]
        await wait_for_status(db, first, {"published"})
        again = {**LEAD, "email": "sam@example.test ", "title": "Logo for my bakery!"}
        second = (await http.post("/api/leads", json=again, headers={"Authorization": f"Bearer {key}"})).json()["id"]
        duplicate = await wait_for_status(db, second, {"duplicate", "published"})
    assert duplicate.status == "duplicate" and duplicate.duplicate_of_id == first and duplicate.job_id is None


async def test_bad_key_is_401_before_the_body_is_read(app, db):
    async with api(app) as http:
        for headers in ({}, {"Authorization": "Bearer pl_wrong"}, {"Authorization": "Basic abc"}):
            response = await http.post("/api/leads", content=b"{not json", headers=headers)
            assert response.status_code == 401
    assert await db.scalar(select(Lead)) is None


async def test_malformed_json_is_400_and_schema_errors_are_422_naming_fields(app, client, db):
    key = await company_with_key(client)
    async with api(app) as http:
        bad = await http.post("/api/leads", content=b"{not json", headers={"Authorization": f"Bearer {key}"})
        assert bad.status_code == 400
        deep = await http.post("/api/leads", content=b"[" * 30_000, headers={"Authorization": f"Bearer {key}"})
        assert deep.status_code == 400 and "nested too deeply" in deep.json()["detail"]
        # JSON may escape half a character ("\udcff"); no text column can store it.
        half = b'{"name": "Sam \\udcff", "email": "sam@example.test", "title": "Logo", "description": "A logo."}'
        surrogate = await http.post("/api/leads", content=half, headers={"Authorization": f"Bearer {key}"})
        # Refused for the whole request, naming the field, before the API reads it.
        assert surrogate.status_code == 400 and "“name”" in surrogate.json()["detail"]
        invalid = await http.post(
            "/api/leads",
            json={"name": "", "email": "nope", "title": 5, "extra": 1},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert invalid.status_code == 422
        fields = invalid.json()["fields"]
        assert set(fields) >= {"name", "email", "title", "description", "unknown"}
        # Postgres can't store a NUL: it is refused by name, not a server error.
        nul = await http.post(
            "/api/leads", json=LEAD | {"title": "Logo\u0000"}, headers={"Authorization": f"Bearer {key}"}
        )
        # Refused for the whole request before the lead is parsed, naming the field.
    assert nul.status_code == 400 and "title" in nul.json()["detail"]
    assert await db.scalar(select(Lead)) is None


async def test_a_burst_over_the_limit_gets_429_with_retry_after(app, client):
    key = await company_with_key(client)
    async with api(app) as http:
        statuses = []
        for _ in range(61):
            response = await http.post("/api/leads", json={"name": ""}, headers={"Authorization": f"Bearer {key}"})
            statuses.append(response.status_code)
    assert statuses[:60] == [422] * 60 and statuses[60] == 429
    assert int(response.headers["retry-after"]) > 0


async def test_a_revoked_key_stops_working_and_keys_are_hashed(app, client, db):
    from app.leads.models import ApiKey

    key = await company_with_key(client)
    row = await db.scalar(select(ApiKey))
    assert key not in row.key_hash and len(row.key_hash) == 64
    await client.post_form(f"/company/intake/keys/{row.id}/revoke")
    async with api(app) as http:
        assert (await http.post("/api/leads", json=LEAD, headers={"Authorization": f"Bearer {key}"})).status_code == 401


async def test_another_companys_leads_are_not_visible(app, client, db):
    key = await company_with_key(client)
    async with api(app) as http:
        lead_id = (await http.post("/api/leads", json=LEAD, headers={"Authorization": f"Bearer {key}"})).json()["id"]
        async with persona(app, db, Role.client, "rival@example.test") as rival:
            other_key = await company_with_key(rival)
            response = await http.get(f"/api/leads/{lead_id}", headers={"Authorization": f"Bearer {other_key}"})
            assert response.status_code == 404
            assert "Logo for my bakery" not in (await rival.get("/company/intake")).text
