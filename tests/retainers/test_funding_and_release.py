"""Funding a period exactly like a milestone (the Fund button, the sandbox checkout, the signed
webhook), money once however often it is paid for; the release at the period's end, through the
same path as an approval, never before its end and never while disputed."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.contracts.models import ContractStatus, MilestoneStatus
from app.errors import DomainError
from app.escrow import funding, lifecycle
from app.escrow.ledger import account, balance, escrow_balance
from app.escrow.models import AccountKind, Funding, FundingStatus, JournalEntry
from app.money import Money
from app.payments.models import SandboxEvent
from app.payments.providers import get_provider
from app.payments.tasks import webhook_request
from app.retainers import services
from app.retainers.tasks import release_ended_periods
from app.worker.models import OutboxJob
from tests.retainers.helpers import AMOUNT, card, entries_of, fund, paid, periods, retainer_contract
from tests.support.notifications import notifications_of

FUND_BUTTON = '<button type="submit" class="button button--primary button--block">Fund</button>'


def midnight(day) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def fund_form(party, contract, m, key):
    form = {"milestone": [str(m.id)], "amount": str(m.amount_minor), "currency": "EUR", "idempotency_key": key}
    return await party.post_form(f"/contracts/{contract.id}/milestones/fund", form)


async def test_the_client_funds_the_current_period_on_the_sandbox_checkout_and_money_moves_once(
    app, db, client, contractor, anonymous
):
    from tests.payments.conftest import delivered

    contract = await retainer_contract(db, client.user, contractor.user)
    current, *_ = await periods(db, contract)
    page = (await client.get(f"/contracts/{contract.id}")).text
    mine = card(page, current)
    assert "Periods" in page and "Not funded yet" in mine and FUND_BUTTON in mine
    assert "until the period ends, then it is released to the contractor" in mine and "€1,500.00" in mine
    first = await fund_form(client, contract, current, "period-1")
    again = await fund_form(client, contract, current, "period-1")  # a double submit
    other = await fund_form(client, contract, current, "period-2")  # a second tab: the same checkout
    assert first.status_code == again.status_code == other.status_code == 303
    checkout = first.headers["location"]
    assert checkout.startswith("/checkout/") and again.headers["location"] == other.headers["location"] == checkout
    assert await db.scalar(select(func.count()).select_from(Funding)) == 1
    paid_now = await client.post_form(f"{checkout}/pay", {"card_number": "4242 4242 4242 4242"})
    assert paid_now.status_code == 303 and paid_now.headers["location"] == f"/contracts/{contract.id}"
    f = await db.scalar(select(Funding).execution_options(populate_existing=True))
    event = await delivered(db, f.provider_payment_id)  # the worker's signed webhook
    # The provider sends it again, and the payment is applied once more by hand: nothing moves.
    body, headers = webhook_request(app.state.settings, await db.get_one(SandboxEvent, event.id))
    replay = await anonymous.post("/webhooks/sandbox", content=body, headers=headers)
    assert replay.status_code == 200 and replay.json() == {"status": "duplicate"}
    async with app.state.sessionmaker() as other_db:
        provider = get_provider(app.state.settings, app.state.sessionmaker)
        await funding.apply_payment(other_db, await provider.retrieve(event.object_id))
        await other_db.commit()
    db.expire_all()
    await db.refresh(current)
    await db.refresh(contract)
    funded = select(func.count()).select_from(JournalEntry).where(JournalEntry.milestone_id == current.id)
    assert await db.scalar(funded) == 1
    assert await escrow_balance(db, contract.id, "EUR") == Money(AMOUNT, "EUR")
    assert current.status == MilestoneStatus.funded
    release = (current.period_end).strftime("%-d %b %Y")
    for party in (client, contractor):
        mine = card((await party.get(f"/contracts/{contract.id}")).text, current)
        assert 'data-status="funded">Funded</span>' in mine and f"Releases on <time datetime=\"{current.period_end.isoformat()}T00:00:00Z\">{release}, 00:00 UTC</time>" in mine  # fmt: skip
        assert "Submit work" not in mine and FUND_BUTTON not in mine
    # A new checkout for a funded period is refused, and starts no payment.
    refused = await fund_form(client, contract, current, "period-3")
    assert refused.status_code == 409 and "already funded" in refused.text
    assert await db.scalar(select(func.count()).select_from(Funding)) == 1


async def test_a_period_paid_on_two_checkouts_is_funded_once_and_the_late_payment_refunded(app, db, client, contractor):
    contract = await retainer_contract(db, client.user, contractor.user)
    current, *_ = await periods(db, contract)
    first = await funding.open_funding(db, contract.id, client.user, [current.id], provider="sandbox")
    await db.commit()
    first_id, period_id = first.public_id, current.id
    await funding.cancel_by_client(db, contract.id, first.public_id, client.user)  # "Cancel this payment"
    await db.commit()
    second = await funding.open_funding(db, contract.id, client.user, [current.id], provider="sandbox")
    await db.commit()
    second_id = second.public_id
    await funding.apply_payment(db, paid(second))
    await db.commit()
    await funding.apply_payment(db, paid(second))  # the webhook twice
    await db.commit()
    await funding.apply_payment(db, paid(first))  # the cancelled checkout was paid after all
    await db.commit()
    try:
        await funding.open_funding(db, contract.id, client.user, [current.id], provider="sandbox")
    except DomainError as exc:
        assert "already funded" in exc.message
    else:
        raise AssertionError("a funded period was funded again")
    await db.rollback()
    await db.refresh(contract)
    assert await escrow_balance(db, contract.id, "EUR") == Money(AMOUNT, "EUR")
    funded = select(JournalEntry.reference).where(JournalEntry.milestone_id.is_not(None))
    assert (await db.scalars(funded.where(JournalEntry.contract_id == contract.id))).all() == [
        f"funding:{second_id}:{period_id}"
    ]
    statuses = dict((await db.execute(select(Funding.public_id, Funding.status))).all())
    assert statuses == {first_id: FundingStatus.refunded, second_id: FundingStatus.paid}
    refund = await db.scalar(select(OutboxJob).where(OutboxJob.function == "refund_payment"))
    assert refund is not None and refund.kwargs["amount_minor"] == AMOUNT


async def test_a_funded_period_is_released_at_its_end_less_the_fee_and_not_a_minute_before(app, db, client, contractor):
    contract = await retainer_contract(db, client.user, contractor.user)
    current, nxt, _ = await periods(db, contract)
    await fund(db, contract, client.user, current, nxt)
    end = midnight(current.period_end)
    assert await services.release_ended(db, current.id, now=end - timedelta(seconds=1)) is False
    await db.commit()
    assert await services.due_for_release(db, end - timedelta(seconds=1)) == []
    assert await services.due_for_release(db, end) == [current.id]
    assert await services.release_ended(db, current.id, now=end) is True
    await db.commit()
    assert await services.release_ended(db, current.id, now=end) is False  # the timer again: nothing
    await db.commit()
    current, nxt, _ = await periods(db, contract)
    assert (current.status, nxt.status) == (MilestoneStatus.released, MilestoneStatus.funded)
    contractor_payable = await account(db, AccountKind.contractor_payable, "EUR", user_id=contractor.user.id)
    fees = await account(db, AccountKind.platform_fees, "EUR")
    assert await balance(db, contractor_payable) == Money(135_000, "EUR")  # €1,500.00 less the 10 % fee
    assert await balance(db, fees) == Money(15_000, "EUR")
    assert await escrow_balance(db, contract.id, "EUR") == Money(AMOUNT, "EUR")  # the next period, still held
    await db.refresh(contract)
    assert contract.status == ContractStatus.active  # a retainer runs on until it is ended
    kinds = (await db.scalars(select(AuditEvent.kind).where(AuditEvent.subject_id == contract.public_id))).all()
    assert "milestone_released" in kinds
    [released] = await notifications_of(db, contractor.user.id, "milestone.released")
    assert released.title == f"“{current.title}” was approved {services.RELEASED_HOW}: €1,350.00 is released to your balance."  # fmt: skip
    [told] = await notifications_of(db, client.user.id, "milestone.auto_approved")  # nobody clicked: the client too
    assert told.data["how"] == services.RELEASED_HOW and "€1,500.00" in told.title
    page = card((await contractor.get(f"/contracts/{contract.id}")).text, current)
    assert "Released" in page and "€1,350.00" in page


async def test_a_disputed_period_is_not_released_at_its_end(app, db, client, contractor):
    contract = await retainer_contract(db, client.user, contractor.user)
    current, *_ = await periods(db, contract)
    await fund(db, contract, client.user, current)
    await lifecycle.freeze(db, current.id, actor_id=None)
    await db.commit()
    end = midnight(current.period_end) + timedelta(days=3)
    assert await services.due_for_release(db, end) == []
    assert await services.release_ended(db, current.id, now=end) is False
    await db.commit()
    (current, *_) = await periods(db, contract)
    assert current.status == MilestoneStatus.disputed
    assert await escrow_balance(db, contract.id, "EUR") == Money(AMOUNT, "EUR")
    result = await release_ended_periods({"sessionmaker": app.state.sessionmaker})
    assert result == "released 0 of 0"


async def test_the_contractor_has_no_work_to_submit_for_a_period(db, client, contractor):
    contract = await retainer_contract(db, client.user, contractor.user)
    current, *_ = await periods(db, contract)
    await fund(db, contract, client.user, current)
    try:
        await lifecycle.submit(db, current.id, contractor.user, "Done.")
    except DomainError as exc:
        assert "paid at its end" in exc.message
    else:
        raise AssertionError("work was submitted for a period")
    await db.rollback()
    await db.refresh(contract)
    await db.refresh(current)
    response = await contractor.post(
        f"/contracts/{contract.id}/milestones/{current.id}/submit",
        data={"_csrf_token": await contractor.csrf_token(), "message": "Done."},
    )
    assert response.status_code == 409
    assert (await periods(db, contract))[0].status == MilestoneStatus.funded
    assert await entries_of(db, contract.id) == 1
    assert FundingStatus.paid == (await db.scalar(select(Funding.status)))
