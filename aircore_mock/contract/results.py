"""What a contract run found: a verdict per clause; each failure with what reproduces it."""

from __future__ import annotations

import base64
import copy
import json
import shlex
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from ..model import recording_id
from ..results import Report

Verdict = Literal["passed", "failed", "warned", "skipped"]
_CURL_BODY_LIMIT = 2000


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """The JSON text of any JSON value, integers of any size included: orjson refuses integers
    beyond 64 bits ("Integer exceeds 64-bit range"), so those go out as their digits through
    the standard library; whatever the search draws can be sent."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except TypeError:
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
            return text.encode()
        except UnicodeEncodeError:  # a lone surrogate: escaped, still valid JSON
            return json.dumps(value, separators=(",", ":"), sort_keys=sort_keys).encode()


def loads(data: bytes) -> Any:
    """JSON text back to values, integers of any size kept exact (orjson reads an integer
    beyond 64 bits as a float)."""
    return json.loads(data)


def replaced(callback: dict[str, Any], path: Sequence[str], value: Any) -> dict[str, Any]:
    """A deep copy of `callback` with the field at `path` set to `value` (which may be any
    JSON value, or something a receiver should refuse)."""
    result = copy.deepcopy(callback)
    target = result
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return result


def describe(callback: Any) -> str:
    """A callback in a few words: event, recording id, and its reason, region or length."""
    if not isinstance(callback, dict):
        return "a non-callback JSON value"
    recording = callback.get("recording") if isinstance(callback.get("recording"), dict) else {}
    recording_name = recording_id(recording.get("url"))
    detail = ""
    if isinstance(recording.get("reason"), str):
        reason = recording["reason"]
        detail = f", reason {reason if len(reason) <= 60 else reason[:57] + '...'!r}"
    elif isinstance(recording.get("location"), dict):
        detail = f", region {recording['location'].get('region')!r}"
    minutes = recording.get("elapsedTime")
    if isinstance(minutes, int) and minutes:
        detail += f", {minutes / 60000:.1f} min"
    return f"{callback.get('event')} for recording {recording_name}{detail}"


class AircoreContractWarning(UserWarning):
    """A receiver did something allowed but doubtful (e.g. 2xx for a malformed body)."""


@dataclass(frozen=True)
class Failure:
    """One thing a receiver got wrong: what was sent, what came back, what was expected."""

    sent: str
    body: bytes
    got: str
    expected: str
    app_error: str | None = None
    """An in-process app's exception behind the answer (its traceback, trimmed)."""
    headers: Mapping[str, str] | None = None
    """The header variant the request went with."""
    profile: str | None = None
    """The client wire profile the request was written in (speaks-http), if any."""
    sequence: tuple[bytes, ...] = ()
    """Deliveries that reproduce it together, in order (probe and converges: a lifecycle
    delivered in some order); `body` is then the last of them."""

    def to_json(self) -> dict[str, Any]:
        """The failure as JSON-ready data; `from_json` gives it back whole, bodies byte for
        byte (text as `body`, other bytes as `body_base64`)."""
        out: dict[str, Any] = {
            "sent": self.sent,
            "got": self.got,
            "expected": self.expected,
            **_bytes_json("body", self.body),
            "app_error": self.app_error,
            "headers": dict(self.headers or {}),
            "profile": self.profile,
        }
        if self.sequence:
            out["sequence"] = [_bytes_json("body", b) for b in self.sequence]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Failure:
        """A failure from its `to_json()`."""
        return cls(
            str(data["sent"]),
            _bytes_from(data, "body"),
            str(data["got"]),
            str(data["expected"]),
            data.get("app_error"),
            dict(data.get("headers") or {}),
            data.get("profile"),
            tuple(_bytes_from(b, "body") for b in data.get("sequence") or ()),
        )

    def explain(self, url: str, headers: Mapping[str, str] | None = None) -> str:
        """Several lines for a human, with a curl command that sends the same request."""
        sent_headers = {**(headers or {}), **(self.headers or {})}
        flags: list[str] = []
        sent = self.sent
        if self.profile is not None:
            from .wire import PROFILES, curl_flags

            chosen = next((p for p in PROFILES if p.name == self.profile), None)
            if chosen is not None:
                flags = curl_flags(chosen)
                sent += f" [profile {chosen.name}: as {chosen.client} writes it]"
        lines = [curl(url, self.body, sent_headers, flags)]
        if self.sequence:
            lines = [
                f"{n}. {curl(url, body, sent_headers, flags)}"
                for n, body in enumerate(self.sequence, 1)
            ]
        shown = "\n          ".join(lines)
        text = (
            f"sent:     {sent}\n          {shown}\ngot:      {self.got}\nexpected: {self.expected}"
        )
        if self.app_error:
            trace = self.app_error.replace("\n", "\n          ")
            text += f"\nthe app raised:\n          {trace}"
        return text


@dataclass
class ClauseResult:
    """The verdict on one clause (or one case of it), with every failure."""

    clause: str
    case: str | None
    verdict: Verdict
    reason: str
    failures: list[Failure] = field(default_factory=list)
    warnings: list[Failure] = field(default_factory=list)
    requests: int = 0

    @property
    def name(self) -> str:
        return f"{self.clause}[{self.case}]" if self.case else self.clause

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data (`from_json` gives it back)."""
        return {
            "clause": self.clause,
            "case": self.case,
            "verdict": self.verdict,
            "reason": self.reason,
            "requests": self.requests,
            "failures": [f.to_json() for f in self.failures],
            "warnings": [f.to_json() for f in self.warnings],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClauseResult:
        """A clause's result from its `to_json()`."""
        return cls(
            str(data["clause"]),
            data.get("case"),
            data["verdict"],
            str(data["reason"]),
            [Failure.from_json(f) for f in data.get("failures") or ()],
            [Failure.from_json(f) for f in data.get("warnings") or ()],
            int(data.get("requests") or 0),
        )


