"""The conversation pages: only the two parties get in (404 for anyone else, admins included), the
list shows the newest activity first with unread counts, sending works with and without htmx,
bad input is answered next to the field, text is escaped and links are safe, earlier messages
page without JavaScript, and "Seen" follows the other party's reading."""

from __future__ import annotations

import asyncio
import json
import re

from sqlalchemy import func, select

from app.conversations import services as conversations
from app.conversations.models import ConversationParticipant, Message
from app.conversations.queries import PAGE
from app.conversations.text import CONTACT_NOTE, MAX_BODY
from app.events.models import OutboxEvent
from app.marketplace.models import Proposal
from tests.conversations.helpers import contract_conversation, say
from tests.marketplace.helpers import make_job, make_proposal
from tests.support.notifications import main_of

_KEY = re.compile(r'name="client_key" value="([^"]+)"')


def composer_key(html: str) -> str:
    match = _KEY.search(html)
    assert match, "no composer on the page"
    return match.group(1)


async def post_message(person, conversation, body: str, *, key: str | None = None, htmx: bool = False):
    """The composer's form as a browser sends it (multipart, the page's own composer key)."""
    if key is None:
        key = composer_key((await person.get(conversation.path)).text)
    fields = {"_csrf_token": (None, await person.csrf_token()), "client_key": (None, key), "body": (None, body)}
    headers = {"HX-Request": "true", "X-CSRFToken": await person.csrf_token()} if htmx else {}
    return await person.post(conversation.path, files=fields, headers=headers)


def bodies(html: str) -> list[str]:
    return re.findall(r'<div class="message__body">(.*?)</div>', html, re.S)


async def test_only_the_two_parties_get_in_anyone_else_and_admins_get_404(
    db, client, contractor, other_contractor, admin
):
    contract, conversation = await contract_conversation(db, client, contractor)
    message = await say(db, conversation, client.user, "Hello")
    edit = f"{conversation.path}/m/{message.public_id}/edit"
    for outsider in (other_contractor, admin):
        assert (await outsider.get(conversation.path)).status_code == 404
        assert (await outsider.get(f"{conversation.path}/since")).status_code == 404
        assert (await outsider.get(f"{conversation.path}?before={message.public_id}")).status_code == 404
        assert (await post_message(outsider, conversation, "Let me in", key="k" * 20)).status_code == 404
        assert (await outsider.get(edit)).status_code == 404
        assert (await outsider.post_form(edit, {"body": "Changed"})).status_code == 404
        assert (await outsider.get(f"/contracts/{contract.id}/messages")).status_code == 404
    assert (await admin.get("/messages")).status_code == 404
    # The other party can read it but not edit what they did not write.
    assert (await contractor.get(edit)).status_code == 404
    assert (await contractor.post_form(edit, {"body": "Changed"})).status_code == 404
    assert await db.scalar(select(func.count()).select_from(Message)) == 1
    assert (await db.scalar(select(Message.body))) == "Hello"


async def test_the_contract_page_links_to_its_conversation_for_the_parties_only(db, client, contractor, admin):
    contract, _ = await contract_conversation(db, client, contractor)
    page = await client.get(f"/contracts/{contract.id}")
    assert f'href="/contracts/{contract.id}/messages"' in page.text
    assert f"/contracts/{contract.id}/messages" not in (await admin.get(f"/contracts/{contract.id}")).text
    opened = await contractor.get(f"/contracts/{contract.id}/messages")
    assert opened.status_code == 303
    conversation_page = await contractor.get(opened.headers["location"])
    assert conversation_page.status_code == 200
    assert "Conversation with Client" in conversation_page.text or client.user.name in conversation_page.text


async def test_a_proposal_has_its_conversation_for_the_contractor_and_the_client(
    db, client, contractor, other_contractor, admin
):
    job = await make_job(db, client.user, title="Logo for a bakery")
    proposal = await make_proposal(db, job, contractor.user)
    for person in (client, contractor):
        page = await person.get(f"/proposals/{proposal.id}")
        assert f'href="/proposals/{proposal.id}/messages"' in page.text
    first = await client.get(f"/proposals/{proposal.id}/messages")
    second = await contractor.get(f"/proposals/{proposal.id}/messages")
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    for outsider in (other_contractor, admin):
        assert (await outsider.get(f"/proposals/{proposal.id}/messages")).status_code == 404
        assert (await outsider.get(first.headers["location"])).status_code == 404
    page = await contractor.get(first.headers["location"])
    assert "About the proposal" in page.text and "Logo for a bakery" in page.text


