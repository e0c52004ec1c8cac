"""The contract editor and the template forms answer odd input — NUL bytes, non-ASCII, 1 MB fields,
numbers that aren't, double submits — with a message, never a server error."""

import asyncio
import time

from sqlalchemy import func, select

from app.contracts.models import Contract, StoredTemplate
from tests.contracts.helpers import accepted_proposal
from tests.contracts.test_contract_pages import editor_form
from tests.contracts.test_template_pages import company_for


async def draft(db, client, contractor):
    from app.contracts.drafting import services as drafting

    proposal = await accepted_proposal(db, client.user, contractor.user)
    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()
    return contract


async def test_the_editor_refuses_odd_input_by_field(client, contractor, db):
    contract = await draft(db, client, contractor)
    url = f"/contracts/{contract.id}/edit"
    refused = {
        "NUL in the scope": ({"scope": "Hello\x00"}, "Remove the NUL character."),
        "NUL in a milestone": ({"m0_title": "M\x00"}, "Remove the NUL character."),
        "NUL in a filled-in value": (
            {"template_key": "fixed-price-project", "tv_x": "a\x00"},
            "Remove the NUL character.",
        ),
        "NUL in a rider key": ({"riders": "rider\x00"}, "Choose riders from the list."),
        "NUL in the terms key": ({"template_key": "k\x00"}, "Choose standard terms from the list."),
        "a 1 MB rider key": ({"riders": "r" * 1_000_000}, "Choose riders from the list."),
        "5 000 riders": ({"riders": [f"r{i}" for i in range(5000)]}, "Choose at most 5 riders"),
        "a 1 MB scope": ({"scope": "x" * 1_000_000}, "Keep this under 20 000 characters."),
        "a superscript review window": ({"review_window_days": "²"}, "Choose between 3 and 30 days."),
        "an amount of 1e999999": ({"m0_amount": "1e999999"}, None),
    }
    for name, (fields, words) in refused.items():
        # A NUL byte is refused for the whole request (400, naming the field) before the form is read.
        nul = "\\x00" in repr(fields)
        words = "control character" if nul else words
        started = time.monotonic()
        for response in (
            await client.post_form(url, editor_form(contract, **fields)),
            await client.htmx("POST", url, data=editor_form(contract, **fields)),
        ):
            assert response.status_code == (400 if nul else 422), (name, response.status_code)
            if words:  # on the page, or in the toast an htmx request gets
                assert words in response.text + response.headers.get("hx-trigger", ""), name
        autosave = await client.htmx("POST", f"/contracts/{contract.id}/autosave", data=editor_form(contract, **fields))
        assert autosave.status_code == (400 if nul else 200), name  # the save status answers; nothing is saved
        assert time.monotonic() - started < 20, name  # a hang, not a timing
    contract = await db.get(Contract, contract.id, populate_existing=True)
    assert contract.draft_rev == 0  # none of it was saved

    accepted = {
        "non-ASCII text": {"scope": "Übersetzung ☕ 𝔘 — ok", "title": "Zoë's site"},
        "a 5 000-digit revision": {"rev": "9" * 5000},
        "a superscript revision": {"rev": "²"},
        "an odd row button": {"op": "remove-²"},
    }
    for name, fields in accepted.items():
        response = await client.post_form(url, editor_form(contract, **fields))
        assert response.status_code == 303, (name, response.status_code)
        if name == "non-ASCII text":
            saved = await db.get(Contract, contract.id, populate_existing=True)
            assert saved.draft_terms.scope == "Übersetzung ☕ 𝔘 — ok"


async def test_double_submits_of_the_editor_save_once_without_errors(client, contractor, db):
    contract = await draft(db, client, contractor)
    form = editor_form(contract, riders="confidentiality-rider", tv_confidential_years="3")
    answers = await asyncio.gather(*[client.post_form(f"/contracts/{contract.id}/edit", form) for _ in range(4)])
    assert [a.status_code for a in answers] == [303] * 4
    contract = await db.get(Contract, contract.id, populate_existing=True)
    assert contract.draft_rev == 1  # the same terms four times are one change


async def test_the_template_form_refuses_odd_input_quickly(client, db):
    await company_for(db, client.user)
    base = {"title": "Odd", "kind": "rider", "body": "{{ client }}", "placeholders": "client | Client"}
    cases = {
        "a 1 MB placeholder list": (
            {"placeholders": "\n".join(f"p{i} | Label" for i in range(80_000))},
            "Keep the list under",
        ),
        "a 1 MB title": ({"title": "t" * 1_000_000}, "Keep the name under 200 characters."),
        "a 1 MB text": ({"body": "x" * 1_000_000}, "Keep the text under 20,000 characters."),
        "a NUL in the title": ({"title": "T\x00"}, "control character"),
        "a 1 MB placeholder name": ({"placeholders": "x" * 9_000 + "! | L"}, "can't be a placeholder name"),
    }
    for name, (fields, words) in cases.items():
        for action in ("", "preview"):
            started = time.monotonic()
            response = await client.post_form("/company/templates/new", base | fields | {"action": action})
            assert time.monotonic() - started < 20, name  # a hang, not a timing
            expected = 400 if "\\x00" in repr(fields) else 422  # a NUL byte: refused before the form is read
            assert response.status_code == expected and words in response.text.replace("&#39;", "'"), name
    assert await db.scalar(select(func.count()).select_from(StoredTemplate)) == 0

    unicode = base | {"title": "Übersetzung ☕", "body": "Für {{ kunde }} — ok", "placeholders": "kunde | Kundin"}
    preview = await client.post_form("/company/templates/new", unicode | {"action": "preview"})
    assert preview.status_code == 200 and "Für [Kundin] — ok" in preview.text
    answers = await asyncio.gather(*[client.post_form("/company/templates/new", unicode) for _ in range(3)])
    assert [a.status_code for a in answers] == [303] * 3
    assert await db.scalar(select(func.count()).select_from(StoredTemplate)) == 3  # three saves, three templates
