"""Amendments to an active contract: proposed by one party, signed by both, applied at once;
milestones with money held or work under review can't be touched."""

import asyncio
import json
import re

import pytest
from playwright.async_api import expect
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.chain import verify
from app.audit.models import AuditEvent
from app.contracts.amendments import services as amendments
from app.contracts.amendments.changes import AddMilestone
from app.contracts.amendments.forms import ProposedAdd, ProposedEdit, ProposedEnd, ProposedRemoval
from app.contracts.models import Amendment, Contract, ContractVersion, Milestone, Signature
from app.contracts.terms import Termination
from app.contracts.versions import terms_hash
from app.errors import DomainError, FormError
from app.events.models import OutboxEvent
from tests.contracts.helpers import CTX, active_contract
from tests.support.browser import no_horizontal_scroll, sign_in
from tests.support.factories import make_user
from tests.support.signals import refresh_url


def sign(db, amendment, user, *, version_hash=None):
    return amendments.sign_amendment(
        db,
        amendment.id,
        user,
        version_hash=version_hash or amendment_hash[amendment.id],
        typed_name=user.name,
        consent=True,
        context=CTX,
    )


amendment_hash: dict[int, str] = {}


async def propose(db, contract, user, changes, reason="Scope grew after the first design review."):
    amendment = await amendments.propose(db, contract.id, user, changes, reason)
    await db.commit()
    amendment_hash[amendment.id] = (await db.get(ContractVersion, amendment.version_id)).terms_hash
    return amendment


async def rows(db, contract):
    query = select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position, Milestone.id)
    return list((await db.scalars(query.execution_options(populate_existing=True))).all())


async def fresh(db, model, id):
    return await db.get(model, id, populate_existing=True)


async def refused(app, error, match, fn, *args, **kwargs):
    """Run a step that must fail in a session of its own (rolled back), leaving `db`'s objects as they are."""
    async with app.state.sessionmaker() as session:
        with pytest.raises(error, match=match) as info:
            await fn(session, *args, **kwargs)
    return info.value


async def kinds(db, contract):
    query = select(AuditEvent.kind).where(AuditEvent.subject_id == contract.public_id).order_by(AuditEvent.seq)
    return list((await db.scalars(query)).all())


ADD = ProposedAdd("Launch support", "Two weeks of fixes after launch.", "500.00", "2030-04-01")


async def test_adding_a_milestone_signed_by_both_adds_a_row_and_moves_the_contract_to_the_new_version(
    db, client, contractor
):
    contract, first = await active_contract(db, client.user, contractor.user)
    amendment = await propose(db, contract, contractor.user, [ADD])
    version = await db.get(ContractVersion, amendment.version_id)
    assert version.number == 2 and version.terms.stated_total_minor == 350000
    assert len(await rows(db, contract)) == 2, "nothing changes before both have signed"

    await sign(db, amendment, contractor.user)
    await db.commit()
    assert (await fresh(db, Contract, contract.id)).current_version_id == first.id
    await sign(db, amendment, client.user)
    await db.commit()

    contract = await fresh(db, Contract, contract.id)
    assert contract.current_version_id == amendment.version_id
    assert (await fresh(db, Amendment, amendment.id)).status == "applied"
    milestones = await rows(db, contract)
    assert [(m.title, m.amount_minor, m.status) for m in milestones] == [
        ("Design", 100000, "pending"),
        ("Build", 200000, "pending"),
        ("Launch support", 50000, "pending"),
    ]
    assert milestones[2].due_date.isoformat() == "2030-04-01"
    assert terms_hash(version.terms) == version.terms_hash
    assert [m.title for m in version.terms.milestones] == ["Design", "Build", "Launch support"]
    assert (await kinds(db, contract))[-4:] == [
        "amendment_proposed",
        "amendment_signed",
        "amendment_signed",
        "amendment_applied",
    ]
    assert (await verify(db)).ok


async def test_changing_a_pending_milestones_amount_and_date_updates_the_row(db, client, contractor):
    contract, _ = await active_contract(db, client.user, contractor.user)
    design = (await rows(db, contract))[0]
    change = ProposedEdit(design.id, "1 200,50", "2030-02-15")
    amendment = await propose(db, contract, client.user, [change])
    assert amendment.changes[0].to_json()["before"] == {"amount_minor": 100000, "due_date": "2030-02-01"}
    await sign(db, amendment, client.user)
    await sign(db, amendment, contractor.user)
    await db.commit()
    design = (await rows(db, contract))[0]
    assert (design.amount_minor, design.due_date.isoformat()) == (120050, "2030-02-15")
    version = await db.get(ContractVersion, amendment.version_id)
    assert version.terms.stated_total_minor == 320050


