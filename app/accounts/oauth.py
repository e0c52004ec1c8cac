"""Sign-in with Google and LinkedIn: the OpenID Connect exchange (discovery, authorization
request with state + nonce + PKCE, code exchange, ID token verification) and the rules that
match a provider identity to a Pactline account (docs/decisions/0006-social-sign-in.md)."""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import OAuthIdentity, Role, User
from app.accounts.services import (
    EMAIL_PATTERN,
    create_user,
    get_user_by_email,
    has_control_characters,
    normalize_email,
)
from app.config import Settings
from app.db import utcnow
from app.errors import DomainError, FormError

with warnings.catch_warnings():
    # Authlib 1.x marks authlib.jose as superseded by joserfc but keeps it working until 2.0;
    # importing it must not print a warning into every process's log (see ADR 0006).
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.jose.errors import JoseError

log = logging.getLogger("pactline.oauth")

HTTP_TIMEOUT = httpx.Timeout(10.0)
# Discovery documents and key sets change rarely; an hour keeps key rotation cheap to follow
# (an unknown key also triggers one re-fetch).
CACHE_SECONDS = 3600
# Both providers sign ID tokens with RS256. Pinning it refuses "none" and HMAC-with-public-key
# tricks whatever the token header says.
ID_TOKEN_ALGORITHMS = ["RS256"]
CLOCK_SKEW_SECONDS = 120


class OAuthError(Exception):
    """The provider could not be reached, refused, or answered something we cannot trust.
    `message` is written for the person signing in; `status_code` is the page's status."""

    def __init__(self, message: str, *, status_code: int = 502) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


# ---------------------------------------------------------------- providers


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    client_id: str
    client_secret: str
    discovery_url: str
    scope: str = "openid email profile"
    extra_params: tuple[tuple[str, str], ...] = ()

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret and self.discovery_url)


def all_providers(settings: Settings) -> list[Provider]:
    return [
        Provider(
            "google",
            "Google",
            settings.google_client_id,
            settings.google_client_secret,
            settings.google_discovery_url,
            # People often have several Google accounts; let them pick instead of silently
            # using whichever one the browser is signed into.
            extra_params=(("prompt", "select_account"),),
        ),
        Provider(
            "linkedin",
            "LinkedIn",
            settings.linkedin_client_id,
            settings.linkedin_client_secret,
            settings.linkedin_discovery_url,
        ),
    ]


def configured_providers(settings: Settings) -> list[Provider]:
    """The providers whose buttons appear: only those with both client id and secret."""
    return [provider for provider in all_providers(settings) if provider.configured]


def find_provider(settings: Settings, name: str) -> Provider | None:
    return next((p for p in configured_providers(settings) if p.name == name), None)


# ---------------------------------------------------------------- discovery and keys

_discovery_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_jwks_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def _unavailable(provider: Provider) -> OAuthError:
    return OAuthError(
        f"{provider.label} isn't answering right now. Please try again in a minute, "
        "or sign in with your e-mail and password."
    )


async def _get_json(provider: Provider, url: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
            response = await http.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("oauth %s: GET %s failed: %s", provider.name, url, exc)
        raise _unavailable(provider) from exc
    if not isinstance(body, dict):
        log.warning("oauth %s: GET %s did not return a JSON object", provider.name, url)
        raise _unavailable(provider)
    return body


async def discover(provider: Provider) -> dict[str, Any]:
    """The provider's OpenID configuration, fetched once per process and kept for an hour."""
    cached = _discovery_cache.get(provider.discovery_url)
    if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    document = await _get_json(provider, provider.discovery_url)
    missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(k)]
    if missing:
        log.warning("oauth %s: discovery document lacks %s", provider.name, ", ".join(missing))
        raise _unavailable(provider)
    _discovery_cache[provider.discovery_url] = (time.monotonic(), document)
    return document


async def _key_set(provider: Provider, jwks_uri: str, *, refresh: bool = False) -> tuple[Any, bool]:
    """(key set, fetched just now)."""
    cached = _jwks_cache.get(jwks_uri)
    if cached and not refresh and time.monotonic() - cached[0] < CACHE_SECONDS:
        jwks, fresh = cached[1], False
    else:
        jwks, fresh = await _get_json(provider, jwks_uri), True
    try:
        keys = JsonWebKey.import_key_set(jwks)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        log.warning("oauth %s: unusable key set at %s: %s", provider.name, jwks_uri, exc)
        raise _unavailable(provider) from exc
    if fresh:
        _jwks_cache[jwks_uri] = (time.monotonic(), jwks)
    return keys, fresh


