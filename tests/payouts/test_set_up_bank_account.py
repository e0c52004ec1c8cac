"""Setting up where payouts go: "Set up your bank account" leads to the sandbox bank's own page,
which lists its test IBANs; a wrong IBAN is refused next to the field; saving comes back to
/earnings with the account ready, and the sandbox tells the app by a signed webhook too."""

from urllib.parse import urlsplit

from sqlalchemy import select

from app.payments.models import SandboxEvent, SandboxPayoutAccount
from app.payouts.models import PayoutMethod
from tests.payouts.helpers import wait_for


async def test_the_contractor_sets_up_a_sandbox_bank_account_and_it_is_ready(app, db, contractor):
    me_id = contractor.user.id
    page = await contractor.get("/earnings")
    assert "Set up your bank account" in page.text and "Nothing earned yet" in page.text
    go = await contractor.post_form("/earnings/method")
    assert go.status_code == 303
    bank_url = go.headers["location"]
    assert urlsplit(bank_url).path.startswith("/sandbox/bank/sbacct_")
    bank = await contractor.get(bank_url)
    assert bank.status_code == 200
    assert "DE89 3704 0044 0532 0130 00" in bank.text and "DE62 3704 0044 0532 0130 01" in bank.text
    assert '<label class="field__label" for="field-iban">IBAN</label>' in bank.text
    assert '<label class="field__label" for="field-holder_name">Account holder</label>' in bank.text
    action = urlsplit(bank_url).path

    wrong = await contractor.post_form(action, {"holder_name": "Noor Designer", "iban": "DE00 1234 5678 9012 3456 78",
                                                "return_to": "/earnings/method/return"})  # fmt: skip
    assert wrong.status_code == 422
    assert 'id="field-iban-error"' in wrong.text and "use one of the test IBANs listed above" in wrong.text
    account = await db.scalar(select(SandboxPayoutAccount).where(SandboxPayoutAccount.user_id == me_id))
    assert account.iban_last4 == ""

    saved = await contractor.post_form(action, {"holder_name": "Noor Designer", "iban": "de89370400440532013000",
                                                "return_to": "/earnings/method/return"})  # fmt: skip
    assert saved.status_code == 303 and saved.headers["location"] == "/earnings/method/return"
    back = await contractor.get(saved.headers["location"])
    assert back.status_code == 303 and back.headers["location"] == "/earnings"
    page = await contractor.get("/earnings")
    assert "Bank account •••• 3000 is ready for payouts." in page.text
    assert "Ready for payouts" in page.text and "Change bank account" in page.text
    method = await db.scalar(select(PayoutMethod).where(PayoutMethod.user_id == me_id))
    assert method.ready and method.label == "Bank account •••• 3000" and method.provider == "sandbox"
    event = await db.scalar(select(SandboxEvent).where(SandboxEvent.type == "payout_account.updated"))
    assert event.object_id == method.provider_account_id

    async def delivered():
        await db.refresh(event)
        return event.delivered_at

    await wait_for(delivered, what="the payout_account.updated webhook")


async def test_the_return_address_must_be_a_path_of_this_site(app, db, contractor):
    go = await contractor.post_form("/earnings/method")
    action = urlsplit(go.headers["location"]).path
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        saved = await contractor.post_form(action, {"holder_name": "Noor", "iban": "DE89 3704 0044 0532 0130 00",
                                                    "return_to": evil})  # fmt: skip
        assert saved.status_code == 303 and saved.headers["location"] == "/dashboard", evil
