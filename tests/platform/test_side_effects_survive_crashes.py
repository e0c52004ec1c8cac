"""Side effects are outbox rows (ADR 0022): a web process killed between commit and dispatch, or a
queue whose Redis refuses the hand-over, loses no e-mail and sends none twice; a change whose
commit fails e-mails nobody."""

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy import select, text

from app.accounts.models import Role, User
from app.contracts.models import ChangeRequest
from app.events.dispatch import Dispatcher
from app.events.services import on_outbox_commit, remove_outbox_commit
from app.leads.models import Lead, LeadStatus
from app.notifications.models import Notification
from app.worker.models import OutboxJob
from app.worker.queue import make_queue
from app.worker.registry import TASKS
from app.worker.runner import once_per_row
from tests.conftest import web_client
from tests.contracts.helpers import sent_contract
from tests.leads.test_quote_form import REQUEST, confirmation_link
from tests.support.factories import PASSWORD, make_user
from tests.support.live import free_port, live_servers_paused

ROOT = Path(__file__).resolve().parents[2]
ASKED = "Change asked for: "
MAIL_TASK = "send_notification_email"


@contextlib.asynccontextmanager
async def paused_dispatcher(app):
    """The app's dispatcher is stopped, and the browser tests' live servers are frozen (their
    dispatchers poll the same database and would hand the row to the shared queue, which this
    test's worker then runs): nothing is handed over unless the test says so."""
    dispatcher = app.state.dispatcher
    remove_outbox_commit(dispatcher.kick)
    await dispatcher.stop()
    try:
        with live_servers_paused():
            yield dispatcher
    finally:
        on_outbox_commit(dispatcher.kick)
        dispatcher.start(idle_seconds=5.0)


async def change_mails(smtp_server, settle: float = 0.0) -> list:
    await asyncio.sleep(settle)
    return [m for m in smtp_server.messages if str(m["Subject"]).startswith(ASKED)]


async def wait_for_change_mail(smtp_server, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await change_mails(smtp_server):
        assert asyncio.get_running_loop().time() < deadline, "the change e-mail never went out"
        await asyncio.sleep(0.05)


async def change_mail_rows(db, to: str) -> list[OutboxJob]:
    """The e-mail jobs telling address `to` that a change was asked (a notification's e-mail)."""
    rows = (await db.scalars(select(OutboxJob).execution_options(populate_existing=True))).all()
    asked = set(
        await db.scalars(
            select(Notification.id)
            .join(User, User.id == Notification.user_id)
            .where(User.email == to, Notification.kind == "contract.change_requested")
        )
    )
    return [r for r in rows if r.function == MAIL_TASK and r.kwargs.get("notification_id") in asked]


async def a_sent_contract(db, smtp_server):
    client = await make_user(db, role=Role.client, email="client@example.test")
    contractor = await make_user(db, role=Role.contractor, email="contractor@example.test")
    contract, _ = await sent_contract(db, client, contractor)
    await smtp_server.wait_for(1)  # "Contract to sign", to the contractor
    await asyncio.sleep(0.2)
    smtp_server.messages.clear()
    return client, contractor, contract


async def test_a_web_process_killed_after_commit_loses_no_e_mail_and_sends_it_once(app, db, test_env, smtp_server):
    client, contractor, contract = await a_sent_contract(db, smtp_server)
    async with paused_dispatcher(app):
        await crash_then_restart(app, db, test_env, smtp_server, client, contractor, contract)


async def crash_then_restart(app, db, test_env, smtp_server, client, contractor, contract):

    # A real web process (the app with its lifespan) asks for a change, and is SIGKILLed the
    # moment that request's transaction commits: before its dispatcher hands anything over.
    env = {**os.environ, **test_env, "RUN_WORKER_IN_PROCESS": "0"}
    form = json.dumps({"message": "Please move the design deadline to March."})
    crashed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.support.crash_after_commit", contractor.email, PASSWORD,
         f"/contracts/{contract.id}/changes", form],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert crashed.returncode == -9, crashed.stderr[-2000:]

    # The change is committed, its e-mail is a row nobody handed over, and nothing went out.
    assert await db.scalar(select(ChangeRequest.message)) == "Please move the design deadline to March."
    [row] = await change_mail_rows(db, client.email)
    assert row.enqueued_at is None
    assert await app.state.queue.job(row.key) is None
    assert await change_mails(smtp_server, settle=0.5) == []

    # Restart: a new dispatcher finds the row and the worker sends the e-mail, once.
    restarted = Dispatcher(app.state.sessionmaker, app.state.redis, queue=app.state.queue)
    restarted.start(idle_seconds=0.2)
    try:
        await wait_for_change_mail(smtp_server)
        [mail] = await change_mails(smtp_server, settle=1.0)
    finally:
        await restarted.stop()
    assert mail["To"] == client.email and "Please move the design deadline to March." in mail.get_body().get_content()
    assert mail["Message-ID"] == f"<{row.key}@pactline.test>"
    [row] = await change_mail_rows(db, client.email)
    assert row.enqueued_at is not None and row.done_at is not None

    # The same row run again (a retry, a second hand-over after the queue forgot the key) sends nothing.
    job = type("Job", (), {"key": row.key})()
    ctx = {"job": job, "settings": app.state.settings, "sessionmaker": app.state.sessionmaker}
    again = await once_per_row(MAIL_TASK, TASKS[MAIL_TASK].function)(ctx, **row.kwargs)
    assert again.startswith("skipped")
    assert len(await change_mails(smtp_server, settle=0.5)) == 1