async def test_removing_a_milestone_marks_it_removed_and_keeps_at_least_one(app, db, client, contractor):
    contract, _ = await active_contract(db, client.user, contractor.user)
    design, build = await rows(db, contract)
    both = [ProposedRemoval(design.id), ProposedRemoval(build.id)]
    await refused(app, FormError, "at least one milestone", amendments.propose, contract.id, client.user, both, "Stop")
    amendment = await propose(db, contract, client.user, [ProposedRemoval(build.id)])
    await sign(db, amendment, client.user)
    await sign(db, amendment, contractor.user)
    await db.commit()
    assert [m.status for m in await rows(db, contract)] == ["pending", "removed"]
    version = await db.get(ContractVersion, amendment.version_id)
    assert [m.title for m in version.terms.milestones] == ["Design"]


async def test_bad_input_is_refused_with_a_message_per_field(app, db, client, contractor):
    contract, _ = await active_contract(db, client.user, contractor.user)
    design = (await rows(db, contract))[0]
    changes = [
        ProposedAdd("", "", "-5", "01/04/2030"),
        ProposedEdit(design.id, "0"),
        ProposedRemoval(999999),
    ]
    error = await refused(app, FormError, None, amendments.propose, contract.id, client.user, changes, "")
    assert set(error.errors) == {"add_title", "add_criteria", "add_amount", "add_due", f"amount_{design.id}", "reason", "form"}  # fmt: skip
    await refused(app, FormError, "at least one change", amendments.propose, contract.id, client.user, [], "Nothing")
    assert await db.scalar(select(func.count()).select_from(Amendment)) == 0


async def test_a_funded_milestone_cannot_be_changed_at_proposal_or_at_apply_time(app, db, client, contractor):
    contract, first = await active_contract(db, client.user, contractor.user)
    design, build = await rows(db, contract)
    # The proposal's checks read the milestone's state only: the test puts it in the state funding
    # leaves it in (tests/contracts/test_amendments_with_money.py funds through the real verbs).
    design.status = "funded"
    await db.commit()
    for change, words in (
        (ProposedEdit(design.id, 90000), "amount and due date can’t change. Remove it instead"),
        (ProposedEdit(design.id, "", "2031-01-01"), "amount and due date can’t change"),
        (ProposedEnd("Call it even."), "Say how the €1,000.00 held for “Design” is split"),
    ):
        await refused(app, FormError, words, amendments.propose, contract.id, client.user, [change], "Why")

    # Proposed while pending, funded before the second signature: applying is refused, nothing changes.
    change = ProposedEdit(build.id, 150000)
    amendment = await propose(db, contract, client.user, [change])
    await sign(db, amendment, client.user)
    await db.commit()
    build.status = "funded"  # escrow does not exist yet; see above
    await db.commit()
    await refused(
        app, DomainError, "“Build” is funded", amendments.sign_amendment, amendment.id, contractor.user,
        version_hash=amendment_hash[amendment.id], typed_name=contractor.user.name, consent=True, context=CTX,
    )  # fmt: skip
    assert (await rows(db, contract))[1].amount_minor == 200000
    assert (await fresh(db, Contract, contract.id)).current_version_id == first.id
    assert (await fresh(db, Amendment, amendment.id)).status == "proposed"
    signatures = select(func.count()).select_from(Signature).where(Signature.version_id == amendment.version_id)
    assert await db.scalar(signatures) == 1, "the refused signature is not kept"
    assert "amendment_applied" not in await kinds(db, contract)


