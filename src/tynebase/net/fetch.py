"""`fetch_url`: GET a user-given http(s) URL safely (see the package docstring).

    policy = FetchPolicy.from_settings(settings)
    page = await fetch_url("https://example.com/handbook", policy=policy)
    page.body, page.content_type, page.final_url

Tests inject `resolver` (any `async (host, port) -> [ip, ...]`) to make names resolve to the
addresses they want, and connect to loopback servers by allowing `127.0.0.1/32`.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import anyio
import httpx

from tynebase.net.addresses import IPAddress, IPNetwork, parse_networks, refusal
from tynebase.net.errors import (
    UrlBadResponse,
    UrlBadScheme,
    UrlForbiddenAddress,
    UrlHttpError,
    UrlInvalid,
    UrlTimeout,
    UrlTooLarge,
    UrlTooManyRedirects,
    UrlUnreachable,
    UrlUnresolvable,
    UrlUnsupportedContent,
)
from tynebase.settings import Settings

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
SCHEMES = {"http": 80, "https": 443}
REDIRECTS = {301, 302, 303, 307, 308}
MAX_URL_CHARS = 2048
CHUNK = 64 * 1024
USER_AGENT = "TyneBase-URL-import/1.0 (+https://github.com/tynebase)"
ACCEPT = "text/html,application/xhtml+xml,text/markdown,text/plain;q=0.9"
# Content types a page may be imported from; an absent type is sniffed from the bytes.
TEXT_TYPES = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
}


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int
    total_seconds: float
    idle_seconds: float
    connect_seconds: float
    max_redirects: int
    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        return cls(
            max_bytes=int(settings.url_fetch_max_bytes),
            total_seconds=settings.url_fetch_timeout_seconds,
            idle_seconds=settings.url_fetch_idle_seconds,
            connect_seconds=min(settings.url_fetch_idle_seconds, 10.0),
            max_redirects=settings.url_fetch_max_redirects,
            allowed=parse_networks(settings.url_fetch_allowed_networks),
        )


@dataclass(frozen=True)
class Fetched:
    url: str  # as asked
    final_url: str  # after redirects
    status: int
    content_type: str  # without parameters; "" when the server sent none
    charset: str | None
    body: bytes
    redirects: list[str] = field(default_factory=list)
    address: str = ""  # the IP the final answer came from


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context per process: building one (loading the CA bundle) costs more
    than a whole loopback fetch, and every hop gets a fresh client."""
    return httpx.create_ssl_context()


def check_url(raw: str) -> httpx.URL:
    """A fetchable absolute http(s) URL (syntax only; addresses are checked when fetching)."""
    if len(raw) > MAX_URL_CHARS or any(ch in raw for ch in "\x00\r\n\t "):
        raise UrlInvalid("This is not a valid URL", details={"max_chars": MAX_URL_CHARS})
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError) as exc:
        raise UrlInvalid("This is not a valid URL") from exc
    if url.scheme not in SCHEMES:
        raise UrlBadScheme(
            "Only http:// and https:// URLs can be imported",
            details={"scheme": url.scheme, "allowed": sorted(SCHEMES)},
        )
    if not url.raw_host:
        raise UrlInvalid("The URL has no host name")
    if url.userinfo:
        raise UrlInvalid("URLs with a user name or password cannot be imported")
    return url.copy_with(fragment=None)


def literal_address(url: httpx.URL) -> IPAddress | None:
    try:
        return ipaddress.ip_address(url.host)
    except ValueError:
        return None


def check_literal(url: httpx.URL, *, allowed: Sequence[IPNetwork]) -> None:
    """Refuse a URL whose host is a forbidden IP literal (no DNS needed to know)."""
    address = literal_address(url)
    if address is not None:
        _vet([address], host=url.host, allowed=allowed)


def _vet(addresses: Sequence[IPAddress], *, host: str, allowed: Sequence[IPNetwork]) -> None:
    for address in addresses:
        reason = refusal(address, allowed=allowed)
        if reason is not None:
            raise UrlForbiddenAddress(
                f"{host} points to an address that cannot be fetched ({reason})",
                details={"host": host, "address": str(address), "reason": reason},
            )


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def _resolve(url: httpx.URL, port: int, resolver: Resolver) -> list[IPAddress]:
    literal = literal_address(url)
    if literal is not None:
        return [literal]
    host = url.raw_host.decode("ascii")
    try:
        answers = await resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise UrlUnresolvable(f"{url.host} cannot be resolved", details={"host": url.host}) from exc
    addresses: list[IPAddress] = []
    for answer in answers:
        try:
            addresses.append(ipaddress.ip_address(str(answer).split("%", 1)[0]))
        except ValueError as exc:
            raise UrlUnresolvable(f"{url.host} resolved to garbage") from exc
    if not addresses:
        raise UrlUnresolvable(f"{url.host} has no address", details={"host": url.host})
    return list(dict.fromkeys(addresses))


