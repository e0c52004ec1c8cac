"""The client address behind proxies: only trusted proxies' X-Forwarded-For is believed."""

from litestar import Request

from app.web.ratelimit import client_ip


def request_from(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request(
        {"type": "http", "method": "GET", "path": "/", "headers": headers, "client": (peer, 1234), "query_string": b""}
    )


def test_without_trusted_proxies_the_peer_is_the_client():
    assert client_ip(request_from("203.0.113.9", "1.2.3.4"), ()) == "203.0.113.9"


def test_a_forged_header_from_an_untrusted_peer_is_ignored():
    assert client_ip(request_from("203.0.113.9", "1.2.3.4"), ("10.0.0.0/8",)) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_wins():
    # The client forged "1.2.3.4"; our proxy appended the real address.
    assert client_ip(request_from("10.0.0.2", "1.2.3.4, 198.51.100.7"), ("10.0.0.0/8",)) == "198.51.100.7"
    assert client_ip(request_from("10.0.0.2", "198.51.100.7, 10.0.0.5"), ("10.0.0.0/8",)) == "198.51.100.7"


def test_star_means_one_proxy_hop_as_on_render():
    assert client_ip(request_from("172.16.0.1", "1.2.3.4, 198.51.100.7"), ("*",)) == "198.51.100.7"
    assert client_ip(request_from("172.16.0.1"), ("*",)) == "172.16.0.1"
