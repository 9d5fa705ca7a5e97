"""Whole lines or nothing: a server's output and its JSONL log never hold a torn line, whatever
happens to the disk or the reader, and what was dropped is counted by its cause."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from aircore_mock.server import LineWriter

# A child process, so that the file-size limit (our stand-in for a full disk: writes past it
# fail with EFBIG, the first one cut short) touches nothing of the test run's own.
FULL_DISK = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    from aircore_mock.server import JsonlLog
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    path = sys.argv[1]
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (5000, hard))  # the disk fills at 5,000 bytes
    log = JsonlLog(path).open()
    for n in range(100):
        log.put({"seq": n, "pad": "x" * 80})
    assert log.flush(10)
    during = dict(log.dropped_by)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space comes back
    for n in range(100, 110):
        log.put({"seq": n, "pad": "y" * 80})
    log.close()
    print(json.dumps({"dropped_by": during, "dropped": log.dropped}))
    """
)


def test_a_full_disk_leaves_whole_lines_and_names_itself(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "log.jsonl")
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, path], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    with open(path, "rb") as handle:
        data = handle.read()
    assert data.endswith(b"\n")
    records = [json.loads(line) for line in data.splitlines()]  # every line whole
    written = [r["seq"] for r in records]
    assert written[-10:] == list(range(100, 110))  # after the disk: appended cleanly
    full = written[:-10]
    assert full == list(range(len(full))) and 0 < len(full) < 100
    # every record is accounted for, by its cause: written, or dropped because of the disk
    assert report["dropped"] == 100 - len(full)
    assert report["dropped_by"] == {"File too large": 100 - len(full)}


def test_a_reader_that_stops_never_gets_half_a_line() -> None:
    read_end, write_end = os.pipe()
    try:
        # ~300-byte lines, far more than a pipe holds, and nobody reads until close gives up
        writer = LineWriter(
            write_end, lambda n: json.dumps({"n": n, "pad": "z" * 280}).encode() + b"\n"
        )
        for n in range(2000):
            writer.put(n)
        assert not writer.close(timeout=0.3)
        os.close(write_end)
        write_end = -1
        with os.fdopen(read_end, "rb") as reader:
            read_end = -1
            data = reader.read()
    finally:
        for fd in (read_end, write_end):
            if fd >= 0:
                os.close(fd)
    assert data.endswith(b"\n")
    lines = [json.loads(line) for line in data.splitlines()]
    assert [line["n"] for line in lines] == list(range(len(lines)))
    # what arrived is counted as written, the rest as dropped: nothing counted twice
    assert writer.written == len(lines)
    assert writer.written + writer.dropped == 2000
    assert set(writer.dropped_by) == {"not written in time"}
