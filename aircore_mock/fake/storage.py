"""Real uploads (the `[s3]` extra): the fake PUTs each recording to S3 and S3's answer decides
the callback.

- `S3Config`: where (`"local"`, an embedded moto server, or the URL of any S3-compatible
  endpoint: MinIO, LocalStack, AWS itself), the file to upload instead of generated silence,
  the timeout of each S3 call, the buckets to create in the local S3;
- `LocalS3`: moto's `ThreadedMotoServer` on 127.0.0.1, on a free port;
- `S3Uploader`: one PUT per recording through boto3, on worker threads (boto3 blocks: never
  on the fake's event loop), with the start request's own bucket, region, credentials and
  encryption; an S3 error becomes the catalogue's message for its code
  (`aircore_mock.generation.facts`), as Aircore's uploader reports it.

The local S3 is moto's, so its state (buckets, IAM users) and its authentication switch are
the process's: two local S3s in one process see the same buckets.
"""

from __future__ import annotations

import contextlib
import json
import secrets as _random
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError

S3_EXTRA = "pip install 'aircore-mock[s3]'"
LOCAL = "local"
DEFAULT_TIMEOUT = 30.0
"""Seconds each S3 call may take to connect, and then between bytes (no retries)."""
UPLOAD_THREADS = 4


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise UsageError(f"real uploads need the [s3] extra: {S3_EXTRA}") from None


def require_s3_extra() -> None:
    """A `UsageError` now, before anything starts, when the [s3] extra is not installed
    (found without importing it: moto and boto3 take a while to load)."""
    import importlib.util

    if any(importlib.util.find_spec(name) is None for name in ("moto", "boto3", "av")):
        raise UsageError(f"real uploads need the [s3] extra: {S3_EXTRA}")


