"""The recording the fake uploads: a playable AAC `.m4a` of silence as long as the recording.

Made with PyAV (FFmpeg's AAC encoder and MP4 muxer, the `[s3]` extra): one silent frame is
encoded, then muxed again and again with its timestamps moved on, so an hour of audio costs
a fraction of a second and a few hundred KiB. 16 kHz mono (voice, as Aircore records): one
AAC frame is 1,024 samples, 64 ms, and the file's duration is the recording's `elapsedTime`
rounded to the nearest frame.
"""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Any

from ..errors import UsageError

SAMPLE_RATE = 16_000
FRAME_SAMPLES = 1024
"""Samples in one AAC frame: the file's duration is a whole number of these."""
CONTENT_TYPE = "audio/mp4"
FRAME_MS = FRAME_SAMPLES * 1000 / SAMPLE_RATE
"""One AAC frame in milliseconds (64): how far the file's duration may be from the asked."""

_S3_EXTRA = "pip install 'aircore-mock[s3]'"


def _av() -> Any:
    try:
        import av
    except ImportError:
        raise UsageError(f"making recordings needs PyAV: {_S3_EXTRA}") from None
    return av


def frames_for(elapsed_ms: int) -> int:
    """How many AAC frames a recording of `elapsed_ms` gets (at least one)."""
    return max(1, round(elapsed_ms * SAMPLE_RATE / (FRAME_SAMPLES * 1000)))


def silent_m4a(elapsed_ms: int) -> bytes:
    """An `.m4a` (AAC-LC in MP4, 16 kHz mono) of silence lasting `elapsed_ms` to the nearest
    AAC frame (64 ms); never empty (at least one frame)."""
    if isinstance(elapsed_ms, bool) or not isinstance(elapsed_ms, int) or elapsed_ms < 0:
        raise UsageError(f"a recording lasts 0 ms or more, got {elapsed_ms!r}")
    av = _av()
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ipod") as container:  # ipod: FFmpeg's .m4a muxer
        stream = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        frame_bytes = _silent_frame(av, stream.codec_context)
        time_base = Fraction(1, SAMPLE_RATE)
        for index in range(frames_for(elapsed_ms)):
            packet = av.Packet(frame_bytes)
            packet.stream = stream
            packet.time_base = time_base
            packet.pts = packet.dts = index * FRAME_SAMPLES
            packet.duration = FRAME_SAMPLES
            container.mux_one(packet)
    return buffer.getvalue()


def _silent_frame(av: Any, codec: Any) -> bytes:
    # The encoder's first packets carry its start-up; a later one is plain steady silence.
    packets: list[bytes] = []
    index = 0
    while len(packets) < 3:
        frame = av.AudioFrame(format="fltp", layout="mono", samples=FRAME_SAMPLES)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = SAMPLE_RATE
        frame.pts = index * FRAME_SAMPLES
        index += 1
        packets.extend(bytes(packet) for packet in codec.encode(frame))
        if index > 50:  # an encoder that never answers: not FFmpeg's AAC
            raise UsageError("PyAV's AAC encoder produced no audio")
    return packets[-1]


__all__ = ["CONTENT_TYPE", "FRAME_MS", "FRAME_SAMPLES", "SAMPLE_RATE", "frames_for", "silent_m4a"]
