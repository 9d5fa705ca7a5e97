"""Locust users that play generated Aircore lifecycles: load from one machine or many.

    from aircore_mock.load.users import AircoreCallbacksUser

    class Receiver(AircoreCallbacksUser):
        scenario = "upload-failed"
        speed = 60.0

Each user plays whole recordings from its own seeded `Generator` (the seeds of a run derive
from one run seed), each recording's callbacks in order, and reports every POST to Locust as
a request named by its event type (2xx is a success). When a test stops, a user finishes the
recording it is playing without further waits, and workers hand their last counts to the
master before it reports, so that Locust's request count is what the receiver got.

Importing this module imports locust, which monkey-patches the standard library through
gevent: nothing else in `aircore_mock` imports it. Use it from a locustfile, or run the ready
one: `locust -f "$(aircore-mock load --locustfile)"` (or `aircore-mock load`).
"""

from __future__ import annotations

import logging
import random
import socket
import sys
import time
import weakref
from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar

import gevent
import gevent.event
import orjson
from gevent import GreenletExit
from locust import FastHttpUser, events, task
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import STATE_MISSING, STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner
from locust.stats import StatsEntry

from ..errors import AircoreMockError
from ..files import write_atomically
from ..generation import Generator, parse_pins, resolve
from ..model import STARTED, STOPPED, UPLOAD_FAILED, UPLOADED
from ..seeds import new_seed
from .summary import LoadDeliveries, LoadLatency, LoadSummary, LocustCounts

__all__ = ["AircoreCallbacksUser", "LoadState", "load_state", "summary"]

logger = logging.getLogger("aircore_mock.load.users")

# Custom messages between the master and its workers (see _drain).
_DRAIN = "aircore-mock:drain"
_DRAINED = "aircore-mock:drained"
_DRAIN_GRACE_S = 30.0
"""How long past the stop timeout the master waits for a worker's last counts."""

_INTERRUPTED = "interrupted"


class DeliveryInterrupted(Exception):
    """A user was killed while waiting for an answer: the receiver may or may not have it."""


# --- what a process's users did ---------------------------------------------------------


class LoadState:
    """The counts of one Locust process (and, on a master, of all its workers).

    Locust's own stats say how many requests were made and how fast; this adds what Locust
    does not keep: deliveries by event and by status, and whole lifecycles.
    """

    def __init__(self) -> None:
        self.deliveries: dict[str, Counter[str]] = {}
        """event -> status (an HTTP status, or unreachable/timeout/error/interrupted) -> count"""
        self.completed = 0
        """Recordings whose callbacks were all delivered (answered, whatever the status)."""
        self.cut_short = 0
        """Recordings a killed user left half-played (some callbacks sent, some not)."""
        self.users_started = 0
        """Users started in this process so far: numbers each user's seed (never reset)."""
        self.fallback_seed: int | None = None
        self.awaiting: set[str] = set()
        self.drained = gevent.event.Event()
        self.undrained: list[str] = []
        self.workers = 0
        """Workers that took part (a master's): those that reported, or were asked to."""
        self.seen: set[str] = set()
        """Workers whose counts have come in (a master's): one that is gone by the end took
        its last deliveries with it."""

    def count(self, event: str, status: str) -> None:
        self.deliveries.setdefault(event, Counter())[status] += 1

    def reset(self) -> None:
        self.deliveries = {}
        self.completed = self.cut_short = 0
        self.undrained = []

    def take(self) -> dict[str, Any]:
        """The counts since the last take (as a worker reports deltas), and zero them."""
        data = {
            "deliveries": {e: dict(c) for e, c in self.deliveries.items()},
            "completed": self.completed,
            "cut_short": self.cut_short,
        }
        self.reset()
        return data

    def merge(self, data: Mapping[str, Any]) -> None:
        """Add a worker's counts."""
        for event, statuses in data.get("deliveries", {}).items():
            self.deliveries.setdefault(event, Counter()).update(statuses)
        self.completed += data.get("completed", 0)
        self.cut_short += data.get("cut_short", 0)


