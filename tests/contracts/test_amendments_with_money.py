"""Amendments while money is held in escrow, through the real verbs: removing a funded milestone
refunds it, ending the contract splits each held milestone exactly as both signed, an open checkout
blocks, the pages say what escrow holds, and a change that leaves everything finished completes."""

import re

import pytest
from playwright.async_api import expect
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.chain import verify
from app.audit.models import AuditEvent
from app.contracts.amendments import services as amendments
from app.contracts.amendments.changes import RemoveMilestone
from app.contracts.amendments.forms import ProposedAdd, ProposedEdit, ProposedEnd, ProposedRemoval, ProposedSplit
from app.contracts.models import Amendment, Contract, ContractVersion, Milestone
from app.contracts.terms import HeldSplitTerms
from app.errors import DomainError, FormError
from app.escrow import funding, lifecycle
from app.escrow.ledger import escrow_balance
from app.escrow.models import Account, AccountKind, EntryKind, JournalEntry
from app.money import Money
from app.payments.provider import Payment, PaymentState
from app.worker.models import OutboxJob
from tests.contracts.helpers import CTX, active_contract
from tests.support.browser import no_horizontal_scroll, sign_in
from tests.support.factories import make_user

REASON = "The client's plans changed."
ADD = ProposedAdd("Launch support", "Two weeks of fixes after launch.", "500.00")


def paid(f):
    return Payment(
        id=f"pay_{f.public_id}", reference=f.public_id, amount=Money(f.amount_minor, f.currency),
        state=PaymentState.succeeded, failure_message="",
    )  # fmt: skip


async def fund(db, contract, client, *milestones):
    f = await funding.open_funding(db, contract.id, client, [m.id for m in milestones], provider="sandbox")
    await db.commit()
    await funding.apply_payment(db, paid(f))
    await db.commit()
    return f


async def deal(db, client, contractor):
    contract, _ = await active_contract(db, client.user, contractor.user)
    return contract, *(await rows(db, contract))


async def rows(db, contract):
    query = select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position, Milestone.id)
    return list((await db.scalars(query.execution_options(populate_existing=True))).all())


async def propose(db, contract, user, changes):
    amendment = await amendments.propose(db, contract.id, user, changes, REASON)
    await db.commit()
    return amendment


async def sign(db, amendment, user):
    version = await db.get(ContractVersion, amendment.version_id)
    await amendments.sign_amendment(db, amendment.id, user, version_hash=version.terms_hash, typed_name=user.name,
                                    consent=True, context=CTX)  # fmt: skip
    await db.commit()


async def refused(app, error, match, fn, *args, **kwargs):
    """A step that must fail, in a session of its own that then rolls back."""
    async with app.state.sessionmaker() as session:
        with pytest.raises(error, match=match) as info:
            await fn(session, *args, **kwargs)
    return info.value


async def balance(db, kind, **owner):
    return await db.scalar(
        select(Account.balance_minor).where(
            Account.kind == kind,
            Account.owner_user_id.is_not_distinct_from(owner.get("user_id")),
            Account.owner_contract_id.is_not_distinct_from(owner.get("contract_id")),
        )
    )


async def refund_jobs(db):
    return (await db.scalars(select(OutboxJob).where(OutboxJob.function == "refund_payment"))).all()


async def fresh(db, model, id):
    return await db.get(model, id, populate_existing=True)


async def count(db, model):
    return await db.scalar(select(func.count()).select_from(model))


