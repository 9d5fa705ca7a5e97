"""`validate` reads any input as a stream: every line ending, a byte order mark, unknown file
types, a junk first line, JSON arrays element by element, and flat memory whatever the size."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from aircore_mock import Generator, read_callbacks
from aircore_mock import files as aircore_files
from aircore_mock.cli import cli

CALLBACKS = Generator(7).scenario("uploaded")  # three valid callbacks
LINES = [orjson.dumps(c) for c in CALLBACKS]


def run(*args: str, stdin: bytes | None = None) -> object:
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("name", ["calls.jsonl", "calls.txt", "-"])
def test_every_line_ending_gives_each_line_its_verdict(
    tmp_path: Path, ending: bytes, name: str
) -> None:
    data = ending.join([LINES[0], b"{oops", LINES[1], b"", LINES[2]]) + ending
    if name == "-":
        result = run("validate", "-", stdin=data)
        where = "<stdin>"
    else:
        (tmp_path / name).write_bytes(data)
        where = str(tmp_path / name)
        result = run("validate", where)
    assert result.output.splitlines()[-1] == "3 valid, 0 invalid, 1 unreadable"
    assert f"{where}:2: not JSON" in result.output  # line numbers count every ending alike


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("one.json", json.dumps(CALLBACKS[0], indent=2).encode()),
        ("all.json", json.dumps(CALLBACKS).encode()),
        ("calls.jsonl", b"\n".join(LINES)),
        ("pretty.txt", json.dumps(CALLBACKS, indent=2).encode()),
        ("-", b"\n".join(LINES)),
    ],
)
def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path, name: str, content: bytes) -> None:
    data = b"\xef\xbb\xbf" + content  # what PowerShell and Excel write
    if name == "-":
        result = run("validate", "-", stdin=data)
    else:
        (tmp_path / name).write_bytes(data)
        result = run("validate", str(tmp_path / name))
    assert result.exit_code == 0, result.output
    assert "0 invalid" in result.output and "unreadable" not in result.output


def test_utf16_is_named_not_called_binary(tmp_path: Path) -> None:
    path = tmp_path / "calls.json"
    path.write_bytes(json.dumps(CALLBACKS).encode("utf-16"))  # with its byte order mark
    result = run("validate", str(path))
    assert result.exit_code == 2
    assert "UTF-16 or UTF-32 text, not UTF-8: save it as UTF-8" in result.output


def test_stdin_whose_first_line_is_junk_gets_a_verdict_per_line() -> None:
    data = b"Content-Type: application/json\n" + b"\n".join(LINES) + b"\nnot json either\n"
    result = run("validate", "-", stdin=data)
    assert result.exit_code == 2
    assert "<stdin>:1: not JSON" in result.output and "<stdin>:5: not JSON" in result.output
    assert result.output.splitlines()[-1] == "3 valid, 0 invalid, 2 unreadable"


def test_a_pretty_printed_array_of_unknown_type_is_read_element_by_element(
    tmp_path: Path,
) -> None:
    broken = {k: v for k, v in CALLBACKS[1].items() if k != "timestamp"}
    path = tmp_path / "captured.log"
    path.write_text(json.dumps([CALLBACKS[0], broken, CALLBACKS[2]], indent=2))
    items = list(read_callbacks([str(path)]))
    assert [i.index for i in items] == [0, 1, 2] and items[1].payload == broken
    result = run("validate", str(path))
    assert f"{path}[1]: $.timestamp: required property is missing" in result.output
    assert result.output.splitlines()[-1] == "2 valid, 1 invalid"


def test_an_array_broken_midway_keeps_what_came_before(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_bytes(json.dumps(CALLBACKS).encode()[:-40])
    items = list(read_callbacks([str(path)]))
    assert [i.payload for i in items[:-1]] == CALLBACKS[:2]
    assert items[-1].error is not None and items[-1].error.startswith("not JSON")
    assert "after element 1" in items[-1].error  # elements 0 and 1 were read


def test_a_line_too_long_is_its_own_verdict_and_never_held_whole(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(aircore_files, "MAX_LINE", 1000)
    monkeypatch.setattr(aircore_files, "_READ", 256)  # the long line spans many reads
    path = tmp_path / "calls.jsonl"
    path.write_bytes(b"\n".join([LINES[0], b"x" * 5000, LINES[1], b"y" * 3000 + b"\r", LINES[2]]))
    items = list(read_callbacks([str(path)]))
    assert [(i.line, i.error) for i in items if i.error] == [
        (2, "line longer than 1,000 bytes"),
        (4, "line longer than 1,000 bytes"),
    ]
    assert [i.payload for i in items if not i.error] == CALLBACKS


# --- flat memory ------------------------------------------------------------------------

# Runs `validate` in a child and reports that child's peak memory (ru_maxrss is in KiB on
# Linux): the test process's own other children must not count.
_PEAK = textwrap.dedent(
    """
    import resource, subprocess, sys
    with open(sys.argv[1], "rb") as source:
        done = subprocess.run(
            [sys.executable, "-m", "aircore_mock", "validate", *sys.argv[2:]],
            stdin=source, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(done.returncode, round(peak, 1), done.stdout.decode().splitlines()[-1])
    """
)
MIB = 1024 * 1024


def _write(path: Path, head: bytes, body: bytes, size: int, tail: bytes = b"") -> int:
    with path.open("wb") as out:
        out.write(head)
        written = len(head)
        while written < size:
            out.write(body)
            written += len(body)
        out.write(tail)
    return written


@pytest.mark.skipif(sys.platform != "linux", reason="peak memory read the Linux way")
@pytest.mark.parametrize("shape", ["junk-first stdin", "JSON array, no extension"])
def test_memory_stays_flat_on_50_mb(tmp_path: Path, shape: str) -> None:
    burst = [orjson.dumps(c) for c in Generator(3).scenario("burst", count=100)]
    source = tmp_path / "input"
    if shape == "junk-first stdin":
        count = _write(source, b"this is not JSON\n", b"\n".join(burst) + b"\n", 50 * MIB)
        args = ["-"]
    else:
        count = _write(source, b"[", b",\n".join(burst) + b",\n", 50 * MIB, LINES[0] + b"]")
        args = [str(source)]
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(source), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    returncode, peak, summary = done.stdout.split(maxsplit=2)
    assert count >= 50 * MIB
    valid = int(summary.split()[0])
    assert valid > 100_000, summary  # every callback was read and judged, one by one
    if shape == "junk-first stdin":
        assert returncode == "2" and summary.strip().endswith("0 invalid, 1 unreadable")
    else:
        assert returncode == "0" and summary.strip().endswith("0 invalid")
    # Python, the schemas and the engines take ~35 MiB (ijson ~10 more); the input is more
    # than that again, so reading it whole could not stay under these.
    limit = 50 if shape == "junk-first stdin" else 64
    assert float(peak) < limit, f"peak {peak} MiB for a {count / MIB:.0f} MiB input"
