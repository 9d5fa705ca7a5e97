"""What was captured, read back: a `receive --log` (or `serve --log`) as the requests it holds.

A capture log keeps each request's body exactly as it arrived (`body` when it was UTF-8 text,
else `body_base64`): replaying or validating it must use those bytes, never the parsed
`payload` beside them, which has lost a duplicate key's first value and the key order.

An input is either a log (one record a line) or plain callbacks: each value is told apart by
its shape (`is_log_record`), and an input that mixes the two is an input error. Plain
callbacks come back as `Captured` too (their body is their JSON), so that every caller
(`send --from`, `validate`, `replay`) reads one kind of thing.

Only what was POSTed to the callback path is replayable: a receive log's records refused
before their body was read (wrong path or method, too large) are skipped; so are a serve
log's records of API requests (its `callback` records are what the fake sent).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from .errors import InputError, Problem, UsageError
from .files import InputFormat, Item, read_callbacks, where
from .model import recording_id
from .validation import checker

REPLAYABLE_VERDICTS = frozenset({"valid", "invalid", "not-json"})
"""Verdicts of a receive log's records that carry the body as it came (callbacks, and bodies
POSTed to the callback path that were not JSON)."""
INVALID_VERDICTS = frozenset({"invalid", "not-json"})
FRAMING = frozenset(
    {"connection", "content-length", "expect", "host", "keep-alive", "proxy-connection", "te",
     "trailer", "transfer-encoding", "upgrade"}
)  # fmt: skip
"""Headers a replay never sends as captured: they frame the request, and the client sets them
from the body and the URL (the sender's `FRAMING_HEADERS`; a test keeps the two equal)."""


_MIXED_LOG = (
    "a capture log record among plain callbacks: an input is either a log or callbacks, not both"
)
_MIXED_CALLBACK = (
    "a plain callback among capture log records: an input is either a log or callbacks, not both"
)


def is_log_record(value: Any) -> bool:
    """Whether a JSON value is a capture log's record rather than a callback: a `receive`
    record (`seq`, `method`, `headers` and `body` or `body_base64`) or a `serve` record
    (`type` `request` or `callback`, with `seq`). A callback has none of those shapes."""
    if type(value) is not dict or "seq" not in value:
        return False
    if "method" in value and "headers" in value:
        return "body" in value or "body_base64" in value
    return value.get("type") in ("request", "callback")


@dataclass(frozen=True)
class Captured:
    """One request to replay or judge: its body as it arrived, its headers, what the capture
    server made of it. Usable as a delivery by the sending engine (`body`, `headers`,
    `callback`, `recording_url`)."""

    source: str
    line: int | None
    index: int | None
    seq: int
    """The capture server's number for it (for plain callbacks: its place in the input,
    from 0)."""
    body: bytes
    """The body exactly as it arrived: what a replay sends."""
    payload: Any = None
    """The body parsed (None when it is not JSON: see `error`)."""
    error: str | None = None
    """Why the body cannot be parsed, when it is not JSON."""
    method: str = "POST"
    path: str = "/"
    request_headers: dict[str, str] = field(default_factory=dict)
    """The headers as captured (empty for plain callbacks)."""
    headers: dict[str, str] | None = None
    """The headers a replay sends over the sender's own (`keep_headers`): the captured ones
    less those that frame the request. None: the sender's own alone."""
    verdict: str | None = None
    """What the capture server said (`valid`, `invalid`, `not-json`); None for a plain
    callback, which nobody judged yet."""
    problems: tuple[Problem, ...] = ()
    from_log: bool = False
    quirk: str | None = None
    offset_ms: int | None = None
    lane: int | None = None

    @property
    def where(self) -> str:
        """`file:line` (and `#seq` for a log record): where a human finds it."""
        text = where(self.source, self.line, self.index)
        if self.from_log:
            text += f" #{self.seq}"
        return text

    @property
    def callback(self) -> Any:
        """The parsed body (the engine reports a result's event from it)."""
        return self.payload

    @property
    def event(self) -> str | None:
        event = self.payload.get("event") if type(self.payload) is dict else None
        return event if type(event) is str else None

    @property
    def recording_url(self) -> str | None:
        recording = self.payload.get("recording") if type(self.payload) is dict else None
        url = recording.get("url") if type(recording) is dict else None
        return url if type(url) is str else None

    def item(self) -> Item:
        """As `files.read_callbacks` would give it (for `validation.validate_inputs`)."""
        return Item(self.source, self.line, self.index, self.payload, self.error)

    def with_payload(self, payload: Any) -> Captured:
        """This request with another body: `payload` serialised (a replay's `--set` edit)."""
        return replace(self, payload=payload, body=orjson.dumps(payload), error=None)

    def to_json(self) -> dict[str, Any]:
        """What a dry run shows: where it is from, the body as it will go, the headers."""
        out: dict[str, Any] = {"where": self.where, "seq": self.seq, "method": self.method}
        try:
            out["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            out["body_base64"] = base64.b64encode(self.body).decode("ascii")
        out["headers"] = self.headers or {}
        out["verdict"] = self.verdict
        return out


def replay_headers(headers: dict[str, str]) -> dict[str, str]:
    """The captured headers a replay can send: all but those that frame the request (the
    client sets them from the body and the URL), and only values HTTP can carry."""
    out = {}
    for name, value in headers.items():
        if name.lower() in FRAMING:
            continue
        if not value.isascii() or any(c in value for c in "\r\n\0"):
            continue
        out[name] = value
    return out


_SEQ = re.compile(r"^\s*(\d*)\s*(-?)\s*(\d*)\s*$")


@dataclass(frozen=True)
class Selection:
    """Which captured requests to take: every condition given must hold.

    `events`: the callback's `event` is one of these; `recordings`: its recording's id or URL
    is one of these; `seq`: its number is in this range (inclusive); `invalid`: the capture
    server judged it invalid (for plain callbacks: it is invalid now, with `strict`).
    """

    events: frozenset[str] = frozenset()
    recordings: frozenset[str] = frozenset()
    seq: tuple[int, int | None] | None = None
    invalid: bool = False
    strict: bool = False

    @staticmethod
    def parse_seq(text: str) -> tuple[int, int | None]:
        """`10-20`, `10-` (from 10 on), `-20` (up to 20) or `7` (that one) as a range; a
        `UsageError` for anything else."""
        match = _SEQ.match(text)
        if not match or not (match[1] or match[3]) or (not match[2] and not match[1]):
            raise UsageError(f"bad --seq {text!r}: expected N, N-M, N- or -M (e.g. 10-20)")
        low = int(match[1]) if match[1] else 0
        high = (int(match[3]) if match[3] else None) if match[2] else low
        if high is not None and high < low:
            raise UsageError(f"bad --seq {text!r}: the range ends before it starts")
        return low, high

    @property
    def everything(self) -> bool:
        return not (self.events or self.recordings or self.seq or self.invalid)

    def wants(self, captured: Captured, judge: Any = None) -> bool:
        """Whether `captured` is chosen (`judge` checks a plain callback for `invalid`)."""
        if self.seq is not None:
            low, high = self.seq
            if captured.seq < low or (high is not None and captured.seq > high):
                return False
        if self.events and captured.event not in self.events:
            return False
        if self.recordings:
            url = captured.recording_url
            if url is None or (
                url not in self.recordings and recording_id(url) not in self.recordings
            ):
                return False
        if self.invalid:
            if captured.verdict is not None:
                return captured.verdict in INVALID_VERDICTS
            return captured.error is not None or (judge is not None and not judge(captured.payload))
        return True


def _body_of(record: dict[str, Any]) -> bytes | str:
    """A receive record's body as bytes, or why it cannot be had (a str)."""
    if "body_base64" in record:
        text = record["body_base64"]
        if not isinstance(text, str):
            return "body_base64 is not a string"
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return "body_base64 is not base64"
    text = record.get("body")
    if not isinstance(text, str):
        return "body is not a string"
    return text.encode("utf-8", "surrogatepass")


def _parse(body: bytes) -> tuple[Any, str | None]:
    try:
        return orjson.loads(body), None
    except orjson.JSONDecodeError as exc:
        return None, f"the captured body is not JSON: {exc}"


def _from_receive(item: Item, record: dict[str, Any], keep_headers: bool) -> Captured | str:
    body = _body_of(record)
    if isinstance(body, str):
        return body
    seq = record.get("seq")
    headers = record.get("headers")
    if type(seq) is not int or not isinstance(headers, dict):
        return "a receive log record needs an integer seq and a headers object"
    headers = {str(k): str(v) for k, v in headers.items()}
    payload, error = _parse(body)
    problems = tuple(
        Problem(str(p.get("path", "")), str(p.get("message", "")), str(p.get("kind", "")))
        for p in record.get("problems") or ()
        if isinstance(p, dict)
    )
    verdict = record.get("verdict")
    return Captured(
        item.source,
        item.line,
        item.index,
        seq,
        body,
        payload,
        error,
        method=str(record.get("method", "POST")),
        path=str(record.get("path", "/")),
        request_headers=headers,
        headers=replay_headers(headers) if keep_headers else None,
        verdict=verdict if isinstance(verdict, str) else None,
        problems=problems,
        from_log=True,
    )


def _from_serve(item: Item, record: dict[str, Any]) -> Captured | str:
    seq = record.get("seq")
    if type(seq) is not int or "callback" not in record:
        return "a serve log's callback record needs an integer seq and a callback"
    payload = record["callback"]
    # The fake sends each callback as orjson serialises it: these are its bytes.
    return Captured(item.source, item.line, item.index, seq, orjson.dumps(payload), payload,
                    from_log=True)  # fmt: skip


def read_captured(
    paths: Iterable[str],
    fmt: InputFormat = "auto",
    *,
    select: Selection | None = None,
    keep_headers: bool = False,
) -> Iterator[Captured | Item]:
    """Every replayable request in `paths` (capture logs or plain callbacks), streamed, in
    the order of the input, as `Captured`; what cannot be read comes as an `Item` with an
    `error` (a line that is not JSON, a record without its body, an input mixing log records
    and callbacks: from there on, that input is not read)."""
    return _read(paths, fmt, select or Selection(), keep_headers, False)


def read_captured_items(
    paths: Iterable[str], fmt: InputFormat = "auto", *, select: Selection | None = None
) -> Iterator[Item]:
    """`read_captured` as `files.Item`s, for `validation.validate_inputs`: a log record's
    item holds its body parsed as the capture server parsed it (plain callbacks, unfiltered,
    go through as `files.read_callbacks` reads them: `validate`'s hot path)."""
    select = select or Selection()
    if not select.everything:
        for entry in _read(paths, fmt, select, False, True):
            yield entry if isinstance(entry, Item) else entry.item()
        return
    for path in paths:
        # `validate`'s hot path: plain callbacks pass straight through, one generator level
        # and a test a line; a log (told by its first value) goes the whole way.
        items = read_callbacks([path], fmt)
        for item in items:
            if item.error is not None:
                yield item
                continue
            if is_log_record(item.payload):
                yield from _read_rest(item, items, select)
                break
            yield item
            for item in items:
                payload = item.payload
                if type(payload) is dict and "seq" in payload and is_log_record(payload):
                    yield item._replace(payload=None, error=_MIXED_LOG)
                    break
                yield item
            break


def _read_rest(first: Item, rest: Iterator[Item], select: Selection) -> Iterator[Item]:
    """A capture log's items, its first already read."""
    for entry in _items_of(itertools.chain((first,), rest), select):
        yield entry if isinstance(entry, Item) else entry.item()


def _read(
    paths: Iterable[str],
    fmt: InputFormat,
    select: Selection,
    keep_headers: bool,
    items: bool,
) -> Iterator[Captured | Item]:
    for path in paths:
        yield from _items_of(read_callbacks([path], fmt), select, keep_headers, items)


def _items_of(
    source: Iterable[Item],
    select: Selection,
    keep_headers: bool = False,
    items: bool = True,
) -> Iterator[Captured | Item]:
    """One input's values as captures (or items): a log's records, or plain callbacks."""
    everything = select.everything
    judge = None
    if select.invalid:
        judge = checker(strict=select.strict, assume_json=True)
    kind: str | None = None  # "log" or "callbacks", fixed by the input's first value
    position = 0
    for item in source:
        if item.error is not None:
            yield item
            continue
        shape = "log" if is_log_record(item.payload) else "callbacks"
        if kind is None:
            kind = shape
        elif shape != kind:
            mixed = _MIXED_LOG if shape == "log" else _MIXED_CALLBACK
            yield item._replace(payload=None, error=mixed)
            break
        captured: Captured | str | None
        if shape == "callbacks" and items and everything:
            yield item
            continue
        if shape == "callbacks":
            captured = Captured(
                item.source, item.line, item.index, position, orjson.dumps(item.payload),
                item.payload,
            )  # fmt: skip
            position += 1
        else:
            record = item.payload
            if record.get("type") == "request":
                continue  # a serve log's API request: not a callback
            if record.get("type") == "callback":
                captured = _from_serve(item, record)
            elif record.get("verdict") not in REPLAYABLE_VERDICTS:
                continue  # refused before its body was read: nothing to replay
            else:
                captured = _from_receive(item, record, keep_headers)
        if isinstance(captured, str):
            yield item._replace(payload=None, error=captured)
            continue
        if keep_headers and captured.headers is None and captured.request_headers:
            captured = replace(captured, headers=replay_headers(captured.request_headers))
        if everything or select.wants(captured, judge):
            yield captured


def read_all_captured(
    path: str,
    fmt: InputFormat = "auto",
    *,
    select: Selection | None = None,
    keep_headers: bool = False,
) -> list[Captured]:
    """`read_captured` of one input, in memory: an `InputError` for the first part that
    cannot be read, or when nothing is chosen."""
    out: list[Captured] = []
    for entry in read_captured([path], fmt, select=select, keep_headers=keep_headers):
        if isinstance(entry, Item):
            raise InputError(f"{entry.where}: {entry.error}")
        out.append(entry)
    if not out:
        chosen = "" if select is None or select.everything else " chosen by the filters"
        raise InputError(f"{path}: no callbacks{chosen} in it")
    return out


# --- edits: `replay --set` ------------------------------------------------------------------

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_edits(assignments: Iterable[str]) -> list[tuple[list[str | int], Any]]:
    """`PATH=VALUE` strings as (path, value): PATH is a JSON path (`recording.reason`,
    `$.recording.location.region`, `items[0].name`); VALUE is JSON when it parses as JSON
    (`123`, `null`, `"text"`, `{...}`), else the text itself. A `UsageError` names a bad one."""
    edits = []
    for text in assignments:
        path, sep, raw = text.partition("=")
        path = path.strip().removeprefix("$").removeprefix(".")
        if not sep or not path:
            raise UsageError(f"bad --set {text!r}: expected PATH=VALUE (recording.reason=x)")
        steps: list[str | int] = []
        position = 0
        for match in _SEGMENT.finditer(path):
            between = path[position : match.start()]
            if between not in ("", "."):
                break
            steps.append(match[1] if match[1] is not None else int(match[2]))
            position = match.end()
        if position != len(path) or not steps or path.endswith("."):
            raise UsageError(f"bad --set {text!r}: {path!r} is not a JSON path (a.b[0].c)")
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            value = raw
        edits.append((steps, value))
    return edits


def apply_edits(payload: Any, edits: list[tuple[list[str | int], Any]]) -> Any:
    """A copy of `payload` with each edit made (missing objects on the way are created); a
    `UsageError` when the path runs into something that is not an object or a list."""
    result = orjson.loads(orjson.dumps(payload))
    for steps, value in edits:
        if type(result) is not dict:
            raise UsageError("only a JSON object can be edited with --set")
        node: Any = result
        for step, following in zip(steps, [*steps[1:], None], strict=True):
            last = following is None
            if isinstance(step, int):
                if type(node) is not list or not -len(node) <= step < len(node):
                    raise UsageError(f"--set: no element [{step}] to edit")
                if last:
                    node[step] = value
                else:
                    node = node[step]
            elif type(node) is dict:
                if last:
                    node[step] = value
                else:
                    if step not in node:
                        node[step] = [] if isinstance(following, int) else {}
                    node = node[step]
            else:
                raise UsageError(f"--set: {step!r} is under something that is not an object")
    return result


def edited(captured: Captured, edits: list[tuple[list[str | int], Any]]) -> Captured:
    """`captured` with `edits` made and its body re-serialised; unchanged (its bytes as they
    came) when there are no edits or its body is not JSON."""
    if not edits or captured.error is not None:
        return captured
    return captured.with_payload(apply_edits(captured.payload, edits))