_STATES: weakref.WeakKeyDictionary[Environment, LoadState] = weakref.WeakKeyDictionary()


def load_state(environment: Environment) -> LoadState:
    """The counts kept for an Environment (made on first use)."""
    state = _STATES.get(environment)
    if state is None:
        state = _STATES[environment] = LoadState()
    return state


# --- settings: class attributes, overridden by --aircore-* options -----------------------


def _option(environment: Environment, name: str) -> Any:
    options = environment.parsed_options
    return getattr(options, f"aircore_{name}", None) if options is not None else None


def _user_seed(run_seed: int, worker: int, ordinal: int) -> int:
    # A string seed goes through SHA-512 in `random`: stable across processes and versions.
    return random.Random(f"aircore-mock/{run_seed}/{worker}/{ordinal}").getrandbits(32)


def _pins(environment: Environment, pins: Mapping[str, Any]) -> dict[str, Any]:
    """A user class's pins with the --aircore-set ones on top."""
    return {**pins, **parse_pins(_option(environment, "set") or ())}


def _status_of(response: Any) -> str:
    status = getattr(response, "status_code", 0) or 0
    if status:
        return str(status)
    error = getattr(response, "error", None)
    if isinstance(error, ConnectionRefusedError | socket.gaierror):
        return "unreachable"
    if isinstance(error, TimeoutError | socket.timeout | gevent.Timeout):
        return "timeout"
    return "error"


