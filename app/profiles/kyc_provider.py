"""The hosted KYC adapter (Veriff/Onfido style): create a session, send the contractor to the
provider, and act on its signed decision webhook — re-reading the decision from the provider,
never trusting the webhook body for it.

Signature header: `X-KYC-Signature`, checked by `app.platform.signatures` (Stripe's scheme)."""

from __future__ import annotations

import httpx

SIGNATURE_HEADER = "x-kyc-signature"


class ProviderError(RuntimeError):
    """The provider did not answer as it should; the contractor is asked to try again later."""


class HostedProvider:
    def __init__(self, base_url: str, api_key: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    async def _request(self, method: str, path: str, **kwargs) -> dict:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.request(
                    method, self.base_url + path, headers={"X-API-Key": self.api_key}, **kwargs
                )
                response.raise_for_status()
                return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderError(str(exc)) from exc

    async def create_session(self, reference: str, return_url: str) -> tuple[str, str]:
        """→ (session id, the provider's page to send the contractor to)."""
        data = await self._request("POST", "/v1/sessions", json={"reference": reference, "return_url": return_url})
        session_id, url = str(data.get("id", "")), str(data.get("url", ""))
        if not session_id or not url.startswith(("https://", "http://")):
            raise ProviderError("the provider answered without a session")
        return session_id, url

    async def decision(self, session_id: str) -> tuple[str, str | None]:
        """→ ('approved' | 'declined' | anything else meaning not decided, reason)."""
        data = await self._request("GET", f"/v1/sessions/{session_id}")
        return str(data.get("status", "")), (str(data["reason"]) if data.get("reason") else None)


def provider_for(settings) -> HostedProvider | None:
    if settings.kyc_provider != "hosted":
        return None
    return HostedProvider(settings.kyc_provider_url, settings.kyc_provider_api_key)
