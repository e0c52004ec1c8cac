"""The strict Content-Security-Policy (`script-src 'self'`, `style-src 'self'`) keeps holding: no page
template writes inline script or style, event-handler attributes, `hx-on` or `javascript:` URLs, and
neither does any page as the app renders it (macros and filters emit markup the templates do not show).

E-mail and PDF templates are exempt: mail clients and WeasyPrint need inline styles, and neither is
served as a web page."""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

from app.platform.seed import demo_seed
from tests.conftest import web_client
from tests.support.live import ROOT

TEMPLATES = ROOT / "templates"
EXEMPT = ("emails", "pdf")
DEMO_PASSWORD = "pactline-demo-2026"
DEMO_ADMIN_TOTP = "JBSWY3DPEHPK3PXP"

# --------------------------------------------------------------------------- template sources

JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
SOURCE_RULES = [
    ("inline <script>", re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.I)),
    ("<style> element", re.compile(r"<style\b", re.I)),
    ("style attribute", re.compile(r"\sstyle\s*=|['\"]style['\"]\s*:", re.I)),
    ("event-handler attribute", re.compile(r"\son[a-z]+\s*=\s*[\"'{]|['\"]on[a-z]+['\"]\s*:", re.I)),
    ("hx-on", re.compile(r"hx-on", re.I)),
    ("javascript: URL", re.compile(r"javascript\s*:", re.I)),
]


def source_problems(text: str) -> list[str]:
    """What in a template's source the CSP would block (Jinja comments do not reach the page)."""
    text = JINJA_COMMENT.sub("", text)
    problems = []
    for name, rule in SOURCE_RULES:
        for match in rule.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"line {line}: {name}: {match.group(0).strip()}")
    return problems


def page_templates():
    for path in sorted(TEMPLATES.rglob("*.html")):
        if path.relative_to(TEMPLATES).parts[0] not in EXEMPT:
            yield path


def test_the_source_check_catches_each_kind_of_inline_code():
    for bad in (
        "<script>alert(1)</script>",
        '<script type="module">x()</script>',
        "<style>p{}</style>",
        '<p style="color:red">',
        "{{ forms.field('q', 'Search', attrs={'style': 'width:1px'}) }}",
        '<button onclick="go()">',
        "<a href=\"#\" onmouseover='x'>",
        "{{ ui.button('Go', attrs={'onclick': 'x()'}) }}",
        '<div hx-on:click="x()">',
        '<div hx-on::after-request="x()">',
        '<a href="javascript:void(0)">',
    ):
        assert source_problems(bad), bad
    for fine in (
        '<script src="/static/js/app.js" defer></script>',
        '<p class="online">',
        '{# a note about style="" that never reaches the page #}',
        '<input name="only" data-confirm="Sure?">',
    ):
        assert source_problems(fine) == [], fine


def test_no_page_template_writes_inline_script_style_or_handlers():
    checked, found = 0, {}
    for path in page_templates():
        checked += 1
        problems = source_problems(path.read_text())
        if problems:
            found[str(path.relative_to(ROOT))] = problems
    assert checked > 40
    assert found == {}


# --------------------------------------------------------------------------- rendered pages

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "hx-get", "hx-post", "xlink:href", "poster", "data"}


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links: list[tuple[str, bool]] = []  # (url, fetched by htmx)

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>")
            elif name.startswith("on"):
                self.problems.append(f"{name} attribute on <{tag}>")
            elif name.startswith(("hx-on", "data-hx-on")):
                self.problems.append(f"{name} attribute on <{tag}>")
            if name in URL_ATTRIBUTES and (value or "").strip().lower().replace("\t", "").startswith("javascript:"):
                self.problems.append(f"javascript: URL in {name} on <{tag}>")
        for name, value in attrs:
            if value and name == "href" and tag == "a":
                self.links.append((value, False))
            if value and name == "hx-get":
                self.links.append((value, True))

    handle_startendtag = handle_starttag


def markup_of(html: str) -> _Markup:
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser


def test_the_rendered_check_catches_each_kind_of_inline_code():
    for bad in (
        "<script>x()</script>",
        "<style>p{}</style>",
        '<p style="color:red">',
        '<img src="/a.png" onerror="x()">',
        '<div hx-on:click="x()">',
        '<a href=" JavaScript:x()">',
        '<form action="javascript:x()">',
    ):
        assert markup_of(bad).problems, bad
    assert markup_of('<script src="/static/js/htmx.min.js"></script><a href="/jobs">Jobs</a>').problems == []


# Not pages (files, streams, PDFs), or links that change something even on GET.
SKIP = re.compile(r"^/(static|files|events|logout|dev)(/|$)|/(pdf|proof)$|\.(pdf|csv|json|png|jpg|svg|ico)$")


def same_site_path(url: str) -> str | None:
    url = urldefrag(url)[0]
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return None if SKIP.search(parts.path) else path


async def crawl(client, start: list[str], limit: int = 150) -> dict[str, list[str]]:
    """Follow every same-site link (and hx-get) from `start`; the problems found on each page."""
    seen: set[tuple[str, bool]] = set()
    todo = deque((path, False) for path in start)
    found: dict[str, list[str]] = {}
    while todo and len(seen) < limit:
        path, htmx = todo.popleft()
        if (path, htmx) in seen:
            continue
        seen.add((path, htmx))
        response = await client.get(path, headers={"HX-Request": "true"} if htmx else {})
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        markup = markup_of(response.text)
        found[("htmx " if htmx else "") + path] = markup.problems
        for url, by_htmx in markup.links:
            target = same_site_path(url)
            if target is not None:
                todo.append((target, by_htmx))
    return found


async def test_every_page_each_persona_can_reach_renders_without_inline_code(app):
    """The demo data (a company, jobs, a proposal, a profile, a signed contract) through each
    persona's eyes: every page reachable by following links, and every htmx fragment they load."""
    await demo_seed(app.state.resources)
    visited: dict[str, list[str]] = {}
    async with web_client(app) as visitor:
        start = ["/", "/login", "/signup", "/jobs", "/no-such-page"]
        visited |= {f"visitor {p}": v for p, v in (await crawl(visitor, start)).items()}
    for email, totp, start in (
        ("client@pactline.test", None, ["/dashboard", "/settings", "/no-such-page"]),
        ("contractor@pactline.test", None, ["/dashboard", "/profile/verification"]),
        ("admin@pactline.test", DEMO_ADMIN_TOTP, ["/dashboard", "/admin"]),
    ):
        async with web_client(app) as person:
            await person.sign_in(email, DEMO_PASSWORD, totp_secret=totp)
            pages = await crawl(person, start)
            visited |= {f"{email} {p}": v for p, v in pages.items()}
    assert len(visited) > 60, sorted(visited)
    for must in ("/contracts/", "/c/", "/admin/audit", "/profile", "/company"):
        assert any(must in page for page in visited), f"the crawl never reached {must}"
    assert {page: problems for page, problems in visited.items() if problems} == {}
