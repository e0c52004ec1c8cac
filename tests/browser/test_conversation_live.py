"""Two people in one conversation, a client on a phone and a contractor at a desk: a message
reaches the other open page without reload, the open page marks it read, and the sender sees
"Seen" without reload."""

import pytest
from playwright.async_api import expect

from app.conversations import services as conversations
from tests.conversations.helpers import clara_and_noor
from tests.support.browser import no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser


async def test_a_message_arrives_live_and_the_sender_sees_it_seen(phone, desktop, db):
    client, contractor, contract, conversation = await clara_and_noor(db)

    await sign_in(desktop, contractor.email)
    await desktop.goto(f"/contracts/{contract.id}")
    await desktop.get_by_role("link", name="Messages with Clara Bakery").click()
    await expect(desktop.get_by_role("heading", name="Conversation with Clara Bakery")).to_be_visible()
    assert desktop.url.endswith(conversation.path)

    await sign_in(phone, client.email)
    await phone.goto(conversation.path)
    await expect(phone.get_by_text("No messages yet.")).to_be_visible()
    composer = phone.get_by_label("Message")
    await composer.fill("Is 8:00 fine for the shoot? <b>bring lights</b>")
    await phone.get_by_role("button", name="Send").click()

    mine = phone.locator("#message-window .message--mine")
    await expect(mine).to_have_count(1)
    await expect(mine).to_contain_text("Is 8:00 fine for the shoot? <b>bring lights</b>")
    await expect(composer).to_have_value("")  # a fresh composer for the next message

    theirs = desktop.locator("#message-window .message")
    await expect(theirs).to_contain_text("Is 8:00 fine for the shoot?")  # live, no reload
    await expect(desktop.locator("#conversation-announce")).to_have_text("New message from Clara Bakery")

    # The contractor's open page read it, so the client's page says "Seen", without reload.
    await expect(mine.locator(".message__seen")).to_have_text("Seen")

    # And back: the answer reaches the phone live.
    await desktop.get_by_label("Message").fill("Yes, see you at 8.")
    await desktop.get_by_role("button", name="Send").click()
    await expect(phone.locator("#message-window .message").last).to_contain_text("Yes, see you at 8.")
    await expect(desktop.locator("#message-window .message--mine .message__seen")).to_have_text("Seen")

    assert await no_horizontal_scroll(phone)
    # The composer stays on screen at the bottom of the phone's viewport.
    box = await phone.locator(".composer-dock").bounding_box()
    height = phone.viewport_size["height"]
    assert box is not None and box["y"] + box["height"] <= height + 1
    assert phone.problems.errors == [], phone.problems.errors
    assert desktop.problems.errors == [], desktop.problems.errors


async def test_earlier_messages_load_above_when_scrolled_to(small_phone, db):
    """On the narrowest phone we promise (360 px), with a long link that must not widen the page."""
    phone = small_phone
    client, contractor, contract, conversation = await clara_and_noor(db)
    for n in range(45):
        body = f"Note {n:02d}" + (" https://example.com/" + "a" * 120 if n == 44 else "")
        await conversations.send(db, conversation, client if n % 2 else contractor, body, client_key=f"k-{n:02d}")
        await db.commit()

    await sign_in(phone, client.email)
    await phone.goto(conversation.path)
    await expect(phone.locator(".message").last).to_contain_text("Note 44")
    await expect(phone.locator(".message")).to_have_count(30)
    await phone.get_by_role("link", name="Show earlier messages").scroll_into_view_if_needed()
    await expect(phone.locator(".message")).to_have_count(45)
    await expect(phone.locator(".message").first).to_contain_text("Note 00")
    await expect(phone.get_by_role("link", name="Show earlier messages")).to_have_count(0)
    # The reader keeps their place: what was at the top before is still on screen.
    await expect(phone.get_by_text("Note 15", exact=True)).to_be_in_viewport()
    assert await no_horizontal_scroll(phone)
    assert phone.problems.errors == [], phone.problems.errors