async def test_a_queue_redis_that_fails_at_enqueue_time_loses_nothing(app, db, smtp_server):
    client, contractor, contract = await a_sent_contract(db, smtp_server)
    # The browser tests' live server shares the database: its dispatcher must not hand the row
    # to the working queue while this app's queue is down.
    with live_servers_paused():
        await _fail_then_recover(app, db, smtp_server, client, contractor, contract)


async def _fail_then_recover(app, db, smtp_server, client, contractor, contract):
    async with web_client(app) as browser:
        await browser.sign_in(contractor.email)

        # The queue's Redis stops answering (a port nobody listens on); sessions, live events and
        # the database are fine. The request must not care: it only writes rows.
        dead = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
        real, dispatcher = app.state.queue, app.state.dispatcher
        app.state.queue = dispatcher.queue = make_queue(dead)
        try:
            response = await browser.post_form(f"/contracts/{contract.id}/changes", {"message": "Add a logo, please."})
            assert response.status_code == 303, response.text[:500]
            assert await db.scalar(select(ChangeRequest.message)) == "Add a logo, please."
            await asyncio.sleep(1.5)  # the dispatcher tried, and failed, to hand it over
            [row] = await change_mail_rows(db, client.email)
            assert row.enqueued_at is None
            assert await change_mails(smtp_server) == []
        finally:
            app.state.queue = dispatcher.queue = real
            await dead.aclose()

    # Redis is back: the dispatcher's next round hands the row over and the e-mail goes out once.
    dispatcher.kick()
    await wait_for_change_mail(smtp_server)
    [mail] = await change_mails(smtp_server, settle=1.0)
    assert mail["To"] == client.email


REFUSE_PUBLISH = (
    """CREATE OR REPLACE FUNCTION pl_test_refuse_publish() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the commit is refused (test)'; END $$""",
    # Checked at COMMIT, after everything the task did before committing.
    """CREATE CONSTRAINT TRIGGER pl_test_refuse_publish AFTER UPDATE ON leads
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.status::text = 'published') EXECUTE FUNCTION pl_test_refuse_publish()""",
)


async def test_a_change_whose_commit_fails_e_mails_nobody(app, db, anonymous, smtp_server):
    """Lead processing tells the requester their draft job is ready. If that transaction does not
    commit (here a deferred constraint refuses it at COMMIT, on every attempt), nobody is told."""
    await make_user(db, role=Role.client, email=REQUEST["email"], name=REQUEST["name"])
    await db.commit()
    async with app.state.engine.begin() as conn:
        for statement in REFUSE_PUBLISH:
            await conn.execute(text(statement))
    try:
        await anonymous.post_form("/quote", REQUEST)
        link = await confirmation_link(smtp_server, REQUEST["email"])
        assert (await anonymous.post_form(link)).status_code == 200
        deadline = asyncio.get_running_loop().time() + 40
        while True:
            lead = await db.scalar(select(Lead).execution_options(populate_existing=True))
            if lead.status == LeadStatus.failed:
                break
            assert asyncio.get_running_loop().time() < deadline, lead.status
            await asyncio.sleep(0.1)
        assert lead.attempts == 3 and lead.job_id is None
        await asyncio.sleep(1.0)
        subjects = [str(m["Subject"]) for m in smtp_server.messages]
        assert subjects == ["Confirm your request on Pactline"], subjects
        assert [r for r in (await db.scalars(select(OutboxJob))).all() if r.kwargs.get("to")] == []
    finally:
        await db.rollback()  # its reads of `leads` would keep the DROP waiting
        async with app.state.engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER IF EXISTS pl_test_refuse_publish ON leads"))
            await conn.execute(text("DROP FUNCTION IF EXISTS pl_test_refuse_publish()"))
