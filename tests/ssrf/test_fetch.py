"""The SSRF-safe fetcher (FILE-4) against a real loopback server: forbidden addresses (literal,
behind names, behind redirects, rebinding), size, time and type limits, each with its code.

Loopback is itself forbidden, so most tests allow `127.0.0.1/32` (the test-only allow-list) to
reach the server, and then show that everything else stays refused."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from typing import Any

import pytest

from tests.ssrf.server import (
    LoopbackServer,
    gzip_bomb,
    page,
    redirect,
    status,
    trickle,
    unbounded,
)
from tynebase.net.addresses import parse_networks, refusal
from tynebase.net.errors import UrlRefused
from tynebase.net.fetch import Fetched, FetchPolicy, Resolver, fetch_url

HTML = b"<html><head><title>T</title></head><body><h1>Hello</h1><p>world</p></body></html>"


def policy(*allowed: str, **overrides: Any) -> FetchPolicy:
    values: dict[str, Any] = {
        "max_bytes": 64 * 1024,
        "total_seconds": 5.0,
        "idle_seconds": 2.0,
        "connect_seconds": 2.0,
        "max_redirects": 3,
        "allowed": parse_networks(allowed),
    }
    values.update(overrides)
    return FetchPolicy(**values)


LOOPBACK = policy("127.0.0.1/32")


def fetch(
    url: str, fetch_policy: FetchPolicy = LOOPBACK, resolver: Resolver | None = None
) -> Fetched:
    return asyncio.run(fetch_url(url, policy=fetch_policy, resolver=resolver))


def refused(
    url: str, fetch_policy: FetchPolicy = LOOPBACK, resolver: Resolver | None = None
) -> UrlRefused:
    with pytest.raises(UrlRefused) as caught:
        fetch(url, fetch_policy, resolver)
    return caught.value


def resolving(table: dict[str, Sequence[str]], calls: list[str] | None = None) -> Resolver:
    """A DNS stand-in: each name answers with the addresses of `table`."""

    async def resolve(host: str, port: int) -> Sequence[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise OSError(f"NXDOMAIN {host}")
        return table[host]

    return resolve


# --- which addresses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.10.0.5", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("::", "unspecified"),
        ("100.64.0.1", "shared"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
        ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
    ],
)
def test_forbidden_addresses(address: str, reason: str) -> None:
    assert refusal(ipaddress.ip_address(address), allowed=()) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_fetchable(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), allowed=()) is None


def test_allow_list_opens_networks_but_never_metadata() -> None:
    allowed = parse_networks(["127.0.0.1/32", "169.254.0.0/16", "10.0.0.0/8"])
    assert refusal(ipaddress.ip_address("127.0.0.1"), allowed=allowed) is None
    assert refusal(ipaddress.ip_address("10.9.8.7"), allowed=allowed) is None
    assert refusal(ipaddress.ip_address("127.0.0.2"), allowed=allowed) == "loopback"
    assert refusal(ipaddress.ip_address("169.254.169.254"), allowed=allowed) == "metadata"


# --- fetching ---------------------------------------------------------------------------------


def test_fetches_from_an_allowed_address(server: LoopbackServer) -> None:
    server.routes["/page"] = page(HTML)
    fetched = fetch(server.url("/page"))
    assert fetched.body == HTML
    assert (fetched.status, fetched.content_type, fetched.charset) == (200, "text/html", "utf-8")
    assert fetched.address == "127.0.0.1"


def test_loopback_is_refused_without_the_allow_list(server: LoopbackServer) -> None:
    server.routes["/page"] = page(HTML)
    for url in (server.url("/page"), f"http://[::1]:{server.port}/page"):
        error = refused(url, policy())
        assert error.code == "URL_FORBIDDEN_ADDRESS"
        assert error.details["reason"] == "loopback"
    # The same address in other spellings, read by the system resolver.
    for host in ("2130706433", "0x7f.0.0.1", "localhost"):
        assert refused(server.url("/page", host), policy()).code == "URL_FORBIDDEN_ADDRESS"
    assert server.seen == []  # nothing ever connected


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://10.0.0.1/admin", "private"),
        ("http://[fe80::1]/", "link-local"),
        # 127.0.0.1 is allowed here; another loopback address is not.
        ("http://127.0.0.2:1/", "loopback"),
    ],
)
def test_redirects_to_forbidden_addresses_are_refused(
    server: LoopbackServer, target: str, reason: str
) -> None:
    server.routes["/go"] = redirect(target)
    error = refused(server.url("/go"))
    assert error.code == "URL_FORBIDDEN_ADDRESS"
    assert error.details["reason"] == reason
    assert [path for path, _ in server.seen] == ["/go"]


def test_redirects_are_followed_when_each_hop_is_allowed(server: LoopbackServer) -> None:
    server.routes["/a"] = redirect("/b", 301)
    server.routes["/b"] = redirect(server.url("/c"), 307)
    server.routes["/c"] = page(HTML)
    fetched = fetch(server.url("/a"))
    assert fetched.body == HTML
    assert fetched.final_url == server.url("/c")
    assert fetched.redirects == [server.url("/b"), server.url("/c")]


def test_names_that_resolve_to_forbidden_addresses_are_refused(server: LoopbackServer) -> None:
    server.routes["/page"] = page(HTML)
    resolver = resolving(
        {
            "intranet.example": ["10.20.30.40"],
            "metadata.example": ["169.254.169.254"],
            "v6.example": ["fd00::5"],
            "mixed.example": ["127.0.0.1", "192.168.0.10"],  # one allowed, one not
        }
    )
    for host, reason in (
        ("intranet.example", "private"),
        ("metadata.example", "metadata"),
        ("v6.example", "unique-local"),
        ("mixed.example", "private"),
    ):
        error = refused(server.url("/page", host), resolver=resolver)
        assert (error.code, error.details["reason"]) == ("URL_FORBIDDEN_ADDRESS", reason)
    # A redirect to such a name is refused the same way.
    server.routes["/go"] = redirect("http://metadata.example/latest/meta-data/")
    assert refused(server.url("/go"), resolver=resolver).details["reason"] == "metadata"
    assert [path for path, _ in server.seen] == ["/go"]


def test_dns_rebinding_cannot_switch_the_address(server: LoopbackServer) -> None:
    """The name is resolved once per hop and the connection goes to that vetted address: a
    second answer (rebinding to a private address) is never asked for nor used."""
    server.routes["/page"] = page(HTML)
    answers = iter([["127.0.0.1"], ["10.0.0.1"], ["169.254.169.254"]])
    calls: list[str] = []

    async def rebinding(host: str, port: int) -> Sequence[str]:
        calls.append(host)
        return next(answers)

    fetched = fetch(f"http://rebind.example:{server.port}/page", resolver=rebinding)
    assert fetched.body == HTML
    assert fetched.address == "127.0.0.1"
    assert calls == ["rebind.example"]
    # The server saw the name the user gave (virtual hosts work), on the vetted connection.
    assert server.seen == [("/page", f"rebind.example:{server.port}")]


def test_schemes_and_malformed_urls(server: LoopbackServer) -> None:
    for url in ("ftp://example.com/file", "file:///etc/passwd", "gopher://x/", "javascript:1"):
        assert refused(url).code == "URL_BAD_SCHEME"
    for url in ("not a url", "http://", "http://user:secret@example.com/", "http://exa mple.com"):
        assert refused(url).code == "URL_INVALID"


def test_unresolvable_and_unreachable() -> None:
    error = refused("http://nowhere.example/", resolver=resolving({}))
    assert error.code == "URL_UNRESOLVABLE"
    error = refused("http://127.0.0.1:9/", LOOPBACK)  # the discard port: nothing listens
    assert error.code == "URL_UNREACHABLE"


def test_oversized_pages_are_refused(server: LoopbackServer) -> None:
    small = policy("127.0.0.1/32", max_bytes=100_000)
    server.routes["/declared"] = page(b"x" * 200_000, "text/plain")
    server.routes["/streamed"] = unbounded(300_000)
    server.routes["/bomb"] = gzip_bomb(50_000_000)  # ~50 KB on the wire, 50 MB inflated
    for path in ("/declared", "/streamed", "/bomb"):
        error = refused(server.url(path), small)
        assert error.code == "URL_TOO_LARGE", path
        assert error.details["max_bytes"] == 100_000


def test_slow_pages_time_out(server: LoopbackServer) -> None:
    # Silent for longer than the idle limit.
    server.routes["/stalls"] = trickle(pause=2.0, pieces=2)
    error = refused(server.url("/stalls"), policy("127.0.0.1/32", idle_seconds=0.3))
    assert error.code == "URL_TIMEOUT"
    assert "idle_seconds" in error.details
    # Never silent for long, but never done either: the total limit ends it.
    server.routes["/trickles"] = trickle(pause=0.1, pieces=1000)
    error = refused(
        server.url("/trickles"), policy("127.0.0.1/32", idle_seconds=1.0, total_seconds=0.8)
    )
    assert error.code == "URL_TIMEOUT"
    assert error.details["limit_seconds"] == 0.8


def test_content_types_statuses_and_redirect_loops(server: LoopbackServer) -> None:
    server.routes["/image"] = page(b"\x89PNG\r\n\x1a\n....", "image/png")
    error = refused(server.url("/image"))
    assert (error.code, error.details["content_type"]) == ("URL_UNSUPPORTED_CONTENT", "image/png")
    server.routes["/gone"] = status(410)
    assert refused(server.url("/gone")).code == "URL_HTTP_ERROR"
    server.routes["/loop"] = redirect("/loop")
    error = refused(server.url("/loop"))
    assert error.code == "URL_TOO_MANY_REDIRECTS"
    assert len(error.details["redirects"]) == 4  # max_redirects=3, then refused
    server.routes["/brotli"] = page(b"\x0b\x02\x80hello\x03", "text/plain", Content_Encoding="br")
    assert refused(server.url("/brotli")).code == "URL_BAD_RESPONSE"


def test_compressed_pages_are_read(server: LoopbackServer) -> None:
    import gzip

    server.routes["/gz"] = page(gzip.compress(HTML), "text/html", Content_Encoding="gzip")
    assert fetch(server.url("/gz")).body == HTML


def test_allowed_networks_are_validated_at_start() -> None:
    from pydantic import ValidationError

    from tynebase.settings import Settings

    with pytest.raises(ValidationError, match="does not appear to be an IPv4 or IPv6 network"):
        Settings(_env_file=None, url_fetch_allowed_networks=["10.0.0.0/33"])  # type: ignore[call-arg]
    allowed = Settings(_env_file=None, url_fetch_allowed_networks=["127.0.0.1/32"])  # type: ignore[call-arg]
    assert FetchPolicy.from_settings(allowed).allowed == parse_networks(["127.0.0.1"])
