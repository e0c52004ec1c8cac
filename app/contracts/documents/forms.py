"""The verification page's form: the PDF someone wants checked against the stored renderings."""

from __future__ import annotations

from app.errors import FormError
from app.files.uploads import PDF, CheckedUpload, UploadRejected, check_upload
from app.web.forms import Multipart


async def read_document(data: Multipart) -> CheckedUpload:
    """The uploaded PDF, checked (size, and that it is a PDF); FormError when there is none or it is refused."""
    try:
        upload = await check_upload(data.get("document"), (PDF,))
    except UploadRejected as exc:
        raise FormError({"document": [str(exc)]}) from exc
    if upload is None:
        raise FormError({"document": ["Choose the PDF file you want to check."]})
    return upload
