"""What several test modules share (a test module never imports another's helpers): the raw
socket client, child processes of the CLI, Node's modules, and the contract file of a
pytester run. Raw socket *servers* that misbehave are in faulty.py, apps in apps.py."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CLI = [sys.executable, "-m", "aircore_mock"]
NODE_DIR = Path(__file__).resolve().parent / "node"


# --- raw sockets: what a client sends on the wire, every read bounded --------------------


def connect(port: int) -> socket.socket:
    """A connection to 127.0.0.1:`port` whose every read times out after 30 s."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.settimeout(30)  # every read is bounded
    return sock


def until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends before it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def read_answers(sock: socket.socket, count: int) -> list[bytes]:
    """`count` whole answers (status line and headers, then a body of content-length)."""
    data, answers = b"", []
    while len(answers) < count:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            head = data[:end].lower()
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(data) >= end + 4 + length:
                answers.append(data[: end + 4 + length])
                data = data[end + 4 + length :]
                continue
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"closed after {len(answers)} answers: {data!r}")
        data += chunk
    return answers


@contextlib.contextmanager
def sockets(count: int, port: int, send: bytes = b"") -> Iterator[list[socket.socket]]:
    """`count` open connections, each having sent `send`; all closed at the end."""
    opened = []
    try:
        for _ in range(count):
            sock = connect(port)
            if send:
                sock.sendall(send)
            opened.append(sock)
        yield opened
    finally:
        for sock in opened:
            sock.close()


# --- the CLI in a child process ---------------------------------------------------------


def default_signals() -> None:
    """A child's preexec_fn: a test run started in the background inherits SIGINT ignored;
    the child must not."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def wait_ready(ready: Path, process: subprocess.Popen[str], what: str, bound: float = 60) -> str:
    """`host:port` from a server's --ready-file (written whole, once it listens), bounded."""
    deadline = time.monotonic() + bound
    while not (ready.exists() and ready.read_text().endswith("\n")):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"{what} did not start: {process.communicate()}")
        time.sleep(0.02)  # polling a file the server writes once listening
    return ready.read_text().strip()


def start_cli(args: list[str], folder: Path) -> tuple[subprocess.Popen[str], str]:
    """A server command (`receive`, `serve`) in a child process, run in `folder`, once it
    listens; and its `host:port`."""
    ready = folder / "ready"
    ready.unlink(missing_ok=True)
    process = subprocess.Popen(
        [*CLI, *args, "--ready-file", str(ready)],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
    )
    return process, wait_ready(ready, process, " ".join(args), bound=20)


def stop_cli(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Ctrl-C, then its output."""
    process.send_signal(signal.SIGINT)
    return process.communicate(timeout=30)


def start_receive(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """`aircore-mock receive` in a child process, once it listens; and its URL."""
    process, address = start_cli(["receive", "--port", "0", *extra], tmp_path)
    return process, f"http://{address}/"


# --- the fake's API -----------------------------------------------------------------------

KEY = "test-api-key-0001"
AUTH = {"authorization": f"Bearer {KEY}"}


def start_body(callback_url: str | None = None, **s3: Any) -> dict[str, Any]:
    """A start-recording request body (S3 settings overridable)."""
    body: dict[str, Any] = {
        "storage": {
            "filename": "record",
            "s3": {
                "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "bucket": "acme-recordings",
                "region": "eu-west-1",
                **s3,
            },
        },
        "location": {"latitude": 50.1, "longitude": 8.7},
        "user_id": "user-7",
        "channel_id": "standup",
    }
    if callback_url is not None:
        body["callback_url"] = callback_url
    return body


# --- pages, from another origin ------------------------------------------------------------


@contextlib.contextmanager
def hostile_site(attack: str) -> Iterator[str]:
    """Another origin on 127.0.0.1: `/` serves `attack` (a page that posts across sites),
    `/blank` a plain page to run a cross-origin fetch from. Yields its URL."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from aircore_mock.server import AppServer

    async def evil(request: Any) -> HTMLResponse:
        return HTMLResponse(attack)

    async def blank(request: Any) -> HTMLResponse:
        return HTMLResponse("<p>another site</p>")

    app = Starlette(routes=[Route("/", evil), Route("/blank", blank)])
    with AppServer(app).start() as site:
        yield site.url


def cross_origin_json_post(page: Any, site: str, url: str, body: str) -> str:
    """From `site`'s blank page, a JSON POST to `url`: "blocked" when the browser refuses
    it (a cross-origin JSON request needs a preflight the control never allows)."""
    page.goto(site + "blank")
    return str(
        page.evaluate(
            """async ([url, body]) => {
              const headers = {"content-type": "application/json"};
              try { await fetch(url, {method: "POST", headers, body}); return "sent"; }
              catch (e) { return "blocked"; } }""",
            [url, body],
        )
    )


# --- Node's Ajv ---------------------------------------------------------------------------


def node_modules() -> Path:
    """tests/node/node_modules, installed from the lockfile when missing (.ci/run does it too)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the Ajv checks need Node.js (CI has it)")
    modules = NODE_DIR / "node_modules"
    if not (modules / "ajv-formats").is_dir() or not (modules / ".bin" / "redocly").exists():
        npm = shutil.which("npm")
        assert npm, "node is installed but npm is not: cannot install ajv and ajv-formats"
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"npm ci in {NODE_DIR} failed:\n{done.stderr}"
    return modules


# --- the pytest class, run by pytester ------------------------------------------------------


def contract_file(pytester: pytest.Pytester, receiver: str, extra: str = "") -> None:
    """A test file of the receiver contract class, over `receiver` (an expression)."""
    lines = [
        "import pytest",
        "from aircore_mock_pytest import AircoreReceiverContract",
        "from tests.receivers import make_receiver",
        "",
        "",
        "class TestReceiver(AircoreReceiverContract):",
        '    aircore_path = "/aircore"',
        "",
        "    @pytest.fixture",
        "    def receiver(self):",
        f"        return {receiver}",
        "",
        textwrap.indent(textwrap.dedent(extra), "    "),
    ]
    pytester.makepyfile(test_contract="\n".join(lines))


def outcomes(result: pytest.RunResult) -> dict[str, set[str]]:
    """Test name (without parameters) -> the outcomes its cases had."""
    found: dict[str, set[str]] = {}
    for report in result.reprec.getreports("pytest_runtest_logreport"):  # type: ignore[attr-defined]
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            name = report.nodeid.split("::")[-1].split("[")[0]
            found.setdefault(name, set()).add(report.outcome)
    return found
