"""Text for people: one line per delivery or request, summaries, the contract's table.

Functions return plain strings; `style` (click.style, or a no-op) adds colour where the
caller wants it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..model import recording_id
from ..results import Report, Result

if TYPE_CHECKING:  # types only: the plugin imports this module, and must stay light
    from ..capture import CaptureSummary
    from ..contract import ContractReport, ContractSession
    from ..fake import FakeSummary
    from ..generation import ScenarioRow
    from ..load import LoadSummary
    from ..server import Refusals, ServedSummary
    from ..validation import InputEntry, InputsReport

Style = Callable[..., str]


def plain(text: str, **_: Any) -> str:
    """A `style` that adds nothing."""
    return text


def _status_style(style: Style, text: str, ok: bool, warn: bool = False) -> str:
    return style(text, fg="green" if ok else "yellow" if warn else "red")


# --- send --------------------------------------------------------------------------------


def delivery_line(result: Result, style: Style = plain) -> str:
    """`204    3.1 ms  recording-started   1677608374942-0-503309`, and why if it failed."""
    status = str(result.status) if result.status is not None else "---"
    quirk = f"  ({result.quirk})" if result.quirk else ""
    if result.attempts > 1:
        quirk += f"  ({result.attempts} attempts)"
    warn = 300 <= (result.status or 0) < 500
    line = (
        f"{_status_style(style, status, result.delivered, warn)} "
        f"{result.latency_ms:8.1f} ms  {result.event or '-':<24} "
        f"{recording_id(result.recording_url)}{quirk}"
    )
    if not result.delivered:
        line += f"\n      {_status_style(style, result.describe(), False)}"
        if result.app_error:
            line += "\n      the app raised:\n        " + result.app_error.replace(
                "\n", "\n        "
            )
    return line


def send_summary(report: Report) -> list[str]:
    """Counts by outcome and status, latency percentiles, throughput."""
    data = report.summary()
    statuses = ", ".join(f"{k}: {v}" for k, v in data["statuses"].items()) or "none"
    others = {k: v for k, v in data["outcomes"].items() if k != "delivered"}
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(others.items()))
    latency = data["latency_ms"]
    lines = [
        f"{data['delivered']} of {data['total']} delivered"
        + (f" ({outcomes})" if outcomes else "")
        + f"; statuses {statuses}",
    ]
    if latency["p50"] is not None:
        lines.append(
            f"latency p50 {latency['p50']} ms, p95 {latency['p95']} ms, p99 {latency['p99']} ms; "
            f"{data['throughput_per_s']} deliveries/s over {data['elapsed_s']} s"
        )
    if report.gave_up:
        lines.append(f"{report.gave_up}; {data['not_sent']} not sent")
    elif report.interrupted:
        attempted = data["total"] - data["not_sent"]
        lines.append(
            f"interrupted after {attempted} deliveries: {data['not_sent']} more were taken from "
            "the input and not sent; the rest of the input was never read"
        )
    return lines


def send_failure(report: Report) -> str:
    """The one line that says why a send did not succeed."""
    failure = report.first_failure
    if report.gave_up:
        return f"{report.gave_up}; {report.not_sent} of {report.total} not sent"
    if failure is None:
        return f"interrupted: {report.not_sent} of {report.total} deliveries were not sent"
    reason = f"{failure.event or 'callback'}: {failure.describe()}"
    not_sent = f" ({report.not_sent} not sent)" if report.not_sent else ""
    return f"{report.failed} of {report.total} deliveries failed{not_sent}; first: {reason}"


# --- capture -----------------------------------------------------------------------------


def capture_line(capture: Any, style: Style = plain) -> str:
    """One request the capture server got, coloured by its verdict."""
    if style is plain:  # a capture server's every request: no call that changes nothing
        return capture.line()  # type: ignore[no-any-return]
    ok = capture.verdict == "valid"
    return _status_style(style, capture.line(), ok, capture.verdict != "invalid")


def capture_summary(summary: CaptureSummary) -> list[str]:
    """What a capture server got, in two lines."""
    events = ", ".join(f"{k} {v}" for k, v in sorted(summary.events.items())) or "none"
    return [
        f"{summary.callbacks} callback(s) in {summary.requests} request(s): {events}",
        f"invalid {summary.invalid}, out of order {summary.out_of_order}, "
        f"duplicates {summary.duplicates}; undocumented fields and values: "
        f"{', '.join(summary.undocumented_fields) or 'none'}",
    ]


def capture_flags(summary: CaptureSummary) -> str | None:
    """`2 invalid, 1 out of order`, or None when there is nothing to flag."""
    counts = (
        ("invalid", summary.invalid),
        ("out of order", summary.out_of_order),
        ("duplicates", summary.duplicates),
    )
    return ", ".join(f"{n} {what}" for what, n in counts if n) or None


# --- contract ----------------------------------------------------------------------------

_VERDICT_COLOURS = {"passed": "green", "warned": "yellow", "failed": "red", "skipped": "cyan"}
MAX_DETAILS = 5


def contract(report: ContractReport, session: ContractSession, style: Style = plain) -> list[str]:
    """The table (clause, verdict, reason), the details of each failure, counts and a hint."""
    lines = []
    width = max(len(r.name) for r in report.results)
    for result in report.results:
        verdict = style(f"{result.verdict:<7}", fg=_VERDICT_COLOURS[result.verdict])
        lines.append(f"{result.name:<{width}}  {verdict}  {result.reason}")
    for result in report.results:
        shown = result.failures or result.warnings
        if not shown:
            continue
        lines.append(f"\n{result.name} ({result.verdict}):")
        for failure in shown[:MAX_DETAILS]:
            lines.append("  " + failure.explain(session.url, session.headers).replace("\n", "\n  "))
        if len(shown) > MAX_DETAILS:
            lines.append(f"  ... and {len(shown) - MAX_DETAILS} more")
    verdicts = report.by_clause()
    tally: dict[str, int] = {}
    for verdict in verdicts.values():
        tally[verdict] = tally.get(verdict, 0) + 1
    counts = ", ".join(f"{n} {v}" for v, n in sorted(tally.items()))
    lines.append(f"\n{len(verdicts)} clauses ({len(report.results)} checks): {counts}")
    if report.interrupted:
        lines.append(interrupted_line(report))
    if report.timed_out:
        unchecked = [r.name for r in report.results if r.reason.startswith("not checked")]
        lines.append(
            f"time limit reached ({session.max_time:g} s): {len(unchecked)} check(s) not"
            " checked" + (f": {', '.join(unchecked)}" if unchecked else "")
        )
    hint = session.hint()
    if hint:
        lines.append(f"hint: {hint}")
    return lines


def interrupted_line(report: ContractReport) -> str:
    """What an interrupted contract run did: which checks ran and which were skipped."""
    skipped = [r.name for r in report.results if r.reason == "skipped: interrupted"]
    ran = len(report.results) - len(skipped)
    if not ran:
        return f"interrupted (Ctrl-C) before any check ran: all {len(skipped)} were skipped"
    if not skipped:
        return f"interrupted (Ctrl-C) after all {ran} checks had run: none was skipped"
    return (
        f"interrupted (Ctrl-C): {ran} check(s) ran, {len(skipped)} were skipped "
        f"(from {skipped[0]} on)"
    )


def clause_failure(result: Any, session: ContractSession) -> str:
    """A failed clause for pytest: headline, how to reproduce, the first few failures."""
    shown = result.failures[:MAX_DETAILS]
    details = "\n\n".join(f.explain(session.url, session.headers) for f in shown)
    more = len(result.failures) - len(shown)
    tail = f"\n\n... and {more} more" if more else ""
    if result.clause == "probe":
        headline = f"the probe failed for {len(result.failures)} lifecycle(s)"
    else:
        headline = f"{len(result.failures)} of {result.requests} answer(s) were wrong"
    where = ""
    if session.kind != "url":
        where = f"(the curl lines use {session.url}: point them at where your app runs)\n"
    hint = session.hint()
    return (
        f"{result.name}: {headline}\n"
        f"{where}(reproduce with --aircore-seed {session.seed})"
        + (f"\nhint: {hint}" if hint else "")
        + f"\n\n{details}{tail}"
    )


def clause_warning(result: Any, session: ContractSession) -> str:
    """A warned clause for pytest: the reason, then each doubtful answer."""
    details = "\n\n".join(w.explain(session.url, session.headers) for w in result.warnings)
    return f"{result.name}: {result.reason}\n{details}"


# --- load -------------------------------------------------------------------------------


def load_summary(summary: LoadSummary) -> list[str]:
    """aircore-mock's summary of a Locust run (`aircore_mock.load.users.summary`), in lines."""
    deliveries = summary.deliveries
    total = deliveries.total
    lines = [
        f"aircore-mock load: {total} deliveries to {summary.target}: "
        f"{deliveries.delivered} got a 2xx, {deliveries.failed} did not"
        + (f" ({summary.workers} workers)" if summary.workers else "")
    ]
    for event, statuses in deliveries.by_event_and_status.items():
        counts = ", ".join(f"{status} x{n}" for status, n in statuses.items())
        lines.append(f"  {event:<24} {sum(statuses.values()):>8}  ({counts})")
    latency = summary.latency_ms
    if latency.p50 is not None:
        lines.append(
            f"latency p50 {latency.p50} ms, p95 {latency.p95} ms, p99 {latency.p99} ms, "
            f"max {latency.max} ms; {summary.throughput_per_s} deliveries/s over "
            f"{summary.elapsed_s} s"
        )
    line = f"lifecycles: {summary.lifecycles_completed} completed"
    if summary.lifecycles_cut_short:
        line += f", {summary.lifecycles_cut_short} cut short (their user was stopped mid-recording)"
    lines.append(line)
    locust = summary.locust
    if summary.exact and locust.requests == total:
        lines.append(f"Locust counted the same {locust.requests} requests: every delivery")
    else:
        lines.append(
            f"Locust counted {locust.requests} requests, aircore-mock {total}: "
            + (
                f"{len(summary.workers_without_last_report)} worker(s) sent no last report"
                if summary.workers_without_last_report
                else f"{deliveries.by_status.get('interrupted', 0)} were interrupted; "
                "the receiver may or may not have them"
            )
        )
    if summary.seed is not None:
        lines.append(f"seed {summary.seed}")
    return lines


