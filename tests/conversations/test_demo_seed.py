"""Demo conversation: the demo contract's parties talk, one picture attached, through the real
verbs (hashes on the audit chain); seeding twice changes nothing."""

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.contracts.models import Contract
from app.conversations.models import Conversation, Message, MessageAttachment
from app.conversations.seed import SCRIPT
from app.files.models import StoredFile
from app.platform.seed import demo_seed


async def counts(db) -> dict[str, int]:
    db.expire_all()
    return {
        model.__name__: await db.scalar(select(func.count()).select_from(model))
        for model in (Conversation, Message, MessageAttachment, StoredFile, AuditEvent)
    }


async def test_the_demo_contract_has_a_conversation_with_one_picture(app, db):
    await demo_seed(app.state.resources)
    contract = await db.scalar(select(Contract))
    conversation = await db.scalar(select(Conversation).where(Conversation.contract_id == contract.id))
    messages = list((await db.scalars(select(Message).where(Message.conversation_id == conversation.id)
                                      .order_by(Message.id))).unique())  # fmt: skip
    assert [m.body for m in messages] == [body for _, _, body, _ in SCRIPT]
    assert {m.sender_id for m in messages} == {contract.client_id, contract.contractor_id}
    pictures = [a for m in messages for a in m.attachments]
    assert len(pictures) == 1 and pictures[0].file.content_type == "image/png"
    assert pictures[0].file.original_name == "test-shot.png"
    sent = await db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "message.sent"))
    assert sent == len(SCRIPT)

    before = await counts(db)
    assert not any(line.startswith("conversation") for line in await demo_seed(app.state.resources))
    assert await counts(db) == before
