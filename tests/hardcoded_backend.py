"""A backend whose Aircore URL is written in its code (no setting to point it elsewhere): what
`mock_aircore()` is for. The same calls with httpx, httpx's AsyncClient and requests."""

from __future__ import annotations

from typing import Any

import httpx
import requests

AIRCORE = "https://services.aircore.io/recording"
API_KEY = "live-key-5f2b9c0e"


def _body(callback_url: str) -> dict[str, Any]:
    return {
        "storage": {
            "filename": "standup",
            "s3": {
                "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "bucket": "acme-recordings",
                "region": "eu-west-1",
            },
        },
        "location": {"latitude": 50.1, "longitude": 8.7},
        "user_id": "ana",
        "channel_id": "standup",
        "callback_url": callback_url,
    }


_AUTH = {"Authorization": f"Bearer {API_KEY}"}


def record_with_httpx(callback_url: str) -> tuple[str, int]:
    """Start a recording and stop it; the stop URL and the stop's status."""
    with httpx.Client(timeout=10) as client:
        started = client.post(AIRCORE, json=_body(callback_url), headers=_AUTH)
        started.raise_for_status()
        url = started.json()["url"]
        return url, client.delete(url, headers=_AUTH).status_code


async def record_with_httpx_async(callback_url: str) -> tuple[str, int]:
    async with httpx.AsyncClient(timeout=10) as client:
        started = await client.post(AIRCORE, json=_body(callback_url), headers=_AUTH)
        started.raise_for_status()
        url = started.json()["url"]
        return url, (await client.delete(url, headers=_AUTH)).status_code


def record_with_requests(callback_url: str) -> tuple[str, int]:
    with requests.Session() as session:
        started = session.post(AIRCORE, json=_body(callback_url), headers=_AUTH, timeout=10)
        started.raise_for_status()
        url = started.json()["url"]
        return url, session.delete(url, headers=_AUTH, timeout=10).status_code
