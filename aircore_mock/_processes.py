"""Spread a send over worker processes: each runs lanes (threads) for its share of recordings."""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._sender import Result, Sender

_BATCH = 64
_FLUSH_S = 0.02
_END = None


def can_spawn() -> bool:
    """Whether worker processes can start: `spawn` re-imports `__main__` from its file."""
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        return True
    path = getattr(main, "__file__", None)
    return path is not None and os.path.isfile(path)


def iter_results(sender: Sender, deliveries: Iterable[Any]) -> Iterator[Result]:
    """Like `Sender.iter_results`, with the lanes split over `sender.processes` processes."""
    from ._sender import Pacer, _job, _not_sent, answered, shard_of

    context = multiprocessing.get_context("spawn")
    count = sender.processes
    lanes = [sender.concurrency // count + (i < sender.concurrency % count) for i in range(count)]
    options = {
        "target": sender.target,
        "headers": sender.headers,
        "timeout": sender.timeout,
        "retries": sender.retries,
        "backoff": sender.backoff,
        "verify": sender.verify,
        "keepalive": sender.keepalive,
    }
    stop = context.Event()  # seen by every worker at once, however full its inbox
    inboxes = [context.Queue(maxsize=16) for _ in range(count)]
    outbox = context.Queue()
    workers = [
        context.Process(
            target=_work, args=(options, lanes[i], inboxes[i], outbox, stop), daemon=True
        )
        for i in range(count)
    ]
    for worker in workers:
        worker.start()
    # Callbacks stay here; workers get bytes and send back small tuples.
    pending: dict[int, Any] = {}
    lock = threading.Lock()
    fed = threading.Event()
    failure: list[BaseException] = []

    def hand_over(shard: int, item: Any) -> bool:
        # Never block for good on a worker that stopped or died.
        while not stop.is_set() and workers[shard].is_alive():
            try:
                inboxes[shard].put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def feed() -> None:
        batches: list[list[tuple[int, str | None, bytes]]] = [[] for _ in range(count)]
        pacer = Pacer(sender.rate, sender.speed, sender._stop)
        try:
            for index, delivery in enumerate(deliveries):
                job = _job(index, delivery)
                with lock:
                    pending[index] = job
                if not pacer.wait(index, delivery):
                    break  # stopped: what is pending is reported as not sent
                shard = shard_of(job, count)
                batches[shard].append((index, job.recording_url, job.body))
                if pacer.paced or len(batches[shard]) >= _BATCH:
                    batch, batches[shard] = batches[shard], []
                    if not hand_over(shard, batch):
                        break
            for shard, batch in enumerate(batches):
                if batch and not stop.is_set():
                    hand_over(shard, batch)
        except BaseException as exc:
            failure.append(exc)
        finally:
            for shard in range(count):
                hand_over(shard, _END)
            fed.set()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    finished = False
    try:
        while True:
            if failure:
                raise failure[0]
            if sender._stop.is_set():
                stop.set()
            try:
                batch = outbox.get(timeout=0.1)
            except queue.Empty:
                with lock:
                    idle = fed.is_set() and not pending
                alive = [w.is_alive() for w in workers]
                if idle or finished:
                    break
                # Workers flush everything before they exit: one more empty wait after the
                # last one is gone means the pipe is drained.
                finished = not any(alive)
                if not all(alive) and not stop.is_set():
                    stop.set()  # a worker died: stop the rest, report what it held
                continue
            except KeyboardInterrupt:
                # Ctrl-C: stop, then keep collecting, so every delivery gets its result.
                sender.stop()
                stop.set()
                continue
            for item in batch:
                with lock:
                    job = pending.pop(item[1] if item[0] == "not-sent" else item[0])
                if item[0] == "not-sent":
                    yield _not_sent(job)
                else:
                    yield answered(job, *item[1:])
        with lock:
            lost = sorted(pending)
        crashed = any(w.exitcode not in (0, None) for w in workers)
        for index in lost:
            job = pending.pop(index)
            if crashed:
                yield answered(job, 0, None, 0.0, "", "error: the worker process sending it exited")
            else:
                yield _not_sent(job)
    finally:
        stop.set()
        sender._stop.set()
        feeder.join(timeout=2)
        for worker in workers:
            worker.join(timeout=sender.timeout * (sender.retries + 1) + 2)
            if worker.is_alive():
                worker.terminate()
        # Batches nobody will read must not hold the interpreter's exit.
        for inbox in inboxes:
            inbox.cancel_join_thread()
            inbox.close()
        outbox.cancel_join_thread()
        outbox.close()


def _work(options: dict[str, Any], lanes: int, inbox: Any, outbox: Any, stop: Any) -> None:
    # The parent handles Ctrl-C and SIGTERM (sent to the whole process group by a terminal
    # or `timeout`) and tells workers to stop; they must not die half-way.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = os.getppid()
    from ._sender import Sender, _Job

    sender = Sender(concurrency=lanes, processes=1, **options)
    buffer: list[Any] = []
    lock = threading.Lock()
    done = threading.Event()

    def flush() -> None:
        with lock:
            if buffer:
                outbox.put(list(buffer))
                buffer.clear()

    def ticker() -> None:
        while not done.wait(_FLUSH_S):
            flush()
            if stop.is_set():
                sender.stop()

    def jobs() -> Iterator[_Job]:
        while not stop.is_set():
            try:
                batch = inbox.get(timeout=0.1)
            except queue.Empty:
                if os.getppid() != parent:
                    return  # the parent is gone (killed): nobody to report to
                continue
            if batch is _END:
                return
            for index, url, body in batch:
                yield _Job(index, None, url, None, body)

    thread = threading.Thread(target=ticker, daemon=True)
    thread.start()
    for result in sender.iter_results(jobs()):
        row: tuple[Any, ...] = (
            result.index,
            result.attempts,
            result.status,
            result.latency_ms,
            result.body,
            result.error,
        )
        if result.error and result.error.startswith("not-sent"):
            row = ("not-sent", result.index)
        with lock:
            buffer.append(row)
            full = len(buffer) >= _BATCH
        if full:
            flush()
    done.set()
    flush()
    outbox.close()
    outbox.join_thread()  # everything reaches the parent before this process ends