def fuzz(report: Any, session: ContractSession, style: Style = plain) -> list[str]:
    """A fuzz run: the smallest request of each distinct failure, then a summary."""
    lines = []
    for clause, failure in zip(report.clauses, report.failures, strict=True):
        lines.append(style(f"{clause}: {failure.got}", fg="red"))
        lines.append("  " + failure.explain(session.url, session.headers).replace("\n", "\n  "))
    verdict = "no failure" if not report.failures else f"{len(report.failures)} distinct failure(s)"
    lines.append(
        f"{report.sent} request(s) in {report.elapsed_s:.1f} s, seed {report.seed}: {verdict}"
        f" (reproduce with --seed {report.seed})"
    )
    if report.interrupted:
        lines.append("interrupted (Ctrl-C): the search stopped early")
    elif report.timed_out:
        lines.append(f"time limit reached ({session.max_time:g} s): the search stopped early")
    return lines


# --- validate ----------------------------------------------------------------------------


def input_entry(entry: InputEntry) -> str:
    """`file:3: recording.url: ...`: an invalid, unreadable or noted input, on one line."""
    if entry.kind == "unreadable":
        return f"{entry.where}: {entry.error}"
    if entry.kind == "noted":
        return f"{entry.where}: note: {'; '.join(str(n) for n in entry.problems)}"
    return f"{entry.where}: {ValidationError(entry.problems)}"


