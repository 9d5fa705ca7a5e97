"""The start-recording request: its schema check, its secrets, and what its storage settings
would really do to the upload.

Nothing here keeps a secret: `redact` replaces them before anything is stored or written,
and error messages name fields, never values.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, unquote

from .. import schemas as _schemas
from ..errors import Problem
from ..validation import MAX_DEPTH, deeper_than

REQUEST_SCHEMA = "start-recording-request"
REDACTED = "[redacted]"
SSE_VALUES = ("AES256", "aws:kms", "aws:kms:dsse")
"""The `x-amz-server-side-encryption` values S3 accepts."""

# Where the recording server runs is picked "near the users" (Aircore's docs say so, not
# how): an assumption that the nearest of these commercial regions is used, by great-circle
# distance to the region's main city.
SERVER_SITES: tuple[tuple[str, float, float], ...] = (
    ("us-east-1", 38.9, -77.4),
    ("us-west-2", 45.8, -119.7),
    ("sa-east-1", -23.5, -46.6),
    ("eu-west-1", 53.3, -6.3),
    ("eu-central-1", 50.1, 8.7),
    ("ap-south-1", 19.1, 72.9),
    ("ap-southeast-1", 1.35, 103.8),
    ("ap-northeast-1", 35.7, 139.7),
    ("ap-southeast-2", -33.9, 151.2),
)


@functools.cache
def _is_valid() -> Callable[[Any], bool]:
    import jsonschema_rs

    schema = _schemas.get_schema(REQUEST_SCHEMA)
    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    return validator.is_valid  # type: ignore[no-any-return]


@functools.cache
def _explainer() -> Any:
    # Built at the first invalid body only: python-jsonschema (the one that says why) is
    # imported then, not by every fake that is only ever sent valid ones.
    from jsonschema import Draft202012Validator

    schema = _schemas.get_schema(REQUEST_SCHEMA)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_request(body: Any) -> list[Problem]:
    """The problems with a start-recording body, most useful first (empty when valid).

    Messages name the field and the rule, never the value: a mistyped secret must not come
    back in an error body or a log line.
    """
    if deeper_than(body):  # (the explainer would recurse past Python's limit)
        return [Problem("$", f"nested more than {MAX_DEPTH} levels deep", "depth")]
    if _is_valid()(body):
        return []
    from jsonschema.exceptions import relevance

    errors = sorted(_explainer().iter_errors(body), key=relevance)
    problems = [_problem(error) for error in errors]
    return problems or [Problem("$", "not a valid start-recording request", "schema")]


def _problem(error: Any) -> Problem:
    path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    kind, rule = error.validator, error.validator_value
    if kind == "required":
        missing = next((name for name in rule if name not in (error.instance or {})), "?")
        return Problem(f"{path}.{missing}", "required field is missing", kind)
    if kind == "type":
        return Problem(path, f"must be of type {_types(rule)}", kind)
    if kind in ("minimum", "maximum"):
        low, high = _range(error.schema)
        return Problem(path, f"must be between {low:g} and {high:g}", kind)
    if kind == "minLength":
        return Problem(path, "must not be empty", kind)
    if kind == "format":
        return Problem(path, f"must be a valid {rule}", kind)
    return Problem(path, f"breaks the schema's {kind!r} rule", kind)


def _types(rule: Any) -> str:
    names = [rule] if isinstance(rule, str) else list(rule)
    return " or ".join(names)


def _range(schema: dict[str, Any]) -> tuple[float, float]:
    return float(schema.get("minimum", -math.inf)), float(schema.get("maximum", math.inf))


def describe(problems: list[Problem]) -> str:
    """One line for an error body: the first problem, and how many others."""
    first = f"{problems[0].path}: {problems[0].message}"
    if len(problems) > 1:
        first += f" (and {len(problems) - 1} other problem{'s' if len(problems) > 2 else ''})"
    return first


# --- secrets ----------------------------------------------------------------------------

# A field, or a URL's query parameter, whose name says it holds a secret: its value never
# leaves the fake, at any depth, whatever its type or the name's case (`SecretAccessKey`,
# `session_token`, `X-Amz-Signature`, `?token=`). Broad on purpose: redacting a harmless
# value costs nothing, leaking a key costs its owner.
_SECRET_NAME = re.compile(
    r"secret|passw|token|credential|private|signature|session|api_?key|access_?key|auth",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=4096)  # a body's few names recur on every request
def is_secret_name(name: str) -> bool:
    """Whether a field or parameter name says its value is a secret."""
    return _SECRET_NAME.search(name.replace("-", "_")) is not None


def redact_url(url: str) -> str:
    """`url` with the value of every query parameter whose name says secret replaced (the
    rest of the URL as it was)."""
    if "?" not in url or "=" not in url:
        return url
    base, _, rest = url.partition("?")
    query, hash_, fragment = rest.partition("#")
    parts = []
    for part in query.split("&"):
        name, eq, _value = part.partition("=")
        parts.append(f"{name}={REDACTED}" if eq and is_secret_name(unquote(name)) else part)
    return f"{base}?{'&'.join(parts)}{hash_}{fragment}"


def redact(body: Any) -> Any:
    """A copy of a request body with every secret replaced: the value of each field whose
    name says secret (any depth, inside lists too, whatever its type) and secret query
    parameters in every string. Walks without recursion: a body nested 1,000 deep is fine."""
    root: list[Any] = [None]
    stack: list[tuple[Any, list[Any] | dict[str, Any], Any]] = [(body, root, 0)]
    push = stack.append
    while stack:
        value, parent, key = stack.pop()
        if isinstance(value, dict):
            copy: dict[str, Any] = {}
            parent[key] = copy
            # A field's plain value is copied here, a container's when it is taken from the
            # stack (in its place: the copy keeps the order of the fields).
            for name, item in value.items():
                if isinstance(name, str) and is_secret_name(name):
                    copy[name] = REDACTED
                elif isinstance(item, str):
                    copy[name] = redact_url(item) if "?" in item else item
                elif isinstance(item, dict | list):
                    copy[name] = None
                    push((item, copy, name))
                else:
                    copy[name] = item
        elif isinstance(value, list):
            items: list[Any] = [None] * len(value)
            parent[key] = items
            stack.extend((item, items, index) for index, item in enumerate(value))
        else:
            parent[key] = redact_url(value) if isinstance(value, str) else value
    return root[0]


def secrets_of(body: Any) -> list[str]:
    """Every secret string in a request body (to scrub from anything written about it): the
    strings under secret field names, at any depth, and secret query parameters' values."""
    found: list[str] = []
    stack: list[tuple[Any, bool]] = [(body, False)]
    push = stack.append
    while stack:
        value, secret = stack.pop()
        if isinstance(value, str):
            if not value:
                continue
            if secret:
                found.append(value)
            elif "?" in value:
                query = value.partition("?")[2].partition("#")[0]
                for part in query.split("&"):
                    name, eq, raw = part.partition("=")
                    if eq and raw and is_secret_name(unquote(name)):
                        found.extend({raw, unquote(raw)})
        elif isinstance(value, dict):
            # In the order the stack gives (the order of `found` decides the order of
            # secrets of the same length); what is neither a string nor a container holds
            # no secret and is not pushed at all.
            for name, item in value.items():
                if isinstance(item, str | dict | list):
                    push((item, secret or (isinstance(name, str) and is_secret_name(name))))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, str | dict | list):
                    push((item, secret))
    # Longest first: a secret that contains another is scrubbed whole.
    return sorted(set(found), key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    """`text` with every occurrence of each secret replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


# --- what the storage settings do to the upload -----------------------------------------


@functools.lru_cache(maxsize=1024)  # S3's rules are checked once per bucket name, not per upload
def bucket_name_ok(bucket: str) -> bool:
    """S3's naming rules (see `bucket_name_problem` in the catalogue)."""
    from ..generation.facts import bucket_name_problem

    return bucket_name_problem(bucket) is None


def effective_region(region: str) -> str:
    """The region the S3 client really uses: the AWS SDK turns an empty one into us-east-1
    (whose global endpoint serves every commercial bucket) before it checks anything."""
    return region or "us-east-1"


@functools.lru_cache(maxsize=1024)  # (a few settings, the same on every upload of a client)
def upload_problem(bucket: str, region: str, sse: str | None) -> tuple[str, str | None] | None:
    """The catalogue failure family these settings cause, and the bad region if that is the
    cause; None when the upload would succeed.

    In the order the S3 client meets them: the region (before any request is made), the
    bucket name (S3's answer), then the encryption header.
    """
    from ..generation.facts import REGION_CODES, failure_for_region

    region = effective_region(region)
    if region.lower() not in REGION_CODES:
        return failure_for_region(region).family, region
    if not bucket_name_ok(bucket):
        return "invalid-bucket-name", None
    if sse is not None and sse not in SSE_VALUES:
        return "invalid-encryption", None
    return None


def upload_address(bucket: str, region: str, filename: str, recording_id: str) -> str:
    """Where the `.m4a` lands: `<filename>_<recording id>.m4a` in the bucket, percent-encoded.

    Virtual-hosted style, except for dotted bucket names, which S3's wildcard certificate does
    not cover over HTTPS: clients use path style for those.
    """
    key = quote(f"{filename}_{recording_id}.m4a", safe="/~")
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    if "." in bucket:
        host = "s3.amazonaws.com" if region == "us-east-1" else f"s3.{region}.{suffix}"
        return f"https://{host}/{bucket}/{key}"
    if region == "us-east-1":
        return f"https://{bucket}.s3.amazonaws.com/{key}"  # the docs' example: global endpoint
    return f"https://{bucket}.s3.{region}.{suffix}/{key}"


@functools.lru_cache(maxsize=1024)  # a client's users are in a few places, asked again and again
def server_region(latitude: float, longitude: float) -> str:
    """The recording server's region: the nearest site to the users (an assumption)."""

    def distance(site: tuple[str, float, float]) -> float:
        _, lat, lon = site
        p1, p2 = math.radians(latitude), math.radians(lat)
        dl = math.radians(longitude - lon)
        cos = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
        return math.acos(max(-1.0, min(1.0, cos)))

    return min(SERVER_SITES, key=distance)[0]


_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
_PERCENT_ASCII = {
    code: chr(code) if chr(code) in _UNRESERVED else f"%{code:02X}" for code in range(128)
}
"""`quote(text, safe="")` of each ASCII character, as one translation table."""


def quote_all(text: str) -> str:
    """`urllib.parse.quote(text, safe="")`: every character but the unreserved ones
    percent-encoded (one table look-up per character for ASCII text, where quote builds a
    list of them: a recording URL is ASCII, and quoted on every start)."""
    return text.translate(_PERCENT_ASCII) if text.isascii() else quote(text, safe="")


def stop_url(public_url: str, recording_url: str) -> str:
    """The public host plus the percent-encoded internal recording URL (every `/` and `:`)."""
    return f"{public_url.rstrip('/')}/recording/{quote_all(recording_url)}"


# --- secrets by value -------------------------------------------------------------------

MIN_SECRET = 8
"""Shortest value scrubbed wherever it appears: a shorter "secret" (`k`, `AK`) would blot out
ordinary words. Shorter values are still redacted where their field or parameter name says
secret."""


def secret_forms(value: str) -> set[str]:
    """The ways a secret shows up in text: as it is, percent-encoded (path, query and form
    style) and base64 (standard and URL-safe, with and without padding)."""
    import base64
    from urllib.parse import quote_plus

    raw = value.encode()
    forms = {value, quote(value, safe=""), quote(value, safe="/"), quote_plus(value)}
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode()
        forms |= {text, text.rstrip("=")}
    return {form for form in forms if form}


class SecretValues:
    """Every secret value a fake has seen (API keys, bearer keys, values under secret names,
    secret query parameters): `scrub` replaces each, in any of its forms, wherever it
    appears. Thread-safe; never forgets (a reset keeps them)."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._forms: tuple[str, ...] = ()
        self._shortest = 0
        """The length of the shortest form: a shorter text holds none."""
        self.add(*values)

    def add(self, *values: str) -> None:
        """Know these values from now on (those under `MIN_SECRET` characters are ignored)."""
        fresh = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET}
        with self._lock:
            fresh -= self._values
            if not fresh:
                return
            self._values |= fresh
            forms = set(self._forms)
            for value in fresh:
                forms |= secret_forms(value)
            # Longest first: a secret that contains another is scrubbed whole.
            ordered = tuple(sorted(forms, key=len, reverse=True))
            # The bound first: a scrub on another thread that sees the new forms sees it too.
            self._shortest = len(ordered[-1])
            self._forms = ordered

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def scrub(self, text: str) -> str:
        """`text` with every known secret, in any of its forms, replaced by `[redacted]`."""
        if len(text) < self._shortest:
            return text  # (most field names and many values: no form fits in them)
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def scrub_json(self, data: Any) -> Any:
        """A copy of JSON-like data with every string (keys too) scrubbed; no recursion."""
        if not self._forms:
            return data
        scrub, shortest = self.scrub, self._shortest
        root: list[Any] = [None]
        stack: list[tuple[Any, Any, Any]] = [(data, root, 0)]
        push = stack.append
        while stack:
            value, parent, key = stack.pop()
            if isinstance(value, dict):
                copy: dict[Any, Any] = {}
                parent[key] = copy
                for name, item in value.items():
                    if isinstance(name, str) and len(name) >= shortest:
                        name = scrub(name)
                    if name in copy:
                        # Two names scrubbed into one: the first one's value stays (as when
                        # every value was set from the stack, the first one set last).
                        continue
                    if isinstance(item, str):
                        copy[name] = item if len(item) < shortest else scrub(item)
                    elif isinstance(item, dict | list | tuple):
                        copy[name] = None
                        push((item, copy, name))
                    else:
                        copy[name] = item
            elif isinstance(value, list | tuple):
                items: list[Any] = [None] * len(value)
                parent[key] = items
                stack.extend((item, items, index) for index, item in enumerate(value))
            else:
                parent[key] = self.scrub(value) if isinstance(value, str) else value
        return root[0]
