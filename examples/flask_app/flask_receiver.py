"""An Aircore callback receiver on Flask."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from recordings_db import BadCallback, RecordingsDB, parse


def create_app(db_path: str = ":memory:") -> Flask:
    app = Flask(__name__)
    db = RecordingsDB(db_path)
    app.extensions["recordings"] = db

    @app.post("/hooks/aircore")
    def callbacks() -> Any:
        try:
            callback = parse(request.get_data())
        except BadCallback as exc:
            return jsonify(error=str(exc)), exc.status
        db.apply(callback)
        return "", 204

    return app
