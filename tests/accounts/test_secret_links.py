"""Secret links (password reset, e-mail change, invitation, address confirmation) are made by
the e-mail task from a row id: the secret is never in a queued job, a failed-job record, the
console's failed-jobs page or the access log, and the link that arrives still works."""

import logging
import re

from saq.job import Status
from sqlalchemy import select

from app.accounts.models import Role
from app.platform.secret_links import REDACTED, redact
from app.worker.models import FailedJob, OutboxJob
from app.worker.runner import record_failure
from tests.accounts.helpers import link_in
from tests.companies.test_create_company import ACME
from tests.conftest import persona
from tests.support.factories import PASSWORD


async def redis_text(app) -> str:
    """Everything Redis holds (queued and finished jobs, sessions, counters), as one text."""
    redis, chunks = app.state.redis, []
    async for key in redis.scan_iter("*"):
        kind = (await redis.type(key)).decode()
        if kind == "string":
            values = [await redis.get(key)]
        elif kind == "list":
            values = await redis.lrange(key, 0, -1)
        elif kind == "zset":
            values = await redis.zrange(key, 0, -1)
        elif kind == "set":
            values = list(await redis.smembers(key))
        elif kind == "hash":
            values = [v for pair in (await redis.hgetall(key)).items() for v in pair]
        else:
            values = []
        chunks += [key.decode(errors="replace")] + [v.decode(errors="replace") for v in values if v is not None]
    return "\n".join(chunks)


async def jobs_in_queue(app) -> list:
    """The jobs the queue keeps (finished ones stay for their ttl), as the worker sees them."""
    queue, jobs = app.state.queue, []
    async for key in app.state.redis.scan_iter(f"saq:job:{queue.name}:*"):
        jobs.append(queue.deserialize(await app.state.redis.get(key)))
    return jobs


async def assert_secret_is_only_in_the_email(app, db, link: str, function: str) -> None:
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 40
    jobs = [job for job in await jobs_in_queue(app) if job.function == function]
    assert jobs, f"no {function} job in the queue"
    for job in jobs:
        assert token not in repr(job.kwargs) and "http" not in repr(job.kwargs), job.kwargs
    assert token not in await redis_text(app)
    for row in (await db.scalars(select(OutboxJob))).all():
        assert token not in repr(row.kwargs)


async def fail_for_good(app, function: str) -> None:
    """The worker gives up on the job (as after its last retry): the real failed-job keeping runs."""
    for job in await jobs_in_queue(app):
        if job.function == function:
            job.status, job.error = Status.FAILED, "SMTPServerDisconnected: Connection unexpectedly closed"
            await record_failure({"job": job, "sessionmaker": app.state.sessionmaker})


def access_lines(caplog) -> list[str]:
    return [str(record.msg) for record in caplog.records if record.name == "pactline.access"]


async def test_a_reset_link_travels_as_an_id_and_still_works(app, anonymous, client, admin, db, smtp_server, caplog):
    await anonymous.post_form("/reset", {"email": client.user.email})
    (message,) = await smtp_server.wait_for(1)
    link = link_in(message, "/reset/")
    token = link.rsplit("/", 1)[1]
    await assert_secret_is_only_in_the_email(app, db, link, "send_account_link")

    # The job fails for good: the record, the console page and the CLI listing hold no secret.
    await fail_for_good(app, "send_account_link")
    failed = await db.scalar(select(FailedJob))
    assert failed.function == "send_account_link" and set(failed.kwargs) == {"token_id", "kind", "context"}
    assert token not in repr(failed.kwargs) + failed.error
    page = await admin.get("/admin/jobs")
    assert page.status_code == 200 and "send_account_link" in page.text and token not in page.text

    # Re-running it from the console sends the same, working link again.
    smtp_server.messages.clear()
    assert (await admin.post_form(f"/admin/jobs/{failed.id}/retry")).status_code == 303
    (again,) = await smtp_server.wait_for(1)
    assert link_in(again, "/reset/") == link

    caplog.set_level(logging.INFO, logger="pactline.access")
    form = await anonymous.get(link)
    assert form.status_code == 200 and 'name="password"' in form.text
    done = await anonymous.post_form(link, {"password": "marmalade velvet comet 77"})
    assert done.status_code == 303 and done.headers["location"] == "/login?reason=reset"
    lines = access_lines(caplog)
    assert len([line for line in lines if f"/reset/{REDACTED}" in line]) == 2, lines
    assert not any(token in line for line in lines)


