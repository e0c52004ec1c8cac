"""Business-registry adapters: is this company registered, under this name, and active?

`admin` (default): nobody is asked automatically; an administrator checks the public register.
`opencorporates`: an OpenCorporates-style HTTP API is asked first; a clear match verifies the
company at once, anything else is left for an administrator with the registry's answer attached.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Protocol

import httpx

from app.config import Settings


@dataclass(frozen=True)
class RegistryAnswer:
    found: bool
    name: str | None = None
    active: bool = False
    note: str = ""


class Registry(Protocol):
    name: str

    async def look_up(self, country: str, registration_number: str) -> RegistryAnswer | None:
        """None when this adapter does not check automatically."""


class AdminReview:
    name = "admin"

    async def look_up(self, country: str, registration_number: str) -> RegistryAnswer | None:
        return None


class OpenCorporatesRegistry:
    """GET {base}/companies/{jurisdiction}/{number}?api_token=… → {"results": {"company": {...}}}."""

    name = "opencorporates"

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    async def look_up(self, country: str, registration_number: str) -> RegistryAnswer | None:
        number = re.sub(r"\s+", "", registration_number)
        url = f"{self.base_url}/companies/{country.lower()}/{number}"
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            response = await http.get(url, params={"api_token": self.token} if self.token else None)
        if response.status_code == 404:
            return RegistryAnswer(found=False, note="The registry has no company with this number.")
        response.raise_for_status()
        company = response.json().get("results", {}).get("company", {})
        status = str(company.get("current_status") or "").lower()
        active = status in ("active", "live", "registered", "") and not company.get("dissolution_date")
        return RegistryAnswer(
            found=True, name=company.get("name"), active=active, note=f"Registry status: {status or 'not given'}."
        )


def registry_for(settings: Settings) -> Registry:
    if settings.company_registry == "opencorporates" and settings.company_registry_url:
        return OpenCorporatesRegistry(settings.company_registry_url, settings.company_registry_token)
    return AdminReview()


def same_name(ours: str, theirs: str | None) -> bool:
    """Names match when they agree after case, accents, punctuation and legal forms are set aside."""
    if not theirs:
        return False
    return _simplify(ours) == _simplify(theirs)


_LEGAL_FORMS = r"\b(gmbh|ag|ltd|limited|llc|inc|sa|sas|sarl|bv|nv|srl|spa|plc|ug|kg|oy|ab|as)\b"


def _simplify(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().replace(".", "")
    text = re.sub(_LEGAL_FORMS, " ", text)
    return " ".join(re.findall(r"[a-z0-9]+", text))
