"""Helpers the benchmark scripts share: timing, formatting, finding tools."""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path


def seconds(run: Callable[[], object]) -> float:
    """Wall time of one `run()`, with the garbage collector paused (as timeit does)."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start
    finally:
        gc.enable()


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of `run()` over `repeats` runs (after one untimed warm-up)."""
    run()
    return statistics.median(seconds(run) for _ in range(repeats))


def find_script(name: str) -> str | None:
    """A console script next to this interpreter (the same venv), else on PATH."""
    here = Path(sys.executable).parent / name
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which(name)


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def rate(value: float) -> str:
    return f"{value:,.0f}"


def spread(values: list[float], digits: int = 0) -> str:
    """`median (min-max)` of a benchmark's runs."""
    middle, low, high = statistics.median(values), min(values), max(values)
    return f"{middle:,.{digits}f} ({low:,.{digits}f}-{high:,.{digits}f})"


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:,.1f}x" if denominator else "n/a"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def aircore_cli() -> list[str]:
    """How to run `aircore-mock`: the console script of this venv, else `python -m`."""
    script = find_script("aircore-mock")
    return [script] if script else [sys.executable, "-m", "aircore_mock"]


def machine_line(title: str, quick: bool) -> str:
    """The first line every benchmark prints: which run, on what."""
    return (
        f"aircore-mock {title} benchmark ({'quick' if quick else 'full'}): "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}"
    )


# --- a local server answering 204, for the benchmarks that send ----------------------------

HOST = "127.0.0.1"

NGINX_CONF = """\
daemon off;
# One process, so that its CPU time can be read from /proc (a master would hide its worker's).
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen {host}:{port};
        location / {{
            return 204;
        }}
    }}
}}
"""

# argv: host, port. A raw ASGI app: no framework between uvicorn and the 204.
UVICORN_CHILD = r"""
import sys
import uvicorn


async def app(scope, receive, send):
    more = True
    while more:  # read the body, so that the connection can be kept alive
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


uvicorn.run(app, host=sys.argv[1], port=int(sys.argv[2]), log_level="warning",
            access_log=False, lifespan="off")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_listening(proc: subprocess.Popen[bytes], port: int, limit: float = 20.0) -> None:
    """Return once `port` accepts connections; RuntimeError if `proc` exits or time runs out."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.01)  # poll interval, not a start-up delay
    raise RuntimeError(f"not listening on {port} after {limit:g} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def server_204(tmp: Path, choice: str = "auto") -> Iterator[tuple[str, str, int]]:
    """(description, base URL, pid) of a local server answering 204 to every request: nginx
    (one process) if found and wanted, else uvicorn with a raw ASGI app; stopped at the end."""
    exe = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if choice == "nginx" and exe is None:
        raise SystemExit("--receiver nginx: nginx not found on PATH or in /usr/sbin")
    port = free_port()
    if exe is not None and choice != "uvicorn":
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, host=HOST, port=port), encoding="utf-8")
        argv = [exe, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")]
        name = f"nginx ({exe}), one process"
    else:
        argv = [sys.executable, "-c", UVICORN_CHILD, HOST, str(port)]
        name = f"uvicorn {version('uvicorn')}, a raw ASGI app (one process)"
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        wait_listening(proc, port)
        yield name, f"http://{HOST}:{port}/", proc.pid
    finally:
        stop(proc)
