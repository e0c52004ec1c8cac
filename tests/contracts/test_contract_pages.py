"""Contract pages: drafting from an accepted proposal, the editor, versions on send, asking for a
change, signing (name, consent, stale tab) and activation — and that nobody else sees any of it."""

import asyncio
import json
import re
from datetime import date

from sqlalchemy import func, select

from app.contracts.drafting import services as drafting
from app.contracts.models import ChangeRequest, Contract, ContractStatus, ContractVersion, Milestone
from app.contracts.terms import Retainer, TemplateRef
from app.events.models import OutboxEvent
from app.notifications.models import Notification
from tests.contracts.helpers import accepted_proposal, sent_contract
from tests.support.signals import refresh_url


def editor_form(contract, **overrides):
    """What the editor posts for the contract's current working copy."""
    terms = contract.draft_terms
    form = {
        "rev": str(contract.draft_rev),
        "title": terms.title,
        "scope": terms.scope,
        "kind": terms.kind.value,
        "currency": terms.currency,
        "review_window_days": str(terms.review_window_days),
        "stated_total": "",
        "template_key": "",
        "custom_clauses": "",
    }
    for n, m in enumerate(terms.milestones):
        form |= {
            f"m{n}_title": m.title,
            f"m{n}_criteria": m.acceptance_criteria,
            f"m{n}_amount": str(m.amount_minor // 100),
            f"m{n}_due": m.due_date.isoformat() if m.due_date else "",
        }
    return form | overrides


async def fresh(db, model, id_):
    return await db.get(model, id_, populate_existing=True)


async def wait_for(predicate, tries=100):
    for _ in range(tries):
        result = await predicate()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_accepting_a_proposal_drafts_the_contract_and_opens_the_editor(client, contractor, db):
    proposal = await accepted_proposal(db, client.user, contractor.user)
    # accepted_proposal accepted through the service; the page path drafts the contract on accept.

    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()
    editor = await client.get(f"/contracts/{contract.id}/edit")
    assert editor.status_code == 200
    assert "Draft the contract" in editor.text and 'value="Booking website"' in editor.text
    assert "Milestones add up to" in editor.text and "€3,000.00" in editor.text
    # The contractor is a party but sees no terms until they are sent.
    page = await contractor.get(f"/contracts/{contract.id}")
    assert page.status_code == 200 and "is preparing this contract" in page.text
    assert "five-page site" not in page.text
    assert (await contractor.get(f"/contracts/{contract.id}/edit")).status_code == 404


async def test_the_accept_button_creates_the_draft(client, contractor, db):
    from app.marketplace.models import ProposalStatus
    from tests.marketplace.helpers import make_job, make_proposal

    job = await make_job(db, client.user)
    proposal = await make_proposal(db, job, contractor.user)
    response = await client.post_form(f"/proposals/{proposal.id}/accept")
    contract = await db.scalar(select(Contract).where(Contract.proposal_id == proposal.id))
    assert contract is not None and contract.status == ContractStatus.draft
    assert response.status_code == 303 and response.headers["location"] == f"/contracts/{contract.id}/edit"
    await db.refresh(proposal)
    assert proposal.status == ProposalStatus.accepted


async def test_nobody_else_sees_or_touches_a_contract(client, contractor, other_contractor, anonymous, db):
    contract, version = await sent_contract(db, client.user, contractor.user)
    cid = contract.id
    for url in (f"/contracts/{cid}", f"/contracts/{cid}/edit"):
        assert (await other_contractor.get(url)).status_code == 404
    for url in (f"/contracts/{cid}/edit", f"/contracts/{cid}/autosave", f"/contracts/{cid}/send",
                f"/contracts/{cid}/changes", f"/contracts/{cid}/sign", f"/contracts/{cid}/cancel"):  # fmt: skip
        response = await other_contractor.post_form(url, {"message": "x", "typed_name": "x", "consent": "on"})
        assert response.status_code == 404, url
    assert "Booking website" not in (await other_contractor.get("/contracts")).text
    visitor = await anonymous.get(f"/contracts/{cid}")
    assert visitor.status_code in (302, 303) and visitor.headers["location"].startswith("/login?next=")
    await db.refresh(contract)
    assert contract.status == ContractStatus.sent
    assert await db.scalar(select(func.count()).select_from(ChangeRequest)) == 0


async def test_milestone_rows_are_added_reordered_and_removed_inline(client, contractor, db):
    proposal = await accepted_proposal(db, client.user, contractor.user)

    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()
    added = await client.htmx("POST", f"/contracts/{contract.id}/edit", data=editor_form(contract, op="add"))
    assert added.status_code == 200 and 'id="editor"' in added.text and "Milestone 3" in added.text
    contract = await fresh(db, Contract, contract.id)
    form = editor_form(contract, op="down-0", m2_title="Launch", m2_amount="500", m2_criteria="Live on the domain")
    moved = await client.htmx("POST", f"/contracts/{contract.id}/edit", data=form)
    assert moved.status_code == 200
    contract = await fresh(db, Contract, contract.id)
    assert [m.title for m in contract.draft_terms.milestones] == ["Build", "Design", "Launch"]
    assert "€3,500.00" in moved.text  # the live total follows
    removed = await client.htmx("POST", f"/contracts/{contract.id}/edit", data=editor_form(contract, op="remove-2"))
    assert removed.status_code == 200
    contract = await fresh(db, Contract, contract.id)
    assert [m.title for m in contract.draft_terms.milestones] == ["Build", "Design"]


async def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(client, contractor, db):
    proposal = await accepted_proposal(db, client.user, contractor.user)

    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()
    before = contract.draft_terms
    form = editor_form(contract, m1_amount="twelve", review_window_days="2")
    response = await client.post_form(f"/contracts/{contract.id}/edit", form)
    assert response.status_code == 422
    assert 'id="field-m1_amount-error"' in response.text or 'id="m1-amount-error"' in response.text
    assert "Choose between 3 and 30 days." in response.text
    contract = await fresh(db, Contract, contract.id)
    assert contract.draft_terms == before


async def test_autosave_keeps_the_draft_reviews_it_live_and_refuses_a_stale_tab(client, contractor, db):
    proposal = await accepted_proposal(db, client.user, contractor.user)

    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()
    stale = editor_form(contract)
    saved = await client.htmx(
        "POST",
        f"/contracts/{contract.id}/autosave",
        data=editor_form(contract, m0_amount="1500", review_window_days="4"),
    )
    assert saved.status_code == 200 and "All changes saved." in saved.text
    assert "€3,500.00" in saved.text and 'hx-swap-oob="true"' in saved.text
    contract = await fresh(db, Contract, contract.id)
    assert contract.draft_terms.milestones[0].amount_minor == 150000 and contract.draft_rev == 1

    async def reviewed():
        row = await fresh(db, Contract, contract.id)
        return row.review if row.review and row.review["rev"] == 1 else None

    review = await wait_for(reviewed)
    assert {f["rule"] for f in review["findings"]} >= {"review_window_short", "missing_acceptance_criteria"}
    event = await wait_for(
        lambda: db.scalar(select(OutboxEvent).where(OutboxEvent.event == f"contract-{contract.id}-review"))
    )
    assert json.loads(event.data) == {"rev": 1, "level": review["level"]}  # a signal, no HTML
    # The editor's review block (also in the autosave answer) re-fetches itself on that signal.
    url = refresh_url(saved.text, f"contract-{contract.id}-review")
    block = await client.htmx("GET", url)
    assert block.status_code == 200 and "The client has only 4 days to review" in block.text
    assert refresh_url(block.text, f"contract-{contract.id}-review") == url == f"/contracts/{contract.id}/review"

    # The same person's older tab is their own latest intent; it saves.
    own = await client.htmx("POST", f"/contracts/{contract.id}/autosave", data=stale | {"title": "Booking site"})
    assert own.status_code == 200 and (await fresh(db, Contract, contract.id)).draft_terms.title == "Booking site"


async def test_a_tab_that_missed_the_other_partys_edits_cannot_overwrite_them(client, contractor, db):
    contract, _ = await sent_contract(db, client.user, contractor.user)
    clients_tab = editor_form(contract)
    theirs = await contractor.htmx(
        "POST", f"/contracts/{contract.id}/autosave", data=editor_form(contract, m1_amount="2500")
    )
    assert theirs.status_code == 200 and "All changes saved." in theirs.text
    conflict = await client.htmx("POST", f"/contracts/{contract.id}/autosave", data=clients_tab | {"title": "Old tab"})
    assert conflict.status_code == 409 and "Someone else changed this draft" in conflict.text
    contract = await fresh(db, Contract, contract.id)
    assert contract.draft_terms.title == "Booking website"
    assert contract.draft_terms.milestones[1].amount_minor == 250000
    # The editor says whose unsent changes are in the working copy.
    editor = await client.get(f"/contracts/{contract.id}/edit")
    assert f"{contractor.user.name} has unsent changes" in editor.text


async def test_a_full_negotiation_ends_in_an_active_contract(client, contractor, db, smtp_server):
    proposal = await accepted_proposal(db, client.user, contractor.user)
    # The proposal's own notifications (received, accepted) are e-mailed first.
    received = await smtp_server.wait_for(2)
    assert {m["Subject"] for m in received} == {"New proposal for “Booking website”",
                                                "Accepted: your proposal for “Booking website”"}  # fmt: skip
    smtp_server.messages.clear()

    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()
    form = editor_form(
        contract, m0_criteria="Three page designs approved in writing", m1_criteria="Site live and bookings work"
    )
    sent = await client.post_form(f"/contracts/{contract.id}/send", form)
    assert sent.status_code == 303 and sent.headers["location"] == f"/contracts/{contract.id}"
    v1 = await db.scalar(select(ContractVersion).where(ContractVersion.contract_id == contract.id))
    assert v1.number == 1
    [invite] = await smtp_server.wait_for(1)
    assert invite["To"] == contractor.user.email and invite["Subject"] == "Contract to sign: Booking website"
    assert f"/contracts/{contract.id}" in invite.get_body(("plain",)).get_content()
    assert "/unsubscribe/" in invite["List-Unsubscribe"]
    smtp_server.messages.clear()

    # The contractor reads it, asks for a change; the client sees the request live.
    page = await contractor.get(f"/contracts/{contract.id}")
    assert "Sign version 1" in page.text and v1.terms_hash in page.text
    asked = await contractor.post_form(
        f"/contracts/{contract.id}/changes", {"message": "Please move Build to 15 March."}
    )
    assert asked.status_code == 303
    events = (await db.scalars(select(OutboxEvent).where(OutboxEvent.user_id == client.user.id))).all()
    assert any(e.event == f"contract-{contract.id}" for e in events)
    assert not any(e.event == "toast" for e in events)
    asked_row = await db.scalar(
        select(Notification).where(
            Notification.user_id == client.user.id, Notification.kind == "contract.change_requested"
        )
    )
    assert asked_row.title == f"{contractor.user.name} asked for a change to “Booking website”."
    assert asked_row.link == f"/contracts/{contract.id}"
    assert any(e.event == "notification" and "asked for a change" in e.data for e in events)
    assert "Please move Build to 15 March." in (await client.get(f"/contracts/{contract.id}")).text
    [asked_mail] = await smtp_server.wait_for(1)
    assert (
        asked_mail["To"] == client.user.email
        and "Please move Build to 15 March." in asked_mail.get_body(("plain",)).get_content()
    )
    smtp_server.messages.clear()

    # The client edits and sends version 2; the request counts as answered.
    contract = await fresh(db, Contract, contract.id)
    resent = await client.post_form(f"/contracts/{contract.id}/send", editor_form(contract, m1_due="2030-03-15"))
    assert resent.status_code == 303
    contract = await fresh(db, Contract, contract.id)
    v2 = await db.get(ContractVersion, contract.current_version_id)
    assert v2.number == 2 and v2.terms_hash != v1.terms_hash
    [changes] = await smtp_server.wait_for(1)
    assert changes["To"] == contractor.user.email and changes["Subject"] == "Contract to sign: Booking website"
    assert "sent you version 2 of “Booking website”" in changes.get_body(("plain",)).get_content()
    smtp_server.messages.clear()
    request = await db.scalar(select(ChangeRequest))
    await db.refresh(request)
    assert request.resolved_by_version_id == v2.id

    # A tab still showing version 1 cannot sign it.
    stale = await contractor.post_form(
        f"/contracts/{contract.id}/sign",
        {"version_hash": v1.terms_hash, "typed_name": contractor.user.name, "consent": "on"},
    )
    assert stale.status_code == 409 and "The terms changed since you opened this page" in stale.text
    # A wrong name or no consent: said next to the field, nothing signed.
    wrong = await contractor.post_form(
        f"/contracts/{contract.id}/sign", {"version_hash": v2.terms_hash, "typed_name": "Somebody Else"}
    )
    assert wrong.status_code == 422 and "Type your full name exactly as on your account" in wrong.text
    assert "Tick the box to confirm" in wrong.text
    contract = await fresh(db, Contract, contract.id)
    assert contract.status == ContractStatus.sent

    for party in (client, contractor):
        signed = await party.post_form(
            f"/contracts/{contract.id}/sign",
            {"version_hash": v2.terms_hash, "typed_name": party.user.name, "consent": "on"},
        )
        assert signed.status_code == 303
    contract = await fresh(db, Contract, contract.id)
    assert contract.status == ContractStatus.active
    milestones = (await db.scalars(select(Milestone).where(Milestone.contract_id == contract.id))).all()
    assert sorted(m.amount_minor for m in milestones) == [100000, 200000]
    page = await client.get(f"/contracts/{contract.id}")
    assert "Signed by both of you" in page.text and "Not funded yet" in page.text
    assert '<span class="badge badge--success" data-status="active">Active</span>' in page.text
    # Each pending milestone's card holds the client's real Fund button (tests/escrow/test_milestone_pages.py).
    assert (
        len(re.findall(r'<button type="submit" class="button button--primary button--block">Fund</button>', page.text))
        == 2
    )
    # The client signed first: the contractor heard of it; then both heard it is active.
    messages = await smtp_server.wait_for(3)
    signed_by = [m for m in messages if m["Subject"] == f"Signed by {client.user.name}: Booking website"]
    assert [m["To"] for m in signed_by] == [contractor.user.email]
    active = [m for m in messages if m["Subject"] == "Signed: Booking website"]
    assert {m["To"] for m in active} == {client.user.email, contractor.user.email}
    assert all(v2.terms_hash in m.get_body(("plain",)).get_content() for m in active)


async def test_a_client_starts_a_contract_only_for_a_contractor_they_know(client, contractor, other_contractor, db):
    await accepted_proposal(db, client.user, contractor.user)
    page = await client.get("/contracts/new")
    assert contractor.user.name in page.text and other_contractor.user.name not in page.text
    refused = await client.post_form("/contracts", {"contractor_id": str(other_contractor.user.id), "title": "Logo"})
    assert refused.status_code == 422 and "Choose someone from the list." in refused.text
    made = await client.post_form("/contracts", {"contractor_id": str(contractor.user.id), "title": "Logo"})
    assert made.status_code == 303
    contract = await db.scalar(select(Contract).where(Contract.proposal_id.is_(None)))
    assert contract.draft_terms.title == "Logo" and contract.contractor_id == contractor.user.id
    assert (await contractor.get("/contracts/new")).status_code == 404


async def test_sending_an_incomplete_draft_says_what_is_missing(client, contractor, db):
    await accepted_proposal(db, client.user, contractor.user)
    await client.post_form("/contracts", {"contractor_id": str(contractor.user.id), "title": "Logo"})
    contract = await db.scalar(select(Contract).where(Contract.proposal_id.is_(None)))
    response = await client.post_form(f"/contracts/{contract.id}/send", editor_form(contract))
    assert response.status_code == 422
    assert "Describe the scope of work." in response.text and "Add at least one milestone." in response.text
    assert await db.scalar(select(func.count()).select_from(ContractVersion)) == 0


async def test_the_dashboard_says_what_each_contract_needs(client, contractor, db):
    contract, version = await sent_contract(db, client.user, contractor.user)
    from tests.contracts.helpers import sign

    await sign(db, contract.id, client.user, version.terms_hash)
    await db.commit()
    assert "Signed by you; waiting for the other side" in (await client.get("/dashboard")).text
    assert "Waiting for your signature" in (await contractor.get("/dashboard")).text


async def test_admins_read_contracts_only_after_two_step_sign_in(app, client, contractor, admin, db):
    from app.accounts.models import Role
    from tests.conftest import web_client
    from tests.support.factories import PASSWORD, make_user

    contract, version = await sent_contract(db, client.user, contractor.user)
    page = await admin.get(f"/contracts/{contract.id}")
    assert page.status_code == 200 and version.terms_hash in page.text
    assert "Sign version" not in page.text  # admins oversee; they never sign
    assert "Booking website" in (await admin.get("/contracts")).text
    await make_user(db, role=Role.admin, email="half-signed-in@pactline.test")
    await db.commit()
    async with web_client(app) as half:
        await half.post_form("/login", {"email": "half-signed-in@pactline.test", "password": PASSWORD})
        response = await half.get(f"/contracts/{contract.id}")
        assert response.status_code in (302, 303) and version.terms_hash not in response.text


async def test_a_retainer_has_a_schedule_instead_of_milestones(client, contractor, db):
    await accepted_proposal(db, client.user, contractor.user)
    await client.post_form("/contracts", {"contractor_id": str(contractor.user.id), "title": "Monthly bookkeeping"})
    contract = await db.scalar(select(Contract).where(Contract.proposal_id.is_(None)))
    switched = await client.htmx("POST", f"/contracts/{contract.id}/edit", data=editor_form(contract, kind="retainer"))
    assert (
        switched.status_code == 200
        and "Amount per period (EUR)" in switched.text
        and "Add a milestone" not in switched.text
    )
    contract = await fresh(db, Contract, contract.id)
    form = editor_form(contract, kind="retainer", scope="Bookkeeping and VAT returns for a small bakery.",
                       retainer_amount="450", retainer_period="month", retainer_start="2030-01-01",
                       template_key="monthly-retainer", tv_hours_per_month="10")  # fmt: skip
    sent = await client.post_form(f"/contracts/{contract.id}/send", form)
    assert sent.status_code == 303, sent.text[-2000:]
    version = await db.scalar(select(ContractVersion).where(ContractVersion.contract_id == contract.id))
    assert version.terms.retainer == Retainer(45000, "month", date(2030, 1, 1))
    assert version.terms.milestones == ()
    assert any("€450.00 a month" in c and "up to 10 hours" in c for c in version.terms.clauses)
    page = await contractor.get(f"/contracts/{contract.id}")
    assert "€450.00" in page.text and "Sign version 1" in page.text


async def test_a_template_value_left_empty_is_asked_for(client, contractor, db):
    await accepted_proposal(db, client.user, contractor.user)
    await client.post_form("/contracts", {"contractor_id": str(contractor.user.id), "title": "Monthly bookkeeping"})
    contract = await db.scalar(select(Contract).where(Contract.proposal_id.is_(None)))
    form = editor_form(contract, kind="retainer", retainer_amount="450", template_key="monthly-retainer")
    response = await client.post_form(f"/contracts/{contract.id}/edit", form)
    assert response.status_code == 422 and "Fill this in; the contract text uses it." in response.text
    assert "Hours included per month" in response.text


async def test_a_contractor_who_joined_through_an_invitation_can_be_contracted(client, contractor, db, smtp_server):
    from tests.companies.test_create_company import ACME
    from tests.companies.test_invitations import invite

    await client.post_form("/company", ACME)
    link = await invite(client, smtp_server, contractor.user.email, invitee=contractor)
    assert (await contractor.post_form(f"{link}/accept")).status_code == 303
    company = await client.get("/company")
    assert f"/contracts/new?contractor={contractor.user.id}" in company.text
    page = await client.get(f"/contracts/new?contractor={contractor.user.id}")
    assert f'<option value="{contractor.user.id}" selected' in page.text
    made = await client.post_form("/contracts", {"contractor_id": str(contractor.user.id), "title": "Spring catalogue"})
    assert made.status_code == 303
    contract = await db.scalar(select(Contract))
    assert contract.origin == "invitation" and contract.company_id is not None


async def test_either_party_can_walk_away_before_both_sign_and_not_after(client, contractor, db):
    contract, version = await sent_contract(db, client.user, contractor.user)
    cancelled = await contractor.post_form(f"/contracts/{contract.id}/cancel")
    assert cancelled.status_code == 303
    contract = await fresh(db, Contract, contract.id)
    assert contract.status == ContractStatus.cancelled
    page = await client.get(f"/contracts/{contract.id}")
    assert "Cancelled" in page.text and "Sign version 1" not in page.text
    late = await client.post_form(
        f"/contracts/{contract.id}/sign",
        {"version_hash": version.terms_hash, "typed_name": client.user.name, "consent": "on"},
    )
    assert late.status_code == 409 and "no version waiting for signatures" in late.text

    from tests.contracts.helpers import active_contract

    other, _ = await active_contract(db, client.user, contractor.user)
    refused = await client.post_form(f"/contracts/{other.id}/cancel")
    assert refused.status_code == 409 and "amendment" in refused.text
    assert (await fresh(db, Contract, other.id)).status == ContractStatus.active


async def test_a_rider_adds_its_clause_with_the_value_it_needs(client, contractor, db):
    proposal = await accepted_proposal(db, client.user, contractor.user)

    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()
    form = editor_form(contract, template_key="fixed-price-project", riders="confidentiality-rider")
    asked = await client.htmx("POST", f"/contracts/{contract.id}/edit", data=form)
    assert asked.status_code == 422 and "Years confidentiality lasts" in asked.text
    saved = await client.htmx("POST", f"/contracts/{contract.id}/edit", data=form | {"tv_confidential_years": "3"})
    assert saved.status_code == 200
    contract = await fresh(db, Contract, contract.id)
    assert contract.draft_terms.riders == (TemplateRef("confidentiality-rider", {"confidential_years": "3"}),)
    assert any("lasts 3 years" in c for c in contract.draft_terms.clauses)
    assert any("The total price is €3,000.00" in c for c in contract.draft_terms.clauses)


async def test_opening_an_active_contract_whose_pdf_is_missing_renders_it(client, contractor, db):
    from app.contracts.models import ContractDocument
    from tests.contracts.helpers import active_contract

    contract, version = await active_contract(db, client.user, contractor.user)  # signed without the pages
    page = await client.get(f"/contracts/{contract.id}")
    assert "Preparing the signed PDF" in page.text

    async def stored():
        return await db.scalar(
            select(ContractDocument)
            .where(ContractDocument.version_id == version.id, ContractDocument.final.is_(True))
            .execution_options(populate_existing=True)
        )

    document = await wait_for(stored, tries=400)
    assert document.terms_hash == version.terms_hash
    assert "Download the signed PDF" in (await contractor.get(f"/contracts/{contract.id}")).text


async def test_overlong_text_is_refused_next_to_its_field(client, contractor, db):
    proposal = await accepted_proposal(db, client.user, contractor.user)

    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()
    form = editor_form(contract, scope="x" * 20_001, m0_criteria="y" * 4_001)
    response = await client.post_form(f"/contracts/{contract.id}/edit", form)
    assert response.status_code == 422
    assert (
        "Keep this under 20 000 characters." in response.text and "Keep this under 4 000 characters." in response.text
    )
    assert (await fresh(db, Contract, contract.id)).draft_terms.scope != "x" * 20_001


async def test_numbers_typed_as_digit_look_alikes_are_explained_not_a_500(client, contractor, db):
    """ "²³" passes str.isdigit() but int() refuses it: the editor treats it as no number."""
    await accepted_proposal(db, client.user, contractor.user)
    proposal = await accepted_proposal(db, client.user, contractor.user)

    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()
    response = await client.post_form(f"/contracts/{contract.id}/edit", editor_form(contract, review_window_days="²³"))
    assert response.status_code == 422 and "Choose between 3 and 30 days." in response.text
    saved = await client.post_form(f"/contracts/{contract.id}/edit", editor_form(contract, rev="²³", title="Logo v2"))
    assert saved.status_code == 303
    assert (await fresh(db, Contract, contract.id)).draft_terms.title == "Logo v2"
    for contractor_id in ("²³", "9" * 30):
        refused = await client.post_form("/contracts", {"contractor_id": contractor_id, "title": "Logo"})
        assert refused.status_code == 422, contractor_id


async def test_the_review_block_is_for_whoever_may_edit_the_draft(client, contractor, other_contractor, db):
    contract, _ = await sent_contract(db, client.user, contractor.user)
    for party in (client, contractor):  # once sent, either party may propose changes
        block = await party.htmx("GET", f"/contracts/{contract.id}/review")
        assert block.status_code == 200 and 'id="contract-review"' in block.text
    assert (await other_contractor.htmx("GET", f"/contracts/{contract.id}/review")).status_code == 404
    assert (await other_contractor.htmx("GET", f"/contracts/{contract.id + 1000}/review")).status_code == 404