def validation_summary(report: InputsReport) -> str:
    """`3 valid, 1 invalid, 1 unreadable; 2 valid with undocumented fields or values`."""
    line = f"{report.valid} valid, {report.invalid} invalid"
    if report.unreadable:
        line += f", {report.unreadable} unreadable"
    if report.noted:
        line += f"; {report.noted} valid with undocumented fields or values (notes)"
    return line


# --- schema and scenarios ---


def schema_list(rows: list[tuple[str, str]]) -> list[str]:
    """`name  description`, the names in a column."""
    width = max(len(name) for name, _ in rows)
    return [f"{name:<{width}}  {description}".rstrip() for name, description in rows]


def scenario_table(rows: list[ScenarioRow], columns: int = 100) -> list[str]:
    """Outcomes then faults: name, description wrapped to `columns`, the callbacks sent."""
    import textwrap

    width = max(len(row.name) for row in rows)
    lines = []
    for kind, title in (("outcome", "Outcomes"), ("fault", "Faults (combine: OUTCOME+FAULT)")):
        lines.append(f"{title}:")
        for row in (r for r in rows if r.kind == kind):
            wrapped = textwrap.wrap(row.description, max(40, columns - width - 4))
            for index, line in enumerate(wrapped):
                lines.append(f"  {row.name if index == 0 else '':<{width}}  {line}")
            for share, sample in row.mix:
                shown = " ".join(e.removeprefix("recording-") for e in sample)
                lines.append(f"  {'':<{width}}  -> {shown}  ({share:.0%} of recordings)")
            if not row.mix:
                events = " ".join(e.removeprefix("recording-") for e in row.callbacks)
                lines.append(f"  {'':<{width}}  -> {events}")
    return lines


