"""Shared steps for account tests."""

import re


def link_in(message, path_prefix: str) -> str:
    """The path of the first link under `path_prefix` in an e-mail's text part."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(rf"https?://[^\s/]+({re.escape(path_prefix)}[^\s]+)", text)
    assert match, f"no {path_prefix} link in:\n{text}"
    return match.group(1)


_DEVICE_ROW = re.compile(r'<tr data-device="([^"]*)">(.*?)</tr>', re.S)


def device_handles(settings_html: str) -> dict[str, bool]:
    """The devices listed on /settings: handle -> is this the device that asked."""
    return {handle: "(This device)" in row for handle, row in _DEVICE_ROW.findall(settings_html)}
