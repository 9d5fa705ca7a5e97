"""The README's inspector section runs as written: each command in a fresh process, the
ports swapped for ephemeral ones, `receive` started and stopped around the rest."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aircore_mock.server import AppServer

from .helpers import CLI
from .helpers import start_cli as _start
from .helpers import stop_cli as _stop

README = Path(__file__).resolve().parents[1] / "README.md"


def _commands() -> list[str]:
    text = README.read_text()
    section = text[text.index("## Capture, look, replay: the inspector") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


@pytest.fixture
def app() -> Iterator[AppServer]:
    got: list[bytes] = []

    async def aircore(request: Request) -> Response:
        got.append(await request.body())
        return Response(status_code=202)

    asgi = Starlette(routes=[Route("/aircore", aircore, methods=["POST"])])
    with AppServer(asgi, path="/aircore").start() as server:
        server.got = got  # type: ignore[attr-defined]
        yield server


def test_the_inspector_section_runs_as_written(app: Any, tmp_path: Path) -> None:
    commands = _commands()
    assert len(commands) == 7
    app_url = app.url
    receiver: subprocess.Popen[str] | None = None
    address = ""
    try:
        for line in commands:
            args = shlex.split(line)
            assert args[0] == "aircore-mock"
            args = [a.replace("http://127.0.0.1:5000/aircore", app_url) for a in args[1:]]
            if args[0] == "receive":
                if receiver is not None:
                    _stop(receiver)
                args[args.index("--port") + 1] = "0"
                receiver, address = _start(args, tmp_path)
                if "--resume" in args:
                    page = f"http://{address}/_aircore-mock/api/captures"
                    listed = httpx.get(page).json()
                    assert listed["total"] == 8  # the history, from the log
                    assert httpx.get(f"http://{address}/_aircore-mock/").status_code == 200
                continue
            args = [a.replace("127.0.0.1:8000", address) for a in args]
            done = subprocess.run(
                [*CLI, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, (line, done.stdout, done.stderr)
            if args[:2] == ["replay", "received.jsonl"] and "--dry-run" in args:
                assert len(done.stdout.splitlines()) == 3
    finally:
        if receiver is not None:
            _stop(receiver)
    # 8 forwarded, 8 sent from the log, the upload failures replayed edited (2, or 3 when the
    # scenario's duplicate, drawn at random, was one)
    log = [json.loads(line) for line in (tmp_path / "received.jsonl").read_text().splitlines()]
    failed = [r for r in log if r["event"] == "recording-upload-failed"]
    assert len(log) == 8 and len(failed) in (2, 3, 4)
    assert len(app.got) == 8 + 8 + len(failed)
    assert app.got[:16] == [r["body"].encode() for r in log] * 2
    assert all(b'"reason":"timeout"' in body for body in app.got[16:])
