"""Spread a send over worker processes: each runs lanes (threads) for its share of recordings."""

from __future__ import annotations

import contextlib
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
    from ._sender import Pacer, _job, _not_sent, shard_of

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
    }
    inboxes = [context.Queue(maxsize=16) for _ in range(count)]
    outbox = context.Queue()
    workers = [
        context.Process(target=_work, args=(options, lanes[i], inboxes[i], outbox), daemon=True)
        for i in range(count)
    ]
    for worker in workers:
        worker.start()
    # Callbacks stay here; workers get bytes and send back small tuples.
    pending: dict[int, Any] = {}
    lock = threading.Lock()
    fed = threading.Event()
    failure: list[BaseException] = []

    def feed() -> None:
        batches: list[list[tuple[int, str | None, bytes]]] = [[] for _ in range(count)]
        pacer = Pacer(sender.rate, sender.speed, sender._stop)
        try:
            for index, delivery in enumerate(deliveries):
                job = _job(index, delivery)
                with lock:
                    pending[index] = job
                if not pacer.wait(index, delivery):
                    outbox.put([("not-sent", index)])
                    break
                shard = shard_of(job, count)
                batches[shard].append((index, job.recording_url, job.body))
                if pacer.paced or len(batches[shard]) >= _BATCH:
                    inboxes[shard].put(batches[shard])
                    batches[shard] = []
        except BaseException as exc:
            failure.append(exc)
        finally:
            for inbox, batch in zip(inboxes, batches, strict=True):
                if batch:
                    inbox.put(batch)
                inbox.put(_END)
            fed.set()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    stopping = False
    try:
        while True:
            if failure:
                raise failure[0]
            try:
                batch = outbox.get(timeout=0.1)
            except queue.Empty:
                if sender._stop.is_set() and not stopping:
                    stopping = True
                    for inbox in inboxes:
                        _put_nowait(inbox, "stop")
                with lock:
                    idle = fed.is_set() and not pending
                dead = not any(w.is_alive() for w in workers)
                if idle or (dead and fed.is_set()):
                    break
                continue
            for item in batch:
                with lock:
                    job = pending.pop(item[1] if item[0] == "not-sent" else item[0])
                if item[0] == "not-sent":
                    yield _not_sent(job)
                else:
                    yield _answered(job, *item[1:])
        with lock:
            lost = sorted(pending)
        for index in lost:  # a worker died: say so for every delivery it held
            yield _answered(
                pending.pop(index), 0, None, 0.0, "", "error: the worker process sending it exited"
            )
    finally:
        sender._stop.set()
        for inbox in inboxes:
            _put_nowait(inbox, "stop")
        feeder.join(timeout=1)
        for worker in workers:
            worker.join(timeout=sender.timeout * (sender.retries + 1) + 2)
            if worker.is_alive():
                worker.terminate()


def _answered(
    job: Any, attempts: int, status: int | None, latency: float, body: str, error: str | None
) -> Result:
    from ._sender import Result

    return Result(
        job.index,
        job.callback,
        job.recording_url,
        job.quirk,
        attempts,
        status,
        latency,
        body,
        error,
    )


def _put_nowait(inbox: Any, item: Any) -> None:
    with contextlib.suppress(queue.Full):
        inbox.put_nowait(item)


def _work(options: dict[str, Any], lanes: int, inbox: Any, outbox: Any) -> None:
    # The parent handles Ctrl-C and tells workers to stop; they must not die half-way.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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

    def flusher() -> None:
        while not done.wait(_FLUSH_S):
            flush()

    def jobs() -> Iterator[_Job]:
        while True:
            batch = inbox.get()
            if batch is _END:
                return
            if batch == "stop":
                sender.stop()
                return
            for index, url, body in batch:
                yield _Job(index, None, url, None, body)

    ticker = threading.Thread(target=flusher, daemon=True)
    ticker.start()
    for result in sender.iter_results(jobs()):
        row = (
            result.index,
            result.attempts,
            result.status,
            result.latency_ms,
            result.body,
            result.error,
        )
        if result.error and result.error.startswith("not-sent"):
            row = ("not-sent", result.index)  # type: ignore[assignment]
        with lock:
            buffer.append(row)
            full = len(buffer) >= _BATCH
        if full:
            flush()
    done.set()
    flush()
