"""The admin console: only admins (others 404), suspension, new admins, failed jobs."""

import pytest
from sqlalchemy import select

from app.accounts.models import AccountEvent, Role, User, UserStatus
from app.worker.models import FailedJob
from tests.accounts.helpers import next_code
from tests.conftest import ADMIN_TOTP


@pytest.mark.parametrize("path", ["/admin", "/admin/users", "/admin/jobs"])
async def test_console_is_not_found_for_clients_and_contractors(client, contractor, path):
    assert (await client.get(path)).status_code == 404
    assert (await contractor.get(path)).status_code == 404


async def test_visitors_are_asked_to_sign_in(anonymous):
    response = await anonymous.get("/admin")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/admin"


async def test_the_dashboard_sends_admins_to_the_console(admin):
    response = await admin.get("/dashboard")
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    assert (await admin.get("/admin")).status_code == 200


async def test_a_suspended_user_is_locked_out_mid_session_and_told_why(admin, client, db):
    assert (await client.get("/dashboard")).status_code == 200
    response = await admin.post_form(
        f"/admin/users/{client.user.id}/suspend", {"reason": "Payment fraud investigation"}
    )
    assert response.status_code == 303
    locked = await client.get("/dashboard")
    assert locked.status_code == 303
    assert locked.headers["location"] == "/login?next=/dashboard&reason=suspended"
    page = await client.get(locked.headers["location"])
    assert "suspended" in page.text
    event = await db.scalar(select(AccountEvent).where(AccountEvent.kind == "user_suspended"))
    assert event.actor_id == admin.user.id and event.data["reason"] == "Payment fraud investigation"

    await admin.post_form(f"/admin/users/{client.user.id}/reactivate")
    user = await db.scalar(select(User).where(User.id == client.user.id))
    await db.refresh(user)
    assert user.status == UserStatus.active


async def test_an_admin_adds_another_admin_who_gets_a_link(admin, db, smtp_server):
    response = await admin.post_form("/admin/admins", {"name": "Second Admin", "email": "second@example.test"})
    assert response.status_code == 303
    user = await db.scalar(select(User).where(User.email == "second@example.test"))
    assert user.role == Role.admin
    (message,) = await smtp_server.wait_for(1)
    assert "/reset/" in message.get_body(preferencelist=("plain",)).get_content()


async def test_failed_jobs_are_listed_and_can_be_re_run_once(admin, db):
    db.add(
        FailedJob(
            job_key="k1",
            function="send_email",
            kwargs={"to": "a@example.test", "subject": "s", "template": "test_message", "context": {"name": "A"}},
            error="SMTP down",
            attempts=6,
        )
    )
    await db.commit()
    job = await db.scalar(select(FailedJob))
    page = await admin.get("/admin/jobs")
    assert "send_email" in page.text and "SMTP down" in page.text
    response = await admin.post_form(f"/admin/jobs/{job.id}/retry")
    assert response.status_code == 303
    await db.refresh(job)
    assert job.retried_at is not None
    assert (await admin.post_form(f"/admin/jobs/{job.id}/retry")).status_code == 404


async def test_a_page_number_past_the_end_shows_the_last_page(admin):
    """Even one past any database offset: the list, not a 500."""
    for page in ("3", "9" * 30):
        response = await admin.get(f"/admin/users?page={page}")
        assert response.status_code == 200, page
        assert "admin@example.test" in response.text


async def test_a_suspension_reason_longer_than_its_column_is_refused_in_plain_words(admin, client, db):
    await admin.post_form("/settings/confirm", {"code": next_code(ADMIN_TOTP), "next": "/admin/users"})  # step-up
    response = await admin.post_form(f"/admin/users/{client.user.id}/suspend", {"reason": "x" * 501})
    assert response.status_code == 422
    assert "Write the reason in plain words, up to 500 characters." in response.text
    assert f'aria-describedby="reason-{client.user.id}-error"' in response.text, "shown next to that person's field"
    assert (await client.get("/dashboard")).status_code == 200, "nobody was suspended"