async def test_a_stale_version_hash_and_a_second_open_change_are_refused(app, db, client, contractor):
    contract, first = await active_contract(db, client.user, contractor.user)
    amendment = await propose(db, contract, client.user, [ADD])
    await refused(
        app, DomainError, "terms changed since you opened this page", amendments.sign_amendment, amendment.id,
        contractor.user, version_hash=first.terms_hash, typed_name=contractor.user.name, consent=True, context=CTX,
    )  # fmt: skip
    await refused(app, DomainError, "already a change waiting", amendments.propose, contract.id, contractor.user, [ADD], "Me too")  # fmt: skip
    assert await db.scalar(select(func.count()).select_from(Amendment)) == 1
    signatures = select(func.count()).select_from(Signature).where(Signature.version_id == amendment.version_id)
    assert await db.scalar(signatures) == 0

    # Once it is withdrawn, a new change may be proposed; the withdrawn one can't be signed.
    await refused(app, DomainError, "withdraw it instead", amendments.decline, amendment.id, client.user)
    await amendments.withdraw(db, amendment.id, client.user)
    await db.commit()
    await refused(
        app, DomainError, "withdrawn", amendments.sign_amendment, amendment.id, contractor.user,
        version_hash=amendment_hash[amendment.id], typed_name=contractor.user.name, consent=True, context=CTX,
    )  # fmt: skip
    second = await propose(db, contract, contractor.user, [ADD])
    await amendments.decline(db, second.id, client.user)
    await db.commit()
    statuses = (await db.scalars(select(Amendment.status).order_by(Amendment.id))).all()
    assert statuses == ["withdrawn", "declined"]
    third = await propose(db, contract, client.user, [ADD])
    assert (await db.get(ContractVersion, third.version_id)).number == 4, "version numbers continue"


async def test_both_signing_at_the_same_moment_apply_exactly_once(app, db, client, contractor):
    contract, _ = await active_contract(db, client.user, contractor.user)
    amendment = await propose(db, contract, client.user, [ADD])

    async def sign_as(user):
        async with app.state.sessionmaker() as session, session.begin():
            await sign(session, amendment, user)

    await asyncio.gather(sign_as(client.user), sign_as(contractor.user))
    applied = await db.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.kind == "amendment_applied", AuditEvent.subject_id == contract.public_id)
    )
    assert applied == 1
    assert len(await rows(db, contract)) == 3
    assert (await fresh(db, Contract, contract.id)).current_version_id == amendment.version_id


async def test_ending_the_contract_removes_unfunded_milestones_and_moves_no_money(app, db, client, contractor):
    contract, _ = await active_contract(db, client.user, contractor.user)
    note = "Design is paid outside the platform; nothing else is owed."
    amendment = await propose(db, contract, contractor.user, [ProposedEnd(note)])
    version = await db.get(ContractVersion, amendment.version_id)
    assert version.terms.termination == Termination(note, 0)
    assert version.terms.milestones == () and version.terms.stated_total_minor == 0
    await sign(db, amendment, contractor.user)
    await sign(db, amendment, client.user)
    await db.commit()
    contract = await fresh(db, Contract, contract.id)
    assert contract.status == "terminated" and contract.ended_at is not None
    assert [m.status for m in await rows(db, contract)] == ["removed", "removed"]
    events = (await db.scalars(select(AuditEvent).where(AuditEvent.subject_id == contract.public_id))).all()
    ended = next(e for e in events if e.kind == "contract_terminated")
    assert ended.data["escrow_held_minor"] == 0 and ended.data["terms_hash"] == version.terms_hash
    assert note not in str([e.data for e in events]), "private terms stay out of the chain; the hash binds them"
    await refused(app, DomainError, "Only an active contract", amendments.propose, contract.id, client.user, [ADD], "More")  # fmt: skip


async def test_the_other_party_sees_the_change_live(db, client, contractor):
    contract, _ = await active_contract(db, client.user, contractor.user)
    event = f"contract-{contract.id}-amendments"
    amendment = await propose(db, contract, client.user, [ADD])
    live = (await db.scalars(select(OutboxEvent).where(OutboxEvent.event == event))).all()
    assert [e.user_id for e in live] == [contractor.user.id], "only the other party is told"
    assert json.loads(live[0].data) == {"changed": True}  # a signal: the page renders the panel
    # The contractor's open page re-fetches its panel on that signal.
    page = await contractor.get(f"/contracts/{contract.id}")
    url = refresh_url(page.text, event)
    panel = await contractor.htmx("GET", url)
    assert panel.status_code == 200 and "<html" not in panel.text
    assert "Launch support" in panel.text and f"/contracts/{contract.id}/amendments/{amendment.id}" in panel.text
    assert "Review and sign this change" in panel.text and refresh_url(panel.text, event) == url

    await sign(db, amendment, contractor.user)
    await db.commit()
    told = (await db.scalars(select(OutboxEvent).where(OutboxEvent.event == event).order_by(OutboxEvent.id))).all()
    assert told[-1].user_id == client.user.id and json.loads(told[-1].data) == {"changed": True}
    assert "Signed by" in (await client.htmx("GET", url)).text


