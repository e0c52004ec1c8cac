"""Profile journeys in a real browser: a contractor completes their profile on a phone and sees
it public; an admin's identity decision reaches the contractor's open page live."""

import pytest
from playwright.async_api import expect

from app.accounts.models import Role
from tests.profiles.helpers import PNG_BYTES
from tests.support.browser import sign_in
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


async def test_a_contractor_completes_their_profile_on_a_phone_and_sees_it_public(phone, db):
    user = await make_user(db, role=Role.contractor, name="Marta Ribeiro")
    await sign_in(phone, user.email)

    await phone.get_by_role("button", name="Menu").click()
    await phone.get_by_role("navigation", name="Main").get_by_role("link", name="Profile", exact=True).click()
    await expect(phone.get_by_role("heading", name="Your profile", exact=True)).to_be_visible()
    await expect(phone.get_by_text("Profile 0% complete")).to_be_visible()
    await expect(phone.get_by_text("Set your hourly rate")).to_be_visible()

    await phone.get_by_label("Headline").fill("Illustrator for children's books")
    await phone.get_by_label("Bio").fill(
        "I draw warm, funny illustrations for picture books and magazines, from first sketch to print-ready files."
    )
    await phone.get_by_label("Skills").fill("Illustration, Bra")
    # Suggestions complete the tag being typed, keeping those before it.
    suggested = await phone.locator("#skill-suggestions option").evaluate_all("options => options.map(o => o.value)")
    assert "Illustration, Brand design" in suggested and "Illustration, Illustration" not in suggested
    await phone.get_by_label("Skills").fill("Illustration, Brand design, Figma")
    await phone.get_by_label("Hourly rate").fill("abc")
    await phone.get_by_label("Currency").select_option("GBP")
    await phone.get_by_label("Availability").select_option(label="Limited availability")
    await phone.get_by_label("Country").select_option(label="Portugal")
    await phone.get_by_role("button", name="Save profile").click()
    await expect(phone.get_by_text("Enter an amount like 1200 or 1200.50.").first).to_be_visible()
    await expect(phone.get_by_label("Headline")).to_have_value("Illustrator for children's books")

    await phone.get_by_label("Hourly rate").fill("38")
    await phone.get_by_role("button", name="Save profile").click()
    await expect(phone.get_by_text("Your profile is saved.")).to_be_visible()
    await expect(phone.get_by_text("Profile 86% complete")).to_be_visible()
    await expect(phone.get_by_text("Add at least one portfolio item")).to_be_visible()

    await phone.get_by_label("Title").fill("The Fox Who Missed the Bus")
    await phone.get_by_label("Link (optional)").fill("https://example.com/fox")
    await phone.get_by_label("Image (optional)").set_input_files(
        files=[{"name": "fox.png", "mimeType": "image/png", "buffer": PNG_BYTES}]
    )
    await phone.get_by_role("button", name="Add to portfolio").click()
    await expect(phone.get_by_text("Profile 100% complete")).to_be_visible()

    await phone.get_by_role("link", name="View public page").click()
    await expect(phone.get_by_role("heading", name="Marta Ribeiro")).to_be_visible()
    await expect(phone.get_by_text("Illustrator for children's books")).to_be_visible()
    await expect(phone.get_by_text("£38.00")).to_be_visible()
    await expect(phone.get_by_role("img", name="The Fox Who Missed the Bus")).to_be_visible()
    og_title = await phone.locator('meta[property="og:title"]').get_attribute("content")
    assert og_title == "Marta Ribeiro · Illustrator for children's books"

    # A visitor sees the same page without signing in.
    url = phone.url
    # Leave the page first: a response still in flight (its live stream, a lazy image) carries the
    # session cookie and would set it again after the clear.
    await phone.goto("about:blank")
    await phone.context.clear_cookies()
    await phone.goto(url)
    await expect(phone.get_by_role("heading", name="Marta Ribeiro")).to_be_visible()
    await expect(phone.get_by_role("link", name="Edit profile")).to_have_count(0)
    assert phone.problems.errors == [], phone.problems.errors


async def test_an_admin_decision_reaches_the_contractors_open_page_live(desktop, live_client, db, app):
    from sqlalchemy import select

    from app.accounts.mfa import enable
    from app.profiles.models import KycCheck
    from tests.conftest import ADMIN_TOTP
    from tests.profiles.helpers import PDF_BYTES

    user = await make_user(db, role=Role.contractor, name="Idris Bello")
    admin = await make_user(db, role=Role.admin, name="Ada Console")
    await enable(db, admin, ADMIN_TOTP, app.state.settings.secret_key)
    await db.commit()

    await sign_in(desktop, user.email)
    await desktop.goto("/profile/verification")
    await expect(desktop.get_by_text("To get paid out you need a verified identity")).to_be_visible()
    await desktop.get_by_label("Photo or scan of your ID document").set_input_files(
        files=[{"name": "passport.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}]
    )
    await desktop.get_by_label("A selfie").set_input_files(
        files=[{"name": "me.png", "mimeType": "image/png", "buffer": PNG_BYTES}]
    )
    await desktop.get_by_role("button", name="Send for review").click()
    await expect(desktop.get_by_text("Being reviewed")).to_be_visible()

    check = await db.scalar(select(KycCheck))
    await live_client.sign_in(admin.email, totp_secret=ADMIN_TOTP)
    response = await live_client.post_form(f"/admin/kyc/{check.id}/reject", {"reason": "The photo is too dark."})
    assert response.status_code == 303
    # No reload: the status card changes by itself.
    await expect(desktop.get_by_text("The photo is too dark.")).to_be_visible(timeout=10_000)
    await expect(desktop.get_by_role("link", name="Try again")).to_be_visible()
    assert desktop.problems.errors == [], desktop.problems.errors
