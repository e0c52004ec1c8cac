"""A retainer ends by the signed "End the contract" amendment, through its pages: the schedule
stops (unfunded periods removed, none added), each held period is split as both signed (by
default a period that has begun is released and one that has not is refunded), and the retainer
is completed. Nobody else reaches any of its pages."""

import re

from sqlalchemy import select

from app.contracts.amendments import services as amendments
from app.contracts.amendments.forms import ProposedAdd, ProposedEnd
from app.contracts.models import Amendment, ContractStatus, ContractVersion, MilestoneStatus
from app.errors import FormError
from app.escrow.ledger import account, balance, escrow_balance
from app.escrow.models import AccountKind
from app.money import Money
from app.retainers import services
from app.worker.models import OutboxJob
from tests.retainers.helpers import AMOUNT, fund, periods, retainer_contract

NOTE = "The retainer stops after this month; the current month is paid in full."


def field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(rf'value="([^"]*)"[^>]*name="{name}"', page)  # fmt: skip
    assert match, f"no field {name}"
    return match.group(1)


async def sign_as(party, contract, amendment_id, version_hash):
    form = {"typed_name": party.user.name, "consent": "on", "version_hash": version_hash}
    return await party.post_form(f"/contracts/{contract.id}/amendments/{amendment_id}/sign", form)


async def test_a_signed_ending_stops_the_schedule_splits_the_held_periods_and_completes_the_retainer(
    app, db, client, contractor
):
    contract = await retainer_contract(db, client.user, contractor.user)
    current, nxt, later = await periods(db, contract)
    await fund(db, contract, client.user, current, nxt)
    page = await client.get(f"/contracts/{contract.id}/amendments/new")
    assert page.status_code == 200
    text = page.text
    assert "periods that are not funded yet are removed" in text and "Change or remove a milestone" not in text
    # The form starts from the fair default: the current period (begun) is released, the next refunded.
    assert (field(text, f"refund_{current.id}"), field(text, f"release_{current.id}")) == ("0", "1500.00")
    assert (field(text, f"refund_{nxt.id}"), field(text, f"release_{nxt.id}")) == ("1500.00", "0")
    form = {"terminate": "on", "settlement_note": NOTE, "reason": "The project is finished.",
            f"refund_{current.id}": "0", f"release_{current.id}": "1500.00",
            f"refund_{nxt.id}": "1500.00", f"release_{nxt.id}": "0"}  # fmt: skip
    proposed = await client.post_form(f"/contracts/{contract.id}/amendments/new", form)
    assert proposed.status_code == 303
    amendment = await db.scalar(select(Amendment).where(Amendment.contract_id == contract.id))
    version = await db.get(ContractVersion, amendment.version_id)
    shown = await contractor.get(f"/contracts/{contract.id}/amendments/{amendment.id}")
    assert shown.status_code == 200 and NOTE in shown.text.replace("&#39;", "'")
    # A retainer has no end date, so its ending is not "early".
    compare = await contractor.get(f"/contracts/{contract.id}/compare")
    assert "Ended · money held in escrow" in compare.text and "Ended early" not in compare.text
    assert (await sign_as(client, contract, amendment.id, version.terms_hash)).status_code == 303
    assert (await sign_as(contractor, contract, amendment.id, version.terms_hash)).status_code == 303

    current, nxt, later = await periods(db, contract)
    assert [m.status for m in (current, nxt, later)] == [
        MilestoneStatus.released, MilestoneStatus.refunded, MilestoneStatus.removed,
    ]  # fmt: skip
    await db.refresh(contract)
    assert contract.status == ContractStatus.completed and contract.ended_at is not None
    assert await escrow_balance(db, contract.id, "EUR") == Money(0, "EUR")
    payable = await account(db, AccountKind.contractor_payable, "EUR", user_id=contractor.user.id)
    assert await balance(db, payable) == Money(135_000, "EUR")
    refund = await db.scalar(select(OutboxJob).where(OutboxJob.function == "refund_payment"))
    assert refund is not None and refund.kwargs["amount_minor"] == AMOUNT
    # The schedule stopped: the daily timer adds nothing, and nothing is left to remind or release.
    assert await services.extend(db, contract.id) == 0
    await db.commit()
    assert len(await periods(db, contract)) == 3
    for party in (client, contractor):
        shown = (await party.get(f"/contracts/{contract.id}")).text
        assert 'data-status="completed">Completed</span>' in shown and "The retainer ended" in shown
        assert 'data-status="terminated"' not in shown and "Fund</button>" not in shown


async def test_an_ending_with_nothing_funded_removes_every_period_and_completes(db, client, contractor):
    contract = await retainer_contract(db, client.user, contractor.user)
    amendment = await amendments.propose(db, contract.id, client.user, [ProposedEnd(NOTE)], "Done.")
    await db.commit()
    version = await db.get(ContractVersion, amendment.version_id)
    assert (await sign_as(client, contract, amendment.id, version.terms_hash)).status_code == 303
    assert (await sign_as(contractor, contract, amendment.id, version.terms_hash)).status_code == 303
    assert {m.status for m in await periods(db, contract)} == {MilestoneStatus.removed}
    await db.refresh(contract)
    assert contract.status == ContractStatus.completed


async def test_a_retainer_has_no_milestones_to_change(db, client, contractor):
    contract = await retainer_contract(db, client.user, contractor.user)
    try:
        await amendments.propose(db, contract.id, client.user, [ProposedAdd("More", "More work.", "100")], "More.")
    except FormError as exc:
        assert exc.errors["form"] == ["This contract is paid as a retainer: it has no milestones to change."]
    else:
        raise AssertionError("a milestone was added to a retainer")


async def test_another_user_gets_404_on_every_page_of_the_retainer(db, client, contractor, other_contractor):
    contract = await retainer_contract(db, client.user, contractor.user)
    current, *_ = await periods(db, contract)

    amendment = await amendments.propose(db, contract.id, client.user, [ProposedEnd(NOTE)], "Done.")
    await db.commit()
    base = f"/contracts/{contract.id}"
    for url in (base, f"{base}/amendments/new", f"{base}/amendments/{amendment.id}", f"{base}/amendments/"):
        assert (await other_contractor.get(url)).status_code == 404, url
    form = {"milestone": [str(current.id)], "amount": str(AMOUNT), "currency": "EUR", "idempotency_key": "x-1"}
    assert (await other_contractor.post_form(f"{base}/milestones/fund", form)).status_code == 404
    assert (await contractor.post_form(f"{base}/milestones/fund", form)).status_code == 404  # the client funds
    assert (await other_contractor.post_form(f"{base}/amendments/{amendment.id}/decline", {})).status_code == 404
    assert [m.status for m in await periods(db, contract)][0] == MilestoneStatus.pending
