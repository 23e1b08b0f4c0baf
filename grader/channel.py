"""What a sandboxed child sends back: its results as strictly ordered frames, and the first and last of its output."""

from __future__ import annotations

import re
import time

from .escaping import UNSAFE_IN_TEXT


class OutputTail:
    """A child's stdout and stderr: the first and the last ``limit / 2`` bytes, and how much there was."""

    def __init__(self, limit: int):
        self.half, self.head, self.tail, self.total = limit // 2, bytearray(), bytearray(), 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        self.tail += data
        del self.tail[:-self.half]

    def text(self) -> str:
        cut = self.total - len(self.head) - len(self.tail)
        middle = f"\n[... {cut} bytes of output cut ...]\n" if cut > 0 else ""
        text = self.head.decode(errors="replace") + middle + self.tail.decode(errors="replace")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return CONTROL.sub("\ufffd", text)  # no terminal escapes, NUL bytes or bidi overrides reach the feedback


CONTROL = UNSAFE_IN_TEXT  # C0 but tab and newline, DEL, C1, bidi and other invisible format characters
FRAME = re.compile(rb"^([a-z_]{1,20})(?:-(\d{3}))? (\d{1,10})\n")


class Channel:
    """Frames ``NAME[-NNN] LENGTH\\n`` + bytes from the worker, accepted only in the order the worker sends them.

    ``importing``, then ``import_error`` or ``start-000``, ``check-000``, ``start-001``, ... and ``done``.
    Anything else (a repeated, skipped or unknown frame, a frame over the cap) closes the channel:
    what came before it stands and the run counts as tampered with.
    """

    def __init__(self, max_frame: int, max_total: int):
        self.max_frame, self.max_total = max_frame, max_total
        self.buffer, self.frames, self.total, self.error = bytearray(), {}, 0, ""
        self.next_index, self.state = 0, "start"
        self.arrived: dict[str, float] = {}  # when each frame was read (time.monotonic)

    def feed(self, data: bytes) -> None:
        if self.error:
            return
        self.total += len(data)
        if self.total > self.max_total:
            self.error = f"the child sent more than {self.max_total} bytes of results"
            return
        self.buffer += data
        while not self.error:
            match = FRAME.match(self.buffer[:64])
            if match is None:
                if len(self.buffer) >= 64 or b"\n" in self.buffer[:64]:
                    self.error = "the child sent something that is not a result frame"
                return
            name, index, size = match.group(1).decode(), match.group(2), int(match.group(3))
            if size > self.max_frame:
                self.error = f"a result frame of {size} bytes is over the cap of {self.max_frame}"
                return
            if len(self.buffer) < match.end() + size:
                return
            body = bytes(self.buffer[match.end():match.end() + size])
            del self.buffer[:match.end() + size]
            self._accept(name, None if index is None else int(index), body)

    def _accept(self, name: str, index: int | None, body: bytes) -> None:
        expected = {"start": {"importing"}, "imported": {"import_error", "start", "done"},
                    "running": {"check"}, "checked": {"start", "done"}}.get(self.state, set())
        if name not in expected or (name in ("start", "check")) != (index is not None) \
                or (index is not None and index != self.next_index):
            self.error = f"unexpected result frame {name!r}" + (f" #{index}" if index is not None else "")
            return
        key = f"{name}-{index:03d}" if index is not None else name
        self.frames[key] = body
        self.arrived[key] = time.monotonic()
        if name == "check":
            self.next_index += 1
        self.state = {"importing": "imported", "import_error": "closed", "start": "running",
                      "check": "checked", "done": "closed"}[name]
