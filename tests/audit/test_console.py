"""The console's audit page: admins only; verification runs in the worker with live progress."""

import asyncio
import json

from sqlalchemy import func, select

from app.audit.chain import append
from app.audit.models import AuditEvent
from app.events.models import OutboxEvent
from tests.support.signals import refresh_url


async def test_only_admins_see_the_chain(client, contractor):
    assert (await client.get("/admin/audit")).status_code == 404
    assert (await contractor.get("/admin/audit")).status_code == 404


async def test_verify_now_reports_progress_and_the_result_live(admin, db):
    for n in range(3):
        await append(db, "signed_in", actor_id=admin.user.id, data={"n": n})
    await db.commit()
    total = await db.scalar(select(func.count()).select_from(AuditEvent))
    assert total >= 3  # the admin's own sign-in and two-step set-up are on the chain too
    page = await admin.get("/admin/audit")
    assert "Verify the whole chain now" in page.text and f"#{total}" in page.text
    started = await admin.htmx("POST", "/admin/audit/verify")
    assert started.status_code == 202 and "Checking the chain" in started.text
    for _ in range(100):
        events = (
            await db.scalars(
                select(OutboxEvent).where(OutboxEvent.event == "audit-verify").execution_options(populate_existing=True)
            )
        ).all()
        if any(json.loads(e.data).get("ok") for e in events):
            break
        await asyncio.sleep(0.1)
    assert [json.loads(e.data) for e in events][0] == {"running": True, "done": 0, "total": total}
    assert json.loads(events[-1].data) == {"running": False, "total": total, "ok": True}
    assert all(e.user_id == admin.user.id and "<" not in e.data for e in events)
    # The open page re-fetches its progress block on each signal.
    url = refresh_url(page.text, "audit-verify")
    assert refresh_url(started.text, "audit-verify") == url == "/admin/audit/verify"
    result = await admin.htmx("GET", url)
    assert result.status_code == 200 and f"All {total} events check out" in result.text and "<html" not in result.text


async def test_the_progress_block_is_for_admins_only_and_each_sees_their_own(admin, client, contractor, db):
    assert (await client.htmx("GET", "/admin/audit/verify")).status_code == 404
    assert (await contractor.htmx("GET", "/admin/audit/verify")).status_code == 404
    idle = await admin.htmx("GET", "/admin/audit/verify")
    assert idle.status_code == 200 and "Checking" not in idle.text and "Intact" not in idle.text


async def test_without_javascript_the_check_runs_and_its_result_stays_on_the_page(admin, db):
    await append(db, "signed_in", actor_id=admin.user.id)
    await db.commit()
    response = await admin.post_form("/admin/audit/verify")
    assert response.status_code == 303 and response.headers["location"] == "/admin/audit"
    for _ in range(100):
        page = await admin.get("/admin/audit")
        if "Not checked yet" not in page.text:
            break
        await asyncio.sleep(0.1)
    assert "Intact" in page.text