async def test_the_list_shows_newest_activity_first_with_unread_counts(db, client, contractor):
    _, older = await contract_conversation(db, client, contractor)
    proposal = await make_proposal(db, await make_job(db, client.user, title="Bakery sign"), contractor.user)
    proposal = await db.get(Proposal, proposal.id, populate_existing=True)
    newer = await conversations.conversation_for_proposal(db, proposal)
    await db.commit()
    await say(db, older, contractor.user, "First draft is ready")
    await say(db, older, contractor.user, "Second draft too")
    await say(db, newer, client.user, "Can you also do the <b>sign</b>?")

    page = main_of((await client.get("/messages")).text)  # (the bell in the top bar has its own count)
    assert page.index("Bakery sign") < page.index(older.path)  # the newest activity first
    assert "2 unread" in page and "1 unread" not in page  # my own message is not unread
    assert "Can you also do the &lt;b&gt;sign&lt;/b&gt;?" in page
    theirs = main_of((await contractor.get("/messages")).text)
    assert "1 unread" in theirs and "2 unread" not in theirs

    await client.get(older.path)  # reading it clears its mark
    assert "unread" not in main_of((await client.get("/messages")).text)
    live = await client.htmx("GET", "/messages")
    assert live.text.lstrip().startswith('<div id="conversation-list"')


async def test_the_empty_list_says_so_in_plain_words(client):
    page = await client.get("/messages")
    assert page.status_code == 200
    assert "No conversations yet" in page.text


