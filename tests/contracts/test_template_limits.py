"""Hostile contract templates: each is refused quickly, with a message the author can act on,
when it is previewed, saved or used in a contract — never a hung request or a swollen server."""

import time

import pytest
from sqlalchemy import func, select

from app.contracts.drafting import services as drafting
from app.contracts.drafting.forms import MAX_RIDERS
from app.contracts.models import Contract, StoredTemplate
from app.contracts.templates import services as store
from app.contracts.templates.forms import TemplateForm
from app.contracts.templates.templating import (
    ContractTemplate,
    Placeholder,
    TemplateInvalid,
    TemplateLimit,
    render,
    render_all,
)
from tests.contracts.helpers import accepted_proposal
from tests.contracts.test_contract_pages import editor_form
from tests.contracts.test_template_pages import company_for

QUICK = 10  # seconds: not a timing test (they are refused in milliseconds); it fails only on a hang, which used to last minutes
TEN = "[1,2,3,4,5,6,7,8,9,10]"

# (template text, words the refusal must contain)
HOSTILE = {
    "nested ranges": (
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        "range() can count at most 1,000",
    ),
    "string times a huge number": ("{{ 'x' * 10**10 }}", "too long"),
    "list times a huge number": ("{{ [1, 2] * 10**9 }}", "too long"),
    "power tower": ("{{ 10**10**10 }}", "at most 30 digits"),
    "power with a huge exponent": ("{{ 10**(10**10) }}", "at most 30 digits"),
    "nested loops over a list literal": (
        "".join(f"{{% for {v} in {TEN} %}}" for v in "abcde") + "{% endfor %}" * 5,
        "repeats too much",
    ),
    "join with a huge separator": ("{{ range(1000)|join('x' * 50000) }}", "too long"),
    "join of a long list": ("{{ ('x' * 50000)|list|join('y' * 100) }}", "too long"),
    "range with a huge step count": ("{% for i in range(0, 10**12, 1) %}{% endfor %}", "range() can count"),
    "range with huge bounds": ("{% for i in range(-10**25, 10**25, 10**20) %}{% endfor %}", "range() can count"),
    "macro calling itself": ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "Macros call each other too deeply"),
    "macro doubling its calls": (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(28) }}",
        "repeats too much",
    ),
    "text doubling through set": (
        "{% set a = 'xxxxxxxxxx' %}"
        + "".join(
            f"{{% set {n} = {p}~{p}~{p}~{p}~{p}~{p}~{p}~{p}~{p}~{p} %}}" for p, n in zip("abcde", "bcdef", strict=True)
        )
        + "{{ f|length }}",
        "too long",
    ),
    "list doubling through literals": (
        "{% set a = ['xxxxxxxxxx'] * 1000 %}{% set b = [a,a,a,a,a,a,a,a,a,a] %}{% set c = [b,b,b,b,b,b,b,b,b,b] %}{{ c }}",
        "too long",
    ),
    "text captured in a set block": (
        "{% set s %}{% for i in range(1000) %}{% for j in range(19) %}{{ 'x' * 5000 }}{% endfor %}{% endfor %}"
        "{% endset %}{{ s|length }}",
        "produces too much text",
    ),
    "output past the cap": ("{% for i in range(1000) %}{{ 'x' * 99 }}{% endfor %}", "filled-in text is too long"),
    "format padding": ("{{ '%1000000000s' % 'x' }}", "pad a value to at most"),
    "format filter padding": ("{{ '%*s'|format(1000000000, 'x') }}", "pad a value to at most"),
    "replace growing the text": ("{{ ('x' * 1000)|replace('', 'x' * 1000) }}", "too long"),
    "round to a huge precision": ("{{ 5|round(-1000000000) }}", "at most 1,000"),
}
REFUSED_WHEN_READ = {
    "str.center": ("{{ 'x'.center(1000000000) }}", "“center” can't be used"),
    "str.format": ("{{ '{:>1000000000}'.format('x') }}", "“format” can't be used"),
    "lipsum": ("{{ lipsum(100000) }}", "“lipsum” can't be used"),
    "namespace accumulator": ("{% set ns = namespace(s='x') %}{{ ns.s }}", "“namespace” can't be used"),
    "indent filter": ("{{ 'x'|indent(1000000000) }}", "No filter named 'indent'"),
    "recursive loop": ("{% for x in [[1]] recursive %}{{ loop(x) }}{% endfor %}", "recursive loops"),
    "a 6 000-digit number": ("{{ " + "9" * 6000 + " }}", "number in it is far too long"),
    "brackets nested 5 000 deep": ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "nests brackets"),
    "a 3 000-filter chain": ("{{ 'x'" + "|upper" * 3000 + " }}", "nests brackets, tags or filters"),
}
NORMAL = ContractTemplate(
    "t",
    "Normal",
    "rider",
    "{{ client|upper }} and {{ contractor }}{% for i in range(3) %} {{ loop.index }}{% endfor %}: "
    "{{ '%.2f'|format(3.14159) }} {{ 'a,b'.split(',')|join('+') }}",
    (Placeholder("client", "Client"), Placeholder("contractor", "Contractor")),
)