async def test_removing_a_funded_milestone_refunds_it_once_when_both_have_signed(db, client, contractor):
    contract, design, build = await deal(db, client, contractor)
    await fund(db, contract, client.user, design)
    assert await escrow_balance(db, contract.id, "EUR") == Money(100000)

    amendment = await propose(db, contract, contractor.user, [ProposedRemoval(design.id)])
    assert amendment.changes == [amendment.changes[0]] and isinstance(amendment.changes[0], RemoveMilestone)
    assert amendment.changes[0].refund_minor == 100000
    page = await client.get(f"/contracts/{contract.id}/amendments/{amendment.id}")
    assert "It is funded: its €1,000.00 held in escrow goes back to the client." in page.text
    await sign(db, amendment, contractor.user)
    assert await escrow_balance(db, contract.id, "EUR") == Money(100000), "nothing moves before both sign"
    assert await refund_jobs(db) == []
    await sign(db, amendment, client.user)

    assert (await fresh(db, Amendment, amendment.id)).status == "applied"
    design, build = await rows(db, contract)
    assert (design.status, build.status) == ("refunded", "pending")
    assert await escrow_balance(db, contract.id, "EUR") == Money(0)
    assert await balance(db, AccountKind.refunds, user_id=client.user.id) == 100000
    assert await db.scalar(select(func.count()).where(JournalEntry.kind == EntryKind.refund)) == 1
    jobs = await refund_jobs(db)
    assert [(j.kwargs["amount_minor"], j.kwargs["key"]) for j in jobs] == [(100000, f"refund:milestone:{design.id}")]
    contract = await fresh(db, Contract, contract.id)
    assert contract.status == "active" and contract.current_version_id == amendment.version_id
    version = await db.get(ContractVersion, amendment.version_id)
    assert [m.title for m in version.terms.milestones] == ["Build"]

    # The refunded milestone stays out of the terms of later changes, and money moves once only.
    later = await propose(db, contract, client.user, [ADD])
    terms = (await db.get(ContractVersion, later.version_id)).terms
    assert [m.title for m in terms.milestones] == ["Build", "Launch support"]
    await sign(db, later, client.user)
    await sign(db, later, contractor.user)
    assert await balance(db, AccountKind.refunds, user_id=client.user.id) == 100000
    assert len(await refund_jobs(db)) == 1
    assert (await verify(db)).ok


async def test_work_under_review_cannot_be_removed_and_a_funded_amount_cannot_change(app, db, client, contractor):
    contract, design, build = await deal(db, client, contractor)
    await fund(db, contract, client.user, design, build)
    await lifecycle.submit(db, design.id, contractor.user, "The designs, as agreed.")
    await db.commit()
    for change in (ProposedRemoval(design.id), ProposedEdit(design.id, "", "2031-01-01")):
        await refused(app, FormError, "work waiting for the client’s review, so it can’t be removed or changed",
                      amendments.propose, contract.id, client.user, [change], REASON)  # fmt: skip
    error = await refused(app, FormError, None, amendments.propose, contract.id, client.user,
                          [ProposedEdit(build.id, "2500")], REASON)  # fmt: skip
    assert error.errors == {
        f"amount_{build.id}": [
            "“Build” is funded: its €2,000.00 is held in escrow, so its amount and due date can’t change. Remove it "
            "instead (the client gets the money back in full once you have both signed), then add a new milestone."
        ]
    }
    await lifecycle.request_revision(db, design.id, client.user, "The logo is too small.")
    await db.commit()
    await refused(app, FormError, "being revised after review", amendments.propose, contract.id, contractor.user,
                  [ProposedRemoval(design.id)], REASON)  # fmt: skip
    await lifecycle.freeze(db, build.id, actor_id=None)
    await db.commit()
    for change in (ProposedRemoval(build.id), ProposedEnd("Stop here.")):
        await refused(app, FormError, "in a dispute", amendments.propose, contract.id, client.user, [change], REASON)
    assert await count(db, Amendment) == 0
    assert await escrow_balance(db, contract.id, "EUR") == Money(300000)

    page = await client.get(f"/contracts/{contract.id}/amendments/new")
    assert "“Design” is being revised after review, so it can’t be removed or changed." in page.text
    assert f'name="remove_{design.id}"' not in page.text and f'name="amount_{design.id}"' not in page.text


