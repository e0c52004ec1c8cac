"""Demo conversation (development only): the demo contract's parties talking about the shoot, with
one picture attached, made through the real verbs (open the contract's conversation, send). Each
message has a fixed composer key, so running the seed again sends nothing new."""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageDraw
from sqlalchemy import select

from app.accounts.services import get_user_by_email
from app.contracts.models import Contract
from app.contracts.seed import TITLE
from app.conversations import services
from app.files.storage import storage_for
from app.files.uploads import PNG, CheckedUpload

# (who, composer key, text, with the picture)
SCRIPT = [
    ("contractor", "demo-conversation-1", "Hello! I booked the shoot for the first Monday. Is 8:00 fine, before you open?", False),
    ("client", "demo-conversation-2", "8:00 is perfect. The croissants come out of the oven at 7:45, so they will look their best.", False),
    ("contractor", "demo-conversation-3", "Here is a test shot with the light I plan to use: soft, from the window side.", True),
    ("client", "demo-conversation-4", "Lovely colours. Let's go with that, and see you on Monday!", False),
]  # fmt: skip


def test_shot() -> CheckedUpload:
    """A small picture made here with Pillow, so the demo needs no binary files."""
    image = Image.new("RGB", (320, 200), (244, 232, 214))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 150, 320, 200), fill=(196, 164, 132))
    draw.ellipse((90, 70, 230, 160), fill=(214, 150, 72))
    draw.ellipse((120, 90, 200, 140), fill=(232, 180, 104))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    data = out.getvalue()
    return CheckedUpload(data, PNG, hashlib.sha256(data).hexdigest(), "test-shot.png")


async def seed_conversations(resources) -> list[str]:
    async with resources.sessionmaker() as db:
        people = {
            "client": await get_user_by_email(db, "client@pactline.test"),
            "contractor": await get_user_by_email(db, "contractor@pactline.test"),
        }
        if None in people.values():
            return []
        contract = await db.scalar(
            select(Contract)
            .where(Contract.client_id == people["client"].id, Contract.contractor_id == people["contractor"].id)
            .order_by(Contract.id)
            .limit(1)
        )  # the demo contract (app/contracts/seed.py)
        if contract is None or contract.title != TITLE:
            return []
        conversation = await services.conversation_for_contract(db, contract)
        await db.commit()
        storage = storage_for(resources.settings)
        sent = 0
        for who, key, body, picture in SCRIPT:
            files = [test_shot()] if picture else []
            result = await services.send(
                db, conversation, people[who], body, client_key=key, files=files, storage=storage if files else None
            )
            await db.commit()  # one at a time: each its own moment, in order
            sent += not result.repeated
        return [f"conversation: {sent} messages on “{TITLE}”, one picture attached"] if sent else []
