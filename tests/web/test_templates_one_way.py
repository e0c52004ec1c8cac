"""Templates say each thing one way (decision 0027): links come from route names (`url_for`), page
headers from `ui.page_header`, status colours from `ui.badge` and its one table `BADGE_TONES`.

E-mail and PDF templates are exempt: they render outside a request (e-mails get absolute links in
their context, the PDF is printed by WeasyPrint)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from app.web.urls import _route_table
from tests.support.live import ROOT

TEMPLATES = ROOT / "templates"
EXEMPT = ("emails", "pdf")
UI = "components/ui.html"

JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
# A quoted value that starts with one slash: an HTML attribute (href="/jobs") or a Jinja string
# ('/c/' ~ slug, '/login?next=…'); or a path glued to an expression ({{ base_url }}/files/…).
# "//host" and "https://…" are other sites; "#…" stays on the page. A lone '/' appended with `~`
# (href ~ '/') is a separator, not a path.
HAND_WRITTEN_PATH = re.compile(r"""(['"])/[A-Za-z0-9_{?#.-]|(?<!~ )(['"])/\2|\}\}/[A-Za-z0-9_{]""")
PAGE_HEADER = re.compile(r"""class\s*=\s*["'][^"']*\bpage-header(?:__\w+)?(?![\w-])""")
BADGE_CLASS = re.compile(r"badge--")
TONES = "neutral|info|success|warning|danger|funded|review"
TONE_TABLE = re.compile(rf"""['"]\w+['"]\s*:\s*['"](?:{TONES})['"]""")
URL_FOR = re.compile(r"""url_for\(\s*['"]([^'"]+)['"]""")


def page_templates() -> Iterator[tuple[str, str]]:
    """(name, source with Jinja comments blanked out, line numbers kept) of every page template."""
    for path in sorted(TEMPLATES.rglob("*.html")):
        relative = path.relative_to(TEMPLATES)
        if relative.parts[0] in EXEMPT:
            continue
        text = path.read_text()
        yield relative.as_posix(), JINJA_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def offences(rule: re.Pattern[str], *, skip: tuple[str, ...] = ()) -> list[str]:
    found = []
    for name, text in page_templates():
        if name in skip:
            continue
        for match in rule.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"templates/{name}:{line}: {text.splitlines()[line - 1].strip()[:120]}")
    return found


def test_the_path_rule_catches_hand_written_paths_and_lets_the_rest_through():
    for bad in (
        'href="/jobs"',
        'action="/"',
        "'/c/' ~ slug",
        "link_button('Sign in', '/login?next=' ~ x)",
        "url ~ '/files/' ~ id",
        'content="{{ base_url }}/files/{{ id }}"',
    ):
        assert HAND_WRITTEN_PATH.search(bad), bad
    for fine in (
        "href=\"{{ url_for('jobs:search') }}\"",
        'href="#main"',
        'href="https://example.com/x"',
        "src=\"{{ static_url('css/app.css') }}\"",
        "current_path.startswith(href ~ '/')",
        "'</p>'",
    ):
        assert not HAND_WRITTEN_PATH.search(fine), fine


def test_the_header_rule_catches_the_header_and_its_parts():
    for bad in ('<div class="page-header">', '<header class="page-header">', '<div class="page-header__actions">'):
        assert PAGE_HEADER.search(bad), bad
    assert not PAGE_HEADER.search('<div class="page-headers">')


def test_the_tone_rule_catches_a_status_to_tone_dict_and_not_other_dicts():
    assert TONE_TABLE.search("{% set tone = {'submitted': 'review', 'accepted': 'success'}[status] %}")
    assert not TONE_TABLE.search("{'submitted': 'Sent. The client has not decided yet.'}")


def test_page_templates_link_by_route_name_not_by_hand_written_path():
    found = offences(HAND_WRITTEN_PATH)
    assert not found, "use url_for('<route name>', …) (decision 0027):\n" + "\n".join(found)


def test_every_route_name_used_in_a_template_exists():
    # The route list path_for reverses from, with the development-only routes (dev:mail) too.
    names = {h.name for r in _route_table().routes for h in getattr(r, "route_handlers", []) if h.name}
    unknown = [
        f"templates/{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(1)}"
        for name, text in page_templates()
        for m in URL_FOR.finditer(text)
        if m.group(1) not in names
    ]
    assert not unknown, "no route has this name:\n" + "\n".join(unknown)


def test_page_headers_come_from_the_macro():
    found = offences(PAGE_HEADER, skip=(UI,))
    assert not found, "use ui.page_header(title, eyebrow=…, intro=…):\n" + "\n".join(found)


def test_status_pills_come_from_ui_badge():
    found = offences(BADGE_CLASS, skip=(UI,))
    assert not found, "use ui.badge(status, label):\n" + "\n".join(found)


def test_badge_tones_is_the_only_status_to_tone_table():
    found = offences(TONE_TABLE, skip=(UI,))
    assert not found, "add the word to BADGE_TONES in components/ui.html:\n" + "\n".join(found)
