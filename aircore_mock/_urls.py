"""Aircore's recording URL shape (no Faker here: the CLI and the receiver read URLs too)."""

from __future__ import annotations

import re

_RECORDING_URL = re.compile(
    r"^https?://vandenberg-(?P<instance>i-[0-9a-f]+)-(?P<region>[a-z0-9-]+?)"
    r"\.prod\.airtime\.com(?::\d+)?/recording/(?P<id>[^/?#]+)$"
)


def parse_recording_url(url: str) -> dict[str, str] | None:
    """Instance id, server region and recording id of an Aircore recording URL, if it is one."""
    match = _RECORDING_URL.match(url)
    return match.groupdict() if match else None


def recording_id_of(url: str) -> str:
    """The recording id: the last path segment of the recording URL (it names the file)."""
    return url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
