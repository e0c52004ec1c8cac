"""A lead whose processing keeps failing lands in the dead-letter list after 3 attempts; a replay publishes it."""

import json

import pytest
from sqlalchemy import select

from app.events.models import OutboxEvent
from app.leads import services
from tests.leads.test_api import LEAD, api, company_with_key, wait_for_status
from tests.support.notifications import notifications_of
from tests.support.signals import refresh_url


@pytest.fixture
def broken_enrichment(monkeypatch):
    calls = []

    def explode(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("category service unavailable")

    monkeypatch.setattr(services, "enrich", explode)
    return calls


async def test_three_failures_then_dead_letter_then_replay_publishes(
    app, client, admin, db, broken_enrichment, monkeypatch
):
    key = await company_with_key(client)
    async with api(app) as http:
        lead_id = (await http.post("/api/leads", json=LEAD, headers={"Authorization": f"Bearer {key}"})).json()["id"]
    lead = await wait_for_status(db, lead_id, {"failed"}, timeout=30)
    assert len(broken_enrichment) == 3 and lead.attempts == 3
    assert "category service unavailable" in lead.failure
    # Admins see it live and on the page.
    event = await db.scalar(
        select(OutboxEvent).where(OutboxEvent.event == "lead-dead-letter", OutboxEvent.user_id == admin.user.id)
    )
    assert event is not None and json.loads(event.data) == {"lead_id": lead_id}
    # Each admin is notified, once, with a link to the list; the client is not.
    [row] = await notifications_of(db, admin.user.id, "lead.dead_letter")
    assert row.title == f"Lead #{lead_id} (“Logo for my bakery”) could not be processed and waits for you."
    assert row.link == "/admin/leads" and "category service unavailable" in row.data["error"]
    assert await notifications_of(db, client.user.id) == []
    page = await admin.get("/admin/leads")
    assert "Logo for my bakery" in page.text and "category service unavailable" in page.text
    # The open page re-fetches its list on that signal: just the list, with working forms.
    listed = await admin.htmx("GET", refresh_url(page.text, "lead-dead-letter"))
    assert listed.status_code == 200 and "<html" not in listed.text and f"#{lead_id}" in listed.text
    assert listed.text.count('name="_csrf_token"') == 2  # replay and discard, each with the token
    assert refresh_url(listed.text, "lead-dead-letter") == "/admin/leads"
    # The client's intake page shows the journey honestly.
    assert "Failed" in (await client.get("/company/intake")).text

    monkeypatch.undo()
    assert (await admin.post_form(f"/admin/leads/{lead_id}/replay")).status_code == 303
    lead = await wait_for_status(db, lead_id, {"published"})
    assert lead.job_id is not None
    assert "Logo for my bakery" not in (await admin.get("/admin/leads")).text


async def test_a_discarded_lead_leaves_the_list_and_cannot_be_replayed(app, client, admin, db, broken_enrichment):
    key = await company_with_key(client)
    async with api(app) as http:
        lead_id = (await http.post("/api/leads", json=LEAD, headers={"Authorization": f"Bearer {key}"})).json()["id"]
    await wait_for_status(db, lead_id, {"failed"}, timeout=30)
    assert (await admin.post_form(f"/admin/leads/{lead_id}/discard")).status_code == 303
    assert (await admin.post_form(f"/admin/leads/{lead_id}/replay")).status_code == 409
    assert "Logo for my bakery" not in (await admin.get("/admin/leads")).text


async def test_dead_letters_are_for_admins_only(client, contractor):
    assert (await client.get("/admin/leads")).status_code == 404
    assert (await contractor.get("/admin/leads")).status_code == 404
    assert (await client.htmx("GET", "/admin/leads")).status_code == 404  # the live list too