@dataclass
class ContractReport:
    """Every clause's verdict for one receiver."""

    target: str
    seed: int
    results: list[ClauseResult]
    deliveries: Report = field(default_factory=Report)
    """Every request the run made, counted by outcome, event and status."""
    interrupted: bool = False
    """Stopped by Ctrl-C: the clauses after it were not run."""
    timed_out: bool = False
    """The run's time limit came first: what was left was not checked."""
    abandoned: int = 0
    """Requests abandoned in flight when the run stopped waiting (a receiver that proved
    slow, Ctrl-C, the time limit): the receiver may have got them; `deliveries` counts them
    as not-sent."""
    headers: dict[str, str] = field(default_factory=dict)
    """The run's own headers (`--header`), which every curl line carries."""
    in_process: bool = False
    """The target was an app in this process: `target` is a placeholder URL for curl lines."""
    max_time: float | None = None
    hint: str | None = None
    """A likely cause when every answer said the same wrong thing (e.g. a wrong path)."""

    @property
    def ok(self) -> bool:
        """No clause failed (warnings and skips are fine), and the run was not cut short (by
        Ctrl-C or its time limit: then the contract is not proven)."""
        return (
            not self.interrupted
            and not self.timed_out
            and all(r.verdict != "failed" for r in self.results)
        )

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "target": self.target,
            "seed": self.seed,
            "ok": self.ok,
            "interrupted": self.interrupted,
            "timed_out": self.timed_out,
            "abandoned_in_flight": self.abandoned,
            "headers": dict(self.headers),
            "in_process": self.in_process,
            "max_time": self.max_time,
            "hint": self.hint,
            "clauses": self.by_clause(),
            "results": [r.to_json() for r in self.results],
            "deliveries": self.deliveries.summary(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ContractReport:
        """A report from its `to_json()` (`check --format json`): it renders as the run's
        own did. The deliveries come back as counts (their latencies stay in the JSON)."""
        tally = data.get("deliveries") or {}
        deliveries = Report(
            total=int(tally.get("total") or 0),
            outcomes=Counter(tally.get("outcomes") or {}),
            events=Counter(tally.get("events") or {}),
            statuses=Counter({int(k): v for k, v in (tally.get("statuses") or {}).items()}),
            elapsed_s=float(tally.get("elapsed_s") or 0.0),
        )
        return cls(
            str(data["target"]),
            int(data["seed"]),
            [ClauseResult.from_json(r) for r in data.get("results") or ()],
            deliveries,
            interrupted=bool(data.get("interrupted")),
            timed_out=bool(data.get("timed_out")),
            abandoned=int(data.get("abandoned_in_flight") or 0),
            headers=dict(data.get("headers") or {}),
            in_process=bool(data.get("in_process")),
            max_time=data.get("max_time"),
            hint=data.get("hint"),
        )

    def by_clause(self) -> dict[str, Verdict]:
        """The worst verdict per clause across its cases."""
        rank = {"failed": 3, "warned": 2, "passed": 1, "skipped": 0}
        out: dict[str, Verdict] = {}
        for result in self.results:
            current = out.get(result.clause)
            if current is None or rank[result.verdict] > rank[current]:
                out[result.clause] = result.verdict
        return out


def _bytes_json(key: str, body: bytes) -> dict[str, str]:
    try:
        return {key: body.decode("utf-8")}
    except UnicodeDecodeError:
        return {f"{key}_base64": base64.b64encode(body).decode("ascii")}


def _bytes_from(data: Mapping[str, Any], key: str) -> bytes:
    if f"{key}_base64" in data:
        return base64.b64decode(data[f"{key}_base64"])
    return str(data.get(key, "")).encode("utf-8")


def curl(
    url: str,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    flags: Sequence[str] = (),
) -> str:
    """A curl command line that POSTs `body` as Aircore would, byte for byte: text through
    `--data-binary 'TEXT'`; a body with bytes a terminal would not keep (invalid UTF-8,
    control characters) through `printf` escapes piped to `--data-binary @-`. Bodies over
    2,000 bytes are cut, saying so (the JSON report holds them whole)."""
    headers = dict(headers or {})
    if not any(name.lower() == "content-type" for name in headers):
        headers["content-type"] = "application/json"
    parts = ["curl", "-sS", "-X", "POST", url]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    parts += list(flags)
    cut = len(body) > _CURL_BODY_LIMIT
    shown = body[:_CURL_BODY_LIMIT] if cut else body
    note = f"  # body cut to {_CURL_BODY_LIMIT:,} of {len(body):,} bytes" if cut else ""
    try:
        text = shown.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not text.startswith("@") and all(c.isprintable() for c in text):
        return shlex.join([*parts, "--data-binary", text]) + note
    escaped = "".join(_printf_byte(b) for b in shown)
    return f"printf {shlex.quote(escaped)} | " + shlex.join([*parts, "--data-binary", "@-"]) + note


def _printf_byte(byte: int) -> str:
    char = chr(byte)
    if char == "%":
        return "%%"
    if char == "\\":
        return "\\\\"
    if 0x20 <= byte < 0x7F:
        return char
    return f"\\{byte:03o}"