def failure_catalogue(rows: list[dict[str, str]]) -> list[str]:
    """Each upload failure: family (code), cause, S3 message."""
    return [
        f"{row['family']} ({row['code']})\n  cause:   {row['cause']}\n  message: {row['message']}"
        for row in rows
    ]


# --- servers: receive and serve ----------------------------------------------------------

_REFUSALS = {
    "connections_over_limit": "over the connection limit",
    "header_timeouts": "too slow sending headers",
    "body_timeouts": "too slow sending a body",
    "oversized_headers": "headers too large",
}


def refusals_line(refused: Refusals | None) -> str | None:
    """`refused: 3 over the connection limit, ...`, or None when nobody was refused."""
    counts = refused.to_json() if refused is not None else {}
    parts = [f"{n} {_REFUSALS[k]}" for k, n in counts.items() if n]
    return f"refused: {', '.join(parts)}" if parts else None


def capture_ready(receiver: Any) -> str:
    """The line a capture server prints once it listens."""
    line = f"ready: listening on {receiver.url} (Ctrl-C to stop); {receiver.limits.describe()}"
    if getattr(receiver, "forward_to", None):
        line += f"; forwarding callbacks to {receiver.forward_to}"
    if getattr(receiver, "ui_url", None):
        line += f"\ninspector: {receiver.ui_url}"
    return line


def fake_ready(fake: Any, api_keys: int, retries: int, control: str) -> str:
    """The line the fake prints once it listens: where, keys, clock, retries, control."""
    keys = (
        f"{api_keys} API key(s) from --api-key"
        if api_keys
        else "any non-empty bearer key is accepted (no --api-key given)"
    )
    retry = f"{retries} retries" if retries else "no retries (Aircore documents none)"
    return (
        f"ready: Aircore recording API on {fake.url}/recording (Ctrl-C to stop); "
        f"{keys}; clock: {fake.clock.describe()}; callbacks: {retry}; "
        f"control: {fake.url}{control}/; {fake.limits.describe()}"
    )


def fake_request(entry: Any, style: Style = plain) -> str:
    """`POST /recording 201  <recording id>`: one request the fake's API got."""
    status = _status_style(style, str(entry.status), entry.status < 400)
    what = entry.recording_id or entry.error or ""
    return f"{entry.method} {entry.path[:60]} {status}  {what}"


def fake_callback(sent: Any, style: Style = plain) -> str:
    """`  -> recording-started <id> <url>: 204 (3.1 ms)`: one callback the fake delivered."""
    result = sent.result
    answer = result.describe() if result.error or not result.delivered else result.status
    line = f"  -> {sent.event} {sent.recording_id} {sent.shown_url}"
    coloured = _status_style(style, str(answer), result.delivered)
    return f"{line}: {coloured} ({result.latency_ms:.1f} ms)"


def fake_summary(summary: FakeSummary) -> list[str]:
    """What the fake did: recordings, API requests, callbacks by outcome; who was refused."""
    deliveries = ", ".join(f"{n} {k}" for k, n in sorted(summary.deliveries.items()))
    lines = [
        f"{summary.recordings} recording(s), {summary.requests} API request(s), "
        f"{summary.callbacks} callback(s){': ' + deliveries if deliveries else ''}"
    ]
    refused = refusals_line(summary.refused)
    return [*lines, refused] if refused else lines


def log_dropped(summary: ServedSummary, log: object) -> str | None:
    """The notice for log lines a server could not write, with their causes (None: none)."""
    if not summary.log_lines_dropped:
        return None
    return dropped_lines(summary.log_lines_dropped, str(log), "log", summary.log_drop_causes)


def dropped_lines(
    dropped: int,
    where: str = "stdout",
    what: str = "output",
    causes: dict[str, int] | None = None,
) -> str:
    """The notice for lines (output, or log) a server could not write, with their causes:
    `... dropped: stdout did not keep up`, or `... dropped: received.jsonl: No space left on
    device (12), did not keep up (3)`."""
    named = {k: n for k, n in (causes or {}).items() if n}
    if set(named) <= {"did not keep up", "not written in time"}:  # a slow reader, either way
        return f"aircore-mock: {dropped} {what} line(s) dropped: {where} did not keep up"
    why = ", ".join(f"{cause} ({n})" for cause, n in sorted(named.items(), key=lambda c: -c[1]))
    return f"aircore-mock: {dropped} {what} line(s) dropped: {where}: {why}"