async def test_an_email_change_link_travels_as_an_id_and_still_works(app, client, db, smtp_server, caplog):
    await client.post_form("/settings/confirm", {"password": PASSWORD, "next": "/settings"})
    await client.post_form("/settings/email", {"email": "moved@example.test"})
    (message,) = await smtp_server.wait_for(1)
    assert message["To"] == "moved@example.test"
    link = link_in(message, "/settings/email/confirm/")
    await assert_secret_is_only_in_the_email(app, db, link, "send_account_link")

    caplog.set_level(logging.INFO, logger="pactline.access")
    confirmed = await client.get(link)
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/settings"
    lines = access_lines(caplog)
    assert any(f"/settings/email/confirm/{REDACTED}" in line for line in lines), lines
    assert not any(link.rsplit("/", 1)[1] in line for line in lines)


async def test_an_invitation_link_travels_as_an_id_and_still_works(app, client, db, smtp_server, caplog):
    # An address without an account gets the invitation's own e-mail with its secret link (one
    # with an account is told by a notification that makes the link when opened).
    await client.post_form("/company", ACME)
    invited = await client.post_form("/company/invitations", {"kind": "contractor", "email": "newcomer@example.test"})
    assert invited.status_code == 303
    (message,) = await smtp_server.wait_for(1)
    link = link_in(message, "/invitations/")
    token = link.rsplit("/", 1)[1]
    await assert_secret_is_only_in_the_email(app, db, link, "send_invitation")
    await fail_for_good(app, "send_invitation")
    failed = await db.scalar(select(FailedJob))
    assert failed.kwargs.keys() == {"invitation_id"} and token not in failed.error

    caplog.set_level(logging.INFO, logger="pactline.access")
    async with persona(app, db, Role.contractor, "newcomer@example.test") as newcomer:
        page = await newcomer.get(link)
        assert page.status_code == 200 and "Acme Robotics invites you" in page.text
        accepted = await newcomer.post_form(f"{link}/accept")
        assert accepted.status_code == 303
    lines = access_lines(caplog)
    assert any(f"/invitations/{REDACTED}/accept" in line for line in lines), lines
    assert not any(token in line for line in lines)


async def test_an_address_confirmation_link_travels_as_an_id_and_still_works(app, anonymous, db, smtp_server, caplog):
    signed_up = await anonymous.post_form(
        "/signup",
        {"name": "Vera Newcomer", "email": "vera@example.test", "password": PASSWORD, "role": "contractor"},
    )
    assert signed_up.status_code == 303
    (message,) = await smtp_server.wait_for(1)
    link = link_in(message, "/verify-email/")
    await assert_secret_is_only_in_the_email(app, db, link, "send_verification_email")

    caplog.set_level(logging.INFO, logger="pactline.access")
    opened = await anonymous.get(link)
    assert opened.status_code == 200
    lines = access_lines(caplog)
    assert any(f"/verify-email/{REDACTED}" in line for line in lines), lines
    assert not any(link.rsplit("/", 1)[1] in line for line in lines)


def test_every_route_with_a_secret_in_its_path_is_redacted(app):
    secret = "S3cretTokenValue_-0123456789abcdefghijklmnopq"
    checked = 0
    for route in app.routes:
        if "{token" not in route.path:
            continue
        sample = re.sub(r"\{token:[^}]+\}", secret, route.path)
        sample = re.sub(r"\{[^}]+\}", "7", sample)
        assert secret not in redact(sample), f"{route.path} would log its secret"
        checked += 1
    assert checked >= 5  # reset (form + submit), e-mail change, verification, invitation pages
    # Ids and fixed words next to those paths stay readable in the logs.
    assert redact("/company/invitations/12/revoke") == "/company/invitations/12/revoke"
    assert redact("/verify-email/resend") == "/verify-email/resend"
    assert redact("/auth/google/callback?code=abc&state=xyz") == (
        f"/auth/google/callback?code={REDACTED}&state={REDACTED}"
    )