class _Body:
    """Collects the body up to the limit, decompressing gzip/deflate with a bounded output."""

    def __init__(self, encoding: str, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.parts: list[bytes] = []
        self.size = 0
        if encoding in {"", "identity"}:
            self.inflater = None
        elif encoding in {"gzip", "x-gzip", "deflate"}:
            self.inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
        else:
            raise UrlBadResponse(
                f"The page uses a content encoding TyneBase cannot read ({encoding})",
                details={"content_encoding": encoding},
            )

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise UrlTooLarge(
                f"The page is larger than {self.max_bytes} bytes",
                details={"max_bytes": self.max_bytes},
            )
        self.parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if self.inflater is None:
            self._keep(chunk)
            return
        try:
            # Never inflate more than one byte past the limit: a small bomb cannot fill memory.
            # (Reaching that length raises in _keep, so no input is ever left unconsumed.)
            self._keep(self.inflater.decompress(chunk, self.max_bytes - self.size + 1))
        except zlib.error as exc:
            raise UrlBadResponse("The page's compressed body is damaged") from exc

    def done(self) -> bytes:
        if self.inflater is not None:
            try:
                self._keep(self.inflater.flush())
            except zlib.error as exc:
                raise UrlBadResponse("The page's compressed body is damaged") from exc
        return b"".join(self.parts)


def _media_type(header: str) -> tuple[str, str | None]:
    parts = [p.strip() for p in header.split(";")]
    charset = None
    for param in parts[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value:
            charset = value.strip().strip('"').lower() or None
    return parts[0].lower(), charset


async def _one_hop(
    url: httpx.URL, *, port: int, address: IPAddress, policy: FetchPolicy
) -> tuple[httpx.Response, bytes | None]:
    """GET `url` from `address`; returns the response and, unless it redirects, its body."""
    host = url.raw_host.decode("ascii")
    default_port = url.port is None or url.port == SCHEMES[url.scheme]
    authority = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    headers = {
        "Host": authority if default_port else f"{authority}:{port}",
        "User-Agent": USER_AGENT,
        "Accept": ACCEPT,
        "Accept-Encoding": "gzip, deflate",
    }
    # The vetted address goes into the URL itself: nothing resolves the name again. TLS still
    # checks the certificate against the name (SNI + hostname verification use `sni_hostname`).
    target = url.copy_with(host=str(address), port=port)
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    timeout = httpx.Timeout(
        connect=policy.connect_seconds,
        read=policy.idle_seconds,
        write=policy.idle_seconds,
        pool=policy.connect_seconds,
    )
    # One client per hop and no environment proxies: a pooled connection must never carry a
    # request for another host, and a proxy would resolve names itself.
    async with (
        httpx.AsyncClient(
            trust_env=False, follow_redirects=False, timeout=timeout, verify=_tls()
        ) as client,
        client.stream("GET", target, headers=headers, extensions=extensions) as response,
    ):
        if response.status_code in REDIRECTS and "location" in response.headers:
            return response, None
        if response.status_code >= 400:
            raise UrlHttpError(
                f"The server answered {response.status_code}",
                details={"status": response.status_code},
            )
        if not 200 <= response.status_code < 300:
            raise UrlBadResponse(
                f"The server answered {response.status_code}",
                details={"status": response.status_code},
            )
        media_type, _ = _media_type(response.headers.get("content-type", ""))
        if media_type and media_type not in TEXT_TYPES:
            raise UrlUnsupportedContent(
                f"Pages of type {media_type} cannot be imported",
                details={"content_type": media_type, "allowed": sorted(TEXT_TYPES)},
            )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > policy.max_bytes:
            raise UrlTooLarge(
                f"The page is larger than {policy.max_bytes} bytes",
                details={"max_bytes": policy.max_bytes, "content_length": int(declared)},
            )
        body = _Body(response.headers.get("content-encoding", "").strip().lower(), policy.max_bytes)
        async for chunk in response.aiter_raw(CHUNK):
            body.feed(chunk)
        return response, body.done()


async def fetch_url(
    raw_url: str, *, policy: FetchPolicy, resolver: Resolver | None = None
) -> Fetched:
    """Fetch `raw_url` (following vetted redirects); raises a `UrlRefused` with its code."""
    resolve = resolver or system_resolver
    url = check_url(raw_url)
    redirects: list[str] = []
    try:
        with anyio.fail_after(policy.total_seconds):
            for _ in range(policy.max_redirects + 1):
                port = url.port or SCHEMES[url.scheme]
                addresses = await _resolve(url, port, resolve)
                # Every answer must be acceptable: a name with one public and one private
                # address could be steered to the private one.
                _vet(addresses, host=url.host, allowed=policy.allowed)
                response, body = await _one_hop(url, port=port, address=addresses[0], policy=policy)
                if body is None:
                    location = response.headers["location"]
                    try:
                        url = check_url(str(url.join(location)))
                    except UrlInvalid as exc:
                        raise UrlBadResponse("The page redirects to an invalid URL") from exc
                    redirects.append(str(url))
                    continue
                media_type, charset = _media_type(response.headers.get("content-type", ""))
                return Fetched(
                    url=raw_url,
                    final_url=str(url),
                    status=response.status_code,
                    content_type=media_type,
                    charset=charset,
                    body=body,
                    redirects=redirects,
                    address=str(addresses[0]),
                )
    except TimeoutError as exc:
        raise UrlTimeout(
            f"The page did not arrive within {policy.total_seconds:g} s",
            details={"limit_seconds": policy.total_seconds},
        ) from exc
    except httpx.TimeoutException as exc:
        raise UrlTimeout(
            f"The server went silent for more than {policy.idle_seconds:g} s",
            details={"idle_seconds": policy.idle_seconds},
        ) from exc
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise UrlUnreachable(
            f"{url.host} could not be reached", details={"host": url.host}
        ) from exc
    except httpx.HTTPError as exc:
        raise UrlBadResponse(f"Fetching the page failed: {type(exc).__name__}") from exc
    raise UrlTooManyRedirects(
        f"The page redirects more than {policy.max_redirects} times",
        details={"max_redirects": policy.max_redirects, "redirects": redirects},
    )
