"""An Aircore callback receiver on Starlette (the same shape works on FastAPI)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from recordings_db import BadCallback, RecordingsDB, parse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def create_app(db_path: str = ":memory:") -> Starlette:
    # The database opens at startup and closes at shutdown (the lifespan), as in most
    # FastAPI apps; aircore-mock runs the lifespan of an app it sends to in-process.
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.db = RecordingsDB(db_path)
        try:
            yield
        finally:
            app.state.db.close()

    async def callbacks(request: Request) -> Response:
        try:
            callback = parse(await request.body())
        except BadCallback as exc:
            return JSONResponse({"error": str(exc)}, exc.status)
        request.app.state.db.apply(callback)
        return Response(status_code=204)

    async def recording(request: Request) -> Response:
        # What the app knows of one recording (`check --state-url` compares it across
        # delivery orders): ?url=<the recording URL>
        row = request.app.state.db.get(request.query_params.get("url", ""))
        return JSONResponse(row) if row is not None else JSONResponse({"error": "unknown"}, 404)

    return Starlette(
        routes=[
            Route("/aircore/callbacks", callbacks, methods=["POST"]),
            Route("/aircore/recordings", recording),
        ],
        lifespan=lifespan,
    )
