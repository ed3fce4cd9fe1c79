"""Reading Server-Sent Events from a Flask test client's streaming response."""

from __future__ import annotations

import json


class EventReader:
    """Frames of GET /api/jobs/ID/events as dicts {"id", "event", "data", "comment"}, one at a time."""

    def __init__(self, client, path: str, last_event_id: str | None = None):
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        self.response = client.get(path, headers=headers, buffered=False)
        self._chunks = self.response.response.__iter__()
        self._buffer = ""

    def next(self) -> dict | None:
        """The next frame, or None when the stream has ended."""
        while "\n\n" not in self._buffer:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                return None
            self._buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        raw, self._buffer = self._buffer.split("\n\n", 1)
        return parse_frame(raw)

    def rest(self) -> list[dict]:
        """Every frame up to the end of the stream."""
        frames = []
        while (frame := self.next()) is not None:
            frames.append(frame)
        return frames

    def close(self) -> None:
        self.response.close()


def parse_frame(raw: str) -> dict:
    frame = {"id": None, "event": None, "data": None, "comment": None, "retry": None}
    for line in raw.split("\n"):
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "":
            frame["comment"] = value
        elif name == "data":
            frame["data"] = json.loads(value)
        elif name in frame:
            frame[name] = value
    return frame


def events_only(frames: list[dict]) -> list[dict]:
    """The frames that carry an event (no comments, no retry hint)."""
    return [f for f in frames if f["event"] is not None]