async def test_the_amendments_panel_is_for_the_parties_only(db, client, contractor, other_contractor):
    contract, _ = await active_contract(db, client.user, contractor.user)
    for party in (client, contractor):
        panel = await party.htmx("GET", f"/contracts/{contract.id}/amendments")
        assert panel.status_code == 200 and 'id="contract-amendments"' in panel.text
    assert (await other_contractor.htmx("GET", f"/contracts/{contract.id}/amendments")).status_code == 404
    assert (await other_contractor.htmx("GET", f"/contracts/{contract.id + 1000}/amendments")).status_code == 404


async def test_the_pages_propose_sign_and_apply_a_change(db, client, contractor):
    contract, _ = await active_contract(db, client.user, contractor.user)
    design = (await rows(db, contract))[0]
    new_url = f"/contracts/{contract.id}/amendments/new"

    page = await client.get(new_url)
    assert page.status_code == 200
    for label in ("New amount for “Design” (EUR)", "Remove “Design” from the contract", "Title of new milestone 1",
                  "End the contract once both of us have signed", "Why this change?"):  # fmt: skip
        assert label in page.text
    assert "No money is held in escrow for this contract" in page.text

    bad = await client.post_form(new_url, {f"amount_{design.id}": "abc", "reason": ""})
    assert bad.status_code == 422
    assert "Enter an amount like 1200 or 1200.50." in bad.text and "Say why" in bad.text
    assert await db.scalar(select(func.count()).select_from(Amendment)) == 0

    created = await client.post_form(new_url, {f"amount_{design.id}": "1100", "reason": "Extra page."})
    assert created.status_code == 303
    url = created.headers["location"]
    assert re.fullmatch(rf"/contracts/{contract.id}/amendments/\d+", url)
    again = await client.get(new_url)
    assert again.status_code == 303 and again.headers["location"] == url, "one open change at a time"

    page = await contractor.get(url)
    assert "amount €1,000.00 → €1,100.00" in page.text and "I agree to this change to the contract" in page.text
    version_hash = re.search(r'name="version_hash" value="([0-9a-f]{64})"', page.text).group(1)

    wrong = await contractor.post_form(url + "/sign", {"typed_name": "Someone", "version_hash": version_hash})
    assert wrong.status_code == 422 and "exactly as on your account" in wrong.text and "Tick the box" in wrong.text
    stale = await contractor.post_form(
        url + "/sign", {"typed_name": contractor.user.name, "consent": "on", "version_hash": "0" * 64}
    )
    assert stale.status_code == 409 and "terms changed since you opened this page" in stale.text

    for party in (contractor, client):
        signed = await party.post_form(
            url + "/sign", {"typed_name": party.user.name, "consent": "on", "version_hash": version_hash}
        )
        assert signed.status_code == 303, signed.text[:500]
    assert (await rows(db, contract))[0].amount_minor == 110000
    page = await client.get(url)
    assert "Signed by both parties and applied" in page.text and "Sign the change" not in page.text


async def test_only_the_parties_reach_amendments_and_admins_only_read_them(
    db, client, contractor, other_contractor, admin
):
    contract, _ = await active_contract(db, client.user, contractor.user)
    amendment = await propose(db, contract, client.user, [ADD])
    base = f"/contracts/{contract.id}/amendments"
    url = f"{base}/{amendment.id}"
    form = {"typed_name": other_contractor.user.name, "consent": "on", "version_hash": amendment_hash[amendment.id]}
    for outsider in (other_contractor, admin):
        assert (await outsider.get(f"{base}/new")).status_code == 404
        assert (await outsider.post_form(f"{base}/new", {"reason": "x", "terminate": "on"})).status_code == 404
        for action in ("sign", "withdraw", "decline"):
            assert (await outsider.post_form(f"{url}/{action}", form)).status_code == 404
    assert (await other_contractor.get(url)).status_code == 404
    seen = await admin.get(url)
    assert seen.status_code == 200 and "Launch support" in seen.text and "Sign the change" not in seen.text
    # A party of this contract still gets 404 for an amendment id under another contract's URL.
    assert (await client.get(f"/contracts/{contract.id + 1}/amendments/{amendment.id}")).status_code == 404
    assert (await fresh(db, Amendment, amendment.id)).status == "proposed"
    signatures = select(func.count()).select_from(Signature).where(Signature.version_id == amendment.version_id)
    assert await db.scalar(signatures) == 0


