"""Message text on the page (escaped, http(s) links safe) and the contact-detail hint."""

from __future__ import annotations

import pytest

from app.conversations.text import linkify, shares_contact_details

SHARES = [
    "Mail me at zoe.baker@example.com",
    "zoë@exämple.de is my address",
    "Call +33 6 12 34 56 78 tomorrow",
    "My number: 555-123-4567",
    "06 12 34 56 78",
    "(030) 1234567",
    "+49 30 1234567",
    "٠٦١٢٣٤٥٦٧٨",  # Arabic-Indic digits
    "Send it to paypal.me/zoebaker",
    "my venmo is @zoe-b",
    "cash app $zoeb works",
    "IBAN DE89 3704 0044 0532 0130 00",
    "pay via wise.com/pay/me/zoeb",
    "revolut.me/zoeb",
]
ORDINARY = [
    "It costs 1,500.00 EUR",
    "1 500 000 € in total",
    "Price 1.500,00 €",
    "Deadline 2026-12-01",
    "On 12/01/2026 at 10:30",
    "10-20 photos, 4000 px wide",
    "Café crème, 3 €, Größe 42",
    "Version 1.2.3, order #12345",
    "Zoë @ the studio",
    "$500 in total",
    "See you at 9:30 on 1 March",
    "東京で会いましょう 3 月 15 日",
]


@pytest.mark.parametrize("text", SHARES)
def test_contact_and_payment_details_are_noticed(text):
    assert shares_contact_details(text)


@pytest.mark.parametrize("text", ORDINARY)
def test_amounts_dates_and_ordinary_talk_are_not(text):
    assert not shares_contact_details(text)


def test_html_is_escaped_and_only_web_links_become_links():
    html = str(linkify('<script>alert("x")</script> https://example.com/a?b=1&c=2. javascript:alert(1)'))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="https://example.com/a?b=1&amp;c=2" rel="noopener nofollow ugc">' in html
    assert "</a>." in html  # the full stop ends the sentence, not the address
    assert "javascript:alert(1)" in html and 'href="javascript' not in html


def test_a_link_cannot_break_out_of_its_attribute():
    html = str(linkify('https://example.com/"onmouseover="alert(1) and http://x.test/<b>'))
    assert '"onmouseover' not in html.split(">")[0]
    assert "<b>" not in html
    assert 'href="https://example.com/"' in html


def test_brackets_and_non_ascii_text_around_links():
    html = str(linkify("Zoë (https://en.wikipedia.org/wiki/Croissant_(pastry)) — voilà"))
    assert 'href="https://en.wikipedia.org/wiki/Croissant_(pastry)"' in html
    assert html.endswith(") — voilà")
