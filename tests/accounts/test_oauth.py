"""Google sign-in end to end against a local OpenID provider: new accounts, returning users,
linking by verified e-mail only after confirmation, and every way the round trip must fail."""

import dataclasses
import json
import re
import socket
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import func, select

from app.accounts import oauth
from app.accounts.mfa import enable as enable_mfa
from app.accounts.mfa import totp
from app.accounts.models import AccountEvent, OAuthIdentity, Role, User
from app.accounts.sessions import SESSION_COOKIE
from app.admin.services import suspend
from app.asgi import create_app
from tests.accounts.helpers import age_session, link_in
from tests.conftest import lifespan_of, web_client
from tests.support.factories import PASSWORD, make_user

CLIENT_ID, CLIENT_SECRET = "pactline-test-client", "pactline-test-secret"
MFA_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture(scope="module")
async def google_app(settings, fake_oidc):
    """The app with Google configured and pointed at the fake provider."""
    fake_oidc.register_client(CLIENT_ID, CLIENT_SECRET)
    configured = dataclasses.replace(
        settings,
        google_client_id=CLIENT_ID,
        google_client_secret=CLIENT_SECRET,
        google_discovery_url=fake_oidc.discovery_url,
        run_worker_in_process=False,
    )
    application = create_app(configured)
    async with lifespan_of(application):
        yield application


@pytest.fixture
async def browser(app, google_app, fake_oidc):
    fake_oidc.reset()
    async with web_client(google_app) as c:
        yield c


async def go_to_provider(c, fake, *, next: str | None = None) -> str:
    """Start on Pactline, let the provider answer; the URL the provider sends the browser back to."""
    start = await c.get("/auth/google/start" + (f"?{urlencode({'next': next})}" if next else ""))
    assert start.status_code == 303, start.text[:500]
    assert start.headers["location"].startswith(fake.url + "/authorize?")
    return await provider_answer(fake, start.headers["location"])


async def provider_answer(fake, authorize_url: str) -> str:
    async with httpx.AsyncClient() as at_provider:
        answer = await at_provider.get(authorize_url)
    assert answer.status_code == 302, answer.text[:300]
    back = urlsplit(answer.headers["location"])
    assert back.path == "/auth/google/callback"
    return f"{back.path}?{back.query}"


async def round_trip(
    c, fake, *, sub: str, email: str | None, verified: bool = True, name: str = "Ada Lovelace", next: str | None = None
):
    fake.next_login(sub, email, email_verified=verified, name=name)
    return await c.get(await go_to_provider(c, fake, next=next))


