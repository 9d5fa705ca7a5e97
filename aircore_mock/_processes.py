"""Spread a send over worker processes: each runs lanes (threads) for its share of recordings."""

from __future__ import annotations

import functools
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection, wait
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
    from ._sender import _INPUT_GRACE, Batches, Pacer, _job, _not_sent, answered, shard_of

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
    # One pipe back per worker, not one shared queue: a shared queue has one write lock for
    # all writers, and a worker killed while holding it would silence the others. A pipe
    # also ends (EOF) when its worker ends, however it ends.
    pipes = [context.Pipe(duplex=False) for _ in range(count)]
    workers = [
        context.Process(
            target=_work, args=(options, lanes[i], inboxes[i], pipes[i][1], stop), daemon=True
        )
        for i in range(count)
    ]
    for worker in workers:
        worker.start()
    for _, writer in pipes:
        writer.close()  # the worker holds its own copy; ours would hide the EOF
    outboxes = {reader: shard for shard, (reader, _) in enumerate(pipes)}
    crashed: set[int] = set()
    # Callbacks stay here; workers get bytes and send back small tuples.
    pending: dict[int, Any] = {}
    handed: set[int] = set()  # pending and given to a worker: maybe sent, maybe not
    closed = False  # the send is over: the feeder must not add to `pending` any more
    lock = threading.Lock()
    failure: list[BaseException] = []

    def hand_over(shard: int, item: Any, block: bool = True) -> bool:
        # Never block for good on a worker that stopped or died.
        while not stop.is_set() and workers[shard].is_alive():
            try:
                inboxes[shard].put(item, block, timeout=0.1)
                return True
            except queue.Full:
                if not block:
                    return False
        return False

    def give(shard: int, batch: list[tuple[int, str | None, bytes]], block: bool) -> bool:
        with lock:
            handed.update(index for index, _, _ in batch)
        if hand_over(shard, batch, block):
            return True
        with lock:
            handed.difference_update(index for index, _, _ in batch)
        return False

    batches = Batches(
        count,
        functools.partial(give, block=True),
        functools.partial(give, block=False),
        lambda shard: inboxes[shard].empty(),
        _BATCH,
    )

    def feed() -> None:
        pacer = Pacer(sender.rate, sender.speed, sender._stop)
        try:
            for index, delivery in enumerate(deliveries):
                job = _job(index, delivery)
                with lock:
                    if closed:
                        break  # taken from an iterator that blocked past the end of the send
                    pending[index] = job
                if not pacer.wait(index, delivery):
                    break  # stopped: what is pending is reported as not sent
                item = (index, job.recording_url, job.body)
                if not batches.add(shard_of(job, count), item, now=pacer.paced):
                    break
        except BaseException as exc:
            failure.append(exc)
        finally:
            batches.close(flush=not stop.is_set())
            for shard in range(count):
                hand_over(shard, _END)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        while outboxes:
            if failure:
                raise failure[0]
            if sender._stop.is_set():
                stop.set()
            try:
                ready = wait(list(outboxes), timeout=0.1)
            except KeyboardInterrupt:
                # Ctrl-C: stop, then keep collecting, so every delivery gets its result.
                sender.stop()
                stop.set()
                continue
            for reader in ready:
                try:
                    batch = reader.recv()
                except (EOFError, OSError):
                    # The worker is done (or gone, maybe mid-message): nothing more comes.
                    shard = outboxes.pop(reader)
                    reader.close()
                    workers[shard].join(timeout=2)
                    # Still running after closing its pipe means it closed it on purpose.
                    if workers[shard].exitcode not in (0, None):
                        crashed.add(shard)
                        # Stop the others and the feeder; what this one held is reported below.
                        stop.set()
                        sender._stop.set()
                    continue
                for item in batch:
                    index = item[1] if item[0] == "not-sent" else item[0]
                    with lock:
                        job = pending.pop(index)
                        handed.discard(index)
                    if item[0] == "not-sent":
                        yield _not_sent(job)
                    else:
                        yield answered(job, *item[1:])
        # The feeder gives up once the workers are gone, unless it waits on the deliveries
        # iterator (a pipe with nothing more to say): that wait is not ours to finish.
        deadline = time.monotonic() + _INPUT_GRACE
        while feeder.is_alive() and time.monotonic() < deadline:
            try:
                feeder.join(0.1)
            except KeyboardInterrupt:
                sender.stop()
                stop.set()
        if failure:
            raise failure[0]
        # Left over: jobs a crashed worker was given (sent or not: nobody knows, so not a
        # success) and jobs nobody sent because the send stopped.
        with lock:
            closed = True
            lost = sorted(pending)
        for index in lost:
            job = pending.pop(index)
            if index in handed and shard_of(job, count) in crashed:
                yield answered(job, 0, None, 0.0, "", "error: the worker process sending it exited")
            elif crashed:
                yield _not_sent(job, "stopped because a worker process exited")
            else:
                yield _not_sent(job)
    finally:
        stop.set()
        sender._stop.set()
        batches.close(flush=False)  # its timer must not outlive the send
        # Closed pipes free a worker blocked on writing results nobody will read now.
        for reader in outboxes:
            reader.close()
        if feeder.is_alive() and not closed:  # once closed, it was given its grace already
            feeder.join(timeout=_INPUT_GRACE)
        for worker in workers:
            worker.join(timeout=sender.timeout * (sender.retries + 1) + 2)
            if worker.is_alive():
                worker.kill()  # workers ignore SIGTERM (see _work)
        # Batches nobody will read must not hold the interpreter's exit.
        for inbox in inboxes:
            inbox.cancel_join_thread()
            inbox.close()


def _work(options: dict[str, Any], lanes: int, inbox: Any, outbox: Connection, stop: Any) -> None:
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
            if buffer and not outbox.closed:
                try:
                    outbox.send(buffer)
                except OSError:  # the parent stopped listening: nobody to report to
                    outbox.close()
                    sender.stop()
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
    if not outbox.closed:
        outbox.close()  # the parent's EOF: everything this worker had to say has been said
