"""Fetching a URL safely (no SSRF): the only way the write side reads the network.

- Only ``http`` and ``https``; every hop of a redirect is checked again (at most
  ``MAX_REDIRECTS``), so a redirect to ``file://``, ``ftp://`` or an internal host is refused.
- The host is resolved once and every address it resolves to must be public: loopback and
  private addresses are refused unless ``allow_private_urls`` is set (intranet use);
  link-local (169.254.x.x, the cloud metadata service), multicast, reserved and
  unspecified ones always.
- The connection is pinned to the checked address (the Host header and TLS name stay the
  host's), so a DNS answer that changes between check and connect (rebinding) cannot slip
  past.
- The body is read up to ``limit`` bytes; a larger one is refused.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from assistant.errors import SourceError

MAX_REDIRECTS = 5
USER_AGENT = "assistant/0.1 (+ingest)"


@dataclass(frozen=True)
class Fetched:
    url: str            # the final URL, after redirects
    data: bytes
    content_type: str   # e.g. "text/html"


def fetch(url: str, *, timeout: float, limit: int, allow_private: bool = False) -> Fetched:
    """GET ``url`` following checked redirects; raises SourceError naming ``url``."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        status, headers, body = _get(url, current, timeout=timeout, limit=limit,
                                     allow_private=allow_private)
        if status in (301, 302, 303, 307, 308):
            location = headers.get("location")
            if not location:
                raise SourceError(url, f"HTTP {status} redirect without a Location header")
            current = urljoin(current, location)
            continue
        if status >= 400:
            raise SourceError(url, f"HTTP {status} {http.client.responses.get(status, '')}"
                              .rstrip())
        ctype = (headers.get("content-type") or "").split(";")[0].strip().lower()
        return Fetched(current, body, ctype)
    raise SourceError(url, f"more than {MAX_REDIRECTS} redirects")


def check_address(ip: str, allow_private: bool) -> str | None:
    """Why ``ip`` may not be fetched, or None when it may. Link-local addresses (the cloud
    metadata service at 169.254.169.254) are refused even when private ones are allowed."""
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    if addr.is_multicast or addr.is_unspecified or (addr.is_reserved and not addr.is_loopback):
        return f"{ip}, a multicast, unspecified or reserved address"
    if addr.is_link_local:
        return f"{ip}, a link-local address (e.g. a cloud metadata service)"
    if allow_private or addr.is_global:
        return None
    kind = "loopback" if addr.is_loopback else "private"
    return (f"{ip}, a {kind} address (set ASSISTANT_ALLOW_PRIVATE_URLS=true to fetch "
            "from an intranet)")


def _resolve(url: str, host: str, port: int, allow_private: bool) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise SourceError(url, f"unreachable (cannot resolve {host}: {e.strerror})") from None
    ips = sorted({str(info[4][0]) for info in infos})
    for ip in ips:  # every answer must be allowed, or a rebinding answer could be picked
        reason = check_address(ip, allow_private)
        if reason:
            raise SourceError(url, f"refused: {host} resolves to {reason}")
    return ips[0]


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a fixed IP, with SNI and certificate checks for the host name."""

    def __init__(self, ip: str, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, ip: str, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


def _get(origin: str, url: str, *, timeout: float, limit: int,
         allow_private: bool) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise SourceError(origin, f"refused: only http(s) URLs are fetched, not {scheme or '?'}"
                          f"://{' (redirected to ' + url + ')' if url != origin else ''}")
    host = parts.hostname
    if not host:
        raise SourceError(origin, f"no host in {url!r}")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise SourceError(origin, f"bad port in {url!r}") from None
    ip = _resolve(origin, host, port, allow_private)
    conn_cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    conn = conn_cls(ip, host, port, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "*/*",
                                           "Accept-Encoding": "identity"})
        resp = conn.getresponse()
        headers = {k.lower(): v for k, v in resp.getheaders()}
        body = b"" if resp.status in (301, 302, 303, 307, 308) else resp.read(limit + 1)
    except (OSError, http.client.HTTPException, ssl.SSLError) as e:
        reason = "timed out" if isinstance(e, TimeoutError) else (str(e) or type(e).__name__)
        raise SourceError(origin, f"unreachable ({reason}; timeout {timeout:g}s)") from None
    finally:
        conn.close()
    if len(body) > limit:
        raise SourceError(origin, f"response is over the {limit / 1e6:g} MB limit "
                          "(ASSISTANT_MAX_SOURCE_MB)")
    return resp.status, headers, body


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no fragment, no default port, no tracking params."""
    p = urlsplit(url.strip())
    host = (p.hostname or "").lower()
    if p.port and not (p.scheme == "http" and p.port == 80 or
                       p.scheme == "https" and p.port == 443):
        host += f":{p.port}"
    query = urlencode([(k, v) for k, v in parse_qsl(p.query, keep_blank_values=True)
                       if not k.lower().startswith(("utm_", "fbclid", "gclid"))])
    return urlunsplit((p.scheme.lower(), host, p.path or "/", query, ""))
