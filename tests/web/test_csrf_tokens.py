"""Malformed CSRF tokens (non-ASCII, a file instead of a field) are refused like any bad token:
403, never a 500. Secrets compared elsewhere on request data behave the same."""

import time

import pytest

from app.platform.crypto import same_secret
from app.platform.signatures import BadSignature, sign, verify
from tests.leads.test_api import api

FORBIDDEN = "This form expired or was sent from somewhere else"


async def test_a_non_ascii_token_in_the_form_is_a_403(anonymous):
    token = await anonymous.csrf_token()
    response = await anonymous.post(
        "/login", data={"_csrf_token": token[:-1] + "é", "email": "a@b.cd", "password": "x"}
    )
    assert response.status_code == 403
    assert FORBIDDEN in response.text


async def test_a_non_ascii_token_in_the_header_is_a_403_toast(anonymous):
    await anonymous.csrf_token()
    response = await anonymous.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": ("é" * 130).encode()})
    assert response.status_code == 403
    assert FORBIDDEN in response.headers["hx-trigger"]


async def test_a_non_ascii_csrf_cookie_is_a_403(app, anonymous):
    token = await anonymous.csrf_token()
    async with api(app) as raw:  # no cookie jar: the Cookie header goes out byte for byte
        response = await raw.post(
            "/login",
            data={"_csrf_token": token, "email": "a@b.cd", "password": "x"},
            headers={"Cookie": b"pactline_csrf=" + ("ü" * 128).encode()},
        )
    assert response.status_code == 403


async def test_a_file_sent_as_the_token_is_a_403(anonymous):
    await anonymous.csrf_token()
    response = await anonymous.post(
        "/login", data={"email": "a@b.cd", "password": "x"}, files={"_csrf_token": ("token.txt", b"abc", "text/plain")}
    )
    assert response.status_code == 403


async def test_the_genuine_token_still_works(anonymous):
    response = await anonymous.post_form("/login", {"email": "nobody@example.test", "password": "x"})
    assert response.status_code == 422


def test_kyc_signatures_with_non_ascii_characters_are_just_wrong():
    body = b'{"id": "evt_1"}'
    header = sign("webhook-secret", body)
    verify("webhook-secret", body, header)
    for forged in (header[:-1] + "é", f"t={int(time.time())},v1=ü"):
        with pytest.raises(BadSignature):
            verify("webhook-secret", body, forged)


def test_same_secret_compares_any_text_without_raising():
    assert same_secret("abc", "abc") and same_secret(b"abc", "abc")
    assert not same_secret("abc", "abé") and not same_secret("state", "\ud800") and not same_secret("", "x")
