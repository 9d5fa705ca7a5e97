"""Client wire profiles: a POST written as real HTTP clients write it, and the answer read
strictly, as a client that keeps the connection would read it.

Requests are written with h11 (which writes exactly the headers it is given, in their case),
over a plain socket: chunked or Content-Length bodies, `Expect: 100-continue`, header names in
any case, with or without `User-Agent`, keep-alive or `Connection: close`. Each failure names
its profile, and `curl_flags` gives the curl options that send the same request.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import h11

Case = Literal["title", "lower", "upper"]


@dataclass(frozen=True)
class WireProfile:
    """How one kind of HTTP client writes a POST."""

    name: str
    client: str
    """The client it imitates."""
    chunked: bool = False
    """`Transfer-Encoding: chunked` instead of `Content-Length`."""
    expect_continue: bool = False
    """`Expect: 100-continue` (the body waits for the 100, or a second, as curl does)."""
    case: Case = "title"
    """The case of every header name, framing headers included."""
    user_agent: str | None = None
    """The User-Agent (None: no User-Agent header at all)."""
    keepalive: bool = True
    """Several requests on one connection; else `Connection: close` and one each."""
    extra: tuple[tuple[str, str], ...] = ()


PROFILES: tuple[WireProfile, ...] = (
    WireProfile("node-http", "Node's http.request (a streamed body)", chunked=True, case="title"),
    WireProfile(
        "node-fetch",
        "Node's fetch (undici)",
        case="lower",
        user_agent="node",
        extra=(("accept", "*/*"), ("accept-encoding", "gzip, deflate")),
    ),
    WireProfile(
        "axios",
        "axios",
        user_agent="axios/1.7.9",
        extra=(("Accept", "application/json, text/plain, */*"),),
    ),
    WireProfile(
        "go", "Go's net/http", user_agent="Go-http-client/1.1", extra=(("Accept-Encoding", "gzip"),)
    ),
    WireProfile(
        "go-chunked",
        "Go's net/http with a body of unknown length",
        chunked=True,
        user_agent="Go-http-client/1.1",
    ),
    WireProfile("java", "Java's HttpClient", case="lower", user_agent="Java-http-client/21"),
    WireProfile(
        "curl",
        "curl (a body over 1 MiB, or told to)",
        expect_continue=True,
        user_agent="curl/8.5.0",
        keepalive=False,
        extra=(("Accept", "*/*"),),
    ),
    WireProfile(
        "python-requests",
        "Python's requests",
        user_agent="python-requests/2.32.3",
        extra=(("Accept", "*/*"), ("Accept-Encoding", "gzip, deflate")),
    ),
    WireProfile(
        "upper-close",
        "a client that writes header names in capitals, no User-Agent, one connection per request",
        case="upper",
        keepalive=False,
    ),
)
"""The profiles every run sends a lifecycle through (speaks-http)."""

CONTINUE_WAIT = 1.0
"""Seconds a client waits for `100 Continue` before sending the body anyway (curl's wait)."""


def _name(name: str, case: Case) -> str:
    if case == "lower":
        return name.lower()
    if case == "upper":
        return name.upper()
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def request_headers(
    profile: WireProfile, host: str, body: bytes, headers: Mapping[str, str]
) -> list[tuple[str, str]]:
    """The request's headers, in order and case, as the profile's client writes them."""
    out = [(_name("Host", profile.case), host)]
    if profile.user_agent is not None:
        out.append((_name("User-Agent", profile.case), profile.user_agent))
    out += [(_name(k, profile.case), v) for k, v in profile.extra]
    given = {k.lower(): (k, v) for k, v in headers.items()}
    given.setdefault("content-type", ("Content-Type", "application/json"))
    out += [(_name(k, profile.case), v) for k, v in given.values()]
    if profile.chunked:
        out.append((_name("Transfer-Encoding", profile.case), "chunked"))
    else:
        out.append((_name("Content-Length", profile.case), str(len(body))))
    if profile.expect_continue:
        out.append((_name("Expect", profile.case), "100-continue"))
    out.append((_name("Connection", profile.case), "keep-alive" if profile.keepalive else "close"))
    return out


def curl_flags(profile: WireProfile) -> list[str]:
    """curl options that make curl write the request as the profile does."""
    flags: list[str] = []
    if profile.chunked:
        flags += ["-H", f"{_name('Transfer-Encoding', profile.case)}: chunked"]
    if profile.expect_continue:
        flags += ["-H", f"{_name('Expect', profile.case)}: 100-continue"]
    flags += [
        "-H",
        f"{_name('User-Agent', profile.case)}:"
        + (f" {profile.user_agent}" if profile.user_agent else ""),
    ]
    if not profile.keepalive:
        flags += ["-H", f"{_name('Connection', profile.case)}: close"]
    for k, v in profile.extra:
        flags += ["-H", f"{_name(k, profile.case)}: {v}"]
    return flags


@dataclass
class WireAnswer:
    """What one request got: the status and body, or the problem with the answer."""

    status: int | None
    body: bytes
    latency_ms: float
    problem: str | None = None
    """What a real client would experience (a wait until its timeout, a parse error)."""
    reused: bool = False


class _Connection:
    def __init__(self, url: str, timeout: float, verify: bool) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.authority = parts.netloc
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        if parts.scheme == "https":
            context = ssl.create_default_context()
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname=self.host)
        self.sock = sock
        self.conn = h11.Connection(h11.CLIENT)
        self.used = 0

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def _read(connection: _Connection, deadline: float) -> h11.Event:
    conn = connection.conn
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        connection.sock.settimeout(left)
        conn.receive_data(connection.sock.recv(65536))  # a socket timeout is a TimeoutError