@dataclass(frozen=True)
class S3Config:
    """Where and what the fake uploads.

    `endpoint`: `"local"` (an embedded S3, moto's server on 127.0.0.1) or an S3-compatible
    endpoint's URL. `recording_file`: upload this file's bytes for every recording instead of
    silence as long as the recording. `timeout`: seconds for each S3 call to connect and then
    between bytes. `buckets`: created in the local S3 when it starts (`"name"` in us-east-1
    or `"region/name"`). `auth`: the local S3 checks credentials (moto's IAM: unknown keys,
    wrong secrets and denying policies fail); mint keys with `LocalS3.credentials()`.
    """

    endpoint: str = LOCAL
    recording_file: str | Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    buckets: tuple[str, ...] = ()
    auth: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.endpoint, str) or not (
            self.endpoint == LOCAL or self.endpoint.startswith(("http://", "https://"))
        ):
            raise UsageError(f"the S3 endpoint is 'local' or an http(s) URL, got {self.endpoint!r}")
        if not 0 < self.timeout <= 600:
            raise UsageError(f"the S3 timeout must be between 0 and 600 seconds: {self.timeout}")
        if self.endpoint != LOCAL and (self.buckets or self.auth):
            raise UsageError("buckets and auth configure the local S3 only (endpoint 'local')")
        object.__setattr__(self, "buckets", tuple(self.buckets))
        for bucket in self.buckets:
            _split_bucket(bucket)

    @property
    def local(self) -> bool:
        return self.endpoint == LOCAL

    def read_recording_file(self) -> bytes | None:
        """The user's recording, read once (a one-line usage error when unreadable)."""
        if self.recording_file is None:
            return None
        path = Path(self.recording_file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(
                f"cannot read the recording file {str(path)!r}: {exc.strerror}"
            ) from None
        if not data:
            raise UsageError(f"the recording file {str(path)!r} is empty")
        return data


def s3_config(value: str | S3Config | None) -> S3Config | None:
    """`FakeAircore(s3=...)`'s value as a config: None, `"local"`, an endpoint URL or one."""
    if value is None or isinstance(value, S3Config):
        return value
    if isinstance(value, str):
        return S3Config(endpoint=value)
    raise UsageError(f"s3 is 'local', an endpoint URL or an S3Config, got {type(value).__name__}")


def _split_bucket(spec: str) -> tuple[str, str]:
    region, _, name = spec.rpartition("/")
    if not name:
        raise UsageError(f"a bucket is NAME or REGION/NAME, got {spec!r}")
    return region or "us-east-1", name


@dataclass(frozen=True)
class Credentials:
    """An access key of the local S3 (keep it out of logs: the fake redacts it)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)


class LocalS3:
    """An embedded S3: moto's server on 127.0.0.1 (a free port unless `port` says).

    `endpoint_url`, `client()` (a boto3 S3 client with the admin's keys), `create_bucket()`,
    `credentials()` (a new IAM user's keys, allowed everything or denied the upload).
    """

    def __init__(self, *, port: int = 0, auth: bool = False, timeout: float = 10.0) -> None:
        self._moto = _require("moto.server")
        _require("boto3")
        self.port = port
        self.auth = auth
        self.timeout = timeout
        self._server: Any = None
        self._admin: Credentials | None = None
        self._previous_auth: float | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise UsageError("the local S3 is not running: start() it first")
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def start(self) -> LocalS3:
        """Serve in a background thread; returns once it accepts requests (idempotent)."""
        if self._server is not None:
            return self
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per S3 request
        server = self._moto.ThreadedMotoServer(
            ip_address="127.0.0.1", port=self.port, verbose=False
        )
        server.start()
        self._server = server
        self.port = server.get_host_and_port()[1]
        self._admin = self._admin_keys()
        if self.auth:
            self._previous_auth = self._set_auth(0)
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent); the process's moto state stays."""
        server, self._server = self._server, None
        if server is None:
            return
        if self._previous_auth is not None:
            self._set_auth(self._previous_auth)
            self._previous_auth = None
        server.stop()

    def __enter__(self) -> LocalS3:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @staticmethod
    def _set_auth(count: float) -> float:
        # moto's switch (the server runs in this process): authenticate every request after
        # the first `count` (inf: none); returns the previous setting.
        from moto import settings
        from moto.core.authorization import ActionAuthenticatorMixin

        previous = float(settings.INITIAL_NO_AUTH_ACTION_COUNT)
        settings.INITIAL_NO_AUTH_ACTION_COUNT = count
        ActionAuthenticatorMixin.request_count = 0
        return previous

    def _admin_keys(self) -> Credentials:
        # moto's IAM is the process's: one admin for every local S3 of the process, made
        # while authentication is off (another local S3 may have turned it on).
        global _ADMIN
        with _ADMIN_LOCK:
            if _ADMIN is None:
                previous = self._set_auth(float("inf"))
                try:
                    bootstrap = Credentials("AKIAAIRCOREMOCKADMIN", "bootstrap")
                    _ADMIN = self._new_user(bootstrap, allow=True, name="aircore-mock-admin")
                finally:
                    self._set_auth(previous)
            return _ADMIN

    def client(self, service: str = "s3", *, credentials: Credentials | None = None) -> Any:
        """A boto3 client of this S3 (the admin's keys unless `credentials` say)."""
        keys = credentials or self._admin
        assert keys is not None, "start() the local S3 first"
        return _client(self.endpoint_url, "us-east-1", keys, None, self.timeout, service)

    def create_bucket(self, name: str, region: str = "us-east-1") -> None:
        """Create a bucket (idempotent)."""
        s3 = _client(self.endpoint_url, region, self._admin, None, self.timeout)  # type: ignore[arg-type]
        options: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": region}
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(**options)

    def credentials(self, *, allow: bool = True, name: str | None = None) -> Credentials:
        """A new IAM user's access key: allowed everything, or (`allow=False`) denied
        `s3:PutObject`. Checked only when the local S3 runs with `auth`."""
        assert self._admin is not None, "start() the local S3 first"
        return self._new_user(self._admin, allow=allow, name=name)

    def _new_user(self, admin: Credentials, *, allow: bool, name: str | None) -> Credentials:
        iam = _client(self.endpoint_url, "us-east-1", admin, None, self.timeout, "iam")
        user = name or f"aircore-mock-{_random.token_hex(4)}"
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_user(UserName=user)
        statements = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
        if not allow:
            statements.append({"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"})
        iam.put_user_policy(
            UserName=user,
            PolicyName="aircore-mock",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
        key = iam.create_access_key(UserName=user)["AccessKey"]
        return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


_ADMIN: Credentials | None = None
_ADMIN_LOCK = threading.Lock()
_CLIENTS_LOCK = threading.Lock()
_SESSION: Any = None


def _client(
    endpoint: str,
    region: str,
    keys: Credentials,
    session_token: str | None,
    timeout: float,
    service: str = "s3",
) -> Any:
    global _SESSION
    boto3 = _require("boto3")
    from botocore.config import Config

    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": 1, "mode": "standard"},
        s3={"addressing_style": "path"},
        # S3-compatible endpoints (moto, MinIO) take a plain PUT; no streaming checksums.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    with _CLIENTS_LOCK:  # a boto3 session is not thread-safe; its clients are
        if _SESSION is None:
            _SESSION = boto3.session.Session()
        return _SESSION.client(
            service,
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            aws_session_token=session_token,
            config=config,
        )


@dataclass(frozen=True)
class UploadJob:
    """One recording's upload: where, with which keys (never written anywhere), how long."""

    recording_id: str
    bucket: str
    region: str
    key: str
    elapsed_ms: int
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    server_side_encryption: str | None = None


@dataclass(frozen=True)
class UploadOutcome:
    """What S3 answered: success (`code` None), or its error code and message."""

    code: str | None = None
    message: str = ""
    size: int = 0

    @property
    def ok(self) -> bool:
        return self.code is None


class S3Uploader:
    """PUTs recordings to an S3 endpoint on worker threads; each outcome goes to `done`."""

    def __init__(self, config: S3Config, endpoint_url: str) -> None:
        _require("boto3")
        self.config = config
        self.endpoint_url = endpoint_url
        self._recording = config.read_recording_file()
        self._pool = ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix="aircore-mock s3")
        self._clients: OrderedDict[tuple[str, str, str, str | None], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, job: UploadJob, done: Callable[[UploadOutcome], None]) -> None:
        """Upload in the background; `done(outcome)` runs on the worker thread."""
        if self._closed:
            done(UploadOutcome("RequestTimeout", "the fake shut down before the upload"))
            return

        def run() -> None:
            done(self.upload(job))

        self._pool.submit(run)

    def body(self, elapsed_ms: int) -> bytes:
        """The object's bytes: the user's file, or silence as long as the recording."""
        if self._recording is not None:
            return self._recording
        from .media import silent_m4a

        return silent_m4a(elapsed_ms)

    def upload(self, job: UploadJob) -> UploadOutcome:
        """One PUT, blocking (bounded by the config's timeout); never raises."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ParamValidationError,
            ReadTimeoutError,
        )

        from .media import CONTENT_TYPE

        try:
            body = self.body(job.elapsed_ms)
            options: dict[str, Any] = {
                "Bucket": job.bucket,
                "Key": job.key,
                "Body": body,
                "ContentType": CONTENT_TYPE,
            }
            if job.server_side_encryption:
                options["ServerSideEncryption"] = job.server_side_encryption
            self._s3(job).put_object(**options)
            return UploadOutcome(size=len(body))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = str(error.get("Code") or status or "InternalError")
            return UploadOutcome(_HTTP_CODES.get(code, code), str(error.get("Message") or ""))
        except ParamValidationError:
            return UploadOutcome("InvalidBucketName", "the bucket name is not valid")
        except (ConnectTimeoutError, ReadTimeoutError, EndpointConnectionError) as exc:
            return UploadOutcome("RequestTimeout", type(exc).__name__)
        except ConnectionClosedError as exc:
            return UploadOutcome("RequestTimeout", type(exc).__name__)
        except BotoCoreError as exc:
            return UploadOutcome("InternalError", type(exc).__name__)
        except Exception as exc:  # never a lost callback: the upload failed, say so
            return UploadOutcome("InternalError", type(exc).__name__)

    def _s3(self, job: UploadJob) -> Any:
        key = (job.region, job.access_key_id, job.secret_access_key, job.session_token)
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
        keys = Credentials(job.access_key_id, job.secret_access_key)
        client = _client(
            self.endpoint_url, job.region, keys, job.session_token, self.config.timeout
        )
        with self._lock:
            self._clients[key] = client
            while len(self._clients) > 64:
                self._clients.popitem(last=False)
        return client

    def close(self, timeout: float | None = None) -> None:
        """Let uploads in flight finish (each is bounded by the timeout), then stop."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._clients.clear()


# Errors without an XML body (a HEAD, a bare 403 from a bucket policy) come as the status.
_HTTP_CODES = {
    "301": "PermanentRedirect",
    "403": "AccessDenied",
    "404": "NoSuchBucket",
    "400": "InvalidRequest",
}


def failure_family(code: str) -> str | None:
    """The catalogue family of an S3 error code (the first entry with that code), if any."""
    from ..generation.facts import UPLOAD_FAILURES

    for entry in UPLOAD_FAILURES:
        if entry.code == code:
            return entry.family
    return None


def local_buckets(specs: Iterable[str]) -> list[tuple[str, str]]:
    """`(region, name)` for each `name` or `region/name`."""
    return [_split_bucket(spec) for spec in specs]


__all__ = [
    "DEFAULT_TIMEOUT",
    "LOCAL",
    "S3_EXTRA",
    "Credentials",
    "LocalS3",
    "S3Config",
    "S3Uploader",
    "UploadJob",
    "UploadOutcome",
    "failure_family",
    "local_buckets",
    "s3_config",
]