def template(body: str) -> ContractTemplate:
    return ContractTemplate("t", "Hostile", "rider", body, (Placeholder("client", "Client"),))


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_a_hostile_template_is_stopped_quickly_with_a_reason(name):
    body, words = HOSTILE[name]
    started = time.monotonic()
    with pytest.raises(TemplateLimit) as refused:
        await render(template(body), {"client": "Acme"})
    assert time.monotonic() - started < QUICK
    assert words in str(refused.value)
    # The line that did it, except for the output cap: that is the whole text's doing.
    assert str(refused.value).startswith("Line 1: ") != (name == "output past the cap")


@pytest.mark.parametrize("name", sorted(REFUSED_WHEN_READ))
async def test_what_a_template_may_not_use_is_refused_before_it_runs(name):
    body, words = REFUSED_WHEN_READ[name]
    started = time.monotonic()
    with pytest.raises(TemplateInvalid) as refused:
        await render(template(body), {"client": "Acme"})
    assert time.monotonic() - started < QUICK
    assert words in str(refused.value)


async def test_ordinary_templates_still_fill_in_next_to_a_hostile_one():
    hostile = template(HOSTILE["nested ranges"][0])
    filled, refused, also_filled = await render_all(
        [
            (NORMAL, {"client": "Acme", "contractor": "Conor"}),
            (hostile, {"client": "x"}),
            (NORMAL, {"client": "B", "contractor": "C"}),
        ]
    )
    assert filled == "ACME and Conor 1 2 3: 3.14 a+b\n"
    assert isinstance(refused, TemplateLimit)
    assert also_filled.startswith("B and C")


async def test_many_renders_at_once_all_answer():
    started = time.monotonic()
    results = await render_all([(NORMAL, {"client": str(n), "contractor": "c"}) for n in range(20)])
    assert [r.split(" ")[0] for r in results] == [str(n) for n in range(20)]
    hostile = [render(template(HOSTILE["macro doubling its calls"][0]), {"client": "x"}) for _ in range(8)]
    for attempt in hostile:
        with pytest.raises(TemplateLimit):
            await attempt
    assert time.monotonic() - started < 3 * QUICK


# ---------------------------------------------------------------- the pages


async def test_saving_a_hostile_template_is_refused_next_to_the_text(app, client, db):
    await company_for(db, client.user)
    for name in ("nested ranges", "string times a huge number", "macro doubling its calls", "output past the cap"):
        body, words = HOSTILE[name]
        form = {"title": "Trap", "kind": "rider", "body": body, "placeholders": "client | Client"}
        started = time.monotonic()
        response = await client.post_form("/company/templates/new", form)
        assert time.monotonic() - started < QUICK, name
        assert response.status_code == 422, name
        assert words in response.text.replace("&#39;", "'"), name
        assert 'id="field-body-error"' in response.text
    assert await db.scalar(select(func.count()).select_from(StoredTemplate)) == 0


async def test_previewing_a_hostile_template_explains_why(app, client, db):
    await company_for(db, client.user)
    body, words = HOSTILE["power tower"]
    form = {"title": "Trap", "kind": "rider", "body": body, "placeholders": "client | Client", "action": "preview"}
    started = time.monotonic()
    response = await client.post_form("/company/templates/new", form)
    assert time.monotonic() - started < QUICK
    assert response.status_code == 422 and words in response.text


