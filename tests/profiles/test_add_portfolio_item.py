"""Portfolio items: title, link and an image checked by its content, shown on the public page."""

from sqlalchemy import func, select

from app.files.models import StoredFile
from app.profiles.models import ContractorProfile, PortfolioItem
from tests.profiles.helpers import HTML_AS_JPEG, PNG_BYTES, stored_keys
from tests.profiles.test_edit_profile import FULL


async def _add(c, data, files=None):
    return await c.post("/profile/portfolio", data={"_csrf_token": await c.csrf_token(), **data}, files=files or {})


async def test_an_item_with_a_link_and_an_image_appears_on_the_public_page(contractor, anonymous, db, app, settings):
    await contractor.post_form("/profile", FULL)
    response = await _add(
        contractor,
        {"title": "Shop accounts 2025", "url": "example.com/report"},
        {"image": ("shot.png", PNG_BYTES, "image/png")},
    )
    assert response.status_code == 303 and response.headers["location"] == "/profile#portfolio"
    item = await db.scalar(select(PortfolioItem))
    assert (item.title, item.url) == ("Shop accounts 2025", "https://example.com/report")
    image = await db.get(StoredFile, item.image_file_id)
    assert (image.content_type, image.size, image.purpose) == ("image/png", len(PNG_BYTES), "portfolio_image")
    assert len(image.sha256) == 64 and image.storage_key in stored_keys(app)

    slug = await db.scalar(select(ContractorProfile.slug))
    page = await anonymous.get(f"/c/{slug}")
    assert f'src="/files/{image.id}"' in page.text and 'href="https://example.com/report"' in page.text
    # Shared links show the image: an absolute address, since previews are fetched from elsewhere.
    assert f'<meta property="og:image" content="{settings.app_base_url}/files/{image.id}">' in page.text
    served = await anonymous.get(f"/files/{image.id}")
    assert served.status_code == 200 and served.content == PNG_BYTES
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "Profile 100% complete" in (await contractor.get("/profile")).text


async def test_html_named_jpg_is_refused_and_nothing_is_stored(contractor, db, app):
    response = await _add(contractor, {"title": "Logo"}, {"image": ("logo.jpg", HTML_AS_JPEG, "image/jpeg")})
    assert response.status_code == 422
    assert "This file is not a JPEG, PNG or WebP image, whatever its name says." in response.text
    assert 'value="Logo"' in response.text
    assert await db.scalar(select(func.count()).select_from(PortfolioItem)) == 0
    assert await db.scalar(select(func.count()).select_from(StoredFile)) == 0
    assert stored_keys(app) == []


async def test_a_title_is_needed_and_a_bad_link_is_explained(contractor, db):
    response = await _add(contractor, {"title": "", "url": "javascript:alert(1)"})
    assert response.status_code == 422
    assert "Give this piece of work a title." in response.text
    assert "Enter a web address like https://example.com/my-work." in response.text
    assert await db.scalar(select(func.count()).select_from(PortfolioItem)) == 0
    # Brackets that are not an IPv6 address make urlsplit raise: the same message, not a 500.
    response = await _add(contractor, {"title": "Shop sign", "url": "http://[shop.example/sign"})
    assert response.status_code == 422
    assert "Enter a web address like https://example.com/my-work." in response.text


async def test_removing_an_item_deletes_its_image_and_others_cannot_remove_it(contractor, other_contractor, db, app):
    await _add(contractor, {"title": "Poster"}, {"image": ("p.png", PNG_BYTES, "image/png")})
    item = await db.scalar(select(PortfolioItem))
    assert (await other_contractor.post_form(f"/profile/portfolio/{item.id}/delete")).status_code == 404
    assert await db.scalar(select(func.count()).select_from(PortfolioItem)) == 1
    response = await contractor.post_form(f"/profile/portfolio/{item.id}/delete")
    assert response.status_code == 303
    assert await db.scalar(select(func.count()).select_from(PortfolioItem)) == 0
    assert await db.scalar(select(func.count()).select_from(StoredFile)) == 0
    assert stored_keys(app) == []


async def test_the_upload_form_needs_its_csrf_token(contractor, db):
    response = await contractor.post(
        "/profile/portfolio", data={"title": "No token"}, files={"image": ("p.png", PNG_BYTES, "image/png")}
    )
    assert response.status_code == 403
    assert await db.scalar(select(func.count()).select_from(PortfolioItem)) == 0


async def test_a_suspended_contractors_images_are_no_longer_served(contractor, admin, anonymous, db):
    await _add(contractor, {"title": "Poster"}, {"image": ("p.png", PNG_BYTES, "image/png")})
    item = await db.scalar(select(PortfolioItem))
    assert (await anonymous.get(f"/files/{item.image_file_id}")).status_code == 200
    await admin.post_form(f"/admin/users/{contractor.user.id}/suspend", {"reason": "Fraud"})
    assert (await anonymous.get(f"/files/{item.image_file_id}")).status_code == 404
