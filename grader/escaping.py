"""How text from students is made safe for each place it lands: CSV cells, the terminal, Markdown, HTML."""

# Student text is folder names, what their code printed, exception messages and every check message built
# from them. It may hold anything a file name or a Python string can: control characters, terminal escapes,
# bidi overrides, Markdown and HTML, spreadsheet formulas, undecodable bytes (the lone surrogates Python
# uses for them in file names). Each function here makes it inert for one destination and changes no more.

from __future__ import annotations

import html
import os
import re
from urllib.parse import quote

REPLACEMENT = "\ufffd"

# Characters that are invisible, move the cursor, start a terminal escape, end a line or reorder text:
# Unicode's Cc (C0, DEL, C1), Cf (bidi marks, overrides and isolates, zero-width characters, BOM, tags...)
# except the zero-width (non-)joiners that some scripts need (Persian, Indic), Cs (lone surrogates), Zl and
# Zp (line and paragraph separators), and the Hangul fillers that pass for blank names.
_UNSAFE = ("\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f"
           "\u2028-\u202e\u2060-\u2064\u2066-\u206f\u3164\ud800-\udfff\ufeff\uffa0\ufff9-\ufffb"
           "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
           "\U000e0001\U000e0020-\U000e007f")
UNSAFE_IN_LINE = re.compile(f"[{_UNSAFE}]")
UNSAFE_IN_TEXT = re.compile(f"(?![\t\n])[{_UNSAFE}]")  # multi-line text keeps its newlines and tabs


def terminal(text: str) -> str:
    """One line for a terminal or a log: every control, format and line-breaking character becomes U+FFFD
    (a tab a space), so the text can neither start an escape sequence, reorder itself nor forge a line."""
    return UNSAFE_IN_LINE.sub(REPLACEMENT, str(text).replace("\t", " "))


def multiline(text: str) -> str:
    """Multi-line text for a ``<pre>``, a fenced block or a terminal: lines end in ``\\n`` only (``\\r\\n``
    and ``\\r`` become ``\\n``), tabs stay, every other control and format character becomes U+FFFD."""
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return UNSAFE_IN_TEXT.sub(REPLACEMENT, text)


# --- CSV ---------------------------------------------------------------------------------------------

# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection"), with the full-width forms
# that some spreadsheets take for the ASCII ones.
FORMULA_START = "=+-@\t\r\n\uff1d\uff0b\uff0d\uff20"
_SEPARATORS = ",;\t\r\n"  # what some spreadsheet may split a row at, whatever the file's own delimiter
_BLANK = r"\s\u200c\u200d" + _UNSAFE  # what a spreadsheet may skip before it reads a cell's first character
_CELL_START = re.compile(f"(?:^|(?<=[{re.escape(_SEPARATORS)}]))(?=[{_BLANK}]*[{re.escape(FORMULA_START)}])")


def csv_cell(text: str) -> str:
    """A text cell no spreadsheet reads as a formula: a single quote goes before every place a cell
    could start (the beginning, and after a comma, semicolon, tab or line break) when what follows,
    after blanks and invisible characters, is ``= + - @``, a tab or a line break. Lone surrogates
    become U+FFFD (the file is UTF-8). Only for text: numbers the grader writes need none of this."""
    return _CELL_START.sub("'", _valid(str(text)))


def _valid(text: str) -> str:
    """``text`` with any lone surrogate (an undecodable byte of a file name) as U+FFFD: encodable as UTF-8."""
    return re.sub("[\ud800-\udfff]", REPLACEMENT, text)


# --- Markdown ------------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>!|#~&$])")
_MD_LINE_START = re.compile(r"^(\s*)([-+=]|\d+(?=[.)]))")


def md_inline(text: str) -> str:
    """Text for one Markdown table cell or heading: one line (as ``terminal``), with every character that
    could start emphasis, code, a link, an image, HTML, an entity or a new cell backslash-escaped, and a
    list, heading or block-quote marker at its start made literal."""
    text = _MD_SPECIAL.sub(r"\\\1", terminal(text))
    return _MD_LINE_START.sub(lambda m: f"{m[1]}\\{m[2]}" if not m[2].isdigit() else f"{m[1]}{m[2]}\\", text, count=1)


def fence(text: str) -> str:
    """Multi-line text as a fenced code block that nothing inside can close: the fence is a run of
    backticks longer than any inside (a backtick fence is closed only by backticks), and the text is
    cleaned as ``multiline``."""
    body = multiline(text).rstrip()
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}\n{body}\n{ticks}"


# --- HTML ----------------------------------------------------------------------------------------------

def html_text(text: str) -> str:
    """Text for an HTML element or a quoted attribute: ``& < > " '`` escaped, lone surrogates as U+FFFD;
    what a reader sees is the original text."""
    return html.escape(_valid(str(text)))


def href(parts: list[str]) -> str:
    """A relative link to ``parts`` (folder and file names), every one percent-encoded whole (its bytes on
    the file system, so an undecodable name still leads to its folder): no scheme, no leading ``/``, no
    ``/`` or ``\\`` inside a name. Raises ValueError for "", "." and "..", which name no folder or file."""
    segments = []
    for part in parts:
        if part in ("", ".", ".."):
            raise ValueError(f"grader.escaping.href: {part!r} is not the name of a file or folder")
        segments.append(_quote(part))
    return "/".join(segments)


def _quote(part: str) -> str:
    try:
        raw = os.fsencode(part)  # a name read from the file system: its own bytes
    except UnicodeEncodeError:  # a surrogate no file name holds
        raw = _valid(part).encode()
    return quote(raw, safe="")
