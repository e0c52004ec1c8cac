"""Contracts and their amendments notify the other party through notify(): sent, change asked,
signed, active (both), cancelled; a change proposed, signed, declined, withdrawn, applied. The
one who acted gets nothing, and a refused step keeps nothing."""

from sqlalchemy import select

from app.contracts.amendments import services as amendments
from app.contracts.amendments.forms import ProposedAdd
from app.contracts.drafting import services as drafting
from app.contracts.models import Contract, ContractStatus, ContractVersion
from app.errors import DomainError
from tests.contracts.helpers import CTX, FEE, accepted_proposal, active_contract, sent_contract, sign
from tests.support.notifications import notifications_of, only_notice
from tests.support.polling import wait_for
from tests.support.signals import signals

ADD = ProposedAdd("Launch support", "Two weeks of fixes after launch.", "500.00", "2030-04-01")
TITLE = "Booking website"


async def contract_notices(db, user_id):
    """The person's notifications about contracts (the proposal that led to it is left out)."""
    return [n for n in await notifications_of(db, user_id) if not n.kind.startswith("proposal.")]


async def test_sending_notifies_the_other_party_with_a_link_to_the_contract(client, contractor, db, smtp_server):
    proposal = await accepted_proposal(db, client.user, contractor.user)
    await smtp_server.wait_for(2)  # the proposal's own notifications
    smtp_server.messages.clear()
    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()
    from app.contracts.signing import services as signing

    await signing.send(db, contract.id, client.user, fee=FEE)
    await db.commit()
    row = await only_notice(db, contractor.user.id, "contract.sent")
    assert row.title == f"{client.user.name} sent you “{TITLE}” to read and sign."
    assert row.link == f"/contracts/{contract.id}"
    assert await contract_notices(db, client.user.id) == []
    [mail] = await smtp_server.wait_for(1)
    assert mail["To"] == contractor.user.email and mail["Subject"] == f"Contract to sign: {TITLE}"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_body(("plain",)).get_content()
    assert f"/contracts/{contract.id}" in text and "Nothing is binding until both of you sign" in text
    assert (await contractor.get(row.link)).status_code == 200


async def test_a_change_asked_for_and_a_cancellation_notify_the_other_party(client, contractor, db):
    contract, _ = await sent_contract(db, client.user, contractor.user)
    asked = await contractor.post_form(f"/contracts/{contract.id}/changes", {"message": "Move Build to March."})
    assert asked.status_code == 303
    row = await only_notice(db, client.user.id, "contract.change_requested")
    assert row.title == f"{contractor.user.name} asked for a change to “{TITLE}”."
    assert row.data["message"] == "Move Build to March." and row.link == f"/contracts/{contract.id}"
    assert (await client.get(row.link)).status_code == 200
    cancelled = await contractor.post_form(f"/contracts/{contract.id}/cancel")
    assert cancelled.status_code == 303
    row = await only_notice(db, client.user.id, "contract.cancelled")
    assert row.title == f"{contractor.user.name} cancelled “{TITLE}”."
    assert [n.kind for n in await contract_notices(db, contractor.user.id)] == ["contract.sent"]
    # Asking for a change of a cancelled contract is refused: nothing more is kept.
    again = await contractor.post_form(f"/contracts/{contract.id}/changes", {"message": "Once more."})
    assert again.status_code == 409
    assert len(await notifications_of(db, client.user.id, "contract.change_requested")) == 1


async def test_one_signature_notifies_the_other_and_both_hear_it_is_active(client, contractor, db, smtp_server):
    contract, version = await sent_contract(db, client.user, contractor.user)
    await sign(db, contract.id, client.user, version.terms_hash)
    await db.commit()
    row = await only_notice(db, contractor.user.id, "contract.signed")
    assert row.title == f"{client.user.name} signed “{TITLE}”." and row.link == f"/contracts/{contract.id}"
    assert await notifications_of(db, client.user.id, "contract.signed") == []
    # Signing twice (a double click) signs once and says nothing more.
    await sign(db, contract.id, client.user, version.terms_hash)
    await db.commit()
    assert len(await notifications_of(db, contractor.user.id, "contract.signed")) == 1
    await sign(db, contract.id, contractor.user, version.terms_hash)
    await db.commit()
    for party in (client, contractor):
        active = await only_notice(db, party.user.id, "contract.active")
        assert active.title == f"“{TITLE}” is signed by both of you and now active."
        assert active.data["terms_hash"] == version.terms_hash

    async def both_mailed():
        mails = [m for m in smtp_server.messages if m["Subject"] == f"Signed: {TITLE}"]
        return mails if len(mails) == 2 else None

    mails = await wait_for(both_mailed, what="both e-mails")
    assert {m["To"] for m in mails} == {client.user.email, contractor.user.email}
    assert all(version.terms_hash in m.get_body(("plain",)).get_content() for m in mails)


