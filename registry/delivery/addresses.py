"""Where a webhook may go, and going only there.

A subscriber's URL names a host; the registry resolves it and refuses any address that
is not a public one — loopback, private (RFC 1918, unique-local), link-local (the cloud
metadata service at 169.254.169.254), multicast, reserved, unspecified, shared (CGNAT)
— at subscription and again at every delivery, and then connects to the address it
checked (the URL's host still goes in ``Host`` and, for https, in SNI and the
certificate check), so a name that resolves differently the second time (DNS
rebinding) cannot slip an internal address in between.  ``https`` is required outside
development mode.  ``webhooks.allow_private_addresses: true`` lets a closed network
deliver to private addresses (and the tests to a local receiver).

What went wrong is stored as a category (:data:`ERROR_CATEGORIES`), never the raw text
of an exception: the delivery log is no port scanner.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from registry.core.errors import Invalid

#: What a failed delivery is stored as (``webhook_deliveries.last_error``).
ERROR_CATEGORIES: tuple[str, ...] = (
    "address_refused",  # the host resolves to an address the registry will not reach
    "dns",  # the host does not resolve
    "timeout",
    "refused",  # connection refused or reset
    "tls",  # the TLS handshake or the certificate failed
    "redirect",  # a 3xx answer (never followed)
    "http_4xx",
    "http_5xx",
    "connection",  # any other failure to talk to the subscriber
    "cancelled",  # the subscription was cancelled before delivery
)


@dataclass(frozen=True)
class Target:
    """A checked destination: the URL's parts and the address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


class Refused(Exception):
    """The destination may not be reached; ``category`` says why."""

    def __init__(self, category: str, message: str) -> None:
        super().__init__(message)
        self.category = category
        self.message = message


def is_public(address: str) -> bool:
    """Whether ``address`` is a global unicast address (nothing internal or special)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local
    )


def resolve(url: str, *, allow_private: bool, require_https: bool, timeout: float = 5.0) -> Target:
    """Parse ``url``, resolve its host and check every address it resolves to; the
    target connects to the first.  Raises :class:`Refused`."""
    parts = urlsplit((url or "").strip())
    allowed = ("https",) if require_https else ("http", "https")
    if parts.scheme not in allowed or not parts.hostname:
        raise Refused(
            "address_refused",
            "订阅地址须为 https 地址" if require_https else "订阅地址应为 http(s) URL",
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("address_refused", "订阅地址的端口无效") from None
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise Refused("dns", f"无法解析订阅地址的主机名“{host}”") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise Refused("dns", f"无法解析订阅地址的主机名“{host}”")
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise Refused(
                    "address_refused",
                    f"订阅地址指向内部或保留地址（{address}），不予投递",
                )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, addresses[0])


def check_subscription_url(url: str, *, allow_private: bool, require_https: bool) -> str:
    """The URL a subscription may use, or :class:`Invalid` naming ``url``."""
    text = (url or "").strip()
    if len(text) > 1000:
        raise Invalid("订阅地址过长", details={"url": ["最多1000个字符"]})
    scheme = urlsplit(text).scheme
    if require_https and scheme != "https":
        raise Invalid("订阅地址须为 https 地址", details={"url": ["须为 https 地址"]})
    if scheme not in ("http", "https") or not urlsplit(text).hostname:
        raise Invalid("订阅地址应为 http(s) URL", details={"url": ["应为 http 或 https 地址"]})
    try:
        resolve(text, allow_private=allow_private, require_https=require_https)
    except Refused as exc:
        raise Invalid(exc.message, details={"url": [exc.message]}) from None
    return text


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address, with the URL's host for SNI and the certificate."""

    def __init__(self, address: str, port: int, host: str, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self._server_name = host

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)  # type: ignore[attr-defined]


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    *,
    allow_private: bool,
    require_https: bool,
) -> tuple[int | None, str | None]:
    """POST ``body`` to the checked address of ``url``; ``(status, error category)``
    (status None when no HTTP answer came; category None for a 2xx)."""
    try:
        target = resolve(url, allow_private=allow_private, require_https=require_https)
    except Refused as exc:
        return None, exc.category
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = _PinnedHTTPS(target.address, target.port, target.host, timeout)
    else:
        connection = http.client.HTTPConnection(target.address, target.port, timeout=timeout)
    host = target.host if ":" not in target.host else f"[{target.host}]"
    default = 443 if target.scheme == "https" else 80
    try:
        connection.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host if target.port == default else f"{host}:{target.port}")
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        status = connection.getresponse().status
    except TimeoutError:
        return None, "timeout"
    except ssl.SSLError:
        return None, "tls"
    except (ConnectionRefusedError, ConnectionResetError):
        return None, "refused"
    except (OSError, http.client.HTTPException):
        return None, "connection"
    finally:
        connection.close()
    return status, category_of(status)


def category_of(status: int) -> str | None:
    """The error category of an HTTP status (None for a 2xx)."""
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return "redirect"
    if 400 <= status < 500:
        return "http_4xx"
    return "http_5xx"


def categorise(text: str | None) -> str | None:
    """An error text stored before categories (``HTTP 503``, ``URLError: …``) as its
    category: for the migration that rewrites the delivery log."""
    if text is None:
        return None
    low = text.lower()
    if text in ERROR_CATEGORIES:
        return text
    if low.startswith("http "):
        try:
            return category_of(int(low.split()[1])) or "connection"
        except (IndexError, ValueError):
            return "connection"
    if "cancel" in low:
        return "cancelled"
    if "timed out" in low or "timeout" in low:
        return "timeout"
    if "refused" in low or "reset" in low:
        return "refused"
    if "ssl" in low or "certificate" in low or "tls" in low:
        return "tls"
    if "name or service" in low or "getaddrinfo" in low or "nodename" in low:
        return "dns"
    return "connection"
