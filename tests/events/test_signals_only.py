"""Live events are signals (ADR 0023): no template takes pushed HTML, every element that listens
for an event re-fetches its own block, and no form asks the browser to add a CSRF token."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LISTENER = re.compile(r"<[a-z][^>]*hx-trigger=\"sse:[^\"]+\"[^>]*>", re.S)


def test_no_template_takes_pushed_html_and_every_listener_fetches_its_block():
    listeners = 0
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert "sse-swap=" not in text.replace('sse-swap="<event>"', ""), f"{path} swaps in pushed HTML"
        assert "data-csrf-form" not in text, f"{path} relies on the removed CSRF workaround"
        for tag in LISTENER.findall(text):
            listeners += 1
            assert "hx-get=" in tag, f"{path}: {tag[:120]} listens but fetches nothing"
    assert listeners >= 11  # the contract page and the eleven blocks of ADR 0023


def test_app_js_adds_no_csrf_tokens_to_forms():
    js = (TEMPLATES.parent / "static" / "js" / "app.js").read_text()
    assert "data-csrf-form" not in js and "_csrf_token" not in js
