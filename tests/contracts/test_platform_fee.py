"""The platform fee is part of what is signed (decision 0030): PLATFORM_FEE_PERCENT is written into
a version's terms when it is sent, so it is hashed; the contract page, the editor, the compare page
and the PDF say it in plain words before anyone signs; amendments keep the fee of the version they
amend; versions sent before the fee existed carry none and say nothing of one. The fee math is
integer only, rounded half up to the minor unit per release."""

import dataclasses
import io
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from app.config import ConfigurationError, load_settings
from app.contracts.amendments import services as amendments
from app.contracts.amendments.forms import ProposedAdd
from app.contracts.drafting import services as drafting
from app.contracts.models import ContractStatus, ContractVersion
from app.contracts.signing import services as signing
from app.contracts.terms import PlatformFee, Terms
from app.contracts.versions import terms_hash
from app.money import Money
from tests.contracts.helpers import CTX, FEE, accepted_proposal, sent_contract, sign
from tests.contracts.test_contract_pages import editor_form

GOLDEN = json.loads((Path(__file__).parent / "golden" / "versions.json").read_text(encoding="utf-8"))
WORDS_10 = "Pactline fee: 10% of each payment released, taken from the contractor’s side."
PAYS_EXACTLY = "The client pays exactly the milestone amounts."


def flat(text: str) -> str:
    return " ".join(text.split())


