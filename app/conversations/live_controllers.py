"""A conversation's live extras: the typing signal and the other party's presence block."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from app.accounts.guards import CurrentUser, requires_login
from app.conversations.models import Conversation
from app.conversations.presence import presence_of
from app.conversations.queries import other_party
from app.conversations.services import conversation_of_party
from app.conversations.typing import typing
from app.db import DB
from app.errors import NotFound
from app.web.templating import render

MAX_PUBLIC_ID = 64


async def _theirs(db, public_id: str, user) -> Conversation:
    """The conversation if the person takes part in it, else 404 (strangers and admins alike).
    The read's transaction ends here: what follows talks to Redis."""
    conversation = None
    if len(public_id) <= MAX_PUBLIC_ID:
        conversation = await conversation_of_party(db, public_id, user)
    await db.commit()
    if conversation is None:
        raise NotFound()
    return conversation


class LiveConversationController(Controller):
    path = "/messages"
    guards = [requires_login]

    @post("/{public_id:str}/typing", name="conversations:typing", status_code=204)
    async def typing(self, request: Request, public_id: FromPath[str], db: DB, user: CurrentUser) -> None:
        """The composer's "I am typing" (static/js/typing.js, at most one every few seconds). Always
        204 for a party: a throttled signal or an unreachable Redis just means no indicator."""
        conversation = await _theirs(db, public_id, user)
        await typing(request.app.state.redis, conversation.public_id, user.id)

    @get("/{public_id:str}/presence", name="conversations:presence")
    async def presence(self, request: Request, public_id: FromPath[str], db: DB, user: CurrentUser) -> Response:
        """The other party's "Online" / "Last seen …" (templates/messages/_presence.html): the block
        re-fetches it when their presence changes, and every minute so the words stay true."""
        conversation = await _theirs(db, public_id, user)
        other = other_party(conversation, user)
        status = await presence_of(request.app.state.redis, other.id) if other is not None else None
        return render(
            request,
            "messages/_presence.html",
            {"conversation": conversation, "other": other, "presence": status},
            block="status",
        )
