"""A backend that records channels through Aircore's cloud-recording API and stores what the
callbacks say: the code `aircore-mock serve` (the `aircore_service` fixture) lets you test.

- `POST /channels/{channel_id}/recordings` starts a recording (`POST /recording` at Aircore,
  with the bucket settings and a callback URL back to this app) and stores its stop URL;
- `DELETE /recordings/{id}` stops it (`DELETE <stop URL>` at Aircore);
- `POST /aircore/callbacks` takes Aircore's callbacks (rules in `recordings_db.py`);
- `GET /recordings/{id}` shows what is known: started, stopped and why, uploaded where, or
  why the upload failed.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx
from recordings_db import BadCallback, RecordingsDB, parse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Settings:
    """Where Aircore is, the API key, and the S3 bucket recordings go to."""

    aircore_url: str = "https://services.aircore.io"
    api_key: str = ""
    bucket: str = ""
    region: str = "us-east-1"
    access_key_id: str = ""
    secret_access_key: str = ""
    filename: str = "record"
    latitude: float = 37.77
    longitude: float = -122.42
    public_url: str | None = None
    """Where Aircore can reach this app; by default the URL the request came in on."""
    transport: httpx.AsyncBaseTransport | None = None
    """For tests that call a fake Aircore in-process."""


class Store(RecordingsDB):
    """The callbacks' state (RecordingsDB), plus what starting a recording returned."""

    def __init__(self, path: str = ":memory:") -> None:
        super().__init__(path)
        with self._lock, self._db:
            self._db.execute(
                "create table if not exists started (id text primary key, recording_url text,"
                " stop_url text, channel_id text, user_id text)"
            )

    def add(self, row: dict[str, str]) -> None:
        with self._lock, self._db:
            self._db.execute(
                "insert into started values (:id, :recording_url, :stop_url, :channel_id,"
                " :user_id)",
                row,
            )

    def started(self, recording_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._db.execute(
                "select * from started where id = ?", (recording_id,)
            ).fetchone()
        return dict(found) if found is not None else None


def _aircore_error(response: httpx.Response) -> str:
    try:
        message = response.json().get("message", "")
    except ValueError:
        message = response.text[:200]
    return f"Aircore answered {response.status_code}: {message}"


def create_app(settings: Settings, db_path: str = ":memory:") -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.db = Store(db_path)
        app.state.aircore = httpx.AsyncClient(
            base_url=settings.aircore_url,
            headers={"authorization": f"Bearer {settings.api_key}"},
            transport=settings.transport,
            timeout=10,
        )
        try:
            yield
        finally:
            await app.state.aircore.aclose()
            app.state.db.close()

    async def start(request: Request) -> Response:
        channel_id = request.path_params["channel_id"]
        user_id = (await request.json()).get("user_id", "backend")
        public = (settings.public_url or str(request.base_url)).rstrip("/")
        body = {
            "storage": {
                "filename": settings.filename,
                "s3": {
                    "access_key_id": settings.access_key_id,
                    "secret_access_key": settings.secret_access_key,
                    "bucket": settings.bucket,
                    "region": settings.region,
                },
            },
            "location": {"latitude": settings.latitude, "longitude": settings.longitude},
            "user_id": user_id,
            "channel_id": channel_id,
            "callback_url": f"{public}/aircore/callbacks?channel={channel_id}",
        }
        answer = await request.app.state.aircore.post("/recording", json=body)
        if answer.status_code != 200:
            return JSONResponse({"error": _aircore_error(answer)}, 502)
        stop_url = answer.json()["url"]
        # The stop URL is Aircore's host plus the percent-encoded recording URL that the
        # callbacks carry; its last segment is the recording id.
        recording_url = unquote(stop_url.split("/recording/", 1)[1])
        recording_id = recording_url.rsplit("/", 1)[-1]
        request.app.state.db.add(
            {
                "id": recording_id,
                "recording_url": recording_url,
                "stop_url": stop_url,
                "channel_id": channel_id,
                "user_id": user_id,
            }
        )
        return JSONResponse({"id": recording_id, "recording_url": recording_url}, 201)

    async def stop(request: Request) -> Response:
        row = request.app.state.db.started(request.path_params["id"])
        if row is None:
            return JSONResponse({"error": "no such recording"}, 404)
        answer = await request.app.state.aircore.delete(row["stop_url"])
        if answer.status_code == 204:
            return JSONResponse({"id": row["id"], "state": "stopping"}, 202)
        if answer.status_code == 404:  # stopped already (e.g. everyone left the channel)
            return JSONResponse({"error": _aircore_error(answer)}, 409)
        return JSONResponse({"error": _aircore_error(answer)}, 502)

    async def show(request: Request) -> Response:
        row = request.app.state.db.started(request.path_params["id"])
        if row is None:
            return JSONResponse({"error": "no such recording"}, 404)
        state = request.app.state.db.get(row["recording_url"]) or {"state": "starting"}
        return JSONResponse({**row, **state, "id": row["id"]})

    async def callbacks(request: Request) -> Response:
        try:
            callback = parse(await request.body())
        except BadCallback as exc:
            return JSONResponse({"error": str(exc)}, exc.status)
        request.app.state.db.apply(callback)
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route("/channels/{channel_id}/recordings", start, methods=["POST"]),
            Route("/recordings/{id}", stop, methods=["DELETE"]),
            Route("/recordings/{id}", show, methods=["GET"]),
            Route("/aircore/callbacks", callbacks, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
