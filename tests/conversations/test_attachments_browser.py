"""Sending files from a phone: the composer shows the upload's progress while it goes (a slow
upload, so the bar can be seen), then the picture arrives as a thumbnail of its proportions and
the PDF as a link in plain words, for the sender and, live, for the other party."""

import io

import pytest
from PIL import Image
from playwright.async_api import expect

from tests.conversations.helpers import clara_and_noor
from tests.support.browser import no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser


def noisy_jpeg(width: int, height: int) -> bytes:
    """A photo-like JPEG (noise compresses badly, so it is big enough to take a while to send)."""
    picture = Image.frombytes("RGB", (width, height), bytes((i * 7919) % 251 for i in range(width * height * 3)))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=95)
    return out.getvalue()


async def test_files_go_up_with_progress_and_arrive_as_a_thumbnail_and_a_link(phone, desktop, db):
    client, contractor, _, conversation = await clara_and_noor(db)

    await sign_in(desktop, contractor.email)
    await desktop.goto(conversation.path)
    await sign_in(phone, client.email)
    await phone.goto(conversation.path)

    progress = phone.locator(".upload-progress")
    await expect(progress).to_be_hidden()
    photo = noisy_jpeg(1200, 900)
    await phone.get_by_label("Attach files").set_input_files(
        [
            {"name": "shop front.jpg", "mimeType": "image/jpeg", "buffer": photo},
            {"name": "quote.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n" + b"0" * 300_000},
        ]
    )
    await phone.get_by_role("textbox", name="Message").fill("The photo and the quote")
    # A slow connection (about 1 Mbit/s up), so the upload takes a few seconds.
    cdp = await phone.context.new_cdp_session(phone)
    await cdp.send("Network.enable")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 128 * 1024},
    )
    await phone.get_by_role("button", name="Send").click()
    await expect(progress).to_be_visible()
    await expect(phone.locator(".upload-progress__text")).to_contain_text("%")
    await expect(phone.locator(".upload-progress__bar")).not_to_have_attribute("value", "0", timeout=10_000)
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    for page in (phone, desktop):  # the sender's window, and the other party's live
        message = page.locator("#message-window .message").last
        await expect(message).to_contain_text("The photo and the quote", timeout=15_000)
        thumb = message.get_by_role("img", name="shop front.jpg")
        await expect(thumb).to_have_attribute("width", "480")
        await expect(thumb).to_have_attribute("height", "360")
        # Once the picture has loaded (it may still be on its way when the message shows).
        loaded_width = await thumb.evaluate(
            "img => img.complete ? img.naturalWidth"
            " : new Promise(done => img.addEventListener('load', () => done(img.naturalWidth), {once: true}))"
        )
        assert loaded_width == 480
        await expect(message.get_by_role("link", name="quote.pdf · PDF · 293 KB")).to_be_visible()
    await expect(progress).to_be_hidden()
    assert await no_horizontal_scroll(phone)
    assert phone.problems.errors == [], phone.problems.errors
    assert desktop.problems.errors == [], desktop.problems.errors
