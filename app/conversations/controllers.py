"""Conversation pages: a person's list, one conversation (read, send, edit), and the links from a
contract's and a proposal's page. Only the two parties ever get past `conversation_of_party`:
anyone else, admins included, gets 404."""

from __future__ import annotations

import json
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, Parameter
from litestar.plugins.flash import flash
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import CurrentUser, requires_role
from app.accounts.models import Role, User
from app.conversations import queries, services
from app.conversations.attachments import MAX_FILES, SEND_BODY_LIMIT
from app.conversations.forms import composer_values, read_composer
from app.conversations.models import Conversation, Message
from app.conversations.presence import conversation_events_url
from app.conversations.text import CONTACT_NOTE, MAX_BODY, linkify
from app.db import DB
from app.errors import DomainError, FormError, NotFound
from app.files.storage import storage_for
from app.web.forms import FormData, Multipart
from app.web.htmx import see_other
from app.web.templating import is_htmx, render

PARTIES = [requires_role(Role.client, Role.contractor)]
REFRESH = "conversation-refresh"  # the composer's answer tells the page's message window to re-fetch


async def _conversation(db: AsyncSession, public_id: str, user: User) -> Conversation:
    conversation = await services.conversation_of_party(db, public_id, user)
    if conversation is None:
        raise NotFound()
    return conversation


async def _window_context(db: AsyncSession, conversation: Conversation, user: User, messages: list[Message]) -> dict:
    other = queries.other_party(conversation, user)
    theirs = conversation.participant(other.id) if other else None
    return {
        "conversation": conversation,
        "me": user,
        "other": other,
        "other_read": (theirs.last_read_message_id or 0) if theirs else 0,
        "versions": await services.versions_of(db, [m.id for m in messages if m.version > 1]),
        "can_edit": lambda message: services.can_edit(message, user),
        "linkify": linkify,
        "contact_note": CONTACT_NOTE,
    }


async def _read_up_to(db: AsyncSession, conversation: Conversation, user: User, messages: list[Message]) -> None:
    """Showing messages to a party marks them read (forward only), then commits."""
    if messages:
        await services.mark_read(db, conversation, user, max(messages, key=lambda m: m.id))
    await db.commit()


