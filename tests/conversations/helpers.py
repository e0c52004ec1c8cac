"""Conversation tests: the conversation of an active contract, and a message sent through the verb."""

from __future__ import annotations

import secrets

from app.conversations import services as conversations
from tests.contracts.helpers import active_contract


async def contract_conversation(db, client, contractor):
    """An active contract between the two personas and its conversation (committed)."""
    contract, _ = await active_contract(db, client.user, contractor.user)
    conversation = await conversations.conversation_for_contract(db, contract)
    await db.commit()
    return contract, conversation


async def say(db, conversation, sender, body: str, **kwargs):
    """`sender` sends `body` (a fresh composer key unless one is given); committed."""
    sent = await conversations.send(
        db, conversation, sender, body, client_key=kwargs.pop("client_key", secrets.token_urlsafe(16)), **kwargs
    )
    await db.commit()
    return sent.message


async def clara_and_noor(db):
    """For browser tests: a client "Clara Bakery" and a contractor "Noor Designer" (not signed in
    anywhere), an active contract between them and its conversation (committed)."""
    from app.accounts.models import Role
    from tests.support.factories import make_user

    client = await make_user(db, role=Role.client, name="Clara Bakery")
    contractor = await make_user(db, role=Role.contractor, name="Noor Designer")
    contract, _ = await active_contract(db, client, contractor)
    conversation = await conversations.conversation_for_contract(db, contract)
    await db.commit()
    return client, contractor, contract, conversation
