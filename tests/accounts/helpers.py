"""Shared steps for account tests."""

import re


def link_in(message, path_prefix: str) -> str:
    """The path of the first link under `path_prefix` in an e-mail's text part."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(rf"https?://[^\s/]+({re.escape(path_prefix)}[^\s]+)", text)
    assert match, f"no {path_prefix} link in:\n{text}"
    return match.group(1)


def next_code(secret: str) -> str:
    """The code of the next 30-second step (accepted now: one step of drift either way). Each
    code is accepted once, so a test that used the current one continues with this one."""
    import time

    from app.accounts.mfa import totp

    return totp(secret).at(time.time() + 30)


async def age_session(app, c, seconds: int = 3600) -> None:
    """Pretend this browser signed in and last confirmed it was them `seconds` ago."""
    import json

    from app.accounts.sessions import SESSION_COOKIE

    key = f"sessions:{c.cookies.get(SESSION_COOKIE)}"
    data = json.loads(await app.state.redis.get(key))
    for name in ("auth_at", "reauth_at", "mfa_at"):
        if name in data:
            data[name] -= seconds
    await app.state.redis.set(key, json.dumps(data), keepttl=True)


def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


_DEVICE_ROW = re.compile(r'<tr data-device="([^"]*)">(.*?)</tr>', re.S)


def device_handles(settings_html: str) -> dict[str, bool]:
    """The devices listed on /settings: handle -> is this the device that asked."""
    return {handle: "(This device)" in row for handle, row in _DEVICE_ROW.findall(settings_html)}


async def reset_token(db, app, user_id: int) -> str:
    """A working password-reset token for `user_id`, made the way the e-mail's sender makes it."""
    from datetime import timedelta

    from app.accounts.models import TokenPurpose
    from app.accounts.tokens import issue_one_time_token, token_of

    secret = app.state.settings.secret_key
    row = await issue_one_time_token(db, secret, user_id, TokenPurpose.password_reset, timedelta(hours=1))
    return token_of(secret, row)
