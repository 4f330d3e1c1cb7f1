"""Server addresses as clerks and branch IT type them, and network failures as they read
them: a malformed address is their typing (exit 2, named), never the network library's
English error; a failure's reason is a message in their language."""

from __future__ import annotations

import pytest
import requests
from tuf.api import exceptions as tuf_errors

from core.domain.errors import ValidationError
from core.sync.client import normal_url
from core.sync.errors import ProtocolError, network_reason
from core.sync.peer import peer_url


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("motcua.example.vn", "https://motcua.example.vn"),
        ("192.168.1.5:8443", "http://192.168.1.5:8443"),
        ("https://motcua.example.vn/", "https://motcua.example.vn"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_addresses_as_typed(typed: str, url: str) -> None:
    assert normal_url(typed) == url


@pytest.mark.parametrize(
    "typed", ["ht!tp://x", "http://", "ftp://motcua.example.vn", "127.0.0.1:99999", "x:0"]
)
def test_a_malformed_address_is_refused_as_input(typed: str) -> None:
    with pytest.raises(ValidationError, match="is not a server address") as caught:
        normal_url(typed)
    assert caught.value.exit_code == 2 and caught.value.params["address"] == typed


@pytest.mark.parametrize("typed", ["garbage", "10.0.0.1:99999", ":8471", "host:port"])
def test_a_malformed_peer_address_is_named(typed: str) -> None:
    with pytest.raises(ProtocolError, match="HOST:PORT"):
        peer_url(typed)


def test_a_download_failure_reads_as_its_reason() -> None:
    """The update client's download error wraps the library's: its reason is the
    translatable one, not urllib3's 'HTTPConnectionPool(...): Max retries exceeded'."""
    try:
        try:
            raise requests.ConnectionError("HTTPConnectionPool(host='x'): Max retries exceeded")
        except requests.ConnectionError as cause:
            raise tuf_errors.DownloadError("failed") from cause
    except tuf_errors.DownloadError as err:
        reason = network_reason(err)
    assert reason == "no connection (the network or the server is down)"
    assert network_reason(ValueError("x")) == "the network failed"
