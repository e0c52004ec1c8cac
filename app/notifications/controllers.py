"""The notification centre: the bell's block, `/notifications` (newest first, by group, unread
only), opening one (marks it read, then its object), marking one or all read. A person only ever
reaches their own: anyone else's id is 404, admins included (ADR 0046)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import CurrentUser, requires_login_admins_mfa
from app.accounts.models import User
from app.db import DB
from app.errors import NotFound
from app.notifications import kinds
from app.notifications.models import Notification
from app.notifications.preferences import role_of
from app.notifications.services import mark_read, unread_count
from app.web.forms import FormData
from app.web.htmx import see_other
from app.web.input import has_forbidden
from app.web.templating import is_htmx, render

PAGE_SIZE = 20
MAX_PUBLIC_ID = 40
LIST_PATH = "/notifications"


@dataclass(frozen=True)
class Item:
    """One notification as the list shows it."""

    public_id: str
    title: str
    when: datetime
    unread: bool
    count: int


def title_of(row: Notification) -> str:
    """The kind's words over the row's values (a grouped row says how many), else the words
    stored when it was said (a kind no longer declared)."""
    return kinds.words_of(row.kind, row.data, row.count, row.title)


def item(row: Notification) -> Item:
    return Item(row.public_id, title_of(row), row.updated_at, row.read_at is None, row.count)


def safe_link(link: str) -> str | None:
    """A stored link, if it is a path on this site: starts with "/", not "//" (another host),
    no backslashes or control characters (which browsers read as other hosts)."""
    if not link.startswith("/") or link.startswith("//") or "\\" in link or has_forbidden(link):
        return None
    parts = urlsplit(link)
    if parts.scheme or parts.netloc:
        return None
    return link


def bell_label(count: int) -> str:
    """The bell's accessible name: "Notifications, 3 unread" / "Notifications, no unread"."""
    return f"Notifications, {count} unread" if count else "Notifications, no unread"


def badge(count: int) -> str:
    return "99+" if count > 99 else str(count)


@dataclass(frozen=True)
class Filters:
    group: str | None
    unread: bool

    @classmethod
    def read(cls, request: Request) -> Filters:
        """`?group=` one of the groups (anything else: all), `?unread=1`. Never an error."""
        group = request.query_params.get("group")
        return cls(group if group in kinds.GROUP_KEYS else None, request.query_params.get("unread") == "1")

    def query(self, **extra: str) -> str:
        values = {"group": self.group or "", "unread": "1" if self.unread else "", **extra}
        encoded = urlencode({k: v for k, v in values.items() if v})
        return f"{LIST_PATH}?{encoded}" if encoded else LIST_PATH

    def with_group(self, group: str | None) -> str:
        return Filters(group, self.unread).query()

    def with_unread(self, unread: bool) -> str:
        return Filters(self.group, unread).query()


def kind_names(group: str) -> list[str]:
    return [k.name for k in kinds.KINDS.values() if k.group == group]


def groups_for(user: User) -> list[kinds.Group]:
    """The groups a person can receive, in order (a client never sees "Marketplace operations")."""
    mine = {k.group for k in kinds.kinds_for(role_of(user))}
    return [g for g in kinds.GROUPS if g.key in mine]


async def _own(db: AsyncSession, user: User, public_id: str) -> Notification:
    if not public_id or len(public_id) > MAX_PUBLIC_ID:
        raise NotFound()
    row = await db.scalar(
        select(Notification).where(
            Notification.public_id == public_id, Notification.user_id == user.id, Notification.in_app.is_(True)
        )
    )
    if row is None:
        raise NotFound()
    return row


async def page_of(
    db: AsyncSession, user: User, filters: Filters, before: str | None
) -> tuple[list[Notification], str | None]:
    """One page, newest change first, from after `before` (a public id of this person's list;
    anything else starts at the newest). Returns the rows and the cursor of the next page."""
    query = select(Notification).where(Notification.user_id == user.id, Notification.in_app.is_(True))
    if filters.group:
        query = query.where(Notification.kind.in_(kind_names(filters.group)))
    if filters.unread:
        query = query.where(Notification.read_at.is_(None))
    if before and len(before) <= MAX_PUBLIC_ID:
        cursor = (
            await db.execute(
                select(Notification.updated_at, Notification.id).where(
                    Notification.public_id == before, Notification.user_id == user.id
                )
            )
        ).first()
        if cursor is not None:
            at, row_id = cursor
            query = query.where(
                or_(Notification.updated_at < at, and_(Notification.updated_at == at, Notification.id < row_id))
            )
    rows = list(
        (
            await db.scalars(
                query.order_by(Notification.updated_at.desc(), Notification.id.desc()).limit(PAGE_SIZE + 1)
            )
        ).all()
    )
    older = rows[PAGE_SIZE - 1].public_id if len(rows) > PAGE_SIZE else None
    return rows[:PAGE_SIZE], older


def _back(data: dict) -> str:
    """Where a plain form post returns: the list as it was filtered (its own path only)."""
    back = data.get("back")
    if isinstance(back, str) and (back == LIST_PATH or back.startswith(LIST_PATH + "?")) and safe_link(back):
        return back[:2000]
    return LIST_PATH


class NotificationController(Controller):
    path = LIST_PATH
    guards = [requires_login_admins_mfa]

    @get("/", name="notifications:list")
    async def index(self, request: Request, db: DB, user: CurrentUser) -> Response:
        """The list; htmx asks for the list block alone (its live refresh) or, with `before`,
        for the next older page to put under what is shown."""
        filters = Filters.read(request)
        before = request.query_params.get("before")
        rows, older = await page_of(db, user, filters, before)
        unread = await unread_count(db, user.id)
        context = {
            "items": [item(r) for r in rows],
            "older": older,
            "filters": filters,
            "groups": groups_for(user),
            "unread": unread,
            "before": before if rows and before else None,
            "here": filters.query(before=before) if before else filters.query(),
        }
        block = "older" if before and request.query_params.get("more") == "1" else "centre"
        return render(request, "notifications/list.html", context, block=block)

    @get("/bell", name="notifications:bell")
    async def bell(self, request: Request, db: DB, user: CurrentUser) -> Response:
        """The bell again, with the current count: it re-fetches itself on every live
        "notification" event."""
        return render(request, "notifications/_bell.html", {"unread_notifications": await unread_count(db, user.id)})

    @get("/{public_id:str}/open", name="notifications:open")
    async def open(self, request: Request, public_id: FromPath[str], db: DB, user: CurrentUser) -> Response:
        """Marks it read and goes to what it is about (a path on this site; anything else: the list)."""
        row = await _own(db, user, public_id)
        link = safe_link(row.link)
        await mark_read(db, user, public_id=row.public_id)
        await db.commit()
        return Redirect(link or LIST_PATH, status_code=HTTP_303_SEE_OTHER)

    @post("/{public_id:str}/read", name="notifications:read")
    async def read(
        self, request: Request, public_id: FromPath[str], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
        row = await _own(db, user, public_id)
        await mark_read(db, user, public_id=row.public_id)
        await db.commit()
        if is_htmx(request):
            await db.refresh(row)
            return render(request, "notifications/_item.html", {"n": item(row), "here": _back(data)})
        return Redirect(_back(data), status_code=HTTP_303_SEE_OTHER)

    @post("/read-all", name="notifications:read-all")
    async def read_all(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        changed = await mark_read(db, user)
        await db.commit()
        if changed:
            flash(request, f"Marked {changed} notification{'s' if changed != 1 else ''} as read.", category="success")
        else:
            flash(request, "Nothing was unread.", category="info")
        return see_other(request, _back(data))
