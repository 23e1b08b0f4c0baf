"""The instructor's CSV files (a roster, submission times): read whole, size-capped, as UTF-8 rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from . import GraderError

MAX_TABLE_BYTES = 16 << 20  # a class list of a hundred thousand students is a few MiB


def read_rows(path: Path, where: str, what: str) -> list[list[str]]:
    """The rows of the CSV file ``path`` (a byte-order mark ignored); errors name ``where`` (the option and file, e.g.
    ``--roster FILE``) and say what the file should be (``what``, e.g. "the class list")."""
    try:
        if path.stat().st_size > MAX_TABLE_BYTES:
            raise GraderError(f"{where}: more than {MAX_TABLE_BYTES >> 20} MiB; is it {what}?")
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise GraderError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise GraderError(f"{where}: not UTF-8 text; save it as CSV (UTF-8)") from None
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise GraderError(f"{where}: not a CSV file ({exc})") from None