def post(
    connection: _Connection,
    body: bytes,
    profile: WireProfile,
    headers: Mapping[str, str],
    budget: float,
) -> WireAnswer:
    """One POST on `connection`, its answer read whole (or the problem with it)."""
    began = time.monotonic()
    deadline = began + budget
    conn = connection.conn
    reused = connection.used > 0
    connection.used += 1

    def answer(status: int | None, data: bytes, problem: str | None) -> WireAnswer:
        return WireAnswer(status, data, (time.monotonic() - began) * 1000, problem, reused)

    request = h11.Request(
        method="POST",
        target=connection.target,
        headers=request_headers(profile, connection.authority, body, headers),
    )
    status: int | None = None
    chunks: list[bytes] = []
    framed = True
    try:
        connection.sock.sendall(conn.send(request))
        if profile.expect_continue:
            # Wait for the 100 (or a final answer) up to a second, then send the body anyway.
            try:
                event = _read(connection, min(deadline, time.monotonic() + CONTINUE_WAIT))
                if isinstance(event, h11.Response):
                    status = event.status_code
            except TimeoutError:
                pass
        if status is None:
            data = conn.send(h11.Data(data=body)) if body else b""
            connection.sock.sendall(data + conn.send(h11.EndOfMessage()))
        while True:
            event = _read(connection, deadline)
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                names = {k.lower(): v for k, v in event.headers}
                framed = b"content-length" in names or b"transfer-encoding" in names
                framed = framed or status in (204, 304) or event.http_version != b"1.1"
                framed = framed or names.get(b"connection", b"").lower() == b"close"
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break
    except TimeoutError:
        data = b"".join(chunks)
        if status is None:
            return answer(None, data, f"no whole answer within {budget:g} s")
        if not framed:
            return answer(
                status,
                data,
                f"HTTP {status} on a kept-alive HTTP/1.1 connection with neither Content-Length"
                " nor chunked framing, and the connection left open: a keep-alive client waits"
                " for the end of the body until its timeout",
            )
        return answer(
            status,
            data,
            f"HTTP {status} whose body stopped short of its framing (a Content-Length larger"
            " than the bytes sent, or an unfinished chunked body): the client waits for the"
            " rest until its timeout",
        )
    except h11.RemoteProtocolError as exc:
        return answer(status, b"".join(chunks), f"an answer no HTTP/1.1 client can parse ({exc})")
    except OSError as exc:
        return answer(
            status, b"".join(chunks), f"the connection failed ({exc.__class__.__name__}: {exc})"
        )
    data = b"".join(chunks)
    # Bytes after the end of the answer: a Content-Length smaller than what was sent.
    if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
        extra = bytes(conn.trailing_data[0])
        if not extra:
            connection.sock.settimeout(0.05)
            try:
                extra = connection.sock.recv(65536)
            except OSError:  # a timeout included: nothing more came
                extra = b""
        if extra:
            return answer(
                status,
                data,
                f"HTTP {status} followed by {len(extra)} byte(s) beyond its Content-Length: a"
                " keep-alive client reads them as the start of the next answer",
            )
        conn.start_next_cycle()
    return answer(status, data, None)


def deliver(
    url: str,
    bodies: Sequence[bytes],
    profile: WireProfile,
    headers: Mapping[str, str],
    budget: float,
    verify: bool = True,
) -> list[WireAnswer]:
    """POST `bodies` in order as the profile's client would: on one kept-alive connection
    (a new one when the receiver closes it), or one connection each."""
    answers: list[WireAnswer] = []
    connection: _Connection | None = None
    try:
        for body in bodies:
            began = time.monotonic()
            if connection is None or not profile.keepalive or _closed(connection):
                if connection is not None:
                    connection.close()
                try:
                    connection = _Connection(url, budget, verify)
                except OSError as exc:
                    answers.append(
                        WireAnswer(
                            None, b"", (time.monotonic() - began) * 1000, f"cannot connect ({exc})"
                        )
                    )
                    break
            got = post(connection, body, profile, headers, budget)
            answers.append(got)
            if got.problem is not None:
                break  # the connection is in an unknown state: the clause fails anyway
    finally:
        if connection is not None:
            connection.close()
    return answers


def _closed(connection: _Connection) -> bool:
    return connection.conn.our_state is not h11.IDLE
