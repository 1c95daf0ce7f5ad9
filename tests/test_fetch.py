"""URL ingest cannot be turned against internal services (SSRF): only http(s), every
redirect hop checked, private addresses refused unless allowed, connections pinned to the
checked address. Every test talks to a real server on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest

from assistant.errors import SourceError
from assistant.ingest.fetch import check_address, fetch


def get(url: str, allow: bool = True, **kw: object):
    return fetch(url, timeout=kw.get("timeout", 5), limit=kw.get("limit", 1_000_000),  # type: ignore[arg-type]
                 allow_private=allow)


@pytest.mark.parametrize("ip,allowed,allowed_private", [
    ("93.184.216.34", True, True),
    ("2606:4700::6810:84e5", True, True),
    ("127.0.0.1", False, True),
    ("::1", False, True),
    ("::ffff:127.0.0.1", False, True),
    ("10.1.2.3", False, True),
    ("172.16.0.9", False, True),
    ("192.168.1.1", False, True),
    ("fd00::1", False, True),
    ("100.64.0.1", False, True),          # carrier-grade NAT: not global
    ("169.254.169.254", False, False),    # cloud metadata: never
    ("fe80::1", False, False),
    ("224.0.0.1", False, False),
    ("0.0.0.0", False, False),
    ("240.0.0.1", False, False),
])
def test_address_policy(ip: str, allowed: bool, allowed_private: bool) -> None:
    assert (check_address(ip, False) is None) == allowed
    assert (check_address(ip, True) is None) == allowed_private


def test_loopback_refused_by_default(web) -> None:
    base, seen = web
    for url in (f"{base}/secret", base.replace("127.0.0.1", "localhost") + "/secret"):
        with pytest.raises(SourceError, match="loopback address") as ei:
            get(url, allow=False)
        assert "ASSISTANT_ALLOW_PRIVATE_URLS" in str(ei.value)
    assert seen == [], "nothing was sent to the internal server"


def test_allowed_private_fetches(web) -> None:
    base, _ = web
    got = get(f"{base}/redirect?to=/secret")
    assert got.data.startswith(b"internal secret") and got.url == f"{base}/secret"


@pytest.mark.parametrize("target,needle", [
    ("file:///etc/passwd", "only http.s. URLs"),
    ("ftp://127.0.0.1/x", "only http.s. URLs"),
    ("gopher://127.0.0.1/x", "only http.s. URLs"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://0.0.0.0/", "unspecified"),
])
def test_every_redirect_hop_is_checked(web, target: str, needle: str) -> None:
    base, seen = web
    with pytest.raises(SourceError, match=needle):
        get(f"{base}/redirect?to={target}")
    assert [p for p, _ in seen] == ["/redirect"]


def test_redirect_from_public_to_loopback_refused(web, monkeypatch) -> None:
    """The first hop is taken as public (a patched policy, since no public host is
    reachable here); its redirect to loopback is checked again and refused."""
    base, seen = web
    calls: list[str] = []

    def first_hop_public(ip: str, allow: bool) -> str | None:
        calls.append(ip)
        return None if len(calls) == 1 else check_address(ip, allow)
    monkeypatch.setattr("assistant.ingest.fetch.check_address", first_hop_public)
    with pytest.raises(SourceError, match="loopback"):
        get(f"{base}/redirect?to=http://localhost:{base.rsplit(':', 1)[1]}/secret",
            allow=False)
    assert [p for p, _ in seen] == ["/redirect"], "the secret was never requested"


def test_dns_rebinding_cannot_slip_past(web, monkeypatch) -> None:
    base, seen = web
    port = base.rsplit(":", 1)[1]
    real = socket.getaddrinfo
    answers = {"mixed.test": ["93.184.216.34", "127.0.0.1"]}

    def fake(host, p, *a, **k):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, p)) for ip in answers[host]]
        return real(host, p, *a, **k)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    # one of the answers is loopback: refused, whichever a later lookup would return
    with pytest.raises(SourceError, match="loopback"):
        get(f"http://mixed.test:{port}/secret", allow=False)
    # the connection goes to the checked address, with the host name as Host
    answers["pinned.test"] = ["127.0.0.1"]
    got = get(f"http://pinned.test:{port}/secret")
    assert got.data.startswith(b"internal secret")
    assert seen == [("/secret", f"pinned.test:{port}")]


def test_limits_and_failures(web) -> None:
    base, _ = web
    with pytest.raises(SourceError, match="over the 0.1 MB limit"):
        get(f"{base}/big", limit=100_000)
    with pytest.raises(SourceError, match="timed out"):
        get(f"{base}/slow", timeout=1)
    with pytest.raises(SourceError, match="HTTP 404"):
        get(f"{base}/nothing")
    with pytest.raises(SourceError, match="more than 5 redirects"):
        get(f"{base}/redirect?to=/redirect%3Fto%3D/redirect%253Fto%253D/redirect%25253Fto"
            "%25253D/redirect%2525253Fto%2525253D/redirect%252525253Fto%252525253D/secret")
