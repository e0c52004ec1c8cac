"""Each escrow event tells the person it concerns through a notification (kept, signalled live,
e-mailed) in the verb's transaction; the person who acted is told nothing; a verb that fails
keeps nothing."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.accounts.models import Role
from app.contracts.models import Milestone
from app.db import utcnow
from app.errors import DomainError
from app.escrow import funding, lifecycle
from app.escrow.tasks import auto_approve_due, send_review_reminders
from app.money import Money
from app.notifications.services import unread_count
from app.payments.provider import PaymentState
from tests.contracts.helpers import active_contract
from tests.escrow.test_lifecycle import fund, paid
from tests.support.factories import make_user
from tests.support.notifications import (
    count_of,
    forget_notifications,
    mails_where,
    notifications_of,
    signals_of,
    text_of,
)


@pytest.fixture
async def deal(db):
    client = await make_user(db, role=Role.client, name="Clara Client")
    contractor = await make_user(db, role=Role.contractor, name="Bo Builder")
    contract, _ = await active_contract(db, client, contractor)
    await forget_notifications(db)  # the contract's own (proposal, sent, signed) are not these tests'
    milestones = list(
        await db.scalars(select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position))
    )
    return contract, client, contractor, milestones


def card(contract, m) -> str:
    return f"/contracts/{contract.id}#milestone-{m.id}"


async def submitted(db, deal):
    contract, client, contractor, (design, _build) = deal
    await fund(db, contract, client, design)
    await lifecycle.submit(db, design.id, contractor, "Done.")
    await db.commit()


async def test_a_funded_milestone_tells_the_contractor_and_not_the_client_who_paid(db, deal, smtp_server):
    contract, client, contractor, (design, _build) = deal
    await fund(db, contract, client, design)
    [told] = await notifications_of(db, contractor.id)
    assert told.kind == "milestone.funded" and told.link == card(contract, design)
    assert told.title == "“Design” is funded: €1,000.00 is held in escrow."
    assert await notifications_of(db, client.id) == []
    assert [s["message"] for s in await signals_of(db, contractor.id)] == [told.title]
    [mail] = await mails_where(smtp_server, lambda m: m["Subject"] == "Funded: Design")
    assert mail["To"] == contractor.email and "/unsubscribe/" in mail["List-Unsubscribe"]
    assert f"/contracts/{contract.id}#milestone-{design.id}" in text_of(mail)


async def test_a_declined_card_tells_the_client_and_a_late_payment_says_it_is_refunded(db, deal):
    contract, client, contractor, (design, build) = deal
    f = await funding.open_funding(db, contract.id, client, [design.id, build.id], provider="sandbox")
    await db.commit()
    await funding.apply_payment(db, paid(f, PaymentState.failed))
    await db.commit()
    [failed] = await notifications_of(db, client.id)
    assert failed.kind == "funding.failed" and failed.link == f"/contracts/{contract.id}"
    assert failed.title == "The payment for “Design”, “Build” did not go through: Your card was declined."
    [signal] = await signals_of(db, client.id)
    assert signal["level"] == "error"
    assert await notifications_of(db, contractor.id) == []

    late = await funding.open_funding(db, contract.id, client, [design.id], provider="sandbox")
    await db.commit()
    await funding.cancel_by_client(db, contract.id, late.public_id, client)
    await db.commit()
    await funding.apply_payment(db, paid(late))
    await db.commit()
    [refunded] = await notifications_of(db, client.id, "funding.refunded")
    assert "€1,000.00" in refunded.title and "refunded in full" in refunded.title
    assert await notifications_of(db, contractor.id) == []


async def test_submitted_work_tells_the_client_with_its_review_window_and_not_the_contractor(db, deal, smtp_server):
    contract, client, contractor, (design, _build) = deal
    await submitted(db, deal)
    [told] = await notifications_of(db, client.id)
    assert told.kind == "milestone.submitted" and told.link == card(contract, design)
    assert told.title == "Bo Builder submitted work for “Design”."
    assert [n.kind for n in await notifications_of(db, contractor.id)] == ["milestone.funded"]
    [mail] = await mails_where(smtp_server, lambda m: m["Subject"] == "Work submitted: Design")
    assert mail["To"] == client.email
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = text_of(mail)
    assert 'Bo Builder submitted work for "Design" in "Booking website"' in text
    assert "review window ends" in text and f"/contracts/{contract.id}#milestone-{design.id}" in text


async def test_a_revision_tells_the_contractor_with_the_reason(db, deal, smtp_server):
    contract, client, contractor, (design, _build) = deal
    await submitted(db, deal)
    await lifecycle.request_revision(db, design.id, client, "The logo is too small.")
    await db.commit()
    [told] = await notifications_of(db, contractor.id, "milestone.revision")
    assert told.title == "Clara Client asked for a revision of “Design”." and told.link == card(contract, design)
    assert await notifications_of(db, client.id, "milestone.revision") == []
    [mail] = await mails_where(smtp_server, lambda m: m["Subject"] == "Revision asked: Design")
    assert "The logo is too small." in text_of(mail)


async def test_the_reminder_timer_tells_the_client_once(app, db, deal):
    contract, client, contractor, (design, _build) = deal
    await submitted(db, deal)
    await db.execute(update(Milestone).where(Milestone.id == design.id).values(review_ends_at=utcnow() + timedelta(hours=47)))  # fmt: skip
    await db.commit()
    ctx = {"sessionmaker": app.state.sessionmaker}
    assert await send_review_reminders(ctx) == "reminded 1 of 1"
    assert await send_review_reminders(ctx) == "reminded 0 of 0"
    [told] = await notifications_of(db, client.id, "milestone.review_reminder")
    assert "48 hours" in told.title and told.link == card(contract, design)
    assert await notifications_of(db, contractor.id, "milestone.review_reminder") == []


async def test_approval_tells_the_contractor_what_is_released_and_the_client_nothing(db, deal, smtp_server):
    contract, client, contractor, (design, _build) = deal
    await submitted(db, deal)
    await lifecycle.approve(db, design.id, client)
    await db.commit()
    [told] = await notifications_of(db, contractor.id, "milestone.released")
    assert told.title == "“Design” was approved by Clara Client: €900.00 is released to your balance."
    assert told.link == card(contract, design)
    assert [n.kind for n in await notifications_of(db, client.id)] == ["milestone.submitted"]
    [mail] = await mails_where(smtp_server, lambda m: m["Subject"] == "Payment released: Design")
    assert mail["To"] == contractor.email and "€900.00" in text_of(mail)


async def test_auto_approval_tells_both_the_contractor_and_the_client_who_did_not_click(app, db, deal):
    contract, client, contractor, (design, _build) = deal
    await submitted(db, deal)
    await db.execute(update(Milestone).where(Milestone.id == design.id).values(review_ends_at=utcnow() - timedelta(minutes=1)))  # fmt: skip
    await db.commit()
    assert await auto_approve_due({"sessionmaker": app.state.sessionmaker}) == "auto-approved 1 of 1"
    [released] = await notifications_of(db, contractor.id, "milestone.released")
    assert "approved automatically, as the review window ended" in released.title and "€900.00" in released.title
    [auto] = await notifications_of(db, client.id, "milestone.auto_approved")
    assert auto.title == (
        "“Design” was approved automatically, as the review window ended: €1,000.00 is released to Bo Builder."
    )
    assert auto.link == card(contract, design)


async def test_a_dispute_freeze_and_its_settlement_tell_both_parties(db, deal, smtp_server):
    contract, client, contractor, (design, _build) = deal
    await fund(db, contract, client, design)
    await lifecycle.freeze(db, design.id, actor_id=None)
    await db.commit()
    for person in (client, contractor):
        [frozen] = await notifications_of(db, person.id, "milestone.disputed")
        assert frozen.title == "The money for “Design” is frozen until the dispute is decided."
    await lifecycle.settle(db, design.id, Money(40000), Money(60000), actor_id=None)
    await db.commit()
    for person in (client, contractor):
        [settled] = await notifications_of(db, person.id, "dispute.settled")
        assert "€400.00 back to the client, €600.00 released" in settled.title
        assert settled.link == card(contract, design)
    mails = await mails_where(smtp_server, lambda m: m["Subject"] == "Dispute settled: Design", 2)
    assert sorted(m["To"] for m in mails) == sorted([client.email, contractor.email])
    assert "€400.00 goes back to the client" in text_of(mails[0])


async def test_the_contract_completing_tells_both(db, deal):
    contract, client, contractor, (design, build) = deal
    await fund(db, contract, client, design, build)
    for m in (design, build):
        await lifecycle.submit(db, m.id, contractor, "Done.")
        await lifecycle.approve(db, m.id, client)
    await db.commit()
    for person in (client, contractor):
        [done] = await notifications_of(db, person.id, "contract.completed")
        assert done.title == "“Booking website” is complete: every milestone is paid out or refunded."
        assert done.link == f"/contracts/{contract.id}"


async def test_a_verb_that_fails_or_rolls_back_keeps_no_notification(app, db, deal):
    contract, client, contractor, (design, _build) = deal
    async with app.state.sessionmaker() as s:  # refused: nothing is funded yet
        with pytest.raises(DomainError):
            await lifecycle.submit(s, design.id, contractor, "Done.")
    await fund(db, contract, client, design)
    before = await count_of(db)
    async with app.state.sessionmaker() as s:  # written, then the transaction fails
        await lifecycle.submit(s, design.id, contractor, "Done.")
        await s.rollback()
    assert await count_of(db) == before
    assert await count_of(db, "milestone.submitted") == 0
    assert await unread_count(db, client.id) == 0
    assert await signals_of(db, client.id) == []