async def test_ending_with_money_held_moves_exactly_the_signed_split_and_terminates(db, client, contractor):
    contract, design, build = await deal(db, client, contractor)
    first = await propose(db, contract, client.user, [ADD])
    await sign(db, first, client.user)
    await sign(db, first, contractor.user)
    launch = (await rows(db, contract))[2]
    await fund(db, contract, client.user, design, build)
    await lifecycle.submit(db, build.id, contractor.user, "The site is built.")
    await db.commit()

    splits = (ProposedSplit(design.id, "1000", "0"), ProposedSplit(build.id, "500.50", "1 499,50"))
    amendment = await propose(db, contract, client.user, [ProposedEnd("We stop after the build.", splits)])
    version = await db.get(ContractVersion, amendment.version_id)
    assert version.terms.termination.escrow_held_minor == 300000
    assert version.terms.termination.splits == (
        HeldSplitTerms("Design", 100000, 100000, 0),
        HeldSplitTerms("Build", 200000, 50050, 149950),
    ), "the split is in the hashed terms both sign"
    assert version.terms.to_json()["termination"]["splits"][1] == {
        "milestone": "Build", "held_minor": 200000, "refund_minor": 50050, "release_minor": 149950,
    }  # fmt: skip

    said = "“Build” (€2,000.00 held): €500.50 back to the client; €1,499.50 released to the contractor, who receives €1,349.55 after the Pactline fee."  # fmt: skip
    page = await contractor.get(f"/contracts/{contract.id}/amendments/{amendment.id}")
    assert "“Design” (€1,000.00 held): €1,000.00 back to the client; nothing released to the contractor." in page.text
    assert said in page.text and "€3,000.00 is held in escrow for this contract" in page.text
    compare = await contractor.get(f"/contracts/{contract.id}/compare")
    assert "Ended early · money of “Build”" in compare.text and said in compare.text
    assert "Ended early · money held in escrow" in compare.text

    await sign(db, amendment, client.user)
    assert await escrow_balance(db, contract.id, "EUR") == Money(300000)
    await sign(db, amendment, contractor.user)

    contract = await fresh(db, Contract, contract.id)
    assert contract.status == "terminated"
    statuses = {m.id: m.status for m in await rows(db, contract)}
    assert statuses == {design.id: "refunded", build.id: "settled", launch.id: "removed"}
    assert await escrow_balance(db, contract.id, "EUR") == Money(0)
    assert await balance(db, AccountKind.refunds, user_id=client.user.id) == 100000 + 50050
    assert await balance(db, AccountKind.contractor_payable, user_id=contractor.user.id) == 149950 - 14995
    assert await balance(db, AccountKind.platform_fees) == 14995, "the fee is on the released part only"
    jobs = sorted((j.kwargs["amount_minor"], j.kwargs["key"]) for j in await refund_jobs(db))
    assert jobs == [(50050, f"split:milestone:{build.id}"), (100000, f"split:milestone:{design.id}")]
    kinds = list((await db.scalars(select(AuditEvent.kind).where(AuditEvent.subject_id == contract.public_id))).all())
    assert kinds.count("milestone_split") == 2 and kinds[-1] == "contract_terminated"
    page = await client.get(f"/contracts/{contract.id}/versions/{version.number}")
    assert said in page.text
    assert (await verify(db)).ok


async def test_an_ending_refused_at_apply_time_when_the_money_held_changed(app, db, client, contractor):
    contract, design, build = await deal(db, client, contractor)
    await fund(db, contract, client.user, design)
    end = ProposedEnd("Stop.", (ProposedSplit(design.id, "1000", "0"),))
    amendment = await propose(db, contract, client.user, [end])
    await sign(db, amendment, client.user)
    await fund(db, contract, client.user, build)  # more money held after the proposal
    version = await db.get(ContractVersion, amendment.version_id)
    await refused(app, DomainError, "changed since this ending was proposed|no longer matches",
                  amendments.sign_amendment, amendment.id, contractor.user, version_hash=version.terms_hash,
                  typed_name=contractor.user.name, consent=True, context=CTX)  # fmt: skip
    assert (await fresh(db, Contract, contract.id)).status == "active"
    assert await escrow_balance(db, contract.id, "EUR") == Money(300000)
    assert await refund_jobs(db) == []


