"""A real OpenID Connect provider on 127.0.0.1 for tests: discovery, authorize, token (with
client secret and PKCE checks) and JWKS, signing RS256 ID tokens with a key made at start-up.

The test decides who signs in next (`fake.next_login(...)`) and can make the provider
misbehave (`fake.tamper = "nonce" | "key" | "issuer" | "audience" | "expired" | "unsigned"`)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import warnings
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from authlib.deprecate import AuthlibDeprecationWarning
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar import Litestar, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from tests.support.threaded import ThreadedServer

with warnings.catch_warnings():  # authlib.jose is deprecated in favour of joserfc
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey, jwt


def _rsa_jwk(kid: str):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return JsonWebKey.import_key(pem, {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256"})


def _b64_json(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@dataclass
class Login:
    sub: str
    email: str | None
    email_verified: bool | None = True  # None: the claim is left out of the ID token
    name: str = "Ada Lovelace"


@dataclass
class FakeOIDC:
    clients: dict[str, str] = field(default_factory=dict)  # client_id -> secret
    url: str = ""
    tamper: str | None = None
    deny_next: bool = False  # the person presses "Cancel" at the provider
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = _rsa_jwk("fake-key-1")
        # Same kid, different key: what a forger without our key would have to use.
        self.other_key = _rsa_jwk("fake-key-1")
        self._next: Login | None = None
        self._codes: dict[str, dict[str, Any]] = {}
        self._server: ThreadedServer | None = None

    # ------------------------------------------------------------ controls for tests

    def register_client(self, client_id: str, secret: str) -> None:
        self.clients[client_id] = secret

    def next_login(
        self, sub: str, email: str | None, *, email_verified: bool | None = True, name: str = "Ada Lovelace"
    ) -> None:
        self._next = Login(sub, email, email_verified, name)

    def reset(self) -> None:
        self.tamper, self.deny_next, self._next = None, False, None
        self.authorize_requests.clear()
        self.token_requests.clear()
        self._codes.clear()

    @property
    def discovery_url(self) -> str:
        return self.url + "/.well-known/openid-configuration"

    # ------------------------------------------------------------ the provider

    def _issue_id_token(self, grant: dict[str, Any]) -> str:
        login: Login = grant["login"]
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": grant["client_id"],
            "sub": login.sub,
            "iat": now,
            "exp": now + 600,
            "nonce": grant["nonce"],
            "name": login.name,
        }
        if login.email is not None:
            claims["email"] = login.email
            if login.email_verified is not None:
                claims["email_verified"] = login.email_verified
        key = self.key
        if self.tamper == "nonce":
            claims["nonce"] = "not-the-nonce-you-sent"
        elif self.tamper == "key":
            key = self.other_key
        elif self.tamper == "issuer":
            claims["iss"] = "https://evil.example"
        elif self.tamper == "audience":
            claims["aud"] = "someone-elses-client"
        elif self.tamper == "expired":
            claims["iat"], claims["exp"] = now - 3600, now - 1800
        if self.tamper == "unsigned":
            # alg "none": a token anyone could write.
            return f"{_b64_json({'alg': 'none', 'typ': 'JWT'})}.{_b64_json(claims)}."
        header = {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
        return jwt.encode(header, claims, key).decode()

    def build_app(self) -> Litestar:
        fake = self

        @get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": fake.url,
                "authorization_endpoint": fake.url + "/authorize",
                "token_endpoint": fake.url + "/token",
                "jwks_uri": fake.url + "/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
            }

        @get("/jwks")
        async def jwks() -> dict[str, Any]:
            return {"keys": [fake.key.as_dict(is_private=False)]}

        @get("/authorize")
        async def authorize(request: Request) -> Response:
            params = dict(request.query_params)
            fake.authorize_requests.append(params)
            redirect_uri = params.get("redirect_uri", "")
            if params.get("client_id") not in fake.clients or not redirect_uri:
                return Response({"error": "invalid_client"}, status_code=400)
            back = {"state": params.get("state", "")}
            if fake.deny_next:
                back["error"] = "access_denied"
            elif (
                params.get("response_type") != "code"
                or params.get("code_challenge_method") != "S256"
                or not params.get("code_challenge")
                or "openid" not in params.get("scope", "").split()
            ):
                back["error"] = "invalid_request"
            else:
                if fake._next is None:
                    return Response({"error": "the test did not say who signs in"}, status_code=500)
                code = secrets.token_urlsafe(24)
                fake._codes[code] = {
                    "client_id": params["client_id"],
                    "redirect_uri": redirect_uri,
                    "nonce": params.get("nonce"),
                    "challenge": params["code_challenge"],
                    "login": fake._next,
                }
                back["code"] = code
            return Redirect(redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(back), status_code=302)

        @post("/token")
        async def token(
            data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
        ) -> Response:
            fake.token_requests.append(dict(data))
            if data.get("grant_type") != "authorization_code":
                return Response({"error": "unsupported_grant_type"}, status_code=400)
            client_id = data.get("client_id", "")
            if client_id not in fake.clients or not secrets.compare_digest(
                fake.clients[client_id], data.get("client_secret", "")
            ):
                return Response({"error": "invalid_client"}, status_code=401)
            grant = fake._codes.pop(data.get("code", ""), None)  # codes work once
            if grant is None or grant["client_id"] != client_id or grant["redirect_uri"] != data.get("redirect_uri"):
                return Response({"error": "invalid_grant"}, status_code=400)
            verifier = data.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if not verifier or not secrets.compare_digest(challenge, grant["challenge"]):
                return Response(
                    {"error": "invalid_grant", "error_description": "PKCE verification failed"}, status_code=400
                )
            return Response(
                {
                    "access_token": secrets.token_urlsafe(24),
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "scope": "openid email profile",
                    "id_token": fake._issue_id_token(grant),
                },
                status_code=200,
                headers={"Cache-Control": "no-store"},
            )

        return Litestar([discovery, jwks, authorize, token], openapi_config=None)

    # ------------------------------------------------------------ running it

    def start(self) -> None:
        self._server = ThreadedServer(self.build_app(), "fake-oidc")
        self.url = self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
