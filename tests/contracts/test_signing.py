"""Drafting from an accepted proposal, versions on every send, signing one version, activation once."""

import asyncio

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.chain import verify
from app.audit.models import AuditEvent
from app.contracts import services
from app.contracts.drafting import services as drafting
from app.contracts.models import ContractVersion, Signature
from app.contracts.signing import services as signing
from app.errors import DomainError
from tests.contracts.helpers import CTX, FEE, accepted_proposal, sent_contract, sign  # noqa: F401
from tests.support.factories import make_user


@pytest.fixture
async def parties(db):
    client = await make_user(db, role=Role.client, name="Clara Client")
    contractor = await make_user(db, role=Role.contractor, name="Conor Contractor")
    return client, contractor


async def test_a_draft_carries_the_proposal_and_both_signing_one_version_activates_it(db, parties):
    client, contractor = parties
    proposal = await accepted_proposal(db, client, contractor)
    contract = await drafting.draft_from_proposal(db, proposal.id, client)
    assert [m.amount_minor for m in contract.draft_terms.milestones] == [100000, 200000]
    version = await signing.send(db, contract.id, client, fee=FEE)
    await db.commit()
    assert version.number == 1 and len(version.terms_hash) == 64

    await sign(db, contract.id, client, version.terms_hash, name=" clara  client ")
    await db.commit()
    assert contract.status == "sent"
    await sign(db, contract.id, contractor, version.terms_hash)
    await db.commit()
    assert contract.status == "active" and contract.activated_at is not None
    signature = await db.scalar(select(Signature).where(Signature.user_id == contractor.id))
    assert (signature.ip, signature.terms_hash) == ("203.0.113.5", version.terms_hash)
    kinds = (
        await db.scalars(
            select(AuditEvent.kind).where(AuditEvent.subject_id == contract.public_id).order_by(AuditEvent.seq)
        )
    ).all()
    assert kinds == [
        "contract_drafted",
        "contract_version_sent",
        "contract_signed",
        "contract_signed",
        "contract_activated",
    ]
    assert (await verify(db)).ok


async def test_a_change_makes_a_new_version_and_a_stale_tab_cannot_sign(db, parties):
    client, contractor = parties
    proposal = await accepted_proposal(db, client, contractor)
    contract = await drafting.draft_from_proposal(db, proposal.id, client)
    first = await signing.send(db, contract.id, client, fee=FEE)
    await sign(db, contract.id, client, first.terms_hash)
    terms = contract.draft_terms.with_(review_window_days=10)
    await drafting.update_draft(db, contract.id, contractor, terms)
    second = await signing.send(db, contract.id, contractor, fee=FEE)
    await db.commit()
    assert second.number == 2 and second.terms_hash != first.terms_hash
    with pytest.raises(DomainError, match="terms changed"):
        await sign(db, contract.id, contractor, first.terms_hash)
    contract_id, second_hash = contract.id, second.terms_hash
    await db.rollback()  # expires every loaded object: read them again
    await db.refresh(contractor)
    # The client's signature on version 1 does not carry over to version 2.
    signed = await sign(db, contract_id, contractor, second_hash)
    await db.commit()
    assert signed.status == "sent"


async def test_name_consent_verification_and_roles_are_checked(db, parties):
    client, contractor = parties
    contract, version = await sent_contract(db, client, contractor)
    with pytest.raises(DomainError, match="exactly as on your account"):
        await sign(db, contract.id, client, version.terms_hash, name="C. Client")
    with pytest.raises(DomainError, match="Tick the box"):
        await sign(db, contract.id, client, version.terms_hash, consent=False)
    stranger = await make_user(db, role=Role.contractor)
    with pytest.raises(services.NotFound):
        await sign(db, contract.id, stranger, version.terms_hash)
    admin = await make_user(db, role=Role.admin)
    with pytest.raises(services.NotFound):
        await sign(db, contract.id, admin, version.terms_hash)
    unverified = await make_user(db, role=Role.client, verified=False)
    with pytest.raises(DomainError, match="confirm your e-mail"):
        await sign(db, contract.id, unverified, version.terms_hash)


async def test_both_signing_at_the_same_moment_activate_exactly_once(app, db, parties):
    client, contractor = parties
    contract, version = await sent_contract(db, client, contractor)

    async def sign_as(user):
        async with app.state.sessionmaker() as session, session.begin():
            await sign(session, contract.id, user, version.terms_hash)

    await asyncio.gather(sign_as(client), sign_as(contractor))
    activations = await db.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.kind == "contract_activated", AuditEvent.subject_id == contract.public_id)
    )
    assert activations == 1
    assert await db.scalar(select(func.count()).select_from(ContractVersion)) == 1


async def test_sending_unchanged_terms_makes_no_new_version(db, parties):
    client, contractor = parties
    proposal = await accepted_proposal(db, client, contractor)
    contract = await drafting.draft_from_proposal(db, proposal.id, client)
    first = await signing.send(db, contract.id, client, fee=FEE)
    again = await signing.send(db, contract.id, contractor, fee=FEE)
    assert again.id == first.id
    assert (await drafting.draft_from_proposal(db, proposal.id, client)).id == contract.id, "one contract per proposal"
