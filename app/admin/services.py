"""Admin actions on accounts."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.audit import record_event
from app.accounts.emails import notify, send_link
from app.accounts.models import Role, TokenPurpose, User, UserStatus
from app.accounts.services import RESET_LIFETIME, create_user
from app.accounts.tokens import issue_one_time_token
from app.admin.forms import NewAdminInput
from app.errors import DomainError, NotFound


async def suspend(session: AsyncSession, admin: User, user_id: int, reason: str, request=None) -> User:
    """`reason` is for the admins only: plain words (admin.forms.read_suspension checks what a form sends)."""
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound(user_id)
    if user.id == admin.id:
        raise DomainError("You cannot suspend your own account.")
    if user.status == UserStatus.suspended:
        raise DomainError("This account is already suspended.")
    user.status = UserStatus.suspended
    user.suspended_reason = reason
    user.session_epoch += 1  # signed out everywhere, at their next request
    await record_event(session, "user_suspended", user_id=user.id, actor_id=admin.id, request=request, reason=reason)
    # They learn it from us, not from a failed sign-in (the reason stays with the admins).
    notify(session, user, "account_suspended")
    return user


async def reactivate(session: AsyncSession, admin: User, user_id: int, request=None) -> User:
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound(user_id)
    if user.status == UserStatus.active:
        raise DomainError("This account is already active.")
    user.status = UserStatus.active
    user.suspended_reason = None
    await record_event(session, "user_reactivated", user_id=user.id, actor_id=admin.id, request=request)
    return user


async def create_admin(
    session: AsyncSession, admin: User, data: NewAdminInput, *, secret_key: str, request=None
) -> User:
    """A new admin gets an unguessable password they never see; they set their own through the
    reset link we e-mail (which also tells them who added them), then must set up two-step
    sign-in before the console opens."""
    user = await create_user(
        session, email=data.email, name=data.name, role=Role.admin, password=secrets.token_urlsafe(32), verified=True
    )
    row = await issue_one_time_token(session, secret_key, user.id, TokenPurpose.password_reset, RESET_LIFETIME)
    send_link(session, row, "admin_invite", added_by=admin.name)
    await record_event(session, "admin_created", user_id=user.id, actor_id=admin.id, request=request)
    return user