async def count_rows(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


async def is_signed_in(c) -> bool:
    return (await c.get("/dashboard")).status_code == 200


async def identity_for(db, subject: str) -> OAuthIdentity | None:
    query = select(OAuthIdentity).where(OAuthIdentity.provider == "google", OAuthIdentity.subject == subject)
    return await db.scalar(query.execution_options(populate_existing=True))


async def link_existing(db, user: User, subject: str, *, confirmed: bool = True) -> None:
    """A Google account already linked to `user` (through the same service the pages use);
    `confirmed=False` is one linked by matching e-mail rather than from settings."""
    google = oauth.Provider("google", "Google", CLIENT_ID, CLIENT_SECRET, "http://unused.test")
    await oauth.link_identity(db, user, google, oauth.Claims(subject, user.email, True, user.name), confirmed=confirmed)
    await db.commit()


def text_of(response) -> str:
    return response.text.replace("&#39;", "'").replace("&#34;", '"').replace("&amp;", "&")


# ---------------------------------------------------------------- buttons and configuration


async def test_without_configuration_there_are_no_buttons_and_no_routes(anonymous):
    page = await anonymous.get("/login")
    assert page.status_code == 200
    assert "Continue with" not in page.text
    assert "Continue with" not in (await anonymous.get("/signup")).text
    assert (await anonymous.get("/auth/google/start")).status_code == 404
    assert (await anonymous.get("/auth/linkedin/start")).status_code == 404
    assert (await anonymous.get("/auth/google/callback?code=x&state=y")).status_code == 404


async def test_configured_google_shows_its_button_and_only_its_button(browser):
    page = await browser.get("/login?next=/settings")
    assert "Continue with Google" in page.text
    assert 'href="/auth/google/start?next=/settings"' in page.text
    assert "Continue with LinkedIn" not in page.text
    signup = await browser.get("/signup")
    assert 'href="/auth/google/start?next=/dashboard"' in signup.text
    assert (await browser.get("/auth/linkedin/start")).status_code == 404


async def test_the_authorization_request_carries_state_nonce_and_pkce(browser, fake_oidc):
    start = await browser.get("/auth/google/start")
    params = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"].endswith("/auth/google/callback")
    assert set(params["scope"].split()) >= {"openid", "email", "profile"}
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    # A second start gets fresh secrets.
    again = parse_qs(urlsplit((await browser.get("/auth/google/start")).headers["location"]).query)
    assert again["state"][0] != params["state"] and again["nonce"][0] != params["nonce"]


# ---------------------------------------------------------------- new accounts


async def test_a_new_person_creates_an_account_with_google_after_choosing_a_role(browser, fake_oidc, db):
    arrived = await round_trip(browser, fake_oidc, sub="g-new-1", email="Ada@Example.test", name="Ada Lovelace")
    assert arrived.status_code == 303 and arrived.headers["location"] == "/auth/signup/complete"
    assert await count_rows(db, User) == 0, "nothing is created before the person chooses"

    page = await browser.get("/auth/signup/complete")
    assert page.status_code == 200
    html = text_of(page)
    assert "Finish creating your account" in html and "ada@example.test" in html
    assert "I want to hire" in html and "I want to work" in html
    assert 'type="radio" name="role" value="client"' in html and 'name="_csrf_token"' in html
    assert '<label class="field__label" for="field-name">Your full name</label>' in html
    assert 'value="Ada Lovelace"' in html

    done = await browser.post_form("/auth/signup/complete", {"role": "contractor", "name": "Ada Lovelace"})
    assert done.status_code == 303, done.text[:500]
    assert done.headers["location"] == "/dashboard?welcome=1"
    user = await db.scalar(select(User).where(User.email == "ada@example.test"))
    assert user.role == Role.contractor and user.name == "Ada Lovelace"
    assert user.password_hash is None, "a Google-only account has no password"
    assert user.email_verified_at is not None, "Google verified the address"
    identity = await identity_for(db, "g-new-1")
    assert identity.user_id == user.id and identity.email == "ada@example.test"
    assert await is_signed_in(browser)
    event = await db.scalar(select(AccountEvent).where(AccountEvent.kind == "signed_up"))
    assert event.user_id == user.id and event.data["method"] == "google"

    # The token request used client_secret_post and sent the PKCE verifier.
    sent = fake_oidc.token_requests[-1]
    assert sent["client_secret"] == CLIENT_SECRET and len(sent["code_verifier"]) >= 43


async def test_finishing_the_account_needs_a_role(browser, fake_oidc, db):
    await round_trip(browser, fake_oidc, sub="g-new-2", email="grace@example.test")
    missing = await browser.post_form("/auth/signup/complete", {"name": "Grace"})
    assert missing.status_code == 422
    assert "Choose whether you want to hire or to work." in missing.text
    assert await count_rows(db, User) == 0 and await count_rows(db, OAuthIdentity) == 0
    assert not await is_signed_in(browser)


UNVERIFIED_MESSAGE = "Google hasn't confirmed that {email} is your address"


@pytest.mark.parametrize("verified", [False, None], ids=["email_verified-false", "email_verified-missing"])
async def test_an_unverified_google_address_never_creates_an_account(browser, fake_oidc, db, verified):
    fake_oidc.next_login("g-new-3", "unverified@example.test", email_verified=verified)
    refused = await browser.get(await go_to_provider(browser, fake_oidc))
    # Back on the sign-in page, with the reason in plain words.
    assert refused.status_code == 303 and refused.headers["location"] == "/login"
    page = await browser.get("/login")
    assert UNVERIFIED_MESSAGE.format(email="unverified@example.test") in text_of(page)
    assert 'name="password"' in page.text
    assert await count_rows(db, User) == 0 and await count_rows(db, OAuthIdentity) == 0
    assert not await is_signed_in(browser)
    # No pending sign-up behind the refusal either.
    sneaky = await browser.post_form("/auth/signup/complete", {"role": "client", "name": "Una"})
    assert sneaky.status_code == 303 and sneaky.headers["location"] == "/login"
    assert await count_rows(db, User) == 0


# ---------------------------------------------------------------- returning users


async def test_a_returning_user_signs_in_by_their_linked_google_account(browser, fake_oidc, db):
    user = await make_user(db, name="Grace Hopper", email="grace@example.test")
    await link_existing(db, user, "g-grace")
    # The Google address may have changed since: the subject is what identifies the person.
    arrived = await round_trip(browser, fake_oidc, sub="g-grace", email="grace.hopper@elsewhere.test", next="/settings")
    assert arrived.status_code == 303 and arrived.headers["location"] == "/settings"
    dashboard = await browser.get("/dashboard")
    assert dashboard.status_code == 200 and "Grace Hopper" in dashboard.text
    event = await db.scalar(select(AccountEvent).where(AccountEvent.kind == "signed_in"))
    assert event.user_id == user.id and event.data["method"] == "google"
    assert await count_rows(db, User) == 1


async def test_a_user_with_two_step_sign_in_still_enters_a_code(browser, google_app, fake_oidc, db):
    user = await make_user(db, email="careful@example.test")
    await enable_mfa(db, user, MFA_SECRET, google_app.state.settings.secret_key)
    await db.commit()
    await link_existing(db, user, "g-careful")
    arrived = await round_trip(browser, fake_oidc, sub="g-careful", email=user.email)
    assert arrived.status_code == 303 and arrived.headers["location"] == "/login/mfa"
    assert not await is_signed_in(browser), "not signed in before the second step"
    code = await browser.post_form("/login/mfa", {"code": totp(MFA_SECRET).now()})
    assert code.status_code == 303
    assert await is_signed_in(browser)


async def test_a_suspended_user_is_refused(browser, fake_oidc, db):
    admin = await make_user(db, role=Role.admin)
    user = await make_user(db, email="gone@example.test")
    await link_existing(db, user, "g-gone")
    await suspend(db, admin, user.id, "spam")
    await db.commit()
    refused = await round_trip(browser, fake_oidc, sub="g-gone", email=user.email)
    assert refused.status_code == 403
    assert "Your account is suspended" in refused.text
    assert not await is_signed_in(browser)


# ---------------------------------------------------------------- linking to an existing account


async def test_a_verified_address_is_linked_only_after_the_person_confirms(browser, google_app, fake_oidc, db):
    user = await make_user(db, email="linda@example.test", name="Linda", verified=True)
    arrived = await round_trip(browser, fake_oidc, sub="g-linda", email="linda@example.test")
    assert arrived.status_code == 303 and arrived.headers["location"] == "/auth/link/confirm"

    page = await browser.get("/auth/link/confirm")
    assert page.status_code == 200
    assert "Link your Google account to the Pactline account for <strong>linda@example.test</strong>?" in page.text
    assert 'method="post"' in page.text and 'name="_csrf_token"' in page.text
    # Not linked, not signed in, until the button is pressed.
    assert await identity_for(db, "g-linda") is None
    assert not await is_signed_in(browser)

    confirmed = await browser.post_form("/auth/link/confirm")
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/dashboard"
    identity = await identity_for(db, "g-linda")
    assert identity is not None and identity.user_id == user.id
    assert await is_signed_in(browser)
    kinds = set(await db.scalars(select(AccountEvent.kind).where(AccountEvent.user_id == user.id)))
    assert {"oauth_linked", "signed_in"} <= kinds
    # Next time, Google alone signs Linda in.
    async with web_client(google_app) as later:
        again = await round_trip(later, fake_oidc, sub="g-linda", email="linda@example.test")
        assert again.headers["location"] == "/dashboard" and await is_signed_in(later)


async def test_confirming_a_link_needs_the_csrf_token(browser, fake_oidc, db):
    await make_user(db, email="csrf@example.test")
    await round_trip(browser, fake_oidc, sub="g-csrf", email="csrf@example.test")
    forged = await browser.post("/auth/link/confirm")
    assert forged.status_code == 403
    assert await identity_for(db, "g-csrf") is None


async def test_an_unverified_google_address_is_never_linked(browser, fake_oidc, db):
    await make_user(db, email="victim@example.test")
    refused = await round_trip(browser, fake_oidc, sub="g-attacker", email="victim@example.test", verified=False)
    assert refused.status_code == 303 and refused.headers["location"] == "/login"
    page = text_of(await browser.get("/login"))
    assert UNVERIFIED_MESSAGE.format(email="victim@example.test") in page
    # The same words as for an unknown address: the refusal does not tell that an account exists.
    assert "already uses" not in page
    assert await count_rows(db, OAuthIdentity) == 0
    assert not await is_signed_in(browser)
    # And there is no pending link to confirm behind the refusal.
    sneaky = await browser.post_form("/auth/link/confirm")
    assert sneaky.status_code == 303 and sneaky.headers["location"] == "/login"
    assert await count_rows(db, OAuthIdentity) == 0


async def test_an_account_that_never_confirmed_its_address_is_not_linked(browser, fake_oidc, db):
    # Someone registered this address with a password without proving it is theirs.
    await make_user(db, email="squatted@example.test", verified=False)
    refused = await round_trip(browser, fake_oidc, sub="g-owner", email="squatted@example.test")
    assert refused.status_code == 409
    assert "never confirmed its address" in text_of(refused)
    assert await count_rows(db, OAuthIdentity) == 0
    assert not await is_signed_in(browser)


async def test_a_signed_in_user_links_google_to_their_own_account(browser, fake_oidc, db):
    user = await make_user(db, email="me@example.test")
    await browser.sign_in(user.email)
    # The Google address does not have to match the Pactline one when you are signed in.
    arrived = await round_trip(browser, fake_oidc, sub="g-mine", email="me.personal@gmail.test", next="/settings")
    assert arrived.status_code == 303 and arrived.headers["location"] == "/settings"
    identity = await identity_for(db, "g-mine")
    assert identity is not None and identity.user_id == user.id
    assert await db.scalar(
        select(AccountEvent).where(AccountEvent.kind == "oauth_linked", AccountEvent.user_id == user.id)
    )


async def test_a_google_account_linked_to_someone_else_is_not_moved(browser, fake_oidc, db):
    owner = await make_user(db, email="owner@example.test")
    await link_existing(db, owner, "g-shared")
    other = await make_user(db, email="other@example.test")
    await browser.sign_in(other.email)
    refused = await round_trip(browser, fake_oidc, sub="g-shared", email="owner@example.test")
    assert refused.status_code == 409
    assert "already linked to another Pactline account" in refused.text
    identity = await identity_for(db, "g-shared")
    assert identity.user_id == owner.id
    assert await count_rows(db, OAuthIdentity) == 1


# ---------------------------------------------------------------- the round trip must not be bent


async def test_a_wrong_state_is_refused_and_nothing_happens(browser, fake_oidc, db):
    fake_oidc.next_login("g-x", "x@example.test")
    callback = await go_to_provider(browser, fake_oidc)
    forged = re.sub(r"state=[^&]+", "state=forged-state", callback)
    response = await browser.get(forged)
    assert response.status_code == 400
    assert "didn't start in this browser" in text_of(response)
    assert 'href="/login"' in response.text
    assert not await is_signed_in(browser)
    assert await count_rows(db, User) == 0 and await count_rows(db, OAuthIdentity) == 0
    assert fake_oidc.token_requests == [], "the code is never exchanged"


async def test_a_callback_from_someone_elses_round_trip_is_refused(app, google_app, fake_oidc, db):
    # Login CSRF: an attacker starts a sign-in and makes the victim's browser finish it.
    fake_oidc.reset()
    fake_oidc.next_login("g-attacker", "attacker@example.test")
    async with web_client(google_app) as attacker, web_client(google_app) as victim:
        callback = await go_to_provider(attacker, fake_oidc)
        response = await victim.get(callback)
        assert response.status_code == 400
        assert not await is_signed_in(victim)
    assert await count_rows(db, User) == 0 and await count_rows(db, OAuthIdentity) == 0


async def test_a_callback_works_only_once(browser, fake_oidc, db):
    user = await make_user(db, email="once@example.test")
    await link_existing(db, user, "g-once")
    fake_oidc.next_login("g-once", user.email)
    callback = await go_to_provider(browser, fake_oidc)
    assert (await browser.get(callback)).status_code == 303
    assert (await browser.get(callback)).status_code == 400


@pytest.mark.parametrize("tamper", ["nonce", "key", "issuer", "audience", "expired", "unsigned"])
async def test_a_tampered_id_token_is_refused(browser, fake_oidc, db, tamper):
    user = await make_user(db, email="target@example.test")
    await link_existing(db, user, "g-target")
    fake_oidc.tamper = tamper
    refused = await round_trip(browser, fake_oidc, sub="g-target", email=user.email)
    assert refused.status_code == 502
    assert "couldn't confirm that this sign-in really came from Google" in text_of(refused)
    assert "Traceback" not in refused.text
    assert not await is_signed_in(browser)
    assert not await db.scalar(select(AccountEvent).where(AccountEvent.kind == "signed_in"))


async def test_a_wrong_pkce_verifier_is_refused_by_the_provider(browser, fake_oidc, db):
    user = await make_user(db, email="pkce@example.test")
    await link_existing(db, user, "g-pkce")
    fake_oidc.next_login("g-pkce", user.email)
    start = await browser.get("/auth/google/start")
    # Someone swapped the challenge on the way to the provider: our verifier no longer fits it.
    swapped = re.sub(
        r"code_challenge=[^&]+", "code_challenge=" + create_s256_code_challenge("x" * 64), start.headers["location"]
    )
    callback = await provider_answer(fake_oidc, swapped)
    refused = await browser.get(callback)
    assert refused.status_code == 502
    assert "Google did not confirm this sign-in" in refused.text
    assert fake_oidc.token_requests[-1]["code_verifier"], "the verifier was sent"
    assert not await is_signed_in(browser)


async def test_cancelling_at_google_comes_back_to_the_sign_in_page_with_a_message(browser, fake_oidc, db):
    fake_oidc.deny_next = True
    fake_oidc.next_login("g-shy", "shy@example.test")
    back = await browser.get(await go_to_provider(browser, fake_oidc))
    assert back.status_code == 303 and back.headers["location"] == "/login"
    page = await browser.get("/login")
    assert "You didn't finish signing in with Google" in text_of(page)
    assert await count_rows(db, User) == 0


async def test_an_unreachable_provider_gives_a_friendly_error(app, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    down = create_app(
        dataclasses.replace(
            settings,
            google_client_id=CLIENT_ID,
            google_client_secret=CLIENT_SECRET,
            google_discovery_url=f"http://127.0.0.1:{closed_port}/.well-known/openid-configuration",
            run_worker_in_process=False,
        )
    )
    async with lifespan_of(down), web_client(down) as c:
        response = await c.get("/auth/google/start")
        assert response.status_code == 502
        assert "Google isn't answering right now" in text_of(response)
        assert "Traceback" not in response.text


async def test_linking_from_an_old_session_first_asks_to_confirm_it_is_you(browser, google_app, fake_oidc, db):
    user = await make_user(db, email="stale@example.test")
    await browser.sign_in(user.email)
    # Pretend the sign-in happened an hour ago (a session left open on a shared computer).
    key = f"sessions:{browser.cookies.get(SESSION_COOKIE)}"
    data = json.loads(await google_app.state.redis.get(key))
    data["auth_at"] -= 3600
    await google_app.state.redis.set(key, json.dumps(data), keepttl=True)

    asked = await browser.get("/auth/google/start?next=/settings")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/settings/confirm?next=/auth/google/start%3Fnext%3D/settings"
    confirmed = await browser.post_form(
        "/settings/confirm", {"password": PASSWORD, "next": "/auth/google/start?next=/settings"}
    )
    assert confirmed.headers["location"] == "/auth/google/start?next=/settings"
    fake_oidc.next_login("g-stale", "stale.personal@gmail.test")
    back = await browser.get(await go_to_provider(browser, fake_oidc, next="/settings"))
    assert back.status_code == 303 and back.headers["location"] == "/settings"
    assert (await identity_for(db, "g-stale")).user_id == user.id


async def test_pending_pages_without_a_round_trip_send_you_to_sign_in(browser, db):
    for path in ("/auth/link/confirm", "/auth/signup/complete"):
        page = await browser.get(path)
        assert page.status_code == 303 and page.headers["location"] == "/login"
    posted = await browser.post_form("/auth/signup/complete", {"role": "client", "name": "Nobody"})
    assert posted.status_code == 303 and posted.headers["location"] == "/login"
    assert await count_rows(db, User) == 0


# ---------------------------------------------------------------- password reset and confirmed links

NEW_PASSWORD = "marmalade velvet comet 77"


async def reset_password(c, smtp_server, email: str) -> str:
    """Reset through the e-mailed link, as the owner of the address would; the login page after it."""
    smtp_server.messages.clear()
    await c.post_form("/reset", {"email": email})
    link = link_in((await smtp_server.wait_for(1))[0], "/reset/")
    done = await c.post_form(link, {"password": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/login?reason=reset"
    return text_of(await c.get(done.headers["location"]))


async def test_a_password_reset_removes_a_google_link_made_by_matching_email(
    browser, google_app, fake_oidc, db, smtp_server
):
    user = await make_user(db, email="linked.by.email@example.test")
    await round_trip(browser, fake_oidc, sub="g-by-email", email=user.email)
    assert (await browser.post_form("/auth/link/confirm")).status_code == 303
    identity = await identity_for(db, "g-by-email")
    assert identity.user_id == user.id and identity.confirmed_at is None, "linked by e-mail: not confirmed"
    await browser.post_form("/logout")

    page = await reset_password(browser, smtp_server, user.email)
    assert await identity_for(db, "g-by-email") is None
    assert "we also disconnected Google sign-in" in page
    assert await db.scalar(
        select(AccountEvent).where(AccountEvent.kind == "oauth_unlinked", AccountEvent.user_id == user.id)
    )
    # That Google account no longer opens the account by itself: it is offered as a new link.
    async with web_client(google_app) as later:
        again = await round_trip(later, fake_oidc, sub="g-by-email", email=user.email)
        assert again.headers["location"] == "/auth/link/confirm" and not await is_signed_in(later)


async def test_a_google_link_made_while_signed_in_survives_a_password_reset(browser, fake_oidc, db, smtp_server):
    user = await make_user(db, email="linked.in.settings@example.test")
    await browser.sign_in(user.email)
    await round_trip(browser, fake_oidc, sub="g-settings", email="personal@gmail.test", next="/settings")
    assert (await identity_for(db, "g-settings")).confirmed_at is not None
    await browser.post_form("/logout")

    page = await reset_password(browser, smtp_server, user.email)
    assert (await identity_for(db, "g-settings")).user_id == user.id
    assert "disconnected" not in page


async def test_an_account_made_with_google_keeps_its_google_link_after_a_reset(browser, fake_oidc, db, smtp_server):
    await round_trip(browser, fake_oidc, sub="g-origin", email="origin@example.test")
    await browser.post_form("/auth/signup/complete", {"role": "client", "name": "Orla"})
    assert (await identity_for(db, "g-origin")).confirmed_at is not None
    await browser.post_form("/logout")
    await reset_password(browser, smtp_server, "origin@example.test")
    assert await identity_for(db, "g-origin") is not None


async def test_a_password_less_account_confirms_by_signing_in_again(browser, google_app, fake_oidc, db):
    await round_trip(browser, fake_oidc, sub="g-nopw", email="nopw@example.test")
    await browser.post_form("/auth/signup/complete", {"role": "client", "name": "Noa"})
    # Just signed in with Google: that is the confirmation for turning on two-step sign-in.
    assert (await browser.get("/settings/mfa")).status_code == 200

    await age_session(google_app, browser)
    asked = await browser.get("/settings/mfa")
    assert asked.status_code == 303 and asked.headers["location"] == "/settings/confirm?next=/settings/mfa"
    page = text_of(await browser.get(asked.headers["location"]))
    assert "Your account has no password" in page and "Sign out" in page
    assert 'name="password"' not in page


async def test_hostile_values_on_the_google_pages_get_no_server_error(browser, fake_oidc, db):
    from tests.accounts.test_hostile_input import MEGABYTE, VALUES

    for value in VALUES:
        if len(value) > 10_000:
            value = value[:10_000]  # a URL cannot carry a megabyte; the server would refuse it first
        for query in ({"code": value, "state": value}, {"error": value}, {"state": value}):
            answer = await browser.get("/auth/google/callback", params=query)
            assert answer.status_code < 500, (query.keys(), answer.status_code)
    await round_trip(browser, fake_oidc, sub="g-hostile", email="hostile@example.test")
    refused_names = ["\x00", "Ha\x00na", MEGABYTE, "a" * 201]
    for form in [{"name": name, "role": "client"} for name in refused_names] + [
        {"name": "Hana", "role": value} for value in VALUES
    ]:
        answer = await browser.post_form("/auth/signup/complete", form)
        # A NUL byte is refused for the whole request (400) before the form is read.
        expected = 400 if "\x00" in form["name"] + form["role"] else 422
        assert answer.status_code == expected, (form["role"][:20], form["name"][:20], answer.status_code)
    assert await count_rows(db, User) == 0