async def _page(
    request: Request,
    db: AsyncSession,
    conversation: Conversation,
    user: User,
    *,
    before: str | None = None,
    form: dict | None = None,
    errors: dict | None = None,
    status_code: int = 200,
    block: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    window = await queries.page_before(db, conversation, before)
    if window is None:
        raise NotFound()
    if not before:
        await _read_up_to(db, conversation, user, window.messages)
    context = await _window_context(db, conversation, user, window.messages)
    context |= {
        "subject": await queries.subject_of(db, conversation),
        "window": window,
        "messages": window.messages,
        "before": before,
        "start": window.messages[0].public_id if window.messages else "",
        "form": form or {},
        "errors": errors or {},
        "max_body": MAX_BODY,
        "max_files": MAX_FILES,
        "events_url": conversation_events_url(request, conversation),
    }
    return render(request, "messages/detail.html", context, status_code=status_code, block=block, headers=headers)


class MessagesController(Controller):
    """`/messages` and `/messages/<id>`: for the parties of each conversation only."""

    path = "/messages"
    guards = PARTIES

    @get("/", name="messages:list")
    async def index(self, request: Request, db: DB, user: CurrentUser) -> Response:
        """Newest activity first; htmx requests (the live re-fetch) get the list alone."""
        rows = await queries.conversations_of(db, user)
        return render(request, "messages/list.html", {"rows": rows}, block="list")

    @get("/{public_id:str}", name="messages:detail")
    async def detail(
        self,
        request: Request,
        public_id: FromPath[str],
        db: DB,
        user: CurrentUser,
        before: str | None = Parameter(default=None, max_length=64),
    ) -> Response:
        """The newest messages (marked read), or with `before` the page of earlier ones: htmx asks
        for them alone to put them above what is shown."""
        conversation = await _conversation(db, public_id, user)
        return await _page(request, db, conversation, user, before=before, block="earlier" if before else None)

    @get("/{public_id:str}/since", name="messages:since")
    async def since(
        self,
        request: Request,
        public_id: FromPath[str],
        db: DB,
        user: CurrentUser,
        start: str | None = Parameter(default=None, max_length=64),
    ) -> Response:
        """The open page's message window again, from its first message to the newest: new
        messages, edits and "Seen" together, each once. The page re-fetches it on the live
        "message" event; fetching it marks what it shows read."""
        conversation = await _conversation(db, public_id, user)
        window = await queries.messages_from(db, conversation, start)
        if window is None:
            raise NotFound()
        await _read_up_to(db, conversation, user, window.messages)
        context = await _window_context(db, conversation, user, window.messages)
        return render(request, "messages/_window.html", context | {"messages": window.messages})

    @post(
        "/{public_id:str}",
        name="messages:send",
        request_max_body_size=SEND_BODY_LIMIT,
    )
    async def send(
        self, request: Request, public_id: FromPath[str], data: Multipart, db: DB, user: CurrentUser
    ) -> Response:
        conversation = await _conversation(db, public_id, user)
        try:
            composed = await read_composer(data, request.app.state.settings)
            sent = await services.send(
                db,
                conversation,
                user,
                composed.body,
                client_key=composed.client_key,
                files=composed.files,
                storage=storage_for(request.app.state.settings) if composed.files else None,
            )
        except FormError as exc:
            return await _page(request, db, conversation, user, form=composer_values(data), errors=exc.errors,
                               status_code=422, block="composer")  # fmt: skip
        except services.MessageRejected as exc:
            return await _page(request, db, conversation, user, form=composer_values(data),
                               errors={"body": [str(exc)]}, status_code=422, block="composer")  # fmt: skip
        await db.commit()
        message = sent.message
        warn = message.contact_warning and not sent.repeated
        if is_htmx(request):
            triggers: dict[str, Any] = {REFRESH: {"message": message.public_id}}
            if warn:
                triggers["toast"] = {"message": CONTACT_NOTE, "level": "warning"}
            return await _page(request, db, conversation, user, block="composer",
                               headers={"HX-Trigger": json.dumps(triggers)})  # fmt: skip
        if warn:
            flash(request, CONTACT_NOTE, category="warning")
        return see_other(request, f"{conversation.path}#m-{message.public_id}")

    @get("/{public_id:str}/m/{message_id:str}/edit", name="messages:edit")
    async def edit_page(
        self, request: Request, public_id: FromPath[str], message_id: FromPath[str], db: DB, user: CurrentUser
    ) -> Response:
        conversation = await _conversation(db, public_id, user)
        message = await _own_message(db, conversation, message_id, user)
        return _edit_page(request, conversation, message, {"body": message.body}, {})

    @post("/{public_id:str}/m/{message_id:str}/edit", name="messages:update")
    async def update(
        self,
        request: Request,
        public_id: FromPath[str],
        message_id: FromPath[str],
        data: FormData,
        db: DB,
        user: CurrentUser,
    ) -> Response:
        """A new version of one's own message; the earlier ones stay visible as "edited"."""
        conversation = await _conversation(db, public_id, user)
        message = await _own_message(db, conversation, message_id, user)
        body = data.get("body", "")
        body = body if isinstance(body, str) else ""
        try:
            edited = await services.edit(db, conversation, user, message.public_id, body)
        except services.MessageRejected as exc:
            return _edit_page(request, conversation, message, {"body": body[:20000]}, {"body": [str(exc)]}, 422)
        await db.commit()
        if edited.changed:
            flash(request, CONTACT_NOTE if edited.message.contact_warning else "Message edited. Both of you can see "
                  "the earlier version.", category="warning" if edited.message.contact_warning else "success")  # fmt: skip
        return see_other(request, f"{conversation.path}#m-{message.public_id}")


async def _own_message(db: AsyncSession, conversation: Conversation, public_id: str, user: User) -> Message:
    message = await services.message_in(db, conversation, public_id)
    if message is None or message.sender_id != user.id:
        raise NotFound()
    if not services.can_edit(message, user):
        raise DomainError("Messages can be edited for 24 hours after sending. Send a new message to correct this one.")
    return message


def _edit_page(request: Request, conversation, message, form, errors, status_code: int = 200) -> Response:
    return render(
        request,
        "messages/edit.html",
        {"conversation": conversation, "message": message, "form": form, "errors": errors, "max_body": MAX_BODY},
        status_code=status_code,
    )


class ConversationLinksController(Controller):
    """ "Messages" on a contract's and a proposal's page: open (or start) their conversation."""

    path = "/"
    guards = PARTIES

    @get("/contracts/{contract_id:int}/messages", name="contracts:messages")
    async def contract(self, request: Request, contract_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        from app.contracts.services import contract_for

        contract = await contract_for(db, contract_id, user)
        if not contract.party(user.id):  # admins may read a contract, never its conversation
            raise NotFound()
        conversation = await services.conversation_for_contract(db, contract)
        await db.commit()
        return see_other(request, conversation.path)

    @get("/proposals/{proposal_id:int}/messages", name="proposals:messages")
    async def proposal(self, request: Request, proposal_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        from app.marketplace.services import proposal_for_viewer

        proposal = await proposal_for_viewer(db, proposal_id, user)
        conversation = await services.conversation_for_proposal(db, proposal)
        await db.commit()
        return see_other(request, conversation.path)