async def test_sending_without_javascript_redirects_to_the_new_message(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    answer = await post_message(client, conversation, "The shoot is on Tuesday at 9.")
    assert answer.status_code == 303
    message = await db.scalar(select(Message))
    assert answer.headers["location"] == f"{conversation.path}#m-{message.public_id}"
    page = (await contractor.get(conversation.path)).text
    assert "The shoot is on Tuesday at 9." in page
    assert CONTACT_NOTE not in page


async def test_sending_with_htmx_resets_the_composer_and_refreshes_the_window(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    page = (await client.get(conversation.path)).text
    key = composer_key(page)
    answer = await post_message(client, conversation, "Call me on +33 6 12 34 56 78", key=key, htmx=True)
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<form id="composer"')
    assert composer_key(answer.text) != key  # a fresh composer for the next message
    assert "Call me on" not in answer.text  # the field is empty again
    triggers = answer.headers["hx-trigger"]
    assert "conversation-refresh" in triggers and "Keep payments on Pactline" in triggers
    message = await db.scalar(select(Message))
    assert message.contact_warning
    # Both parties see the note on the message.
    for person in (client, contractor):
        assert CONTACT_NOTE in (await person.get(conversation.path)).text
    window = await contractor.htmx("GET", f"{conversation.path}/since")
    assert "Call me on +33 6 12 34 56 78" in window.text and "<html" not in window.text


async def test_a_plain_form_with_contact_details_tells_the_sender_right_away(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    answer = await post_message(client, conversation, "Pay me at paypal.me/zoe please")
    page = await client.get(answer.headers["location"].split("#")[0])
    assert page.text.count(CONTACT_NOTE) == 2  # the flash and the note on the message


async def test_bad_messages_are_answered_next_to_the_field_and_nothing_is_kept(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    empty = await post_message(client, conversation, "   \n  ")
    assert empty.status_code == 422
    assert "Write a message or attach a file." in empty.text and 'aria-invalid="true"' in empty.text
    too_long = await post_message(client, conversation, "é" * (MAX_BODY + 1))
    assert too_long.status_code == 422
    assert f"up to {MAX_BODY:,} characters" in too_long.text
    assert "é" * 50 in too_long.text  # what was typed is still there
    htmx_empty = await post_message(client, conversation, "", htmx=True)
    assert htmx_empty.status_code == 422 and htmx_empty.text.lstrip().startswith('<form id="composer"')
    # A NUL byte is refused where the request enters, with a plain sentence (never a 5xx).
    nul = await post_message(client, conversation, "Hello\x00there")
    assert nul.status_code == 400
    assert "NUL" in nul.text
    assert await db.scalar(select(func.count()).select_from(Message)) == 0
    exact = await post_message(client, conversation, "ß" * MAX_BODY)
    assert exact.status_code == 303


async def test_html_is_escaped_and_links_are_made_safe(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    await post_message(
        client,
        conversation,
        '<script>alert("x")</script> see https://example.com/brief?a=1&b=2. or javascript:alert(1)',
    )
    page = (await contractor.get(conversation.path)).text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert '<a href="https://example.com/brief?a=1&amp;b=2" rel="noopener nofollow ugc">' in page
    assert 'href="javascript:' not in page
    assert "javascript:alert(1)" in page  # shown as the text it is


async def test_the_same_composer_sent_twice_at_once_is_one_message(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    key = composer_key((await client.get(conversation.path)).text)
    answers = await asyncio.gather(*(post_message(client, conversation, "Only once", key=key) for _ in range(4)))
    assert [a.status_code for a in answers] == [303] * 4
    assert len({a.headers["location"] for a in answers}) == 1
    assert await db.scalar(select(func.count()).select_from(Message)) == 1


async def test_earlier_messages_page_without_javascript(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    for n in range(PAGE + 5):
        await say(db, conversation, client.user if n % 2 else contractor.user, f"Message number {n:02d}")
    page = (await client.get(conversation.path)).text
    shown = bodies(page)
    assert shown[0] == "Message number 05" and shown[-1] == f"Message number {PAGE + 4:02d}"
    link = re.search(r'<a class="[^"]*" href="(/messages/[^"?]+\?before=[^"]+)"', page)
    assert link and "Show earlier messages" in page
    earlier = await client.get(link.group(1))
    assert earlier.status_code == 200
    assert bodies(earlier.text) == [f"Message number {n:02d}" for n in range(5)]
    assert "Show earlier messages" not in earlier.text and "Show the newest messages" in earlier.text
    # htmx gets the earlier page alone, to put above what is shown.
    piece = await client.htmx("GET", link.group(1))
    assert "<html" not in piece.text and bodies(piece.text)[0] == "Message number 00"
    assert (await client.get(f"{conversation.path}?before=msg_nothing")).status_code == 404


async def test_seen_shows_once_the_other_party_has_read_it(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    message = await say(db, conversation, client.user, "Ready when you are")
    page = (await client.get(conversation.path)).text
    assert 'data-receipt="sent"' in page and 'data-receipt="seen"' not in page

    before = await db.scalar(select(func.count()).select_from(OutboxEvent))
    await contractor.get(conversation.path)  # the contractor opens it: read
    seen = await db.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
    told = [e for e in seen if json.loads(e.data).get("what") == "seen"]
    assert {e.user_id for e in told} == {client.user.id, contractor.user.id}
    assert json.loads(told[0].data) == {
        "conversation": conversation.public_id,
        "message": message.public_id,
        "sender": client.user.id,
        "what": "seen",
    }
    assert 'data-receipt="seen"' in (await client.htmx("GET", f"{conversation.path}/since")).text

    # Reading again moves nothing, so nobody is told again (two open pages do not ping-pong).
    after = await db.scalar(select(func.count()).select_from(OutboxEvent))
    await contractor.get(conversation.path)
    await contractor.htmx("GET", f"{conversation.path}/since")
    assert await db.scalar(select(func.count()).select_from(OutboxEvent)) == after > before
    mark = await db.scalar(
        select(ConversationParticipant.last_read_message_id).where(
            ConversationParticipant.user_id == contractor.user.id
        )
    )
    assert mark == message.id


async def test_the_read_mark_never_moves_back(db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    first = await say(db, conversation, client.user, "One")
    second = await say(db, conversation, client.user, "Two")
    assert await conversations.mark_read(db, conversation, contractor.user, second)
    assert not await conversations.mark_read(db, conversation, contractor.user, first)
    await db.commit()
    assert conversation.participant(contractor.user.id).last_read_message_id == second.id