@pytest.mark.browser
async def test_a_change_is_proposed_and_signed_on_a_360_px_phone(small_phone, db):
    client = await make_user(db, role=Role.client, name="Constança Albuquerque-Vasconcelos")
    contractor = await make_user(db, role=Role.contractor, name="Maximilian Oberndorfer-Schwarzenberg")
    contract, _ = await active_contract(db, client, contractor)
    page = small_phone
    await sign_in(page, client.email)
    await page.goto(f"/contracts/{contract.id}")
    await page.get_by_role("link", name="Propose a change").click()
    assert await no_horizontal_scroll(page)
    await page.get_by_label("New amount for “Build” (EUR)").fill("2500")
    await page.get_by_label("Title of new milestone 1").fill(
        "Training-for-the-reception-team-on-the-new-booking-system"
    )
    await page.get_by_label("How you will both know milestone 1 is done").fill("A two-hour session, recorded.")
    await page.get_by_label("Amount of milestone 1 (EUR)").fill("300")
    await page.get_by_label("Why this change?").fill("The clinic asked for training and a larger build.")
    await page.get_by_role("button", name="Propose this change").click()
    await page.wait_for_url(f"**/contracts/{contract.id}/amendments/*")
    assert await no_horizontal_scroll(page)
    await expect(page.get_by_text("amount €2,000.00 → €2,500.00")).to_be_visible()
    await page.get_by_label("Your full name").fill(client.name)
    await page.get_by_label("I agree to this change to the contract").check()
    await page.get_by_role("button", name="Sign the change").click()
    await expect(page.get_by_text("You signed. The change takes effect when")).to_be_visible()
    assert await no_horizontal_scroll(page)
    assert page.problems.errors == [], page.problems.errors


async def test_several_milestones_are_added_in_one_change_and_each_error_stays_with_its_group(client, contractor, db):
    contract, _ = await active_contract(db, client.user, contractor.user)
    form = {
        "add_title": "Training", "add_criteria": "A two-hour session, recorded.", "add_amount": "300",
        "add2_title": "Support", "add2_criteria": "", "add2_amount": "200",
        "reason": "Two more things we agreed on the phone.",
    }  # fmt: skip
    refused = await client.post_form(f"/contracts/{contract.id}/amendments/new", form)
    assert refused.status_code == 422 and 'id="field-add2_criteria-error"' in refused.text
    assert 'id="field-add_criteria-error"' not in refused.text
    made = await client.post_form(
        f"/contracts/{contract.id}/amendments/new", form | {"add2_criteria": "Answers within a day for a month."}
    )
    assert made.status_code == 303
    amendment = await db.scalar(select(Amendment))
    assert [c.title for c in amendment.changes if isinstance(c, AddMilestone)] == ["Training", "Support"]
    version = await db.get(ContractVersion, amendment.version_id)
    assert [m.title for m in version.terms.milestones][-2:] == ["Training", "Support"]
    assert version.terms.stated_total_minor == 300000 + 30000 + 20000


async def test_a_due_date_can_be_taken_away_by_a_change(client, contractor, db):
    contract, _ = await active_contract(db, client.user, contractor.user)
    design = await db.scalar(select(Milestone).where(Milestone.title == "Design"))
    form = {f"nodue_{design.id}": "on", f"due_{design.id}": "2031-01-01", "reason": "Dates are open now."}
    both = await client.post_form(f"/contracts/{contract.id}/amendments/new", form)
    assert both.status_code == 422 and "Choose a new due date or no due date, not both." in both.text
    made = await client.post_form(f"/contracts/{contract.id}/amendments/new", form | {f"due_{design.id}": ""})
    assert made.status_code == 303
    amendment = await db.scalar(select(Amendment))
    version = await db.get(ContractVersion, amendment.version_id)
    assert version.terms.milestones[0].title == "Design" and version.terms.milestones[0].due_date is None
    page = await contractor.get(f"/contracts/{contract.id}/amendments/{amendment.id}")
    assert page.status_code == 200 and "no due date" in page.text.lower()
