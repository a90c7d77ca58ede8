"""The client's address behind a reverse proxy: only entries added by trusted proxies."""

import pytest
from django.test import RequestFactory, override_settings

from genchi.core.clientip import client_ip, parse_networks, resolve_client

LOCAL = parse_networks("127.0.0.1/32,::1/128")


@pytest.mark.parametrize(
    ("remote", "forwarded", "proxies", "expected"),
    [
        ("203.0.113.9", "", LOCAL, "203.0.113.9"),  # no proxy in between
        ("127.0.0.1", "198.51.100.7", LOCAL, "198.51.100.7"),  # nginx on this machine
        # A client writing its own header: nginx appends the address it saw; only that counts.
        ("127.0.0.1", "10.1.2.3, 198.51.100.7", LOCAL, "198.51.100.7"),
        # A peer that is not a trusted proxy cannot name someone else.
        ("198.51.100.7", "10.1.2.3", LOCAL, "198.51.100.7"),
        # No trusted proxies at all (outside production): the header is ignored.
        ("127.0.0.1", "10.1.2.3", (), "127.0.0.1"),
        # Two proxies we trust in a row.
        (
            "127.0.0.1",
            "198.51.100.7, 10.0.0.5",
            parse_networks("127.0.0.1,10.0.0.0/8"),
            "198.51.100.7",
        ),
        # A garbled entry: the last address vouched for.
        ("127.0.0.1", "x, not-an-ip", LOCAL, "127.0.0.1"),
        ("::1", "2001:db8::5", LOCAL, "2001:db8::5"),
    ],
)
def test_resolve_client(remote, forwarded, proxies, expected):
    assert resolve_client(remote, forwarded, proxies) == expected


def test_a_bad_setting_is_named():
    with pytest.raises(ValueError, match="10.0.0.300"):
        parse_networks("127.0.0.1, 10.0.0.300")


@override_settings(GENCHI_TRUSTED_PROXIES=LOCAL)
def test_client_ip_of_a_request():
    request = RequestFactory().get(
        "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.9, 192.0.2.44"
    )
    assert client_ip(request) == "192.0.2.44"