def pdf_text(data: bytes) -> str:
    return flat("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


@pytest.fixture
def fee_setting(app):
    """Sets PLATFORM_FEE_PERCENT on the running app, the way other tests override settings."""
    original = app.state.settings

    def set_percent(percent: str) -> None:
        app.state.settings = dataclasses.replace(original, platform_fee_bp=load_settings(
            {"PLATFORM_FEE_PERCENT": percent}).platform_fee_bp)  # fmt: skip

    yield set_percent
    app.state.settings = original


# ---------------------------------------------------------------- the setting


@pytest.mark.parametrize(
    ("given_value", "basis_points"),
    [(None, 1000), ("", 1000), ("10", 1000), ("7.5", 750), ("2.25", 225), (" 12 ", 1200), ("0", 0), ("50", 5000),
     ("50.00", 5000), ("8%", 800)],
)  # fmt: skip
def test_platform_fee_percent_is_read_in_basis_points(given_value, basis_points):
    env = {} if given_value is None else {"PLATFORM_FEE_PERCENT": given_value}
    assert load_settings(env).platform_fee_bp == basis_points


@pytest.mark.parametrize("bad", ["50.01", "51", "-1", "ten", "7.555", "0.001", "NaN", "Infinity", "1e9", "7,5"])
def test_a_platform_fee_outside_0_to_50_or_finer_than_a_basis_point_stops_the_start(bad):
    with pytest.raises(ConfigurationError, match=r"PLATFORM_FEE_PERCENT must be a percentage from 0 to 50"):
        load_settings({"PLATFORM_FEE_PERCENT": bad})


# ---------------------------------------------------------------- the math


@pytest.mark.parametrize(
    ("rate_bp", "amount", "fee"),
    [
        (1000, 0, 0), (1000, 1, 0), (1000, 5, 1), (1000, 15, 2), (1000, 995, 100), (1000, 1_000_001, 100_000),
        (1000, 100_000, 10_000), (750, 1, 0), (750, 5, 0), (750, 15, 1), (750, 995, 75), (750, 1_000_001, 75_000),
        (750, 20, 2), (225, 200, 5), (5000, 1, 1), (5000, 3, 2), (0, 1, 0), (0, 995, 0), (0, 1_000_001, 0),
    ],
)  # fmt: skip
def test_the_fee_is_rounded_half_up_to_the_minor_unit(rate_bp, amount, fee):
    platform = PlatformFee(rate_bp)
    assert platform.fee_on(Money(amount, "USD")) == Money(fee, "USD")
    assert platform.contractor_share(Money(amount, "USD")) == Money(amount - fee, "USD")


def test_escrow_reads_the_signed_fee_or_none_from_the_terms():
    old = Terms.from_json(GOLDEN[0]["terms"])
    assert old.release_fee == PlatformFee(0) and old.release_fee.fee_on(Money(995)) == Money(0)
    assert old.with_(platform_fee=FEE).release_fee.contractor_share(Money(995)) == Money(895)


def test_there_is_no_fee_on_a_negative_amount():
    with pytest.raises(ValueError, match="negative"):
        FEE.fee_on(Money(-5))


@given(amount=st.integers(min_value=0, max_value=10**15), rate_bp=st.integers(min_value=0, max_value=5000))
def test_fee_and_contractor_share_always_add_up_to_the_amount(amount, rate_bp):
    platform = PlatformFee(rate_bp)
    fee, share = platform.fee_on(Money(amount, "GBP")), platform.contractor_share(Money(amount, "GBP"))
    assert fee + share == Money(amount, "GBP")
    assert 0 <= fee.amount_minor <= amount and share.amount_minor >= 0
    exact = (Decimal(amount) * rate_bp / 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert fee.amount_minor == int(exact)


@pytest.mark.parametrize(("rate_bp", "text"), [(1000, "10%"), (750, "7.5%"), (225, "2.25%"), (5, "0.05%"),
                                               (1005, "10.05%"), (0, "0%")])  # fmt: skip
def test_the_percentage_reads_as_people_write_it(rate_bp, text):
    assert PlatformFee(rate_bp).percent_text == text


def test_the_fee_in_plain_words():
    assert FEE.words() == f"{WORDS_10} {PAYS_EXACTLY}"
    assert PlatformFee(750).words("retainer") == (
        "Pactline fee: 7.5% of each payment released, taken from the contractor’s side. "
        "The client pays exactly the retainer payments."
    )
    assert PlatformFee(0).words() == "No Pactline fee: the contractor receives the full milestone amounts."


# ---------------------------------------------------------------- the hash


# Pinned: the first golden version's terms with a 10 % fee. If this changes, signatures on versions
# with a fee no longer verify.
FEE_HASH = "ef8e051bb8f259aa5645d8bc403bbd042e3b26b13c7a466d4adc06818b78d3fa"


def test_terms_with_a_fee_hash_deterministically_and_terms_without_one_keep_their_old_hash():
    stored = GOLDEN[0]["terms"]
    assert "platform_fee" not in stored
    without = Terms.from_json(stored)
    assert without.platform_fee is None and terms_hash(without) == GOLDEN[0]["terms_hash"]
    assert terms_hash(without.with_(platform_fee=None)) == GOLDEN[0]["terms_hash"]

    with_fee = without.with_(platform_fee=FEE)
    assert with_fee.to_json()["platform_fee"] == {"rate_bp": 1000, "paid_by": "contractor"}
    assert Terms.from_json(with_fee.to_json()) == with_fee
    assert terms_hash(with_fee) == terms_hash(with_fee.to_json()) == FEE_HASH
    # The fee is in the hash: another rate is another hash.
    assert terms_hash(without.with_(platform_fee=PlatformFee(750))) not in (FEE_HASH, GOLDEN[0]["terms_hash"])


# ---------------------------------------------------------------- sending, pages and the PDF


async def test_send_writes_the_current_fee_into_the_version_and_its_hash(db, client, contractor):
    contract, version = await sent_contract(db, client.user, contractor.user)
    assert version.terms.platform_fee == FEE
    assert version.terms_hash == terms_hash(contract.draft_terms.with_(platform_fee=FEE))
    assert "platform_fee" not in contract.draft_terms.to_json()  # the working copy carries no fee
    # Sending again with nothing changed is the same version, even if the setting moved since.
    again = await signing.send(db, contract.id, client.user, fee=PlatformFee(500))
    assert again.id == version.id and again.terms.platform_fee == FEE


async def test_the_setting_decides_the_fee_the_editor_shows_and_send_writes(app, db, client, contractor, fee_setting):
    fee_setting("7.5")
    proposal = await accepted_proposal(db, client.user, contractor.user)
    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()

    # The draft shows the fee that sending will write, and what the contractor receives.
    editor = flat((await client.get(f"/contracts/{contract.id}/edit")).text)
    assert "Pactline fee: 7.5% of each payment released, taken from the contractor’s side." in editor
    assert 'The contractor receives <strong class="amount">€2,775.00</strong> in total' in editor
    autosave = await client.post_form(f"/contracts/{contract.id}/autosave", editor_form(contract, m0_amount="1001"))
    assert (
        "Pactline fee: 7.5%" in autosave.text and "€2,775.92" in autosave.text
    )  # 1 001.00 - 75.08 (75.075 rounds up) + 1 850.00

    sent = await client.post_form(f"/contracts/{contract.id}/send", editor_form(contract))
    assert sent.status_code == 303
    await db.refresh(contract)
    version = await db.get(ContractVersion, contract.current_version_id, populate_existing=True)
    assert version.terms.platform_fee == PlatformFee(750)
    assert version.terms.to_json()["platform_fee"] == {"rate_bp": 750, "paid_by": "contractor"}
    assert version.terms_hash == terms_hash(version.terms)

    # Before signing, the contractor reads the fee and what they receive per milestone and in total.
    page = flat((await contractor.get(f"/contracts/{contract.id}")).text)
    assert "Pactline fee: 7.5% of each payment released, taken from the contractor’s side. " + PAYS_EXACTLY in page
    assert "Contractor receives" in page
    for amount in ("€1,000.00", "€2,000.00", "€925.00", "€1,850.00", "€2,775.00"):
        assert amount in page
    # The PDF prints the same line and the same amounts.
    pdf = pdf_text((await contractor.get(f"/contracts/{contract.id}/pdf")).content)
    assert "Pactline fee: 7.5% of each payment released, taken from the contractor’s side." in pdf
    assert PAYS_EXACTLY in pdf and "CONTRACTOR RECEIVES" in pdf  # table headings are set in capitals
    assert "€925.00" in pdf and "€1,850.00" in pdf and "€2,775.00" in pdf


async def test_a_zero_fee_is_signed_and_said_as_no_fee(db, client, contractor, fee_setting):
    fee_setting("0")
    proposal = await accepted_proposal(db, client.user, contractor.user)
    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()
    assert (await client.post_form(f"/contracts/{contract.id}/send", editor_form(contract))).status_code == 303
    await db.refresh(contract)
    version = await db.get(ContractVersion, contract.current_version_id, populate_existing=True)
    assert version.terms.to_json()["platform_fee"] == {"rate_bp": 0, "paid_by": "contractor"}
    page = flat((await contractor.get(f"/contracts/{contract.id}")).text)
    assert "No Pactline fee: the contractor receives the full milestone amounts." in page


async def old_version_without_fee(db, client, contractor):
    """A contract whose version 1 was sent before the fee existed: stored as send stored it then,
    the working copy's terms as they were, with no fee (versions are immutable, so it is made so)."""
    proposal = await accepted_proposal(db, client.user, contractor.user)
    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    terms = contract.draft_terms
    version = ContractVersion(contract_id=contract.id, number=1, terms=terms, terms_hash=terms_hash(terms),
                              created_by=client.user.id)  # fmt: skip
    db.add(version)
    await db.flush()
    contract.current_version_id, contract.status = version.id, ContractStatus.sent
    await db.commit()
    return contract, version


async def test_a_version_without_a_fee_says_nothing_of_a_fee(db, client, contractor):
    contract, version = await old_version_without_fee(db, client, contractor)
    assert "platform_fee" not in version.terms.to_json()
    await sign(db, contract.id, client.user, version.terms_hash)
    await sign(db, contract.id, contractor.user, version.terms_hash)
    await db.commit()
    for page in (
        await contractor.get(f"/contracts/{contract.id}"),
        await client.get(f"/contracts/{contract.id}/versions/1"),
    ):
        assert page.status_code == 200
        assert "Pactline fee" not in page.text and "Contractor receives" not in page.text
    pdf = pdf_text((await contractor.get(f"/contracts/{contract.id}/pdf")).content)
    assert "Pactline fee" not in pdf and "contractor receives" not in pdf.lower()


async def test_the_compare_page_shows_a_change_of_fee(db, client, contractor):
    contract, v1 = await sent_contract(db, client.user, contractor.user)
    await drafting.update_draft(db, contract.id, client.user, contract.draft_terms.with_(title="Booking website 2"))
    v2 = await signing.send(db, contract.id, client.user, fee=PlatformFee(750))
    await db.commit()
    assert v2.number == 2 and v2.terms.platform_fee == PlatformFee(750)
    page = flat((await contractor.get(f"/contracts/{contract.id}/compare?from=1&to=2")).text)
    assert "Pactline fee" in page
    assert "10% of each payment released, from the contractor’s side" in page
    assert "7.5% of each payment released, from the contractor’s side" in page


async def test_the_compare_page_shows_a_fee_added_to_a_version_sent_before_fees(db, client, contractor):
    contract, v1 = await old_version_without_fee(db, client, contractor)
    await drafting.update_draft(db, contract.id, client.user, contract.draft_terms.with_(title="Booking website 2"))
    await signing.send(db, contract.id, client.user, fee=FEE)
    await db.commit()
    page = flat((await contractor.get(f"/contracts/{contract.id}/compare?from=1&to=2")).text)
    assert "Pactline fee" in page and "10% of each payment released, from the contractor’s side" in page


# ---------------------------------------------------------------- amendments


async def propose_and_sign_add(db, contract, client, contractor):
    change = ProposedAdd("Launch support", "Two weeks of fixes after launch.", "500.00", "2030-04-01")
    amendment = await amendments.propose(db, contract.id, client.user, [change], "Scope grew.")
    await db.commit()
    version = await db.get(ContractVersion, amendment.version_id)
    for person in (client.user, contractor.user):
        await amendments.sign_amendment(db, amendment.id, person, version_hash=version.terms_hash,
                                        typed_name=person.name, consent=True, context=CTX)  # fmt: skip
        await db.commit()
    return version


async def test_an_amendment_keeps_the_fee_of_the_version_it_amends(db, client, contractor, fee_setting):
    contract, version = await sent_contract(db, client.user, contractor.user)  # signed at 10 %
    await sign(db, contract.id, client.user, version.terms_hash)
    await sign(db, contract.id, contractor.user, version.terms_hash)
    await db.commit()
    fee_setting("20")  # the setting changes later: signed contracts and their amendments keep 10 %
    amended = await propose_and_sign_add(db, contract, client, contractor)
    assert amended.number == 2 and amended.terms.platform_fee == FEE
    page = flat((await contractor.get(f"/contracts/{contract.id}")).text)
    assert WORDS_10 in page and "20%" not in page and "€450.00" in page  # 500.00 less 10 %


async def test_an_amendment_of_a_version_without_a_fee_adds_none(db, client, contractor):
    contract, version = await old_version_without_fee(db, client, contractor)
    await sign(db, contract.id, client.user, version.terms_hash)
    await sign(db, contract.id, contractor.user, version.terms_hash)
    await db.commit()
    amended = await propose_and_sign_add(db, contract, client, contractor)
    assert amended.terms.platform_fee is None and "platform_fee" not in amended.terms.to_json()


async def test_a_retainer_draft_and_its_version_page_say_the_fee(db, client, contractor):
    proposal = await accepted_proposal(db, client.user, contractor.user)
    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()
    form = editor_form(contract, kind="retainer", retainer_amount="1000", retainer_period="month")
    assert (await client.post_form(f"/contracts/{contract.id}/edit", form)).status_code == 303
    retainer_words = "Pactline fee: 10% of each payment released, taken from the contractor’s side. " + (
        "The client pays exactly the retainer payments."
    )
    assert retainer_words in flat((await client.get(f"/contracts/{contract.id}/edit")).text)
    await db.refresh(contract)
    await signing.send(db, contract.id, client.user, fee=FEE)
    await db.commit()
    assert retainer_words in flat((await contractor.get(f"/contracts/{contract.id}/versions/1")).text)
