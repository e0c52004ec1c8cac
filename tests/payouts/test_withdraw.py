"""A verified contractor with €900.00 earned presses "Withdraw": the payout, its ledger entry, the
live signal, and — through the worker and the sandbox's signed webhook — "Paid"."""

from sqlalchemy import select

from app.escrow.ledger import verify
from app.escrow.models import AccountKind, JournalEntry
from app.payments.models import SandboxPayout
from app.payouts.models import PayoutStatus
from tests.payouts.helpers import balance, entries, payouts, ready_contractor, wait_for, withdraw_form
from tests.support.signals import refresh_url, signals


async def test_withdrawing_takes_the_money_from_the_balance_and_it_arrives_paid(app, db, contractor):
    me = contractor.user
    me_id = me.id
    await ready_contractor(app, db, me)
    page = await contractor.get("/earnings")
    assert "€900.00" in page.text and 'value="900.00"' in page.text
    live_url = refresh_url(page.text, "earnings")

    form = await withdraw_form(contractor)
    response = await contractor.post_form("/earnings/withdraw", {**form, "amount": "600"})
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"] == "/earnings"

    page = await contractor.get("/earnings")
    assert "Withdrawal of €600.00 requested." in page.text
    [payout] = await payouts(db, me_id)
    assert payout.amount_minor == 60_000 and payout.currency == "EUR" and not payout.automatic
    entry = await db.scalar(select(JournalEntry).where(JournalEntry.reference == f"payout:{payout.public_id}"))
    assert entry is not None and entry.kind == "payout"
    assert (await signals(db, me_id, "earnings"))[-1]["payout"] == payout.public_id

    # The worker sends it; the sandbox bank pays it; its signed webhook is applied.
    async def paid():
        [p] = await payouts(db, me_id)
        return p if p.status == PayoutStatus.paid else None

    payout = await wait_for(paid, what="the payout being paid")
    assert payout.provider_payout_id and payout.sent_at and payout.decided_at
    assert await balance(db, AccountKind.contractor_payable, me_id) == 30_000
    assert await balance(db, AccountKind.payouts_in_transit, me_id) == 0
    assert [s["status"] for s in await signals(db, me_id, "earnings") if s.get("payout")] == [
        "requested", "sent", "paid"]  # fmt: skip
    assert len((await db.scalars(select(SandboxPayout))).all()) == 1
    assert await entries(db, "payout_paid:") == 1 and await entries(db, "payout_returned:") == 0
    assert (await verify(db)).ok

    block = await contractor.htmx("GET", live_url)
    assert block.status_code == 200 and 'id="earnings-live"' in block.text and "<html" not in block.text
    assert "Paid" in block.text and "€300.00" in block.text and "€600.00" in block.text
