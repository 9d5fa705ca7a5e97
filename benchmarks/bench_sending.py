"""Benchmark aircore-mock's sender: deliveries/s to a local receiver, and memory on long sends.

Run:  python benchmarks/bench_sending.py [--quick] [--profile] [--receiver auto|nginx|uvicorn]

The receiver is nginx answering 204 (if `nginx` is on PATH or in /usr/sbin), else uvicorn with a
bare ASGI app answering 204; it runs on 127.0.0.1 and shares the machine's cores with the sender,
so the figures are a client and a server together, not the client alone. Every figure is the
median of several runs, printed beside baselines measured in the same run (a plain
`httpx.Client` loop, and an `http.client` loop as the ceiling of one Python process); the rows
take turns within each run. Compare ratios between machines, not absolute numbers. Nothing here
asserts on time: targets are printed as "met" or "MISSED". `--profile` adds a cProfile of the
parent process (CPU time per thread) during a multi-process send.

Worker processes start with multiprocessing's `spawn`, which re-imports this file: keep the
`if __name__ == "__main__":` guard and nothing heavy at module level.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import http.client
import json
import math
import os
import pstats
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from _common import machine_line, rate, ratio, verdict, version  # benchmarks/ is on sys.path

import aircore_mock

try:
    from aircore_mock import send
except ImportError:  # not exported from the package yet
    from aircore_mock.sending import send
from aircore_mock._sender import Sender

SEED = 1
SCENARIO = "burst"  # recordings at once, their callbacks interleaved: all lanes busy
CALLBACKS_PER_RECORDING = 3
CONCURRENCIES = (1, 16, 64)
TARGET_CONCURRENCY = 64
TARGET_PER_S = 5_000
TARGET_VS_HTTPX = 2.0
MEMORY_CONCURRENCY = 16
FLAT_WITHIN = 0.15  # "flat": the large send's peak RSS at most 15 % above the small one's
BUSY_CORES = 0.15  # warn when the rest of the machine takes more than this during the runs
HEADERS = {"content-type": "application/json", "user-agent": "aircore-mock-bench"}
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Sizes:
    recordings: int  # pre-generated per timed run (3 callbacks each)
    warmup: int  # callbacks in each row's untimed warm-up
    repeats: int
    memory_small: int  # callbacks, lazily generated
    memory_large: int
    profile_s: float  # how long the profiled send should last, roughly


FULL = Sizes(5_000, 1_000, 5, 10_000, 100_000, 1.5)
QUICK = Sizes(2_000, 500, 3, 5_000, 50_000, 1.0)


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Sample:
    """One timed run: wall seconds, CPU seconds of each party, what the run returned."""

    wall: float
    parent_cpu: float  # this process, all threads
    workers_cpu: float  # children that exited during the run: the library's worker processes
    server_cpu: float | None  # the receiver, if /proc can tell
    machine_cpu: float | None  # every CPU of the machine, busy (steal included), if /proc can tell
    result: Outcome

    @property
    def others(self) -> float | None:
        """Cores that other processes (or the hypervisor) took during the run, on average."""
        if self.machine_cpu is None:
            return None
        ours = self.parent_cpu + self.workers_cpu + (self.server_cpu or 0.0)
        return max(0.0, self.machine_cpu - ours) / self.wall


@dataclass(frozen=True)
class Outcome:
    sent: int
    delivered: int
    summary: dict[str, Any] | None = None  # the library's report summary
    error: str | None = None  # a baseline's first transport error, if any


def cpu_of(pid: int) -> float | None:
    """User + system CPU seconds of a running process, from /proc (Linux); None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float | None:
    """CPU seconds all cores have spent busy since boot, from /proc/stat (Linux); else None."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def measure(run: Callable[[], Outcome], server_pid: int) -> Sample:
    """Time one `run()` with the garbage collector paused (as timeit does)."""
    gc.collect()
    gc.disable()
    try:
        server_before = cpu_of(server_pid)
        machine_before = machine_busy()
        before = os.times()
        start = time.perf_counter()
        result = run()
        wall = time.perf_counter() - start
        after = os.times()
        machine_after = machine_busy()
        server_after = cpu_of(server_pid)
    finally:
        gc.enable()
    server = machine = None
    if server_before is not None and server_after is not None:
        server = server_after - server_before
    if machine_before is not None and machine_after is not None:
        machine = machine_after - machine_before
    return Sample(
        wall,
        (after.user + after.system) - (before.user + before.system),
        (after.children_user + after.children_system)
        - (before.children_user + before.children_system),
        server,
        machine,
        result,
    )


def taking_turns(
    runs: Sequence[Callable[[], Outcome]],
    warmups: Sequence[Callable[[], Outcome]],
    repeats: int,
    server_pid: int,
) -> list[list[Sample]]:
    """`repeats` samples of each run, after one untimed warm-up each.

    The runs take turns within every repeat, so that drift in the machine's speed (other
    processes, CPU clocks, the receiver's state) does not favour whichever runs first.
    """
    for warmup in warmups:
        warmup()
    samples: list[list[Sample]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, taken in zip(runs, samples, strict=True):
            taken.append(measure(run, server_pid))
    return samples


def server_cores(sample: Sample) -> float | None:
    return None if sample.server_cpu is None else sample.server_cpu / sample.wall


def median_of(samples: Sequence[Sample], value: Callable[[Sample], float | None]) -> float | None:
    values = [v for v in (value(s) for s in samples) if v is not None]
    return statistics.median(values) if values else None


# --------------------------------------------------------------------------- helpers


def cores(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def millis(value: Any) -> str:
    return "-" if value is None else f"{value:,.1f}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def bodies_of(recordings: int) -> list[bytes]:
    """Callbacks of a burst, serialized once, in send order."""
    deliveries = aircore_mock.Generator(SEED).deliveries(SCENARIO, count=recordings)
    return [orjson.dumps(d.callback) for d in deliveries]


# --------------------------------------------------------------------------- the receiver


@dataclass(frozen=True)
class Receiver:
    name: str
    url: str
    pid: int


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


def find_nginx() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def wait_for_port(proc: subprocess.Popen[bytes], port: int, deadline_s: float) -> str | None:
    """None once the port accepts connections; else why not (the process exited, or timeout)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"exited {proc.returncode} before listening"
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return None
        except OSError:
            time.sleep(0.01)  # poll interval, not a start-up delay
    return f"not listening after {deadline_s:g} s"


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def check_answers(url: str) -> str | None:
    """None if the receiver answers a POST with 204; else what it did."""
    try:
        answer = httpx.post(url, content=b"{}", headers=HEADERS)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if answer.status_code == 204 else f"answered {answer.status_code}"


