"""Profile forms: the profile itself, a portfolio item and the identity documents, read into typed inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.errors import FormError
from app.files.uploads import IMAGES, IMAGES_AND_PDF, CheckedUpload, UploadRejected, check_upload
from app.money import CURRENCIES, Money, MoneyError
from app.profiles.choices import COUNTRIES
from app.profiles.models import Availability
from app.web.forms import Errors, text

MAX_SKILLS = 15
MAX_SKILL_LENGTH = 40
MAX_BIO = 5000
MAX_RATE_MINOR = 10_000 * 100
PROFILE_FIELDS = ("headline", "bio", "skills", "hourly_rate", "currency", "availability", "country")


def parse_skills(raw: str) -> list[str]:
    skills: list[str] = []
    seen: set[str] = set()
    for part in raw.split(","):
        skill = " ".join(part.split())
        if skill and skill.lower() not in seen:
            seen.add(skill.lower())
            skills.append(skill)
    return skills


@dataclass(frozen=True)
class ProfileInput:
    headline: str
    bio: str
    skills: list[str]
    hourly_rate_minor: int | None
    currency: str
    availability: Availability | None
    country: str | None


def read_profile(data: dict[str, Any]) -> ProfileInput:
    errors = Errors()
    headline, bio = text(data, "headline"), text(data, "bio")
    if len(headline) > 120:
        errors.add("headline", "Keep the headline under 120 characters.")
    if len(bio) > MAX_BIO:
        errors.add("bio", f"Keep the bio under {MAX_BIO} characters.")
    skills = parse_skills(text(data, "skills"))
    if len(skills) > MAX_SKILLS:
        errors.add("skills", f"Choose at most {MAX_SKILLS} skills; you listed {len(skills)}.")
    if any(len(s) > MAX_SKILL_LENGTH for s in skills):
        errors.add("skills", f"Each skill must be under {MAX_SKILL_LENGTH} characters; separate skills with commas.")
    currency = text(data, "currency") or "EUR"
    if currency not in CURRENCIES:
        errors.add("currency", "Choose euro, US dollar or pound sterling.")
        currency = "EUR"
    rate_text, rate = text(data, "hourly_rate"), None
    if rate_text:
        try:
            rate = Money.parse(rate_text, currency)
        except MoneyError as exc:
            errors.add("hourly_rate", str(exc))
        else:
            if rate.amount_minor <= 0:
                errors.add("hourly_rate", "Enter an hourly rate above zero.")
            elif rate.amount_minor > MAX_RATE_MINOR:
                errors.add("hourly_rate", "Enter an hourly rate of at most 10,000.")
    availability = text(data, "availability") or None
    if availability is not None and availability not in Availability.__members__:
        errors.add("availability", "Choose one of the options.")
    country = text(data, "country").upper() or None
    if country is not None and country not in COUNTRIES:
        errors.add("country", "Choose your country from the list.")
    if errors:
        raise FormError(errors)
    return ProfileInput(
        headline=headline,
        bio=bio,
        skills=skills,
        hourly_rate_minor=rate.amount_minor if rate else None,
        currency=currency,
        availability=Availability(availability) if availability else None,
        country=country,
    )


@dataclass(frozen=True)
class PortfolioInput:
    title: str
    url: str | None
    image: CheckedUpload | None


async def read_portfolio_item(data: dict[str, Any]) -> PortfolioInput:
    """A title, an optional web address (https:// added when left out) and an optional image."""
    errors = Errors()
    title = text(data, "title")
    if not title:
        errors.add("title", "Give this piece of work a title.")
    elif len(title) > 120:
        errors.add("title", "Keep the title under 120 characters.")
    link = text(data, "url") or None
    if link:
        if "://" not in link:
            link = "https://" + link
        try:
            parts = urlsplit(link)
            valid = parts.scheme in ("http", "https") and "." in parts.netloc and len(link) <= 500
        except ValueError:  # "http://[x": brackets that are not an IPv6 address
            valid = False
        if not valid:
            errors.add("url", "Enter a web address like https://example.com/my-work.")
    image = None
    try:
        image = await check_upload(data.get("image"), IMAGES)
    except UploadRejected as exc:
        errors.add("image", str(exc))
    if errors:
        raise FormError(errors)
    return PortfolioInput(title=title, url=link, image=image)


@dataclass(frozen=True)
class DocumentsInput:
    id_document: CheckedUpload
    selfie: CheckedUpload


async def read_documents(data: dict[str, Any]) -> DocumentsInput:
    """A photo or scan of an ID document and a selfie, both required."""
    errors = Errors()
    checked: dict[str, CheckedUpload] = {}
    for name, allowed, missing in (
        ("id_document", IMAGES_AND_PDF, "Choose a photo or scan of your ID document."),
        ("selfie", IMAGES, "Choose a selfie: a photo of your face."),
    ):
        try:
            upload = await check_upload(data.get(name), allowed)
        except UploadRejected as exc:
            errors.add(name, str(exc))
        else:
            if upload is None:
                errors.add(name, missing)
            else:
                checked[name] = upload
    if errors:
        raise FormError(errors)
    return DocumentsInput(id_document=checked["id_document"], selfie=checked["selfie"])
