"""An Aircore callback receiver on Starlette (the same shape works on FastAPI)."""

from __future__ import annotations

from recordings_db import BadCallback, RecordingsDB, parse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def create_app(db_path: str = ":memory:") -> Starlette:
    db = RecordingsDB(db_path)

    async def callbacks(request: Request) -> Response:
        try:
            callback = parse(await request.body())
        except BadCallback as exc:
            return JSONResponse({"error": str(exc)}, exc.status)
        db.apply(callback)
        return Response(status_code=204)

    app = Starlette(routes=[Route("/aircore/callbacks", callbacks, methods=["POST"])])
    app.state.db = db
    return app
