"""Which money moves issue which documents, with what on them: a receipt per paid funding (also
when the provider's webhook arrives twice), the contractor's invoice and Pactline's fee invoice
per release and per settled release, and nothing for money that only goes back to the client."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.accounts.models import Role
from app.companies import services as companies
from app.companies.forms import read_company
from app.db import utcnow
from app.escrow import funding, lifecycle
from app.escrow.models import Account, AccountKind
from app.invoices.models import DocumentKind, Invoice
from app.money import Money
from app.payments.models import SandboxEvent
from app.payments.providers import get_provider
from app.payments.tasks import webhook_request
from tests.invoices.helpers import by_kind, documents, funded, paid, released
from tests.payments.conftest import delivered
from tests.payments.test_end_to_end import funding_checkout
from tests.support.factories import make_user

YEAR = utcnow().year


async def test_a_funding_paid_on_the_sandbox_checkout_gives_the_client_one_receipt(
    app, db, client, contractor, anonymous
):
    client_id, client_name, client_email = client.user.id, client.user.name, client.user.email
    contract_id, milestone_id, funding_id, url = await funding_checkout(app, db, client, contractor)
    assert await documents(db) == []  # nothing is issued for a checkout that is not paid

    page = await client.post_form(f"{url}/pay", {"card_number": "4242 4242 4242 4242"})
    assert page.status_code == 303
    f = await db.get_one(funding.Funding, funding_id)
    event = await delivered(db, f.provider_payment_id)  # by the worker, through /webhooks/sandbox

    (receipt,) = await documents(db)
    assert receipt.kind == DocumentKind.receipt and receipt.title == "Receipt"
    assert receipt.issuer_key == "pactline" and receipt.issuer_user_id is None
    assert receipt.recipient_user_id == client_id
    assert (receipt.contract_id, receipt.funding_id) == (contract_id, funding_id)
    assert (receipt.total_minor, receipt.currency) == (100_000, "EUR")
    assert [(line["description"], line["amount_minor"]) for line in receipt.lines] == [
        ("Milestone “Design”: paid into escrow", 100_000)
    ]
    assert (receipt.year, receipt.sequence, receipt.number) == (YEAR, 1, f"PL-{YEAR}-000001")
    assert receipt.recipient["name"] == client_name and receipt.recipient["email"] == client_email
    assert receipt.recipient["contract"]["public_id"]
    assert receipt.issuer["name"] == "Pactline"

    # The provider delivers the same event again, and the payment is applied once more directly.
    body, headers = webhook_request(app.state.settings, await db.get_one(SandboxEvent, event.id))
    again = await anonymous.post("/webhooks/sandbox", content=body, headers=headers)
    assert again.status_code == 200
    async with app.state.sessionmaker() as other:
        payment = await get_provider(app.state.settings, app.state.sessionmaker).retrieve(event.object_id)
        await funding.apply_payment(other, payment)
        await other.commit()
    assert [d.id for d in await documents(db)] == [receipt.id]
    assert await db.scalar(select(func.max(Invoice.sequence))) == 1  # no number was taken for nothing


async def test_one_payment_for_two_milestones_is_one_receipt_with_a_line_each(db, client, contractor):
    contract, (design, build), f = await funded(db, client.user, contractor.user, which=(0, 1))

    (receipt,) = await documents(db, kind=DocumentKind.receipt)
    assert receipt.total_minor == f.amount_minor == 300_000
    assert [(line["milestone_id"], line["amount_minor"]) for line in receipt.lines] == [
        (design.id, 100_000),
        (build.id, 200_000),
    ]


async def test_a_declined_or_refunded_payment_issues_no_receipt(app, db, client, contractor):
    contract, (design, _), f = await funded(db, client.user, contractor.user)
    # A second checkout for the same milestone, paid after the milestone was already funded: the
    # payment could fund nothing and is refunded in full.
    await db.commit()
    late = funding.Funding(public_id="fund_late", contract_id=contract.id, client_id=client.user.id,
                           amount_minor=100_000, currency="EUR", status="open", provider="sandbox")  # fmt: skip
    db.add(late)
    await db.flush()
    db.add(funding.FundingMilestone(funding_id=late.id, milestone_id=design.id, amount_minor=100_000))
    await db.commit()
    await funding.apply_payment(db, paid(late))
    await db.commit()
    assert [d.funding_id for d in await documents(db)] == [f.id]


async def test_a_release_issues_the_contractors_invoice_and_pactlines_fee_invoice(db, client, contractor):
    contract, design = await released(db, client.user, contractor.user)

    docs = by_kind(await documents(db, milestone_id=design.id))
    assert set(docs) == {DocumentKind.contractor_invoice, DocumentKind.fee_invoice}
    invoice, fee = docs[DocumentKind.contractor_invoice], docs[DocumentKind.fee_invoice]
    assert invoice.title == "Invoice"
    assert invoice.issuer_key == f"user:{contractor.user.id}" and invoice.issuer_user_id == contractor.user.id
    assert invoice.recipient_user_id == client.user.id
    assert invoice.issuer["on_behalf"] is True and invoice.issuer["name"] == contractor.user.name
    assert invoice.number == f"C{contractor.user.id}-{YEAR}-0001"
    assert fee.kind == DocumentKind.fee_invoice and fee.title == "Fee invoice"
    assert fee.issuer_key == "pactline" and fee.recipient_user_id == contractor.user.id
    assert fee.number == f"PL-{YEAR}-000002"  # Pactline's receipt for the funding was number 1
    assert invoice.entry_id == fee.entry_id

    share = await db.scalar(
        select(Account.balance_minor).where(
            Account.kind == AccountKind.contractor_payable, Account.owner_user_id == contractor.user.id
        )
    )
    assert (invoice.total_minor, fee.total_minor, share) == (100_000, 10_000, 90_000)
    assert invoice.total_minor == share + fee.total_minor  # the release = the contractor's share + the fee
    assert fee.lines[0]["description"] == "Pactline fee, 10% of €1,000.00 released for “Design”"


async def test_a_settled_dispute_invoices_the_released_part_only(app, db, client, contractor):
    contract, (design, _), _ = await funded(db, client.user, contractor.user)
    await lifecycle.freeze(db, design.id, actor_id=None)
    await db.commit()
    await lifecycle.settle(db, design.id, Money(40_000, "EUR"), Money(60_000, "EUR"), actor_id=None)
    await db.commit()

    docs = by_kind(await documents(db, milestone_id=design.id))
    invoice, fee = docs[DocumentKind.contractor_invoice], docs[DocumentKind.fee_invoice]
    assert (invoice.total_minor, fee.total_minor) == (60_000, 6_000)
    assert "the part released to the contractor" in invoice.lines[0]["description"]


async def test_money_that_only_goes_back_to_the_client_issues_no_invoice(db, client, contractor):
    contract, (design, _), _ = await funded(db, client.user, contractor.user)
    await lifecycle.freeze(db, design.id, actor_id=None)
    await db.commit()
    await lifecycle.settle(db, design.id, Money(100_000, "EUR"), Money(0, "EUR"), actor_id=None)
    await db.commit()
    assert [d.kind for d in await documents(db)] == [DocumentKind.receipt]


async def test_company_details_and_vat_ids_are_copied_as_they_were_at_issue(db, client, contractor):
    await companies.create_company(
        db, client.user, read_company({"name": "Clinic Physio GmbH", "country": "DE", "registration_number": "HRB 98765",
                                       "vat_id": "DE123456789", "address": "Hauptstraße 5\n10115 Berlin"})
    )  # fmt: skip
    await db.commit()
    contract, design = await released(db, client.user, contractor.user)

    docs = by_kind(await documents(db))
    receipt, invoice, fee = (docs[k] for k in ("receipt", "contractor_invoice", "fee_invoice"))
    company = receipt.recipient["company"]
    assert company["name"] == "Clinic Physio GmbH" and company["registration_number"] == "HRB 98765"
    assert company["country"] == "DE" and "Berlin" in company["address"]
    assert receipt.recipient["vat_id"] == invoice.recipient["vat_id"] == company["vat_id"]
    assert re.sub(r"\W", "", company["vat_id"]) == "DE123456789"
    assert fee.recipient["company"] is None and fee.recipient["name"] == contractor.user.name

    membership = await companies.membership_of(db, client.user)
    membership.company.name = "Renamed GmbH"
    await db.commit()
    (again,) = await documents(db, id=receipt.id)
    assert again.recipient["company"]["name"] == "Clinic Physio GmbH"


async def test_each_issuer_counts_on_its_own(db, client, contractor):
    """Pactline numbers receipts and fee invoices in one sequence; each contractor has their own."""
    other = await make_user(db, role=Role.contractor)
    await released(db, client.user, contractor.user)
    await released(db, client.user, other)

    numbers = {(d.issuer_key, d.kind): [] for d in await documents(db)}
    for d in await documents(db):
        numbers[(d.issuer_key, d.kind)].append(d.sequence)
    pactline = sorted(numbers[("pactline", "receipt")] + numbers[("pactline", "fee_invoice")])
    assert pactline == [1, 2, 3, 4]
    assert numbers[(f"user:{contractor.user.id}", "contractor_invoice")] == [1]
    assert numbers[(f"user:{other.id}", "contractor_invoice")] == [1]
