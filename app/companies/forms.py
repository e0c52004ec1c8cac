"""Company forms: the company's details and an invitation, read into typed inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.accounts.services import EMAIL_PATTERN, has_control_characters, normalize_email
from app.companies.models import InvitationKind
from app.companies.vat import normalise as normalise_vat
from app.companies.vat import vat_problem
from app.errors import FormError
from app.web.forms import Errors, text, whole_number

COMPANY_FIELDS = ("name", "registration_number", "country", "vat_id", "address")
COUNTRIES = {
    "AT": "Austria", "BE": "Belgium", "BG": "Bulgaria", "HR": "Croatia", "CY": "Cyprus", "CZ": "Czechia",
    "DK": "Denmark", "EE": "Estonia", "FI": "Finland", "FR": "France", "DE": "Germany", "GR": "Greece",
    "HU": "Hungary", "IE": "Ireland", "IT": "Italy", "LV": "Latvia", "LT": "Lithuania", "LU": "Luxembourg",
    "MT": "Malta", "NL": "Netherlands", "PL": "Poland", "PT": "Portugal", "RO": "Romania", "SK": "Slovakia",
    "SI": "Slovenia", "ES": "Spain", "SE": "Sweden", "CH": "Switzerland", "NO": "Norway",
    "GB": "United Kingdom", "US": "United States", "CA": "Canada", "AU": "Australia",
}  # fmt: skip


@dataclass(frozen=True)
class CompanyInput:
    name: str
    registration_number: str
    country: str
    vat_id: str | None
    address: str


def read_company(data: dict[str, Any]) -> CompanyInput:
    errors = Errors()
    name, registration_number = text(data, "name"), text(data, "registration_number")
    country, vat_id, address = text(data, "country").upper(), normalise_vat(text(data, "vat_id")), text(data, "address")
    if not name or len(name) > 200:
        errors.add("name", "Enter the company's registered name.")
    if not registration_number or len(registration_number) > 64:
        errors.add("registration_number", "Enter the number from the company register.")
    if country not in COUNTRIES:
        errors.add("country", "Choose the country where the company is registered.")
    elif problem := vat_problem(country, vat_id):
        errors.add("vat_id", problem)
    if not address or len(address) > 1000:
        errors.add("address", "Enter the registered address.")
    if errors:
        raise FormError(errors)
    return CompanyInput(
        name=name, registration_number=registration_number, country=country, vat_id=vat_id or None, address=address
    )


@dataclass(frozen=True)
class InvitationInput:
    kind: InvitationKind
    email: str
    message: str
    job_id: int | None = None


def read_invitation(data: dict[str, Any]) -> InvitationInput:
    """A colleague or a contractor to invite, by e-mail, with a message and (contractors) one of the inviter's jobs."""
    errors = Errors()
    kind = InvitationKind.member if text(data, "kind") == "member" else InvitationKind.contractor
    email = normalize_email(text(data, "email"))
    if len(email) > 320 or not EMAIL_PATTERN.match(email):
        errors.add("email", "Enter an e-mail address like name@example.com.")
    message = text(data, "message")
    if len(message) > 2000:
        errors.add("message", "Keep the message under 2000 characters.")
    elif has_control_characters(message):
        errors.add("message", "Use letters, spaces and punctuation only.")
    raw_job = text(data, "job_id")
    # A job was named but not as an id ("²", full-width digits, 5 000 digits): 0 names no job,
    # so the service refuses it in place instead of sending an invitation without the job.
    job_id = (whole_number(raw_job) or 0) if raw_job else None
    if job_id is not None and kind != InvitationKind.contractor:
        errors.add("job_id", "Only contractors are invited to a job.")
    if errors:
        raise FormError(errors)
    return InvitationInput(kind=kind, email=email, message=message, job_id=job_id)
