"""Which video_url addresses the server may fetch, and a requests session that keeps to them.

A job's video_url is fetched by the server, so without a check anyone who can submit a job can
make it read from the server's own network: localhost, the private ranges, the cloud metadata
endpoint at 169.254.169.254. By default only public addresses are fetched
(ALLOW_PRIVATE_VIDEO_URLS=true lifts that for self-hosters who fetch from their intranet).

Two checks, because a name can resolve differently between them (DNS rebinding) and a server
can redirect:
- `url_problem(url)` resolves the URL's host and refuses it when any address is not public
  (at submit time, for a 422, and again just before the download);
- `guarded_session()` checks the address of every TCP connection it actually opens, redirects
  included, before a byte of the request is sent, and refuses a non-public one (`BlockedAddress`);
  `guard_pool_manager()` does the same for any urllib3 pool manager (yt-dlp's).
Through an HTTP(S)_PROXY the proxy opens the connections: only the name check applies then.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import unquote, urlparse

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

SETTING = "ALLOW_PRIVATE_VIDEO_URLS"
# IPv6 forms that carry an IPv4 address in their last 32 bits: a connection to one of them can
# reach that IPv4 address (through the kernel's mapping, a translator or a NAT64 gateway), so
# they are as public as the address they carry.
_CARRIES_IPV4 = [ipaddress.ip_network(net) for net in (
    "::ffff:0:0/96",  # IPv4-mapped
    "::ffff:0:0:0/96",  # IPv4-translated (RFC 2765 SIIT)
    "64:ff9b::/96",  # NAT64 well-known prefix
    "64:ff9b:1::/48",  # NAT64 local-use prefix (RFC 8215)
)]
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated form ::a.b.c.d


class BlockedAddress(Exception):
    """A connection would reach a non-public address; str() is the sentence to show."""


def address_kind(address: str) -> str | None:
    """None for a public unicast address, else what it is ("loopback", "private", ...). An IPv6
    address that carries an IPv4 one (mapped, translated, NAT64, 6to4) is what that
    IPv4 address is."""
    ip = ipaddress.ip_address(address.split("%")[0])  # drop an IPv6 zone such as fe80::1%eth0
    if ip.version == 6 and (embedded := _embedded_ipv4(ip)) is not None:
        return address_kind(str(embedded))
    for kind in ("loopback", "link_local", "multicast", "unspecified"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    if ip.is_private:
        return "private"
    if ip.version == 6 and ip in _IPV4_COMPATIBLE:
        return address_kind(str(ipaddress.IPv4Address(int(ip)))) or "reserved"
    return None if ip.is_global else "not public"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _CARRIES_IPV4):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(host: str, address: str, kind: str) -> str:
    shown = host if host == address else f"{host} ({address})"
    return (f"video_url leads to {shown}, which is not a public address ({kind}): the server only "
            f"downloads from public addresses. Give a public URL or upload the file; a self-hosted "
            f"server may allow private addresses with {SETTING}=true")


def url_problem(url: str, allow_private: bool = False) -> str | None:
    """None if `url` may be downloaded, else why not, in a sentence for the person who sent it.

    http(s) only; with `allow_private` False every address the host resolves to must be public.
    A host that does not exist is refused; a lookup that fails for now (DNS down) is let
    through: the download checks the connection itself."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return "video_url must be an http:// or https:// URL"
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:
        return "video_url has an invalid port"
    if allow_private:
        return None
    if "%" in parsed.hostname:  # only an IPv6 literal has a zone (%eth0), which names a link of the server
        address = unquote(parsed.hostname)  # the URL writes the % of fe80::1%eth0 as %25
        zone = address.split("%", 1)[1]
        kind = address_kind(address) or "scoped"
        return refusal(address, address, f"{kind} address with zone %{zone}, a network link of the server")
    try:
        found = socket.getaddrinfo(parsed.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            return f"the host of video_url, {parsed.hostname}, does not exist (no DNS record)"
        return None
    except UnicodeError:
        return "video_url has an invalid host name"
    for *_, sockaddr in found:
        kind = address_kind(sockaddr[0])
        if kind:
            return refusal(parsed.hostname, sockaddr[0], kind)
    return None


class _GuardedHTTP(HTTPConnection):
    def _new_conn(self):
        return _checked(super()._new_conn(), self.host)


class _GuardedHTTPS(HTTPSConnection):
    def _new_conn(self):  # before TLS: the handshake starts only on an accepted socket
        return _checked(super()._new_conn(), self.host)


def _checked(sock, host: str):
    address = sock.getpeername()[0]
    kind = address_kind(address)
    if kind:
        sock.close()
        raise BlockedAddress(refusal(host, address, kind))
    return sock


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTP


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPS


class _GuardedAdapter(HTTPAdapter):
    """Direct connections only to public addresses (proxied ones are the proxy's business)."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        guard_pool_manager(self.poolmanager)


def guard_pool_manager(manager) -> None:
    """Make every direct connection a urllib3 PoolManager opens from now on keep to public
    addresses (BlockedAddress otherwise); also used for yt-dlp's connections (jobs/video_sites.py)."""
    manager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def guarded_session(allow_private: bool = False) -> requests.Session:
    """A requests session; unless `allow_private`, every connection it opens (redirects too)
    must reach a public address, or the request raises BlockedAddress."""
    session = requests.Session()
    if not allow_private:
        adapter = _GuardedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session
