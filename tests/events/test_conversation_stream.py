"""GET /events?conversation=<id>: a conversation page's stream also carries that conversation's
typing and the other party's presence — short-lived frames without an id — for its parties only;
and a tab that lost its stream catches up on the messages it missed, each exactly once."""

import json

from app.conversations.presence import presence_channel
from app.conversations.typing import conversation_channel
from app.events import publish
from tests.conversations.helpers import contract_conversation, say
from tests.conversations.live_helpers import on_live_server, open_stream, subscribers


def stream_url(conversation) -> str:
    return f"/events?conversation={conversation.public_id}"


async def next_of(stream, event: str, timeout: float = 10.0):
    """The next frame named `event` (the contract's own events — its PDF being made — pass by too)."""
    while True:
        frame = await stream.next(timeout)
        if frame.event == event:
            return frame


async def frames_until(stream, message_public_id: str) -> list:
    """Every frame up to and including the "message" one about `message_public_id`."""
    frames = []
    while True:
        frame = await stream.next()
        frames.append(frame)
        if frame.event == "message" and json.loads(frame.data)["message"] == message_public_id:
            return frames


async def test_typing_and_presence_arrive_without_an_id(app, db, live_server, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    async with on_live_server(live_server, client.user) as tab:
        response, stream = await open_stream(tab, stream_url(conversation))
        try:
            async with on_live_server(live_server, contractor.user) as other_tab:
                other, _ = await open_stream(other_tab)  # the contractor comes online
                try:
                    came = await next_of(stream, "presence")
                    assert (came.event, came.id) == ("presence", None)
                    assert json.loads(came.data) == {"user": contractor.user.id, "state": "online"}

                    assert (
                        await contractor.htmx("POST", f"/messages/{conversation.public_id}/typing")
                    ).status_code == 204
                    typing = await next_of(stream, "typing")
                    assert (typing.event, typing.id) == ("typing", None)
                    assert json.loads(typing.data) == {
                        "conversation": conversation.public_id,
                        "user": contractor.user.id,
                    }

                    message = await say(db, conversation, contractor.user, "Hello")
                    lasting = await next_of(stream, "message")
                    assert lasting.id and int(lasting.id) >= 1
                    assert json.loads(lasting.data) == {
                        "conversation": conversation.public_id,
                        "message": message.public_id,
                        "sender": contractor.user.id,
                        "what": "sent",
                    }
                finally:
                    await other.aclose()
            went = await next_of(stream, "presence", timeout=20)  # after the grace that covers a page change
            assert (went.event, went.id, json.loads(went.data)["state"]) == ("presence", None, "offline")
        finally:
            await response.aclose()


async def frames_of_until_notice(stream) -> list:
    frames = []
    while True:
        frame = await stream.next()
        if (frame.event, frame.data) == ("notice", '{"for":"me"}'):
            return frames
        frames.append(frame)


async def test_a_stranger_naming_the_conversation_subscribes_to_nothing_of_it(
    app, db, live_server, client, contractor, other_contractor
):
    _, conversation = await contract_conversation(db, client, contractor)
    redis = app.state.redis
    async with on_live_server(live_server, other_contractor.user) as tab:
        for url in (
            stream_url(conversation),
            "/events?conversation=conv_unknown",
            f"/events?conversation={'x' * 3000}",
        ):
            response, stream = await open_stream(tab, url)
            try:
                assert await subscribers(redis, conversation_channel(conversation.public_id)) == 0
                assert await subscribers(redis, presence_channel(client.user.id)) == 0
                assert await subscribers(redis, presence_channel(contractor.user.id)) == 0
                await contractor.htmx("POST", f"/messages/{conversation.public_id}/typing")
                await say(db, conversation, contractor.user, "Not for strangers")
                # Their own stream still works, and nothing of the conversation came before their own event.
                publish(db, other_contractor.user.id, "notice", {"for": "me"})
                await db.commit()
                mine = [f for f in await frames_of_until_notice(stream) if f.event in ("typing", "presence", "message")]
                assert mine == [], "nothing of a conversation that is not theirs"
            finally:
                await response.aclose()
            for key in await redis.keys("typing:throttle:*"):
                await redis.delete(key)  # so the next round's typing POST would signal again


async def test_reconnecting_catches_up_on_missed_messages_exactly_once(app, db, live_server, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    async with on_live_server(live_server, client.user) as tab:
        response, stream = await open_stream(tab, stream_url(conversation))
        await say(db, conversation, contractor.user, "one")
        first = await next_of(stream, "message")
        await response.aclose()  # the connection drops

        missed = [await say(db, conversation, contractor.user, text) for text in ("two", "three")]
        await contractor.htmx("POST", f"/messages/{conversation.public_id}/typing")  # not kept for later

        response, stream = await open_stream(tab, stream_url(conversation), {"Last-Event-ID": first.id})
        try:
            live = await say(db, conversation, contractor.user, "four")
            frames = await frames_until(stream, live.public_id)
            messages = [json.loads(f.data)["message"] for f in frames if f.event == "message"]
            assert messages == [missed[0].public_id, missed[1].public_id, live.public_id], "each exactly once"
            ids = [int(f.id) for f in frames]
            assert ids == sorted(set(ids)) and ids[0] > int(first.id), "no id twice, none from before the drop"
            assert not any(f.event == "typing" for f in frames), "short-lived signals are never replayed"
        finally:
            await response.aclose()