@contextlib.contextmanager
def nginx_receiver(exe: str, tmp: Path) -> Iterator[Receiver]:
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, host=HOST, port=port), encoding="utf-8")
    argv = [exe, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        problem = wait_for_port(proc, port, 10.0)
        if problem:
            log = tmp / "error.log"
            tail = log.read_text(errors="replace").strip().splitlines()[-2:] if log.exists() else []
            raise RuntimeError(f"nginx {problem}: {tail}")
        yield Receiver(f"nginx {version_of_nginx(exe)} ({exe})", f"http://{HOST}:{port}/", proc.pid)
    finally:
        stop(proc)


def version_of_nginx(exe: str) -> str:
    proc = subprocess.run([exe, "-v"], capture_output=True, text=True, check=False)
    return (proc.stderr or proc.stdout).strip().rsplit("/", 1)[-1]


@contextlib.contextmanager
def uvicorn_receiver() -> Iterator[Receiver]:
    port = free_port()
    argv = [sys.executable, "-c", UVICORN_CHILD, HOST, str(port)]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        problem = wait_for_port(proc, port, 20.0)
        if problem:
            raise RuntimeError(f"uvicorn {problem}")
        name = f"uvicorn {version('uvicorn')}, a raw ASGI app (one process)"
        yield Receiver(name, f"http://{HOST}:{port}/", proc.pid)
    finally:
        stop(proc)


@contextlib.contextmanager
def receiver(choice: str, tmp: Path) -> Iterator[Receiver]:
    """nginx if wanted and found (and it starts), else uvicorn; stopped on the way out."""
    exe = find_nginx() if choice in ("auto", "nginx") else None
    if choice == "nginx" and exe is None:
        raise RuntimeError("--receiver nginx: nginx not found on PATH or in /usr/sbin")
    if exe is not None:
        try:
            with nginx_receiver(exe, tmp) as found:
                yield found
            return
        except RuntimeError as exc:
            if choice == "nginx":
                raise
            print(f"nginx did not start ({exc}); falling back to uvicorn")
    with uvicorn_receiver() as found:
        yield found


# --------------------------------------------------------------------------- the clients


def library(
    deliveries: Callable[[], Iterable[Any]], url: str, concurrency: int, processes: int | None
) -> Callable[[], Outcome]:
    def run() -> Outcome:
        report = send(
            deliveries(),
            url,
            concurrency=concurrency,
            processes=processes,
            keep_results=False,
        )
        summary = report.summary()
        return Outcome(summary["total"], summary["delivered"], summary)

    return run


def httpx_loop(bodies: Sequence[bytes], url: str) -> Callable[[], Outcome]:
    """The baseline: what a user writes first, one keep-alive client in a loop."""

    def run() -> Outcome:
        delivered = 0
        with httpx.Client(headers=HEADERS) as client:
            post = client.post
            for body in bodies:
                delivered += post(url, content=body).status_code == 204
        return Outcome(len(bodies), delivered)

    return run


def httpx_threads(bodies: Sequence[bytes], url: str, threads: int) -> Callable[[], Outcome]:
    """A reference: one `httpx.Client` shared by `threads` threads, each taking a slice."""

    def run() -> Outcome:
        counts = [0] * threads
        errors: list[str] = []
        limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
        with httpx.Client(headers=HEADERS, limits=limits) as client:

            def work(i: int) -> None:
                post = client.post
                for body in bodies[i::threads]:
                    try:
                        counts[i] += post(url, content=body).status_code == 204
                    except httpx.TransportError as exc:  # a shared pool can trip over itself
                        errors.append(f"{type(exc).__name__}: {exc}")

            workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        return Outcome(len(bodies), sum(counts), error=errors[0] if errors else None)

    return run


def http_client_loop(bodies: Sequence[bytes], url: str) -> Callable[[], Outcome]:
    """A reference ceiling for one Python process: the standard library's client in a loop."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None and parts.port is not None

    def run() -> Outcome:
        delivered = 0
        connection = http.client.HTTPConnection(parts.hostname, parts.port)
        try:
            for body in bodies:
                connection.request("POST", parts.path or "/", body, HEADERS)
                answer = connection.getresponse()
                answer.read()
                delivered += answer.status == 204
        finally:
            connection.close()
        return Outcome(len(bodies), delivered)

    return run


# --------------------------------------------------------------------------- 1. throughput


@dataclass(frozen=True)
class Row:
    label: str
    concurrency: int
    processes: int | str  # how many the library uses, or "-" for the baselines
    run: Callable[[], Outcome]
    warmup: Callable[[], Outcome]
    library: bool


def rows_for(bodies: list[bytes], warm: list[bytes], sizes: Sizes, url: str) -> list[Row]:
    rows: list[Row] = []
    for processes, label in ((None, "send(), processes auto"), (1, "send(), processes=1")):
        for c in CONCURRENCIES:
            used = Sender(url, concurrency=c, processes=processes).processes
            rows.append(
                Row(
                    label,
                    c,
                    used,
                    library(lambda: bodies, url, c, processes),
                    library(lambda: warm, url, c, processes),
                    True,
                )
            )
    lazy_c = TARGET_CONCURRENCY
    rows.append(
        Row(
            "send(Generator.deliveries()), auto",
            lazy_c,
            Sender(url, concurrency=lazy_c).processes,
            library(
                lambda: aircore_mock.Generator(SEED).deliveries(SCENARIO, count=sizes.recordings),
                url,
                lazy_c,
                None,
            ),
            library(lambda: warm, url, lazy_c, None),
            True,
        )
    )
    rows.append(
        Row(
            "httpx.Client loop (baseline)",
            1,
            "-",
            httpx_loop(bodies, url),
            httpx_loop(warm, url),
            False,
        )
    )
    for c in CONCURRENCIES[1:]:
        rows.append(
            Row(
                "httpx.Client shared by C threads",
                c,
                "-",
                httpx_threads(bodies, url, c),
                httpx_threads(warm, url, c),
                False,
            )
        )
    rows.append(
        Row(
            "http.client loop (ceiling)",
            1,
            "-",
            http_client_loop(bodies, url),
            http_client_loop(warm, url),
            False,
        )
    )
    return rows


def bench_throughput(sizes: Sizes, url: str, server_pid: int, problems: list[str]) -> float:
    """The table of deliveries/s; returns the library's auto rate at the target concurrency."""
    bodies = bodies_of(sizes.recordings)
    warm = bodies[: sizes.warmup]
    n, r = len(bodies), sizes.repeats
    sizes_sorted = sorted(len(b) for b in bodies)
    print(
        f"\n1. Deliveries/s, {n:,} callbacks per run ({sizes.recordings:,} '{SCENARIO}' "
        f"recordings, serialized once: bodies {sizes_sorted[0]}-{sizes_sorted[-1]} B, median "
        f"{statistics.median(sizes_sorted):.0f} B)"
    )
    print(
        f"   median of {r} runs, the rows taking turns within each run; 'x httpx' = deliveries/s "
        "over the plain httpx.Client loop's"
    )
    print(
        "   cores = CPU s / wall s: parent = this process (all threads), workers = the library's"
        " worker processes (spawn and imports included), server = the receiver, others = the"
        " rest of the machine (other processes, steal)"
    )
    print("   us/deliv = the client's CPU (parent + workers) per delivery")
    rows = rows_for(bodies, warm, sizes, url)
    samples = taking_turns([row.run for row in rows], [row.warmup for row in rows], r, server_pid)

    rates: list[float] = []
    for row, taken in zip(rows, samples, strict=True):
        short = [s.result for s in taken if s.result.sent != n or s.result.delivered != n]
        if short:
            lost = sum(n - got.delivered for got in short)
            message = (
                f"{row.label} c={row.concurrency}: {lost:,} of {n * len(taken):,} not delivered "
                f"in {len(short)} of {len(taken)} runs"
                + next((f" (first: {got.error})" for got in short if got.error), "")
            )
            if row.library:
                print(f"   BROKEN: {message}")
                problems.append(message)
            else:  # a baseline's own failure: worth knowing, not the library's problem
                print(f"   NOTE, baseline: {message}")
        wall = statistics.median(s.wall for s in taken)
        rates.append(n / wall)
    baseline = rates[[row.label for row in rows].index("httpx.Client loop (baseline)")]
    ceiling = rates[[row.label for row in rows].index("http.client loop (ceiling)")]

    print(
        f"   {'client':<36} {'conc':>4} {'procs':>5} {'deliv/s':>8} {'ms/run':>7} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'parent':>6} {'workers':>7} {'server':>6} "
        f"{'others':>6} {'us/deliv':>8} {'x httpx':>7} {'x http.client':>13}"
    )
    for row, taken, value in zip(rows, samples, rates, strict=True):
        summary = taken[-1].result.summary or {}
        latency = summary.get("latency_ms", {})
        parent = median_of(taken, lambda s: s.parent_cpu / s.wall)
        workers = median_of(taken, lambda s: s.workers_cpu / s.wall)
        server = median_of(taken, server_cores)
        others = median_of(taken, lambda s: s.others)
        client_us = median_of(taken, lambda s: (s.parent_cpu + s.workers_cpu) / n * 1e6)
        print(
            f"   {row.label:<36} {row.concurrency:>4} {row.processes!s:>5} {rate(value):>8} "
            f"{n / value * 1e3:>7,.0f} {millis(latency.get('p50')):>7} "
            f"{millis(latency.get('p99')):>7} "
            f"{cores(parent):>6} {cores(workers) if workers else '-':>7} {cores(server):>6} "
            f"{cores(others):>6} {client_us or 0:>8,.0f} "
            f"{ratio(value, baseline):>7} {ratio(value, ceiling):>13}"
        )
    print("   (p50/p99: latency of the last run, from the library's report)")
    busy = median_of([sample for taken in samples for sample in taken], lambda s: s.others)
    if busy is not None and busy > BUSY_CORES:
        print(
            f"   WARNING: other processes took {busy:.2f} cores (median over all runs): the "
            "figures are low, the multi-process rows the most; rerun on a quiet machine"
        )

    auto = {
        row.concurrency: value
        for row, value in zip(rows, rates, strict=True)
        if row.label == "send(), processes auto"
    }
    best = auto[TARGET_CONCURRENCY]
    fast = best >= TARGET_PER_S
    versus = best / baseline >= TARGET_VS_HTTPX
    print(
        f"   target at concurrency {TARGET_CONCURRENCY} (auto) >= {TARGET_VS_HTTPX:.0f}x the "
        f"httpx.Client loop: {verdict(versus)} ({best / baseline:.2f}x)"
    )
    print(
        f"   target at concurrency {TARGET_CONCURRENCY} (auto) >= {rate(TARGET_PER_S)} "
        f"deliveries/s: {verdict(fast)} ({rate(best)}/s)"
    )
    if not versus:
        problems.append(
            f"send() at c={TARGET_CONCURRENCY} only {ratio(best, baseline)} the httpx loop"
        )
    if not fast:
        problems.append(f"send() at c={TARGET_CONCURRENCY} {rate(best)}/s, below {TARGET_PER_S:,}")

    # What starting the worker processes costs each send (it is inside every auto row above).
    tiny = bodies[:TARGET_CONCURRENCY]
    spawned = statistics.median(
        measure(library(lambda: tiny, url, TARGET_CONCURRENCY, None), server_pid).wall
        for _ in range(r)
    )
    threads = statistics.median(
        measure(library(lambda: tiny, url, TARGET_CONCURRENCY, 1), server_pid).wall
        for _ in range(r)
    )
    used = Sender(url, concurrency=TARGET_CONCURRENCY).processes
    print(
        f"   fixed cost: send() of {len(tiny)} callbacks at concurrency {TARGET_CONCURRENCY} takes "
        f"{spawned * 1e3:,.0f} ms with {used} worker processes, {threads * 1e3:,.0f} ms with "
        f"threads only (median of {r})"
    )
    return best


# --------------------------------------------------------------------------- 2. memory


def status_kib(pid: int | str, field: str) -> int | None:
    """A `VmXXX:` figure (KiB) from /proc/<pid>/status (Linux); None elsewhere or when gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return None


def worker_pids() -> list[int]:
    """This process's children started by multiprocessing's spawn (not its resource tracker)."""
    me = os.getpid()
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == me and b"spawn_main" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


class WorkerPeaks:
    """Watches the worker processes while they run: the highest VmHWM each reached."""

    def __init__(self, every_s: float = 0.02) -> None:
        self.every_s = every_s
        self.peaks: dict[int, int] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self.done.wait(self.every_s):
            for pid in worker_pids():
                peak = status_kib(pid, "VmHWM")
                if peak is not None:
                    self.peaks[pid] = max(self.peaks.get(pid, 0), peak)

    def __enter__(self) -> WorkerPeaks:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


def memory_child(callbacks: int, url: str) -> int:
    """In a fresh process: send `callbacks` lazily; print peak RSS figures (KiB) as JSON."""
    recordings = math.ceil(callbacks / CALLBACKS_PER_RECORDING)
    deliveries = aircore_mock.Generator(SEED).deliveries(SCENARIO, count=recordings)
    before = status_kib("self", "VmHWM")
    with WorkerPeaks() as workers:
        report = send(deliveries, url, concurrency=MEMORY_CONCURRENCY, keep_results=False)
    summary = report.summary()
    print(
        json.dumps(
            {
                "before_kib": before,
                "self_kib": status_kib("self", "VmHWM"),
                "workers_kib": sorted(workers.peaks.values(), reverse=True),
                "ru_self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "ru_children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                "total": summary["total"],
                "delivered": summary["delivered"],
                "throughput": summary["throughput_per_s"],
            }
        )
    )
    return 0


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def bench_memory(sizes: Sizes, url: str, problems: list[str]) -> None:
    print(
        f"\n2. Peak RSS of a lazy send (Generator({SEED}).deliveries('{SCENARIO}'), "
        f"keep_results=False, concurrency {MEMORY_CONCURRENCY}, processes auto), "
        "one fresh process per size"
    )
    print(
        "   peaks are VmHWM from /proc/<pid>/status: the sending process's at the end, each "
        "worker's read every 20 ms while it runs (MiB)"
    )
    print(
        "   getrusage's ru_maxrss (self / children) is shown too, but on Linux a process started "
        "from a bigger one begins with that one's RSS in it (this benchmark's, here)"
    )
    peaks: list[tuple[int, int]] = []
    for callbacks in (sizes.memory_small, sizes.memory_large):
        argv = [sys.executable, str(Path(__file__).resolve()), "--memory-child", str(callbacks)]
        proc = subprocess.run(
            [*argv, "--url", url], capture_output=True, text=True, timeout=1800, check=False
        )
        try:
            got = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
            print(f"   BROKEN: {callbacks:,} callbacks: exited {proc.returncode}: {tail}")
            problems.append(f"memory run of {callbacks:,} failed")
            return
        if got["delivered"] != got["total"]:
            problems.append(f"memory run: {got['delivered']:,} of {got['total']:,} delivered")
        # Without /proc, fall back to getrusage (and its caveat).
        parent = got["self_kib"] or got["ru_self_kib"]
        workers = got["workers_kib"] or [got["ru_children_kib"]]
        peaks.append((parent, workers[0]))
        before = mib(got["before_kib"]) if got["before_kib"] else "?"
        print(
            f"   {got['total']:>8,} callbacks: parent {mib(parent):>6} (before sending {before}), "
            f"workers {' / '.join(mib(w) for w in workers)}; ru_maxrss "
            f"{mib(got['ru_self_kib'])} / {mib(got['ru_children_kib'])}; "
            f"{got['delivered']:,} delivered, {rate(got['throughput'])}/s"
        )
    (small_self, small_worker), (large_self, large_worker) = peaks
    growth_self = large_self / small_self - 1
    growth_worker = large_worker / small_worker - 1 if small_worker else 0.0
    flat = growth_self <= FLAT_WITHIN and growth_worker <= FLAT_WITHIN
    grew = sizes.memory_large // sizes.memory_small
    print(
        f"   {grew}x the callbacks: parent peak {growth_self:+.1%}, largest worker peak "
        f"{growth_worker:+.1%}; flat (within {FLAT_WITHIN:.0%}): {verdict(flat)}"
    )
    if not flat:
        problems.append(
            f"memory not flat: parent {growth_self:+.1%}, worker {growth_worker:+.1%} "
            f"for {grew}x the callbacks"
        )


# --------------------------------------------------------------------------- 3. profile


def bench_profile(sizes: Sizes, url: str, server_pid: int, auto_rate: float) -> None:
    """cProfile of this (the parent) process, all its threads, in CPU time per thread."""
    concurrency, processes = TARGET_CONCURRENCY, 2
    count = max(3_000, int(auto_rate * sizes.profile_s))
    bodies = bodies_of(math.ceil(count / CALLBACKS_PER_RECORDING))
    print(
        f"\n3. Profile of the parent process: send() of {len(bodies):,} pre-serialized callbacks, "
        f"concurrency {concurrency}, processes={processes}"
    )
    plain = measure(library(lambda: bodies, url, concurrency, processes), server_pid)
    print(
        f"   unprofiled: {plain.wall:.2f} s, {rate(len(bodies) / plain.wall)}/s; parent CPU "
        f"{plain.parent_cpu:.2f} s = {plain.parent_cpu / plain.wall:.2f} cores, workers "
        f"{plain.workers_cpu / plain.wall:.2f} cores, other processes {cores(plain.others)} cores"
    )

    profiles: list[tuple[threading.Thread, cProfile.Profile]] = []
    original = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        profile = cProfile.Profile(time.thread_time)
        profiles.append((self, profile))
        profile.enable()
        try:
            original(self)
        finally:
            profile.disable()

    main_profile = cProfile.Profile(time.thread_time)
    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    try:
        start = time.perf_counter()
        main_profile.enable()
        send(bodies, url, concurrency=concurrency, processes=processes, keep_results=False)
        main_profile.disable()
        wall = time.perf_counter() - start
    finally:
        threading.Thread.run = original  # type: ignore[method-assign]
    gc.collect()  # lets multiprocessing's queue threads see their queues closed
    stats = pstats.Stats(main_profile)
    merged, running = 1, 0
    for thread, profile in profiles:
        thread.join(timeout=2)
        if thread.is_alive():
            running += 1
            continue
        stats.add(profile)
        merged += 1
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in table.values())
    print(
        f"   profiled: {wall:.2f} s wall, {total:.2f} s of parent CPU over {merged} threads "
        "(main, feeder, multiprocessing queue threads)"
        + (f"; {running} still running, left out" if running else "")
    )
    print("   top 10 by tottime (CPU, per-thread clock):")
    print(f"   {'ncalls':>9} {'tottime s':>9} {'cumtime s':>9}  function")
    top = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:10]
    for (filename, line, name), (_, calls, tottime, cumtime, _) in top:
        where = filename if filename == "~" else f"{shorten(filename)}:{line}"
        print(f"   {calls:>9,} {tottime:>9.3f} {cumtime:>9.3f}  {where}({name})")


def shorten(filename: str) -> str:
    parts = Path(filename).parts
    for anchor in ("site-packages", "aircore_mock", "lib"):
        if anchor in parts:
            index = len(parts) - 1 - parts[::-1].index(anchor)
            return "/".join(parts[index + (anchor != "aircore_mock") :])
    return filename


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile the parent of a multi-process send"
    )
    parser.add_argument(
        "--receiver",
        choices=("auto", "nginx", "uvicorn"),
        default="auto",
        help="the local server answering 204 [default: nginx if found, else uvicorn]",
    )
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child is not None:
        return memory_child(args.memory_child, args.url)
    sizes = QUICK if args.quick else FULL

    print(machine_line("sending", args.quick))
    print(
        f"aircore-mock {aircore_mock.__version__}, httpx {version('httpx')}, "
        f"httpcore {version('httpcore')}, orjson {version('orjson')}; seed {SEED}"
    )
    problems: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="aircore-bench-") as name,
        receiver(args.receiver, Path(name)) as server,
    ):
        print(f"receiver: {server.name} at {server.url}, answering 204; pid {server.pid}")
        print("(the receiver and the sender share this machine's cores)")
        problem = check_answers(server.url)
        if problem:
            print(f"BROKEN: the receiver {problem}")
            return 1
        auto_rate = bench_throughput(sizes, server.url, server.pid, problems)
        bench_memory(sizes, server.url, problems)
        if args.profile:
            bench_profile(sizes, server.url, server.pid, auto_rate)

    print("\nSummary: " + ("all targets met" if not problems else "; ".join(problems)))
    if args.quick:
        print("(--quick: small sizes; worker start-up weighs more in every auto row)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
