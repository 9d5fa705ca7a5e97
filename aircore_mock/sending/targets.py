"""What a send goes to (a URL, an ASGI app, a WSGI app) and what it sends with (headers)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import urlsplit

from ..errors import UsageError

Kind = Literal["url", "asgi", "wsgi", "transport"]
"""What a Sender sends to; `transport` when it was given a transport and no target."""


def target_kind(target: Any) -> Kind:
    """`url` for a string, `asgi` for an async app, `wsgi` for a plain callable app."""
    if isinstance(target, str):
        return "url"
    if not callable(target):
        raise UsageError(f"target must be a URL, an ASGI app or a WSGI app, not {target!r}")
    call = target if inspect.isroutine(target) else type(target).__call__
    if inspect.iscoroutinefunction(call):
        return "asgi"
    return "wsgi"


def check_url(url: str) -> str:
    """The URL if it is an absolute http(s) URL, else a usage error naming the problem."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number in range
    except (ValueError, TypeError, AttributeError) as exc:
        raise UsageError(f"bad target URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"bad target URL {url!r}: expected http://host[:port]/path")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise UsageError(f"bad target URL {url!r}: it contains whitespace or control characters")
    del port
    return url


FRAMING_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "expect",
        "host",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
"""Headers that frame the request or the connection: the HTTP client sets them from the body
and the URL, and a second, different value corrupts every request (RFC 9112)."""

# RFC 9110 token characters: what a header name may be made of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def parse_headers(lines: Iterable[str]) -> dict[str, str]:
    """`Name: value` strings into a dict; a usage error for anything else, and for the
    framing headers (`FRAMING_HEADERS`), which the client sets itself."""
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not _TOKEN.fullmatch(name):
            raise UsageError(f"bad header {line!r}: expected 'Name: value'")
        if name.lower() in FRAMING_HEADERS:
            raise UsageError(
                f"bad header {line!r}: {name} frames the request and is set from the body "
                "and the URL; it cannot be given"
            )
        check_header_value(name, value)
        headers[name] = value
    return headers


def check_header_value(name: str, value: str) -> None:
    """A usage error for a header value HTTP cannot carry (non-ASCII, line breaks, NUL)."""
    if not isinstance(name, str) or not name or not name.isascii():
        raise UsageError(f"bad header name {name!r}: an ASCII string")
    if not isinstance(value, str) or not value.isascii() or any(c in value for c in "\r\n\0"):
        raise UsageError(f"bad header {name!r}: the value must be ASCII on one line")