async def test_a_refused_signature_keeps_no_notification(client, contractor, db):
    contract, version = await sent_contract(db, client.user, contractor.user)
    contract_id, contractor_id = contract.id, contractor.user.id
    before = await signals(db, contractor_id, "notification")
    try:
        await sign(db, contract_id, client.user, "0" * 64)  # a version nobody saw
    except DomainError:
        await db.rollback()
    else:
        raise AssertionError("a stale hash must be refused")
    assert await notifications_of(db, contractor_id, "contract.signed") == []
    assert await signals(db, contractor_id, "notification") == before
    assert (await db.get(Contract, contract_id, populate_existing=True)).status == ContractStatus.sent


async def test_amendments_notify_the_other_party_at_each_step(client, contractor, db):
    contract, _ = await active_contract(db, client.user, contractor.user)
    amendment = await amendments.propose(db, contract.id, client.user, [ADD], "Scope grew.")
    await db.commit()
    proposed = await only_notice(db, contractor.user.id, "amendment.proposed")
    assert proposed.title == f"{client.user.name} proposed a change to “{TITLE}”."
    assert proposed.data["reason"] == "Scope grew." and proposed.link == f"/contracts/{contract.id}"
    assert await notifications_of(db, client.user.id, "amendment.proposed") == []

    version_hash = (await db.get(ContractVersion, amendment.version_id)).terms_hash
    await amendments.sign_amendment(db, amendment.id, contractor.user, version_hash=version_hash,
                                    typed_name=contractor.user.name, consent=True, context=CTX)  # fmt: skip
    await db.commit()
    signed = await only_notice(db, client.user.id, "amendment.decided")
    assert signed.title == f"{contractor.user.name} signed the change to “{TITLE}”."
    await amendments.sign_amendment(db, amendment.id, client.user, version_hash=version_hash,
                                    typed_name=client.user.name, consent=True, context=CTX)  # fmt: skip
    await db.commit()
    applied = await only_notice(db, contractor.user.id, "amendment.applied")
    assert applied.title == f"Both of you signed the change to “{TITLE}”: it is now part of the contract."
    assert await notifications_of(db, client.user.id, "amendment.applied") == []

    # A second change: the contractor declines it; a third: the client withdraws it.
    second = await amendments.propose(db, contract.id, client.user, [ADD], "And one more.")
    await db.commit()
    await amendments.decline(db, second.id, contractor.user)
    await db.commit()
    rows = await notifications_of(db, client.user.id, "amendment.decided")
    assert rows[-1].title == f"{contractor.user.name} declined the change to “{TITLE}”."
    third = await amendments.propose(db, contract.id, client.user, [ADD], "Last one.")
    await db.commit()
    await amendments.withdraw(db, third.id, client.user)
    await db.commit()
    rows = await notifications_of(db, contractor.user.id, "amendment.decided")
    assert [r.title for r in rows] == [f"{client.user.name} withdrew the change to “{TITLE}”."]

    # Declining a withdrawn change is refused and keeps nothing.
    third_id, contract_id, client_id = third.id, contract.id, client.user.id
    try:
        await amendments.decline(db, third_id, contractor.user)
    except DomainError:
        await db.rollback()
    else:
        raise AssertionError("a withdrawn change can't be declined")
    assert len(await notifications_of(db, client_id, "amendment.decided")) == 2
    assert await db.scalar(select(Contract.status).where(Contract.id == contract_id)) == ContractStatus.active