async def test_an_administrator_cannot_save_a_hostile_platform_text(admin, db):
    body, words = HOSTILE["text doubling through set"]
    form = {"title": "Fixed-price project", "body": body, "placeholders": "client_name | Client"}
    response = await admin.post_form("/admin/templates/fixed-price-project/edit", form)
    assert response.status_code == 422 and words in response.text
    assert await db.scalar(select(func.count()).select_from(StoredTemplate)) == 0


async def test_a_template_that_is_only_heavy_with_real_values_is_refused_in_the_editor(client, contractor, db):

    company = await company_for(db, client.user)
    rider = await store.create_company_template(
        db,
        client.user,
        company.id,
        TemplateForm(
            "Copies", "rider", "{% for i in range(copies|int) %}Copy {{ i }}. {% endfor %}", "copies | Copies"
        ),
    )
    await db.commit()
    proposal = await accepted_proposal(db, client.user, contractor.user)
    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()

    form = editor_form(contract, riders=rider.key, tv_copies="100000")
    started = time.monotonic()
    refused = await client.htmx("POST", f"/contracts/{contract.id}/edit", data=form)
    assert time.monotonic() - started < QUICK
    assert refused.status_code == 422
    assert "“Copies”: Line 1: range() can count at most 1,000" in refused.text
    assert 'id="field-riders"' in refused.text
    contract = await db.get(Contract, contract.id, populate_existing=True)
    assert contract.draft_terms.riders == ()

    saved = await client.htmx("POST", f"/contracts/{contract.id}/edit", data=form | {"tv_copies": "2"})
    assert saved.status_code == 200
    contract = await db.get(Contract, contract.id, populate_existing=True)
    assert any(c.startswith("Copy 0. Copy 1.") for c in contract.draft_terms.clauses)


async def test_a_contract_takes_a_limited_number_of_riders(client, contractor, db):

    company = await company_for(db, client.user)
    keys = []
    for n in range(MAX_RIDERS + 1):
        form = TemplateForm(f"Rider {n}", "rider", f"Clause {n} for {{{{ client_name }}}}.", "client_name | Client")
        keys.append((await store.create_company_template(db, client.user, company.id, form)).key)
    await db.commit()
    proposal = await accepted_proposal(db, client.user, contractor.user)
    contract = await drafting.draft_from_proposal(db, proposal.id, client.user)
    await db.commit()

    too_many = await client.post_form(f"/contracts/{contract.id}/edit", editor_form(contract, riders=keys))
    assert too_many.status_code == 422
    assert f"Choose at most {MAX_RIDERS} riders for one contract." in too_many.text
    contract = await db.get(Contract, contract.id, populate_existing=True)
    assert contract.draft_terms.riders == ()

    enough = await client.post_form(f"/contracts/{contract.id}/edit", editor_form(contract, riders=keys[:MAX_RIDERS]))
    assert enough.status_code == 303
    contract = await db.get(Contract, contract.id, populate_existing=True)
    assert [r.key for r in contract.draft_terms.riders] == keys[:MAX_RIDERS]


async def test_problems_with_sample_values_do_not_block_saving_but_show_in_the_preview(client, db):
    # "[Hours]" is not a number, so the preview can't add to it; a real number of hours can.
    await company_for(db, client.user)
    form = {"title": "Hours", "kind": "rider", "body": "{{ hours + 1 }} hours", "placeholders": "hours | Hours"}
    preview = await client.post_form("/company/templates/new", form | {"action": "preview"})
    assert preview.status_code == 422 and "could not be filled in" in preview.text
    saved = await client.post_form("/company/templates/new", form)
    assert saved.status_code == 303
    (row,) = (await db.scalars(select(StoredTemplate))).all()
    assert await render(store.as_template(row), {"hours": 3}) == "4 hours\n"


async def test_a_nul_byte_in_a_template_is_refused_not_a_server_error(client, db):
    await company_for(db, client.user)
    form = {"title": "NUL", "kind": "rider", "body": "Hello\x00 {{ client }}", "placeholders": "client | Client"}
    for action in ("", "preview"):
        response = await client.post_form("/company/templates/new", form | {"action": action})
        # Refused for the whole request (400) before the form is read; nothing is stored.
        assert response.status_code == 400 and "control character" in response.text