async def test_a_bad_split_is_refused_in_place_and_nothing_is_proposed(db, client, contractor):
    contract, design, build = await deal(db, client, contractor)
    await fund(db, contract, client.user, design)
    url = f"/contracts/{contract.id}/amendments/new"
    page = await client.get(url)
    refund, release = f"refund_{design.id}", f"release_{design.id}"
    assert "Back to the client from “Design” (EUR)" in page.text
    assert "Released to the contractor from “Design” (EUR)" in page.text
    assert re.search(rf'name="{refund}"[^>]*value="1000.00"', page.text), "a funded milestone: all back, by default"
    assert re.search(rf'name="{release}"[^>]*value="0"', page.text)
    form = {"terminate": "on", "settlement_note": "Nothing else is owed.", "reason": REASON}
    bad = {
        "not adding up": ({refund: "500", release: "400"}, release,
                          "must add up to exactly the €1,000.00 held for “Design”; now they add up to €900.00"),
        "too much": ({refund: "1000", release: "0.01"}, release, "now they add up to €1,000.01"),
        "negative": ({refund: "-100", release: "1100"}, refund, "can’t be below zero"),
        "three decimals": ({refund: "999.999", release: "0.001"}, refund, "at most 2 decimals"),
        "another currency": ({refund: "$1000", release: "0"}, refund, "This contract is paid in EUR"),
        "empty": ({refund: "", release: "1000"}, refund, "Enter an amount, or 0 for nothing."),
        "1 MB": ({refund: "9" * 1_000_000, release: "0"}, refund, "Enter an amount like 250 or 250.50"),
        "words": ({refund: "all of it", release: "0"}, refund, "Enter an amount like 1200 or 1200.50."),
    }  # fmt: skip
    for name, (fields, where, words) in bad.items():
        answer = await client.post_form(url, form | fields)
        assert answer.status_code == 422, name
        assert words in answer.text, name
        assert f'id="field-{where}-error"' in answer.text, name  # next to its field
        assert len(answer.text) < 200_000, name  # a 1 MB value is not echoed back
    # A NUL byte is refused at the door for the whole form (400, naming the field), before it is read.
    nul = await client.post_form(url, form | {refund: "10\x00", release: "990"})
    assert nul.status_code == 400 and f"“{refund}”" in nul.text
    assert await count(db, Amendment) == 0
    assert await escrow_balance(db, contract.id, "EUR") == Money(100000)

    made = await client.post_form(url, form | {refund: "250", release: "750.00"})
    assert made.status_code == 303
    amendment = await db.scalar(select(Amendment))
    terms = (await db.get(ContractVersion, amendment.version_id)).terms
    assert terms.termination.splits == (HeldSplitTerms("Design", 100000, 25000, 75000),)


async def test_an_open_checkout_blocks_proposing_and_applying(app, db, client, contractor):
    contract, design, build = await deal(db, client, contractor)
    checkout = await funding.open_funding(db, contract.id, client.user, [design.id], provider="sandbox")
    await db.commit()
    busy = "A payment for “Design” is in progress. Wait for it to finish or cancel it first."
    for change in (ProposedRemoval(design.id), ProposedEdit(design.id, "1200"), ProposedEnd("Stop.")):
        error = await refused(app, FormError, None, amendments.propose, contract.id, client.user, [change], REASON)
        assert busy in str(error.errors), change
    url = f"/contracts/{contract.id}/amendments/new"
    page = await client.get(url)
    assert busy in page.text and f'name="remove_{design.id}"' not in page.text
    answer = await client.post_form(url, {"terminate": "on", "settlement_note": "Stop.", "reason": REASON})
    assert answer.status_code == 422 and busy in answer.text and 'id="field-terminate-error"' in answer.text
    assert await count(db, Amendment) == 0
    # The checkout holds back only its own milestone: another one can still change.
    await propose(db, contract, client.user, [ProposedEdit(build.id, "2500")])
    await funding.cancel_by_client(db, contract.id, checkout.public_id, client.user)
    await db.commit()


async def test_a_checkout_opened_after_the_proposal_stops_the_change_from_applying(app, db, client, contractor):
    contract, design, build = await deal(db, client, contractor)
    amendment = await propose(db, contract, client.user, [ProposedRemoval(design.id)])
    await sign(db, amendment, client.user)
    checkout = await funding.open_funding(db, contract.id, client.user, [design.id], provider="sandbox")
    await db.commit()
    version = await db.get(ContractVersion, amendment.version_id)
    sign_again = dict(version_hash=version.terms_hash, typed_name=contractor.user.name, consent=True, context=CTX)
    await refused(app, DomainError, "A payment for “Design” is in progress. Wait for it to finish or cancel it first. "
                  "This change can't be applied until then; nothing has changed.",
                  amendments.sign_amendment, amendment.id, contractor.user, **sign_again)  # fmt: skip
    assert (await fresh(db, Amendment, amendment.id)).status == "proposed"
    assert [m.status for m in await rows(db, contract)] == ["pending", "pending"]

    # The page says so where the contractor signs.
    page = await contractor.get(f"/contracts/{contract.id}/amendments/{amendment.id}")
    form = {"typed_name": contractor.user.name, "consent": "on", "version_hash": version.terms_hash}
    answer = await contractor.post_form(f"/contracts/{contract.id}/amendments/{amendment.id}/sign", form)
    assert page.status_code == 200 and answer.status_code == 409
    assert "A payment for “Design” is in progress" in answer.text

    # The payment goes through: removing Design now would refund it, which nobody signed.
    await funding.apply_payment(db, paid(checkout))
    await db.commit()
    await refused(app, DomainError, "was funded after this change was proposed",
                  amendments.sign_amendment, amendment.id, contractor.user, **sign_again)  # fmt: skip
    assert await escrow_balance(db, contract.id, "EUR") == Money(100000)
    assert (await rows(db, contract))[0].status == "funded"


