"""What a finished Google or LinkedIn round trip does to accounts: sign in, link to the signed-in
person, link to the account with the same address once its owner says yes, or make a new account.
The protocol itself (discovery, tokens, matching rules) is `oauth.py`; these verbs add the audit
event and commit, and refuse with `OAuthRefused` (a message for the person and a status)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import oauth
from app.accounts.audit import Origin, record_event
from app.accounts.forms import OAuthSignUpInput
from app.accounts.models import User
from app.accounts.oauth import Claims, Match, Provider
from app.accounts.signin import SignInOutcome
from app.errors import DomainError, FormError

SUSPENDED = (
    "Your account is suspended, so you can't sign in. If you think this is a mistake, write to support@pactline.test."
)


class OAuthRefused(DomainError):
    def __init__(self, message: str, status_code: int = 409) -> None:
        super().__init__(message)
        self.status_code = status_code


class PendingSpent(OAuthRefused):
    """The pending link or sign-up can no longer be finished: the caller forgets it."""


async def finish_sign_in(db: AsyncSession, user: User, provider: Provider, origin: Origin) -> SignInOutcome:
    """The end of every successful round trip: two-step users go on to their code."""
    if not user.is_active:
        await db.rollback()
        raise OAuthRefused(SUSPENDED, 403)
    if user.mfa_enabled_at is None:
        await record_event(db, "signed_in", user_id=user.id, request=origin, method=provider.name)
    await db.commit()
    return SignInOutcome(user, second_step=user.mfa_enabled_at is not None)


async def link_to_owner(db: AsyncSession, user: User, provider: Provider, claims: Claims, origin: Origin) -> bool:
    """Link the provider account to the signed-in person (who confirmed it recently): a confirmed
    link. False when it was already theirs."""
    try:
        _, created = await oauth.link_identity(db, user, provider, claims, confirmed=True)
    except DomainError as exc:
        await db.rollback()
        raise OAuthRefused(exc.message) from exc
    if created:
        await record_event(
            db, "oauth_linked", user_id=user.id, request=origin, provider=provider.name, email=claims.email
        )
    await db.commit()
    return created


async def confirm_link(
    db: AsyncSession, provider: Provider, claims: Claims, user_id: int, origin: Origin
) -> SignInOutcome:
    """The visitor said yes to linking the provider account to the account with its address, then
    is signed in. Linked by matching e-mail, by someone not signed in to it: not confirmed."""
    user = await db.get(User, user_id, with_for_update=True)
    # Re-check what made the offer valid: the address may have changed since the page was shown.
    match = await oauth.match_account(db, provider.name, claims)
    if user is None or match.kind is not Match.link_offered or match.user is None or match.user.id != user.id:
        await db.rollback()
        raise PendingSpent("Your account changed while you were deciding, so nothing was linked. Please sign in again.")
    if not user.is_active:
        await db.rollback()
        raise OAuthRefused(SUSPENDED, 403)
    try:
        await oauth.link_identity(db, user, provider, claims, confirmed=False)
    except DomainError as exc:
        await db.rollback()
        raise OAuthRefused(exc.message) from exc
    await record_event(db, "oauth_linked", user_id=user.id, request=origin, provider=provider.name, email=claims.email)
    return await finish_sign_in(db, user, provider, origin)


async def sign_up(
    db: AsyncSession, provider: Provider, claims: Claims, entry: OAuthSignUpInput, origin: Origin
) -> User:
    """A new account signed in through the provider. No per-IP sign-up limit here: each attempt
    costs a fresh round trip with the provider, and one provider account can only ever make one
    Pactline account. Raises FormError, or PendingSpent when the address or identity was taken."""
    try:
        user = await oauth.create_account(db, provider, claims, name=entry.name, role=entry.role)
    except FormError:
        await db.rollback()
        raise
    except DomainError as exc:
        await db.rollback()
        raise PendingSpent(f"{exc.message} Sign in instead.") from exc
    await record_event(db, "signed_up", user_id=user.id, request=origin, role=user.role, method=provider.name)
    await db.commit()
    return user
