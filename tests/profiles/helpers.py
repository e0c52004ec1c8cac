"""Upload fixtures for profile tests: real file headers, and files that only pretend."""

from __future__ import annotations

from app.files.storage import storage_for
from app.profiles.seed import demo_png

PNG_BYTES = demo_png((10, 20, 30)).data
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200 + b"\xff\xd9"
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML_AS_JPEG = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def stored_keys(app) -> list[str]:
    return storage_for(app.state.settings).all_keys()


async def submit_kyc(
    c, id_document=("passport.pdf", PDF_BYTES, "application/pdf"), selfie=("me.png", PNG_BYTES, "image/png")
):
    files = {}
    if id_document is not None:
        files["id_document"] = id_document
    if selfie is not None:
        files["selfie"] = selfie
    return await c.post("/profile/verification", data={"_csrf_token": await c.csrf_token()}, files=files)