# ---------------------------------------------------------------- the redirect dance


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser, and the secrets to keep in the session until it comes back."""

    url: str
    state: str
    nonce: str
    verifier: str


async def authorization_request(provider: Provider, redirect_uri: str) -> AuthorizationRequest:
    document = await discover(provider)
    # state ties the callback to this browser's session (login CSRF), nonce ties the ID token
    # to this attempt (replay), and the PKCE verifier makes a stolen code useless.
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri,
        "scope": provider.scope,
        "state": state,
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
        **dict(provider.extra_params),
    }
    endpoint = document["authorization_endpoint"]
    url = endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)
    return AuthorizationRequest(url=url, state=state, nonce=nonce, verifier=verifier)


@dataclass(frozen=True)
class Claims:
    """What we take from a verified ID token."""

    sub: str
    email: str
    email_verified: bool
    name: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Claims:
        return cls(str(data["sub"]), str(data["email"]), bool(data["email_verified"]), str(data["name"]))


async def exchange_code(provider: Provider, *, code: str, redirect_uri: str, verifier: str, nonce: str) -> Claims:
    """Trade the authorization code for tokens (client_secret_post + PKCE verifier) and return
    the claims of the verified ID token. Raises OAuthError with a message for the user."""
    document = await discover(provider)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "code_verifier": verifier,
    }
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
            response = await http.post(document["token_endpoint"], data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        log.warning("oauth %s: token request failed: %s", provider.name, exc)
        raise _unavailable(provider) from exc
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not response.is_success or not isinstance(body, dict) or not body.get("id_token"):
        # The provider's error code goes to the log, not to the person: it means nothing to them.
        error = body.get("error") if isinstance(body, dict) else None
        log.warning("oauth %s: token endpoint answered %s (%s)", provider.name, response.status_code, error)
        raise OAuthError(
            f"{provider.label} did not confirm this sign-in. Please start again; "
            "if it keeps happening, sign in with your e-mail and password."
        )
    return await verify_id_token(provider, document, str(body["id_token"]), nonce)


def _rejected(provider: Provider) -> OAuthError:
    return OAuthError(
        f"We couldn't confirm that this sign-in really came from {provider.label}, "
        "so we stopped for your safety. Please start again."
    )


async def verify_id_token(provider: Provider, document: dict[str, Any], id_token: str, nonce: str) -> Claims:
    """Signature against the provider's published keys, then iss, aud, exp, iat and nonce."""
    jwt = JsonWebToken(ID_TOKEN_ALGORITHMS)
    options = {
        "iss": {"essential": True, "value": document["issuer"]},
        "aud": {"essential": True, "value": provider.client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "nonce": {"essential": True, "value": nonce},
    }
    keys, fresh = await _key_set(provider, document["jwks_uri"])
    try:
        claims = jwt.decode(id_token, keys, claims_options=options)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        if fresh:
            log.warning("oauth %s: ID token signature rejected: %s", provider.name, exc)
            raise _rejected(provider) from exc
        # The provider may have rotated its keys since we cached them: look once more.
        keys, _ = await _key_set(provider, document["jwks_uri"], refresh=True)
        try:
            claims = jwt.decode(id_token, keys, claims_options=options)
        except (JoseError, ValueError, TypeError, KeyError) as again:
            log.warning("oauth %s: ID token signature rejected: %s", provider.name, again)
            raise _rejected(provider) from again
    try:
        claims.validate(leeway=CLOCK_SKEW_SECONDS)
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        # OIDC core 3.1.3.7: with several audiences, azp must name us.
        if len(audiences) > 1 and claims.get("azp") != provider.client_id:
            raise ValueError("azp does not name this client")
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        log.warning("oauth %s: ID token claims rejected: %s", provider.name, exc)
        raise _rejected(provider) from exc
    email = normalize_email(str(claims.get("email") or ""))
    return Claims(
        sub=str(claims["sub"]),
        email=email if EMAIL_PATTERN.match(email) else "",
        # Some providers send the JSON string "true"; anything else is not a confirmation.
        email_verified=claims.get("email_verified") in (True, "true"),
        name=str(claims.get("name") or "").strip()[:200],
    )


# ---------------------------------------------------------------- matching identities to accounts


class Match(StrEnum):
    known = "known"  # this provider account is linked: sign that user in
    link_offered = "link_offered"  # same verified e-mail as an account: ask before linking
    provider_email_unverified = "provider_email_unverified"  # the provider hasn't verified the address
    account_email_unconfirmed = "account_email_unconfirmed"  # same e-mail, our account never confirmed it
    no_email = "no_email"  # the provider did not share an e-mail address
    new = "new"  # nobody has this e-mail: offer to create an account


@dataclass(frozen=True)
class AccountMatch:
    kind: Match
    user: User | None = None


async def find_identity(db: AsyncSession, provider: str, subject: str) -> OAuthIdentity | None:
    return await db.scalar(
        select(OAuthIdentity).where(OAuthIdentity.provider == provider, OAuthIdentity.subject == subject)
    )


async def match_account(db: AsyncSession, provider: str, claims: Claims) -> AccountMatch:
    """Who a visitor coming back from a provider is. Linking by e-mail is only offered when both
    sides have proven the address: otherwise whoever registered it first could take the other's
    account (see ADR 0006). An address the provider has not verified never creates or links an
    account, whether or not one uses it (ADR 0018): the answer is the same either way."""
    identity = await find_identity(db, provider, claims.sub)
    if identity is not None:
        return AccountMatch(Match.known, await db.get(User, identity.user_id))
    if not claims.email:
        return AccountMatch(Match.no_email)
    if not claims.email_verified:
        return AccountMatch(Match.provider_email_unverified)
    user = await get_user_by_email(db, claims.email)
    if user is None:
        return AccountMatch(Match.new)
    if user.email_verified_at is None:
        return AccountMatch(Match.account_email_unconfirmed, user)
    return AccountMatch(Match.link_offered, user)


class IdentityTaken(DomainError):
    def __init__(self, label: str) -> None:
        super().__init__(
            f"This {label} account is already linked to another Pactline account. "
            f"Sign in to that account with {label}, or use a different {label} account."
        )


async def link_identity(
    db: AsyncSession, user: User, provider: Provider, claims: Claims, *, confirmed: bool
) -> tuple[OAuthIdentity, bool]:
    """(identity, created). Linking twice to the same user is harmless; to another user it is not.
    `confirmed`: the owner linked it while signed in to the account (or created the account with
    it); links made by matching e-mail are not, and a password reset removes them (ADR 0018)."""
    existing = await find_identity(db, provider.name, claims.sub)
    if existing is not None:
        if existing.user_id != user.id:
            raise IdentityTaken(provider.label)
        if confirmed and existing.confirmed_at is None:
            existing.confirmed_at = utcnow()
        return existing, False
    identity = OAuthIdentity(
        user_id=user.id,
        provider=provider.name,
        subject=claims.sub,
        email=claims.email,
        confirmed_at=utcnow() if confirmed else None,
    )
    try:
        async with db.begin_nested():
            db.add(identity)
    except IntegrityError as exc:  # someone linked it a moment ago
        raise IdentityTaken(provider.label) from exc
    return identity, True


SIGNUP_ROLES = {"client": Role.client, "contractor": Role.contractor}


async def create_account(db: AsyncSession, provider: Provider, claims: Claims, *, name: str, role: str) -> User:
    """A new account without a password, signed in through the provider from now on.
    Raises FormError for bad input and DomainError when the address was taken meanwhile."""
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = ["Enter your name."]
    elif len(name) > 200:
        errors["name"] = ["Use at most 200 characters."]
    elif has_control_characters(name):
        errors["name"] = ["Use letters, spaces and punctuation only."]
    if role not in SIGNUP_ROLES:
        errors["role"] = ["Choose whether you want to hire or to work."]
    if errors:
        raise FormError(errors)
    if not claims.email_verified:
        raise DomainError(
            f"{provider.label} hasn't confirmed your e-mail address, so we can't create an account with it."
        )
    if await find_identity(db, provider.name, claims.sub) is not None:
        raise IdentityTaken(provider.label)
    user = await create_user(db, email=claims.email, name=name, role=SIGNUP_ROLES[role], password=None, verified=True)
    await link_identity(db, user, provider, claims, confirmed=True)
    return user
