"""Server-sent events (the OpenAI streaming format) -> the data payload of each event. Pure.

Events end with a blank line; `data:` lines of one event are joined by newlines; lines starting
with ':' are comments (keep-alive pings); other fields (event:, id:, retry:) are ignored.
Bytes may split anywhere, even inside a UTF-8 character or a CRLF pair.
"""

from __future__ import annotations

import codecs


class SSEParser:
    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""

    def feed(self, data: bytes) -> list[str]:
        self._buffer += self._decoder.decode(data)
        if self._buffer.endswith("\r"):  # the \n of a \r\n may come in the next read
            head, self._buffer = self._buffer[:-1], "\r"
        else:
            head, self._buffer = self._buffer, ""
        text = head.replace("\r\n", "\n").replace("\r", "\n")
        *events, rest = text.split("\n\n")
        self._buffer = rest + self._buffer
        return [p for p in (_payload(e) for e in events) if p is not None]

    def close(self) -> list[str]:
        """What is left when the stream ends without a final blank line."""
        tail = self._buffer + self._decoder.decode(b"", final=True)
        self._buffer = ""
        p = _payload(tail.replace("\r\n", "\n").replace("\r", "\n").strip("\n"))
        return [p] if p is not None else []


def _payload(event: str) -> str | None:
    data = [line[5:].removeprefix(" ") for line in event.split("\n") if line.startswith("data:")]
    return "\n".join(data) if data else None
