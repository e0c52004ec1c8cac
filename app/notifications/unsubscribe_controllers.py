"""/unsubscribe/<token>: the link in every notification e-mail (RFC 8058).

GET shows what will stop and a button; it changes nothing (mail scanners open links). POST
turns the e-mail off: the page's button, or a mail program's one-click request with the body
`List-Unsubscribe=One-Click`. The token's signature is what authenticates it, so the POST is
exempt from CSRF like the webhooks are, and needs no sign-in. Any token that does not check out
gets one plain 400 page and changes nothing."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath

from app.accounts.models import User
from app.db import DB
from app.notifications import preferences
from app.notifications.kinds import KINDS, kinds_for
from app.notifications.unsubscribe import ALL, BadLink, Unsubscribe, read_token
from app.web.templating import render


def what_stops(kind_name: str) -> str:
    """The e-mails a link stops, in words: "e-mails when a milestone is funded"."""
    if kind_name == ALL:
        return "every notification e-mail and the daily digest"
    label = KINDS[kind_name].label
    if label.startswith("New "):
        return f"e-mails about {label[0].lower()}{label[1:]}"
    return f"e-mails when {label[0].lower()}{label[1:]}"


async def _checked(db: DB, state: State, token: str) -> tuple[User, Unsubscribe]:
    """The person and kind a working link names; BadLink for anything else."""
    link = read_token(state.settings.secret_key, token)
    user = await db.get(User, link.user_id)
    if user is None:
        raise BadLink("nobody to unsubscribe")
    if link.kind != ALL and link.kind not in {k.name for k in kinds_for(preferences.role_of(user))}:
        raise BadLink("not a kind this person gets")
    return user, link


def _refused(request: Request) -> Response:
    return render(request, "notifications/unsubscribe_refused.html", status_code=400)


class UnsubscribeController(Controller):
    path = "/unsubscribe"

    @get("/{token:str}", name="notifications:unsubscribe")
    async def unsubscribe_page(self, request: Request, token: FromPath[str], db: DB, state: State) -> Response:
        try:
            _, link = await _checked(db, state, token)
        except BadLink:
            return _refused(request)
        context = {"what": what_stops(link.kind), "token": token, "everything": link.kind == ALL}
        return render(request, "notifications/unsubscribe.html", context)

    @post("/{token:str}", name="notifications:unsubscribe-confirm", status_code=200)
    async def unsubscribe(self, request: Request, token: FromPath[str], db: DB, state: State) -> Response:
        """Whatever the body says (RFC 8058's `List-Unsubscribe=One-Click` or the page's form),
        the signed link is the request: doing it twice gives the same result."""
        try:
            user, link = await _checked(db, state, token)
        except BadLink:
            return _refused(request)
        await preferences.email_off(db, user, link.kind)
        context = {"what": what_stops(link.kind), "everything": link.kind == ALL}
        return render(request, "notifications/unsubscribed.html", context)
