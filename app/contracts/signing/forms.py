"""The signing forms: a signature on a version (or on an amendment's version), and a change request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.web.forms import checkbox, text


@dataclass(frozen=True)
class SignatureInput:
    typed_name: str
    consent: bool
    version_hash: str  # the version the person read; signing refuses if the terms changed since


def read_signature(data: dict[str, Any]) -> SignatureInput:
    """As typed: whether the name matches the account and consent was given is the signing rules' call."""
    return SignatureInput(text(data, "typed_name"), checkbox(data, "consent"), text(data, "version_hash"))


def read_change_request(data: dict[str, Any]) -> str:
    """The message of a change request, as typed (the rules check it is there and not too long)."""
    return text(data, "message")
