"""GET /events: the signed-in user's server-sent event stream."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.response import ServerSentEvent
from redis.exceptions import RedisError

from app.accounts.guards import Viewer, current_user, provide_user, still_signed_in
from app.conversations import presence
from app.conversations.live_controllers import MAX_PUBLIC_ID
from app.conversations.queries import other_party
from app.conversations.services import conversation_of_party
from app.conversations.typing import conversation_channel
from app.events.dispatch import seq_key
from app.events.stream import parse_last_event_id, user_stream


class EventStreamController(Controller):
    path = "/events"

    @get("/", name="events:stream", opt={"skip_prometheus": True})
    async def stream(
        self, request: Request, channels: NamedDependency[ChannelsPlugin], viewer: Viewer
    ) -> ServerSentEvent | Response:
        state = request.app.state
        redis = state.redis
        # Redis first: while it is away, sessions cannot be read either, and the browser should
        # retry later rather than be sent to the sign-in page. So no sign-in guard and no `user`
        # dependency, which would both answer before this check.
        try:
            await redis.ping()
        except (RedisError, OSError):
            return Response(
                "Live updates are paused for a moment.",
                status_code=503,
                headers={"Retry-After": "5", "Cache-Control": "no-store"},
                media_type="text/plain",
            )
        user = viewer or provide_user(request)  # a visitor gets the sign-in-first answer here
        last_id = parse_last_event_id(request.headers.get("last-event-id") or request.query_params.get("last_event_id"))
        settings = state.settings
        short_lived = await conversation_channels(request, user)
        return ServerSentEvent(
            user_stream(
                channels,
                redis,
                user.id,
                last_id,
                heartbeat=settings.sse_heartbeat_seconds,
                backlog_seconds=settings.event_backlog_seconds,
                still_allowed=still_signed_in(request),
                short_lived=short_lived,
                liveness=presence.Connection(redis, user.id, settings.sse_heartbeat_seconds),
            ),
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


async def conversation_channels(request: Request, user) -> list[str]:
    """`?conversation=<public_id>` (a conversation page's stream): its typing channel and the other
    party's presence, for a participant only. Anything else — unknown, someone else's, malformed —
    adds nothing and is not an error: the person's own events still flow (decision 0045)."""
    public_id = request.query_params.get("conversation")
    if not public_id or len(public_id) > MAX_PUBLIC_ID:
        return []
    async with request.app.state.sessionmaker() as db:
        conversation = await conversation_of_party(db, public_id, user)
        other = other_party(conversation, user) if conversation is not None else None
    if conversation is None:
        return []
    channels = [conversation_channel(conversation.public_id)]
    if other is not None:
        channels.append(presence.presence_channel(other.id))
    return channels


async def remember_stream_position(request: Request) -> None:
    """Before a signed-in page renders, note where the user's event stream is: the page's stream
    then starts there, so an event published between rendering and connecting is not lost
    (a review finishing, the other party signing)."""
    user = current_user(request)
    if user is None or request.method != "GET" or request.headers.get("hx-request"):
        return
    if request.route_handler.name == "events:stream":
        return  # the stream itself renders no page
    try:
        position = await request.app.state.redis.get(seq_key(user.id))
    except (RedisError, OSError):
        return
    request.scope.setdefault("state", {})["events_since"] = int(position or 0)
