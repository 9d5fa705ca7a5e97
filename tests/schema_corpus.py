"""Payloads on which every JSON Schema engine must agree: tricky URLs and mutated callbacks.

Built from the documented examples and seeded generated lifecycles, so the corpus is the same
on every run. Each mutation changes one thing (a field dropped, retyped, set to an edge value,
or an undocumented field or value added), which is where engines' edges show.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from typing import Any

import aircore_mock

# Strings an engine might take for a URL, or not: schemes, hosts, ports, whitespace, escapes.
TRICKY_URLS: tuple[str, ...] = (
    "javascript:alert(1)",
    "mailto:a@b",
    "data:text/plain,hi",
    "file:///etc/passwd",
    "ftp://files.example.com/a.m4a",
    "urn:isbn:0451450523",
    "http://",
    "https://",
    "http:",
    "http:/x",
    "http:x",
    "//x/y",
    "/recording/1677608374942-0-503309",
    "x",
    "",
    "HTTP://X",
    "Http://x.example",
    "http://x",
    "https://x.example",
    "http://x:8a",
    "http://x:",
    "http://x:0",
    "http://x:8080",
    "http://x:65535",
    "http://x:65536",
    "http://x:99999",
    "http://x:-1",
    "http://x: 80",
    "http://x\n",
    "http://x\r\n",
    "http://x\t",
    "http://x ",
    " http://x",
    "http://x/a b",
    "http://x/a\u00a0b",
    "http://x\u2028",
    "http://x/\u00e4",
    "http://\u00e4.example/",
    "http://xn--4ca.example/",
    "http://x/%zz",
    "http://x/%2",
    "http://x/%2F%20",
    "http://x/~user/a_b-c.d!$&'()*+,;=:@",
    "http://x/?a=b&c=d",
    "http://x/?q=a?b/c",
    "http://x/#frag",
    "http://x/#a#b",
    "http://x/?#",
    "http://x/[1]",
    "http://x/{1}",
    "http://x/|",
    "http://x/^",
    "http://x/\\",
    "http://x/`",
    'http://x/"',
    "http://x/<a>",
    "http://user@x/",
    "http://user:pass@x/",
    "http://@x/",
    "http://[::1]/",
    "http://[::1]:8080/a",
    "http://[v1.x]/",
    "http://[::1/",
    "http://127.0.0.1/",
    "http://999.999.999.999/",
    "http://x_y.example/",
    "http://-x.example/",
    "http://x-.example/",
    "http://x..example/",
    "http://x.example./",
    "http://.x.example/",
    "http://x.example//a//b",
    "http://x.example/./../a",
    "http://" + "a" * 63 + ".example/",
    "http://" + "a" * 64 + ".example/",
    "https://x.example/" + "k" * 2000,
    "https://youraccount.s3.amazonaws.com/record_1677608374942-0-503309.m4a",
    "https://acme.s3.cn-north-1.amazonaws.com.cn/meeting_1-2-3.m4a",
    "https://acme.s3.us-gov-west-1.amazonaws.com/folder%2Fcall%20one_1-2-3.m4a",
    "https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/rec_1-2-3.m4a",
    "http://vandenberg-i-0defaf76088193a3b-eu-central-1.prod.airtime.com:8080/recording/1677608374942-0-503309",
)

# Values a field might carry instead of what the schema says.
EDGE_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1,
    1.0,
    1.5,
    -0.0,
    2**53 + 1,
    10**20,
    1e300,
    "",
    "0",
    "stopped",
    "started",
    "allPublishersLeft",
    "clientStoped",
    "recording-started",
    "recording-paused",
    [],
    {},
    ["stopped"],
    {"code": "AccessDenied"},
)
EXTRA_FIELDS: tuple[tuple[str, Any], ...] = (
    ("channelId", "lobby"),
    ("schemaVersion", 2),
    ("", None),
    ("url", "http://x"),
    ("reason", "clientStopped"),
)


def _leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _leaves(value, (*path, key))


def _with(payload: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(payload)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def _without(payload: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    out = copy.deepcopy(payload)
    node = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


def _seeds() -> list[dict[str, Any]]:
    examples = [
        ex for e in aircore_mock.callback_types() for ex in aircore_mock.get_schema(e)["examples"]
    ]
    gen = aircore_mock.Generator(seed=14)
    generated = [d.callback for d in gen.deliveries("mixed", count=12)]
    return examples + generated


def tricky_url_payloads() -> list[Any]:
    """Every tricky URL as `recording.url` and (in an uploaded callback) `location.address`."""
    (uploaded,) = aircore_mock.get_schema("recording-uploaded")["examples"]
    out: list[Any] = []
    for url in TRICKY_URLS:
        out.append(_with(uploaded, ("recording", "url"), url))
        out.append(_with(uploaded, ("recording", "location", "address"), url))
    return out


def mutated_payloads() -> list[Any]:
    """Each seed callback with one field dropped, retyped, set to an edge value or added."""
    out: list[Any] = []
    for seed in _seeds():
        out.append(seed)
        for path in _leaves(seed):
            out.append(_without(seed, path))
            out.extend(_with(seed, path, value) for value in EDGE_VALUES)
        for where in ((), ("recording",), ("recording", "location")):
            node = seed
            for key in where:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict):
                for name, value in EXTRA_FIELDS:
                    if name not in node:
                        out.append(_with(seed, (*where, name), value))
    out += [None, True, 0, "", [], {}, {"event": "recording-started"}, [_seeds()[0]]]
    return out


@functools.cache
def corpus() -> tuple[Any, ...]:
    """Tricky URLs first, then the mutated callbacks."""
    return (*tricky_url_payloads(), *mutated_payloads())
