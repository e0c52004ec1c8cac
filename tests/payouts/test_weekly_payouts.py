"""Weekly automatic payouts: "Pay me automatically every Monday" on /earnings; Monday's timer pays
out the whole available balance of each contractor who chose it and passes the checks; one who
does not is skipped (and logged), not failed."""

from app.accounts.models import Role
from app.escrow.models import AccountKind
from app.payouts import services
from app.payouts.models import PayoutMethod, PayoutStatus
from app.worker.timers import TIMERS
from tests.payouts.helpers import balance, bank_account, earn, payouts, ready_contractor, wait_for
from tests.support.factories import make_user


def test_the_timer_runs_mondays_at_six_utc():
    [weekly] = [t for t in TIMERS if t.function.__name__ == "weekly_payouts"]
    assert weekly.cron == "0 6 * * 1"
    [recovery] = [t for t in TIMERS if t.function.__name__ == "recover_payouts"]
    assert recovery.cron == "*/5 * * * *"


async def test_the_contractor_turns_it_on_and_monday_pays_out_the_whole_balance(app, db, contractor):
    me_id = contractor.user.id
    await ready_contractor(app, db, contractor.user)
    page = await contractor.get("/earnings")
    assert '<label class="checkbox__label" for="auto-weekly">Pay me automatically every Monday</label>' in page.text
    response = await contractor.post_form("/earnings/automatic", {"auto_weekly": "on"})
    assert response.status_code == 303
    method = await db.get(PayoutMethod, (await services.method_of(db, me_id, "sandbox")).id, populate_existing=True)
    assert method.auto_weekly
    assert "We will pay out your balance every Monday." in (await contractor.get("/earnings")).text

    # Someone who did not choose it, one who chose it without a verified identity, and one whose
    # balance is below the minimum: none of them is paid out, and the run goes on.
    bystander = await make_user(db, role=Role.contractor)
    await ready_contractor(app, db, bystander)
    unverified = await make_user(db, role=Role.contractor)
    await earn(db, unverified)
    await bank_account(app, unverified)
    async with app.state.sessionmaker() as s:
        await services.set_automatic(s, unverified, "sandbox", True)
        await s.commit()

    run = await services.automatic_payouts(app.state.sessionmaker, "sandbox", minimum_minor=1000)
    assert len(run.requested) == 1 and len(run.skipped) == 1
    assert "confirm who you are" in run.skipped[0]
    [payout] = await payouts(db, me_id)
    assert payout.automatic and payout.amount_minor == 90_000
    assert await payouts(db, bystander.id) == [] and await payouts(db, unverified.id) == []

    async def paid():
        [p] = await payouts(db, me_id)
        return p if p.status == PayoutStatus.paid else None

    await wait_for(paid, what="the automatic payout being paid")
    assert await balance(db, AccountKind.contractor_payable, me_id) == 0
    # Next Monday there is nothing to pay out: no payout, nothing skipped for this contractor.
    run = await services.automatic_payouts(app.state.sessionmaker, "sandbox", minimum_minor=1000)
    assert run.requested == [] and len(await payouts(db, me_id)) == 1

    assert (await contractor.post_form("/earnings/automatic", {})).status_code == 303
    await db.refresh(method)
    assert not method.auto_weekly


async def test_without_a_bank_account_there_is_nothing_to_turn_on(contractor):
    response = await contractor.post_form("/earnings/automatic", {"auto_weekly": "on"})
    assert response.status_code == 409 and "Set up where we pay you first" in response.text