async def test_the_amendment_pages_say_what_escrow_holds(db, client, contractor):
    contract, design, build = await deal(db, client, contractor)
    url = f"/contracts/{contract.id}/amendments/new"
    assert "No money is held in escrow for this contract." in (await client.get(url)).text
    await fund(db, contract, client.user, design, build)
    await lifecycle.submit(db, build.id, contractor.user, "The site is built.")
    await db.commit()
    page = await client.get(url)
    held = (
        "€3,000.00 is held in escrow for this contract: €1,000.00 for “Design” (funded) and €2,000.00 for “Build” "
        "(work submitted)."
    )
    assert held in page.text and "No money is held" not in page.text
    # Defaults: a funded milestone back to the client, a submitted one released to the contractor.
    assert re.search(rf'name="refund_{build.id}"[^>]*value="0"', page.text)
    assert re.search(rf'name="release_{build.id}"[^>]*value="2000.00"', page.text)
    amendment = await propose(db, contract, contractor.user, [ADD])
    page = await client.get(f"/contracts/{contract.id}/amendments/{amendment.id}")
    assert f"Now: {held}" in page.text and "No money is held" not in page.text


async def test_a_change_that_leaves_every_milestone_finished_completes_the_contract(db, client, contractor):
    contract, design, build = await deal(db, client, contractor)
    await fund(db, contract, client.user, design)
    await lifecycle.submit(db, design.id, contractor.user, "The designs.")
    await lifecycle.approve(db, design.id, client.user)
    await db.commit()
    assert (await fresh(db, Contract, contract.id)).status == "active"
    amendment = await propose(db, contract, client.user, [ProposedRemoval(build.id)])
    await sign(db, amendment, client.user)
    await sign(db, amendment, contractor.user)
    contract = await fresh(db, Contract, contract.id)
    assert contract.status == "completed" and contract.ended_at is not None
    kinds = (await db.scalars(select(AuditEvent.kind).where(AuditEvent.subject_id == contract.public_id))).all()
    assert list(kinds)[-2:] == ["amendment_applied", "contract_completed"]


@pytest.mark.browser
async def test_ending_with_money_held_is_proposed_on_a_360_px_phone(small_phone, db):
    client = await make_user(db, role=Role.client, name="Constança Albuquerque-Vasconcelos")
    contractor = await make_user(db, role=Role.contractor, name="Maximilian Oberndorfer-Schwarzenberg")
    contract, _ = await active_contract(db, client, contractor)
    design, _build = await rows(db, contract)
    await fund(db, contract, client, design)
    page = small_phone
    await sign_in(page, client.email)
    await page.goto(f"/contracts/{contract.id}/amendments/new")
    await expect(page.get_by_text("€1,000.00 is held in escrow for this contract")).to_be_visible()
    assert await no_horizontal_scroll(page)
    await page.get_by_label("End the contract once both of us have signed").check()
    await page.get_by_label("Back to the client from “Design” (EUR)").fill("300")
    await page.get_by_label("Released to the contractor from “Design” (EUR)").fill("600")
    await page.get_by_label("Settlement").fill("The first drafts are paid; nothing else is owed.")
    await page.get_by_label("Why this change?").fill("The clinic closed its second site.")
    await page.get_by_role("button", name="Propose this change").click()
    # In place: in the summary at the top and next to the field.
    await expect(page.get_by_text("now they add up to €900.00")).to_have_count(2)
    assert await no_horizontal_scroll(page)
    await page.get_by_label("Released to the contractor from “Design” (EUR)").fill("700")
    await page.get_by_role("button", name="Propose this change").click()
    await page.wait_for_url(f"**/contracts/{contract.id}/amendments/*")
    await expect(page.get_by_text("“Design” (€1,000.00 held): €300.00 back to the client")).to_be_visible()
    assert await no_horizontal_scroll(page)
    assert page.problems.errors == [], page.problems.errors