class AircoreCallbacksUser(FastHttpUser):
    """An abstract user that POSTs whole generated Aircore lifecycles to the host.

    Subclass it and set the class attributes, or leave them and pass the `--aircore-*`
    options (an option, when given, wins). The host is the full callback URL.
    """

    abstract = True

    scenario: str = "mixed"
    """A scenario name, as `aircore-mock scenarios` lists them (faults included)."""
    pins: ClassVar[Mapping[str, Any]] = {}
    """Generator pins, e.g. `{"region": "eu-west-1"}` (see `Generator.recording`)."""
    count: int | None = None
    """Recordings each user plays before it stops; None: until the test ends."""
    seed: int | None = None
    """The run seed every user's seed derives from; None: chosen per run and logged."""
    speed: float | None = None
    """Replay a recording's real gaps divided by this (60: an hour in a minute); None: none."""
    think_time: float | None = None
    """A fixed pause in seconds between deliveries and between recordings (added to speed's)."""
    headers: ClassVar[Mapping[str, str]] = {}
    """Extra request headers (e.g. Authorization)."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self._stopping = gevent.event.Event()
        self._played = 0

    def wait_time(self) -> float:
        # Locust asks between tasks; play() is one task that paces itself (see there).
        return 0.0

    def on_start(self) -> None:
        env = self.environment
        state = load_state(env)
        for name in ("scenario", "count", "speed", "think_time"):
            value = _option(env, name)
            if value is not None:
                setattr(self, name, value)
        self._pins = _pins(env, self.pins)
        headers = {"Content-Type": "application/json", **self.headers}
        for line in _option(env, "header") or ():
            # `aircore-mock load` has checked them; not aircore_mock.sending (asyncio, aiohttp)
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        self._headers = headers
        run_seed = _option(env, "seed")
        if run_seed is None:
            run_seed = self.seed
        if run_seed is None:
            run_seed = _option(env, "chosen_seed")
        if run_seed is None:
            if state.fallback_seed is None:
                state.fallback_seed = new_seed()
            run_seed = state.fallback_seed
        worker = getattr(env.runner, "worker_index", 0) or 0
        ordinal = state.users_started
        state.users_started += 1
        self.user_seed = _user_seed(int(run_seed), max(worker, 0), ordinal)
        self._scenario = resolve(self.scenario)
        self._generator = Generator(self.user_seed)

    def stop(self, force: bool = False) -> bool:
        # Locust marks a busy user as stopping and lets it finish its task; waking the
        # pause makes it finish the recording it plays at once, without the remaining gaps.
        self._stopping.set()
        return bool(super().stop(force))

    @task
    def play(self) -> None:
        """Play recordings one after another until the user is stopped (or has played count).

        One task that never returns: between Locust's tasks a user is "waiting", and Locust
        kills a waiting user asynchronously, so the kill could land in the next recording's
        first POST. Here the user is always running; a stop wakes any pause, the recording
        in play is finished, and then the user leaves.
        """
        while not self._stopping.is_set():
            if self.count is not None and self._played >= self.count:
                break
            self.play_once()
            if self.think_time:
                self._stopping.wait(self.think_time)
        raise StopUser()

    def play_once(self) -> None:
        """Play the next recording (or, for a burst scenario, the next burst of them)."""
        batch = None
        if self.count is not None:
            per_play = 10 if self._scenario.burst else 1
            batch = min(per_play, self.count - self._played)
        deliveries = list(self._generator.deliveries(self.scenario, batch, **self._pins))
        left = Counter(d.recording_url for d in deliveries)
        self._played += len(left)
        state = load_state(self.environment)
        previous = deliveries[0].offset_ms
        sent: set[str] = set()
        try:
            for index, delivery in enumerate(deliveries):
                if index:
                    self._pause((delivery.offset_ms - previous) / 1000.0)
                previous = delivery.offset_ms
                sent.add(delivery.recording_url)
                self._post(delivery.callback, state)
                left[delivery.recording_url] -= 1
                if not left[delivery.recording_url]:
                    state.completed += 1
        except GreenletExit:
            state.cut_short += sum(1 for url, n in left.items() if n and url in sent)
            raise

    def _pause(self, gap_s: float) -> None:
        seconds = (gap_s / self.speed if self.speed else 0.0) + (self.think_time or 0.0)
        if seconds > 0 and not self._stopping.is_set():
            # Not self.wait(): Locust may kill a waiting user, and this one is mid-recording.
            self._stopping.wait(seconds)

    def _post(self, callback: Mapping[str, Any], state: LoadState) -> None:
        event = callback.get("event")
        name = event if isinstance(event, str) else "callback"
        body = orjson.dumps(callback)
        started = time.perf_counter()
        try:
            # Redirects are reported, never followed: a followed one would be a second POST
            # that Locust does not count.
            with self.client.post(
                "",
                data=body,
                headers=self._headers,
                name=name,
                catch_response=True,
                allow_redirects=False,
            ) as response:
                status = _status_of(response)
                if status.isdigit() and 200 <= int(status) < 300:
                    response.success()
                elif status.isdigit():
                    response.failure(f"HTTP {status}")
                # without a status Locust already counts the connection error as a failure
        except GreenletExit:
            # Killed while waiting for the answer (the stop timeout ran out): count it, so
            # the totals say how many deliveries the receiver may or may not have.
            state.count(name, _INTERRUPTED)
            self.environment.events.request.fire(
                request_type="POST",
                name=name,
                response_time=(time.perf_counter() - started) * 1000,
                response_length=0,
                response=None,
                context={},
                exception=DeliveryInterrupted("the user was stopped before the answer came"),
                url=self.host,
            )
            raise
        state.count(name, status)


# --- options ------------------------------------------------------------------------------


@events.init_command_line_parser.add_listener
def _add_options(parser: Any, **_: Any) -> None:
    # On the parser itself, not a group: only its add_argument knows include_in_web_ui.
    group = parser
    group.add_argument(
        "--aircore-scenario",
        default=None,
        help="Scenario each user plays (default: the user class's, mixed)",
    )
    group.add_argument("--aircore-seed", type=int, default=None, help="Run seed")
    group.add_argument(
        "--aircore-set", action="append", default=None, help="Pin PATH=VALUE (repeatable)"
    )
    group.add_argument(
        "--aircore-count", type=int, default=None, help="Recordings per user, then it stops"
    )
    group.add_argument(
        "--aircore-speed", type=float, default=None, help="Replay real gaps divided by this"
    )
    group.add_argument(
        "--aircore-think-time", type=float, default=None, help="Fixed pause between deliveries"
    )
    group.add_argument(
        "--aircore-header", action="append", default=None, help="'NAME: VALUE' (repeatable)"
    )
    group.add_argument(
        "--aircore-summary",
        default=None,
        include_in_web_ui=False,
        help="Write aircore-mock's JSON summary to this file when Locust quits",
    )


# --- wiring: seeds, worker reports, the drain, the summary --------------------------------


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    state = load_state(environment)
    if isinstance(runner, WorkerRunner):
        runner.register_message(_DRAIN, _worker_drain, concurrent=True)
        return
    if runner is None:
        return
    options = environment.parsed_options
    ours = [u for u in environment.user_classes if issubclass(u, AircoreCallbacksUser)]
    try:
        for user_class in ours:
            # a bad scenario, pin, or pin the scenario contradicts, before any user starts
            scenario = _option(environment, "scenario") or user_class.scenario
            next(Generator(0).deliveries(scenario, **_pins(environment, user_class.pins)))
    except AircoreMockError as exc:
        logger.error("aircore-mock: %s", exc)
        sys.exit(2)
    if options is not None and ours and options.aircore_seed is None:
        # One seed for the whole run, chosen here and sent to the workers with the options.
        options.aircore_chosen_seed = state.fallback_seed = new_seed()
        logger.info("aircore-mock: run seed %s", options.aircore_chosen_seed)
    if isinstance(runner, MasterRunner):
        runner.register_message(_DRAINED, _master_drained)


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_: Any) -> None:
    state = load_state(environment)
    state.reset()
    state.seen = set()


@events.report_to_master.add_listener
def _on_report_to_master(client_id: str, data: dict[str, Any], **_: Any) -> None:
    # Locust fires this without the environment: find this process's one worker.
    for environment, state in list(_STATES.items()):
        if (
            isinstance(environment.runner, WorkerRunner)
            and environment.runner.client_id == client_id
        ):
            data["aircore"] = state.take()


@events.worker_report.add_listener
def _on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    if "aircore" not in data:
        return
    # Locust fires this without the environment; a process runs at most one master. A worker
    # that has already left still counts.
    for environment, state in list(_STATES.items()):
        if isinstance(environment.runner, MasterRunner):
            state.merge(data["aircore"])
            state.seen.add(client_id)
            return


@events.test_stopping.add_listener
def _on_test_stopping(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, MasterRunner):
        _drain(environment)


def _drain(environment: Environment) -> None:
    """Ask every worker to stop its users and report its last counts; wait for them.

    Locust's master gives workers half a second for their last report when it quits; a
    worker whose users finish their recordings takes longer, so without this the totals
    would miss the last deliveries.
    """
    runner = environment.runner
    assert isinstance(runner, MasterRunner)
    state = load_state(environment)
    workers = [c.id for c in runner.clients.all if c.state != STATE_MISSING]
    # A worker that died (killed, out of memory) or stopped answering is gone before its
    # last report: what it delivered since its previous one is not counted, so the totals
    # are not exact, and the summary names it.
    lost = sorted(state.seen.union(c.id for c in runner.clients.all) - set(workers))
    state.workers = len(workers) + len(lost)
    if lost:
        logger.warning(
            "aircore-mock: %d worker(s) were lost before the end: their last deliveries are "
            "not counted",
            len(lost),
        )
    state.undrained = lost
    if not workers:
        return
    state.awaiting = set(workers)
    state.drained.clear()
    for worker in workers:
        runner.send_message(_DRAIN, None, client_id=worker)
    timeout = float(environment.stop_timeout or 0) + _DRAIN_GRACE_S
    if not state.drained.wait(timeout):
        state.undrained = sorted({*lost, *state.awaiting})
        logger.warning(
            "aircore-mock: %d worker(s) sent no last report within %.0f s; the counts may "
            "miss their last deliveries",
            len(state.undrained),
            timeout,
        )


def _worker_drain(environment: Environment, msg: Any, **_: Any) -> None:
    runner = environment.runner
    assert isinstance(runner, WorkerRunner)
    runner.stop()  # gracefully: busy users finish their recording within the stop timeout
    data: dict[str, Any] = {}
    environment.events.report_to_master.fire(client_id=runner.client_id, data=data)
    # A "stats" message is what Locust's own periodic report sends; this one is the last.
    runner.send_message("stats", data)
    runner.send_message(_DRAINED, None)


def _master_drained(environment: Environment, msg: Any, **_: Any) -> None:
    state = load_state(environment)
    state.awaiting.discard(msg.node_id)
    if not state.awaiting:
        state.drained.set()


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    path = _option(environment, "summary")
    if path is None or runner is None or isinstance(runner, WorkerRunner):
        return
    if runner.state in (STATE_RUNNING, STATE_SPAWNING):
        # Ctrl-C or SIGTERM: Locust quits after this event; stop (and drain) first so the
        # summary holds every delivery.
        runner.stop()
    write_atomically(path, orjson.dumps(summary(environment).to_json(), option=orjson.OPT_INDENT_2))


# --- the summary --------------------------------------------------------------------------

_EVENTS = frozenset({STARTED, STOPPED, UPLOADED, UPLOAD_FAILED, "callback"})


def _run_seed(environment: Environment) -> int | None:
    seed = _option(environment, "seed")
    return _option(environment, "chosen_seed") if seed is None else seed


def summary(environment: Environment) -> LoadSummary:
    """What a run did: deliveries by event and status, latency, lifecycles, Locust's counts.

    On a master it covers every worker; elsewhere, this process's users.
    """
    state = load_state(environment)
    runner = environment.runner
    stats = environment.stats
    names = _EVENTS | set(state.deliveries)
    ours = StatsEntry(stats, "deliveries", "POST")
    by_name: dict[str, dict[str, int]] = {}
    for (name, method), entry in sorted(stats.entries.items()):
        if name in names and method == "POST":
            ours.extend(entry)
            by_name[name] = {"requests": entry.num_requests, "failures": entry.num_failures}
    by_status: Counter[str] = Counter()
    for statuses in state.deliveries.values():
        by_status.update(statuses)
    total = sum(by_status.values())
    delivered = sum(n for s, n in by_status.items() if s.isdigit() and 200 <= int(s) < 300)
    elapsed = 0.0
    if ours.num_requests:
        elapsed = max(0.0, ours.last_request_timestamp - ours.start_time)

    def percentile(p: float) -> float | None:
        return round(ours.get_response_time_percentile(p), 2) if ours.num_requests else None

    host = environment.host
    if host is None and environment.user_classes:
        host = environment.user_classes[0].host
    workers = state.workers if isinstance(runner, MasterRunner) else None
    return LoadSummary(
        target=host,
        seed=_run_seed(environment),
        workers=workers,
        deliveries=LoadDeliveries(
            total=total,
            delivered=delivered,
            failed=total - delivered,
            by_event={e: sum(c.values()) for e, c in sorted(state.deliveries.items())},
            by_status=dict(sorted(by_status.items())),
            by_event_and_status={
                e: dict(sorted(c.items())) for e, c in sorted(state.deliveries.items())
            },
        ),
        latency_ms=LoadLatency(
            p50=percentile(0.5),
            p95=percentile(0.95),
            p99=percentile(0.99),
            max=round(ours.max_response_time, 2) if ours.num_requests else None,
        ),
        lifecycles_completed=state.completed,
        lifecycles_cut_short=state.cut_short,
        locust=LocustCounts(ours.num_requests, ours.num_failures, by_name),
        elapsed_s=round(elapsed, 3),
        throughput_per_s=round(total / elapsed, 1) if elapsed > 0 else 0.0,
        exact=not state.undrained and not by_status.get(_INTERRUPTED),
        workers_without_last_report=tuple(state.undrained),
    )
