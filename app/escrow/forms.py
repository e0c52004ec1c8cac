"""The milestone forms: Fund (one milestone or all pending ones), Submit work, Ask for a revision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.errors import FormError
from app.escrow.views import MESSAGE_MAX, REASON_MAX
from app.files.uploads import DELIVERY_TYPES, CheckedUpload, UploadRejected, check_upload, chosen_files
from app.web.forms import Errors, text, whole_number

MAX_FILES = 5
MAX_MILESTONES = 100  # more milestones than a contract can have: a tampered form


@dataclass(frozen=True)
class FundingInput:
    """What the client saw before paying: these milestones, for exactly `amount_minor` `currency`."""

    milestone_ids: tuple[int, ...]
    amount_minor: int
    currency: str


def _values(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    values = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in values]


def read_funding(data: dict[str, Any]) -> FundingInput:
    """The Fund form's hidden fields. The amount is a whole number of minor units (cents): anything
    else was not what the page showed."""
    errors = Errors()
    ids = [whole_number(v) for v in _values(data, "milestone")[: MAX_MILESTONES + 1]]
    if not ids or any(i is None for i in ids) or len(ids) > MAX_MILESTONES:
        errors.add("milestone", "Choose the milestones to fund from the contract page.")
    amount = whole_number(text(data, "amount"))
    if amount is None or amount == 0:
        errors.add("amount", "This amount is not a whole number of cents, so it is not what the page showed. "
                             "Reload the page and fund again.")  # fmt: skip
    currency = text(data, "currency")
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha() and currency.isupper()):
        errors.add("currency", "The currency is missing. Reload the page and fund again.")
    if errors:
        raise FormError(errors)
    return FundingInput(tuple(sorted({i for i in ids if i is not None})), amount or 0, currency)


@dataclass(frozen=True)
class SubmissionInput:
    message: str
    files: tuple[CheckedUpload, ...]


async def read_submission(data: dict[str, Any]) -> SubmissionInput:
    """ "What you delivered" (required) and up to MAX_FILES files of the delivery types."""
    errors = Errors()
    message = text(data, "message")
    if not message:
        errors.add("message", "Say what you delivered: what is done and where to find it.")
    elif len(message) > MESSAGE_MAX:
        errors.add("message", f"Keep it under {MESSAGE_MAX:,} characters; attach a file for more.".replace(",", " "))
    uploads = chosen_files(data.get("files"))
    checked: list[CheckedUpload] = []
    if len([u for u in uploads if u.filename]) > MAX_FILES:
        errors.add("files", f"Attach at most {MAX_FILES} files. Put more in one ZIP file.")
    else:
        for upload in uploads:
            try:
                one = await check_upload(upload, DELIVERY_TYPES)
            except UploadRejected as exc:
                errors.add("files", f"{upload.filename[:80]}: {exc}")
                continue
            if one is not None:
                checked.append(one)
    if errors:
        raise FormError(errors)
    return SubmissionInput(message, tuple(checked))


def read_reason(data: dict[str, Any]) -> str:
    reason = text(data, "reason")
    if not reason:
        raise FormError({"reason": ["Say what should change, so the contractor knows what to do."]})
    if len(reason) > REASON_MAX:
        raise FormError({"reason": [f"Keep it under {REASON_MAX:,} characters.".replace(",", " ")]})
    return reason
