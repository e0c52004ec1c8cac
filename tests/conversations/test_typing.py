"""The typing signal: a party's POST reaches the conversation's channel at most once every few
seconds; nobody else can send one; Redis failing makes no error."""

import contextlib
import json

import httpx
from redis.asyncio import Redis

from app.asgi import create_app
from app.conversations.typing import conversation_channel
from tests.conftest import WebClient, lifespan_of
from tests.conversations.helpers import contract_conversation
from tests.conversations.live_helpers import Listener
from tests.support.factories import PASSWORD


def typing_url(conversation) -> str:
    return f"/messages/{conversation.public_id}/typing"


async def test_ten_posts_in_a_row_make_one_signal(app, db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    async with Listener(app.state.redis, conversation_channel(conversation.public_id)) as channel:
        answers = [await contractor.htmx("POST", typing_url(conversation)) for _ in range(10)]
        received = await channel.until_marker()
    assert [r.status_code for r in answers] == [204] * 10
    assert all(r.content == b"" for r in answers)
    assert len(received) == 1, received
    assert received[0]["event"] == "typing" and "id" not in received[0], "short-lived: no id"
    assert json.loads(received[0]["data"]) == {"conversation": conversation.public_id, "user": contractor.user.id}


async def test_each_party_has_its_own_throttle(app, db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    async with Listener(app.state.redis, conversation_channel(conversation.public_id)) as channel:
        for browser in (contractor, client, contractor, client):
            assert (await browser.htmx("POST", typing_url(conversation))).status_code == 204
        received = await channel.until_marker()
    assert sorted(json.loads(m["data"])["user"] for m in received) == sorted([client.user.id, contractor.user.id])


async def test_people_outside_the_conversation_get_404_and_send_nothing(
    app, db, client, contractor, other_contractor, admin
):
    _, conversation = await contract_conversation(db, client, contractor)
    async with Listener(app.state.redis, conversation_channel(conversation.public_id)) as channel:
        for stranger in (other_contractor, admin):
            answer = await stranger.htmx("POST", typing_url(conversation))
            assert answer.status_code == 404, stranger.user.email
        assert (await contractor.htmx("POST", "/messages/conv_doesnotexist/typing")).status_code == 404
        assert (await contractor.htmx("POST", f"/messages/{'x' * 5000}/typing")).status_code == 404
        received = await channel.until_marker()
    assert received == []
    assert await app.state.redis.keys("typing:throttle:*") == [], "a refused request leaves nothing in Redis"


async def test_a_visitor_is_sent_to_sign_in_and_a_post_without_csrf_is_refused(app, db, client, contractor, anonymous):
    _, conversation = await contract_conversation(db, client, contractor)
    async with Listener(app.state.redis, conversation_channel(conversation.public_id)) as channel:
        visitor = await anonymous.post_form(typing_url(conversation))
        forged = await contractor.post(typing_url(conversation), headers={"HX-Request": "true"})
        received = await channel.until_marker()
    assert visitor.status_code == 303 and visitor.headers["location"].startswith("/login")
    assert forged.status_code == 403
    assert received == []


@contextlib.asynccontextmanager
async def second_app_whose_redis_fails(settings, user):
    """Another web process of the app, signed in, whose Redis then stops answering the features
    (the session store keeps its own connection, so the request gets as far as the handler)."""
    application = create_app(settings)
    async with lifespan_of(application):
        async with WebClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver", follow_redirects=False
        ) as browser:
            await browser.sign_in(user.email, PASSWORD)
            working = application.state.redis
            application.state.redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
            try:
                yield browser
            finally:
                await application.state.redis.aclose()
                application.state.redis = working


async def test_redis_failing_means_no_signal_and_no_error(app, settings, db, client, contractor):
    _, conversation = await contract_conversation(db, client, contractor)
    async with (
        Listener(app.state.redis, conversation_channel(conversation.public_id)) as channel,
        second_app_whose_redis_fails(settings, contractor.user) as browser,
    ):
        answer = await browser.htmx("POST", typing_url(conversation))
        received = await channel.until_marker()
    assert answer.status_code == 204
    assert received == []


async def test_the_typing_line_names_the_other_party_and_loads_its_script(settings, db, client, contractor):
    """The partial as a conversation page includes it (a page of the test's own, next to the real routes)."""
    from litestar import Request, get
    from litestar.params import FromPath
    from sqlalchemy import update

    from app.accounts.models import User
    from app.conversations.queries import other_party
    from app.conversations.services import conversation_of_party
    from app.web.templating import render

    await db.execute(update(User).where(User.id == contractor.user.id).values(name="<b>Noor</b> Smith"))
    await db.commit()
    _, conversation = await contract_conversation(db, client, contractor)

    @get("/test-only/typing/{public_id:str}")
    async def page(request: Request, public_id: FromPath[str]) -> object:
        async with request.app.state.sessionmaker() as session:
            theirs = await conversation_of_party(session, public_id, request.user)
            other = other_party(theirs, request.user)
            return render(request, "messages/_typing.html", {"conversation": theirs, "other": other})

    application = create_app(settings, extra_handlers=[page])
    async with lifespan_of(application):
        async with WebClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver", follow_redirects=False
        ) as browser:
            await browser.sign_in(client.user.email, PASSWORD)
            html = (await browser.get(f"/test-only/typing/{conversation.public_id}")).text
    assert 'aria-live="polite"' in html
    assert f'data-typing-url="/messages/{conversation.public_id}/typing"' in html
    assert f'data-typing-user="{contractor.user.id}"' in html
    assert '<span class="typing__text" data-typing-text hidden>&lt;b&gt;Noor&lt;/b&gt; is typing…</span>' in html
    assert "<b>" not in html, "names are escaped"
    assert '<script src="/static/js/typing.js?v=' in html and "defer" in html
