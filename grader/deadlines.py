"""Deadlines and late work: the options, each student's submission time, and what the late policy takes off."""

# The penalty is a fraction of the raw points, worked out when the reports are written from the raw record:
# it is never stored instead of the raw points, and it is not part of what decides whether to grade again.
# timestamp.txt and submission_metadata.json sit in a student's folder: they are student bytes, read through
# the intake (no link followed, a size cap) and parsed defensively; a bad one is a note, never a traceback.

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import GraderError
from .escaping import terminal
from .intake import Submission, side_files
from .tables import read_rows

NBGRADER_FILE = "timestamp.txt"  # nbgrader's submit writes it: "2026-12-01 23:59:00.123456 UTC" (its default format)
GRADESCOPE_FILE = "submission_metadata.json"  # Gradescope's, beside the submission: its "created_at" is ISO 8601
MAX_TIMESTAMP_BYTES = 4 * 1024  # a real timestamp.txt is under 40 bytes
MAX_METADATA_BYTES = 1024 * 1024  # Gradescope's metadata of a group submission is a few KiB
DEFAULT_POLICY = "none"
POLICY_SYNTAX = ("write it as RATE[,max=DURATION][,grace=DURATION], e.g. 10%/day,max=3d,grace=15m (RATE: P%/day, "
                 "P%/hour or none; DURATION: a number and d, h, m or s, e.g. 3d, 36h, 1d12h, 15m)")
UNITS = {"day": 86400, "hour": 3600}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(.*)")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})?")


# --- times ---------------------------------------------------------------------------------------


def parse_time(text: str, zone_names: bool = False) -> datetime:
    """An ISO 8601 time with a UTC offset (``2026-12-01T23:59+01:00``, ``...Z``, ``... UTC``), or nbgrader's
    ``2026-12-01 23:59:00.123456 UTC``; with ``zone_names``, also a time zone's name after the time (what
    nbgrader writes when configured with another zone). Raises ValueError saying what is wrong."""
    text = text.strip()
    match = _TIME.fullmatch(text)
    if not match:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError("a date without a time of day: give one, e.g. 2026-12-01T23:59+01:00")
        raise ValueError("not a time written as YYYY-MM-DDTHH:MM[:SS] with a UTC offset, e.g. 2026-12-01T23:59+01:00")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        naive = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro)
    except ValueError as exc:
        raise ValueError(f"not a valid date and time ({exc})") from None
    return naive.replace(tzinfo=_zone(zone.strip(), zone_names))


def _zone(text: str, names: bool):
    if not text:
        raise ValueError("no UTC offset: add one, e.g. +01:00, or Z for UTC")
    if text.upper() in ("Z", "UTC", "GMT"):
        return timezone.utc
    match = _OFFSET.fullmatch(text)
    if match:
        sign, hours, minutes = match.groups()
        offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if offset >= timedelta(hours=24):
            raise ValueError(f"the UTC offset {text} is not one")
        return timezone(-offset if sign == "-" else offset)
    if names and re.fullmatch(r"[A-Za-z][A-Za-z0-9_+/-]{0,40}", text):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"the time zone {text} is not one this machine knows") from None
    raise ValueError(f"{text[:40]!r} is not a UTC offset: write one as +01:00, or Z for UTC")


def percent(fraction: float) -> str:
    """``0.2`` -> ``20%``, ``0.075`` -> ``7.5%``."""
    return f"{fraction * 100:g}%"


def shown(when: datetime) -> str:
    """A time for people: ``2026-12-01 23:59 +01:00`` (seconds when there are any; ``UTC`` for +00:00)."""
    text = when.strftime("%Y-%m-%d %H:%M" + (":%S" if when.second or when.microsecond else ""))
    offset = when.utcoffset()
    if not offset:
        return f"{text} UTC"
    minutes = int(offset.total_seconds() // 60)
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    return f"{text} {sign}{minutes // 60:02d}:{minutes % 60:02d}"


def duration(seconds: float) -> str:
    """``1 day 2 h 5 min``; seconds only under a minute."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{rest // 60} min"] if rest // 60 else []
    return " ".join(parts)


def parse_duration(text: str, option: str, policy: str = "") -> timedelta:
    """``3d``, ``36h``, ``1d12h``, ``15m``, ``90s`` or ``0`` (``option=text`` of the ``--late-policy`` ``policy``)."""
    text = text.strip().lower()
    if text == "0":
        return timedelta(0)
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise GraderError(f"--late-policy {policy}: {option}={text} is not a duration; write a number and d, h, m "
                          "or s, e.g. 3d, 36h, 1d12h or 15m")
    return timedelta(seconds=sum(float(n) * _SECONDS[u] for n, u in parts))


# --- the policy ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """``percent`` of the raw points per started ``unit`` late; nothing beyond ``cap``; on time within ``grace``."""

    text: str
    percent: float = 0.0
    unit: str = "day"
    cap: timedelta | None = None
    grace: timedelta = timedelta(0)

    @classmethod
    def parse(cls, text: str | None) -> "Policy":
        text = (text if text is not None else DEFAULT_POLICY).strip()
        if not text:
            raise GraderError(f"--late-policy: empty; {POLICY_SYNTAX}")
        percent, unit, found, written = 0.0, "day", {}, {}
        rate = None
        for part in (re.sub(r"\s+", "", p) for p in text.lower().split(",")):
            key, eq, value = part.partition("=")
            if eq:
                if key not in ("max", "grace"):
                    raise GraderError(f"--late-policy {text}: {part!r} is not a part it knows; {POLICY_SYNTAX}")
                if key in found:
                    raise GraderError(f"--late-policy {text}: {key}= is given twice")
                found[key], written[key] = parse_duration(value, key, text), value
                continue
            if rate is not None:
                raise GraderError(f"--late-policy {text}: two rates ({rate} and {part}); give one")
            rate = part
            if part == "none":
                continue
            match = re.fullmatch(r"(\d+(?:\.\d+)?)%/(day|hour)", part)
            if not match:
                raise GraderError(f"--late-policy {text}: {part!r} is not a rate; {POLICY_SYNTAX}")
            percent, unit = float(match[1]), match[2]
            if percent > 100:
                raise GraderError(f"--late-policy {text}: {match[1]}% per {unit} is more than 100%")
        if rate is None:
            raise GraderError(f"--late-policy {text}: no rate (P%/day, P%/hour or none); {POLICY_SYNTAX}")
        canonical = ",".join([rate, *(f"{k}={written[k]}" for k in ("max", "grace") if k in written)])
        return cls(canonical, percent, unit, found.get("max"), found.get("grace", timedelta(0)))

    def judge(self, late: timedelta) -> tuple[str, float, int]:
        """(status, fraction of the raw points taken off, started units late) for a submission ``late`` after the
        deadline: ``on_time``, ``grace`` (late, within the grace period: counts as on time), ``late`` or
        ``no_credit`` (later than ``cap``)."""
        if late <= timedelta(0):
            return "on_time", 0.0, 0
        if late <= self.grace:
            return "grace", 0.0, 0
        if self.cap is not None and late > self.cap:
            return "no_credit", 1.0, 0
        units = math.ceil(late.total_seconds() / UNITS[self.unit])
        return "late", min(1.0, round(self.percent * units / 100, 6)), units

    def describe(self) -> str:
        """The policy in words."""
        parts = ["no deduction" if not self.percent else f"{self.percent:g}% per started {self.unit} late"]
        if self.cap is not None:
            parts.append(f"no credit after {duration(self.cap.total_seconds())}" if self.cap else
                         "no credit for any late work")
        if self.grace:
            parts.append(f"{duration(self.grace.total_seconds())} of grace")
        return ", ".join(parts)


# --- what was decided for one student ------------------------------------------------------------


STATUSES = ("on_time", "grace", "late", "no_credit", "unknown")


@dataclass
class Late:
    """A student's submission time against the deadline, and the fraction of the raw points the policy takes off
    (``penalty``); ``status``: on_time, grace, late, no_credit, or unknown (no usable time: no penalty)."""

    deadline: str  # ISO 8601, as given
    policy: str
    submitted: str | None  # ISO 8601 in the deadline's offset; None when unknown
    source: str  # where the time came from: "--timestamps line 4", "timestamp.txt", "ps1/timestamp.txt", ...
    status: str
    seconds_late: float = 0.0
    units: int = 0  # started days (or hours) late
    penalty: float = 0.0
    note: str = ""  # why a time found could not be used

    def final(self, raw: float) -> float:
        """The points after the penalty; ``raw`` itself is never changed."""
        return round(raw * (1 - self.penalty), 4)

    def record(self, raw: float) -> dict:
        return {**asdict(self), "points_after_penalty": self.final(raw)}

    @classmethod
    def from_record(cls, data) -> "Late | None":
        """A late result as ``record`` wrote it, or None for anything else (a damaged record is no late result)."""
        if not isinstance(data, dict):
            return None
        try:
            late = cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})
            datetime.fromisoformat(late.deadline)
            Policy.parse(late.policy)
            if (late.status == "unknown") != (late.submitted is None) or late.status not in STATUSES:
                return None
            if late.submitted is not None:
                datetime.fromisoformat(late.submitted)
            numbers = (late.seconds_late, late.units, late.penalty)
            if not all(isinstance(n, (int, float)) and not isinstance(n, bool) and n >= 0 for n in numbers):
                return None
            return late if late.penalty <= 1 and all(isinstance(t, str) for t in (late.source, late.note)) else None
        except (TypeError, ValueError, GraderError):
            return None

    @property
    def short(self) -> str:
        """How late, in one cell: ``on time``, ``grace (10 min)``, ``1 day 2 h``, ``unknown``."""
        if self.status == "unknown":
            return "unknown"
        if self.status == "on_time":
            return "on time"
        if self.status == "grace":
            return f"grace ({duration(self.seconds_late)})"
        return duration(self.seconds_late)

    def sentence(self, raw: float, maximum: float) -> str:
        """One or two sentences for the student's feedback (plain text: each destination escapes it)."""
        deadline = shown(datetime.fromisoformat(self.deadline))
        if self.status == "unknown":
            why = f" ({self.note})" if self.note else ""
            return (f"Submission time unknown{why}: no late penalty applied (deadline {deadline}); "
                    f"score {raw:g} / {maximum:g}.")
        when = shown(datetime.fromisoformat(self.submitted))
        if self.status == "on_time":
            return f"Submitted {when}, before the deadline {deadline}: on time."
        after = f"Submitted {when}, {duration(self.seconds_late)} after the deadline {deadline}"
        if self.status == "grace":
            return f"{after}, within the grace period: on time."
        policy = Policy.parse(self.policy)
        if self.status == "no_credit":
            how = f"more than {duration(policy.cap.total_seconds())} late, no credit" if policy.cap else "no credit"
        else:
            how = f"{self.units} started {policy.unit}{'s' if self.units != 1 else ''} late"
        return (f"{after}. Late policy {self.policy} ({policy.describe()}): {how}, -{percent(self.penalty)}: raw "
                f"{raw:g} / {maximum:g}, final {self.final(raw):g} / {maximum:g}.")


# --- where submission times come from ------------------------------------------------------------


@dataclass(frozen=True)
class Stamp:
    """A submission time and where it came from; ``note`` says why a time that was there could not be used."""

    time: datetime | None
    source: str
    note: str = ""


def _from_text(data: bytes, source: str) -> Stamp:
    """nbgrader's timestamp.txt: one line, its default ``%Y-%m-%d %H:%M:%S.%f %Z``, or ISO 8601."""
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        return Stamp(None, source, f"{source} is not UTF-8 text")
    if not text or "\n" in text or len(text) > 100:
        return Stamp(None, source, f"{source} does not hold one line with a time")
    try:
        return Stamp(parse_time(text, zone_names=True), source)
    except ValueError as exc:
        return Stamp(None, source, f"{source}: {exc}")


def _from_metadata(data: bytes, source: str) -> Stamp:
    """Gradescope's submission_metadata.json: its ``created_at`` (``2026-12-01T23:59:00.123456-08:00``)."""
    try:
        document = json.loads(data)
    except RecursionError:
        return Stamp(None, source, f"{source}: its JSON is nested too deeply")
    except (ValueError, UnicodeError):
        return Stamp(None, source, f"{source} is not JSON")
    created = document.get("created_at") if isinstance(document, dict) else None
    if not isinstance(created, str):
        return Stamp(None, source, f"{source} has no \"created_at\" text")
    try:
        return Stamp(parse_time(created[:100]), source)
    except ValueError as exc:
        return Stamp(None, source, f"{source}: created_at: {exc}")


def from_files(submission: Submission) -> Stamp | None:
    """The time in the student's folder (or one folder down): nbgrader's timestamp.txt first, then Gradescope's
    submission_metadata.json; the latest when several folders hold one. None when there is neither."""
    if submission.refusal:
        return None
    parent, name = submission.folder.parent, submission.folder.name
    for filename, limit, parse in ((NBGRADER_FILE, MAX_TIMESTAMP_BYTES, _from_text),
                                   (GRADESCOPE_FILE, MAX_METADATA_BYTES, _from_metadata)):
        stamps = [Stamp(None, rel, problem) if problem else parse(data, rel)
                  for rel, data, problem in side_files(parent, name, filename, limit)]
        if stamps:
            good = [s for s in stamps if s.time is not None]
            if good:
                return max(good, key=lambda s: s.time)
            return Stamp(None, stamps[0].source, "; ".join(s.note for s in stamps))
    return None


def read_table(path: Path) -> dict[str, tuple[datetime, int]]:
    """``--timestamps FILE``: a CSV with a header naming ``student`` and ``submitted`` (any case, any order, other
    columns ignored) and a row per student; student -> (time, line). A bad row is an error naming its line."""
    where = f"--timestamps {path}"
    rows = read_rows(path, where, "the table of submission times")
    if not rows:
        raise GraderError(f"{where}: empty; give a header row student,submitted and a row per student")
    header = [h.strip().lower() for h in rows[0]]
    if "student" not in header or "submitted" not in header:
        raise GraderError(f"{where}: line 1 must name the columns student and submitted (it has "
                          f"{', '.join(repr(terminal(h))[:40] for h in rows[0][:6]) or 'none'})")
    s, t = header.index("student"), header.index("submitted")
    table: dict[str, tuple[datetime, int]] = {}
    for line, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        student = row[s].strip() if len(row) > s else ""
        stamp = row[t].strip() if len(row) > t else ""
        if not student:
            raise GraderError(f"{where}: line {line}: no student")
        if not stamp:
            raise GraderError(f"{where}: line {line}: no submission time for {terminal(student)!r}; give one "
                              "(e.g. 2026-12-01T23:59+01:00) or remove the row")
        try:
            when = parse_time(stamp)
        except ValueError as exc:
            raise GraderError(f"{where}: line {line}: {terminal(stamp)[:60]!r}: {exc}") from None
        if student in table:
            raise GraderError(f"{where}: line {line}: {terminal(student)!r} is also on line {table[student][1]}; "
                              "give one time per student")
        table[student] = (when, line)
    return table


# --- the rules of one run ------------------------------------------------------------------------


@dataclass
class Rules:
    """A run's deadline, policy and table of times (``--timestamps``), checked before any grading."""

    deadline: datetime
    deadline_text: str
    policy: Policy
    table: dict[str, tuple[datetime, int]] | None = None

    @classmethod
    def from_options(cls, deadline: str | None, policy: str | None = None,
                     timestamps: Path | None = None) -> "Rules | None":
        """None without ``--deadline``; ``--late-policy`` and ``--timestamps`` need one."""
        if deadline is None:
            given = [o for o, v in (("--late-policy", policy), ("--timestamps", timestamps)) if v is not None]
            if given:
                raise GraderError(f"{' and '.join(given)} need{'s' if len(given) == 1 else ''} --deadline TIME, "
                                  "e.g. --deadline 2026-12-01T23:59+01:00")
            return None
        try:
            when = parse_time(deadline)
        except ValueError as exc:
            raise GraderError(f"--deadline {deadline}: {exc}") from None
        return cls(when, when.isoformat(), Policy.parse(policy), read_table(timestamps) if timestamps else None)

    def unknown_rows(self, students: Iterable[str]) -> list[str]:
        """What to say about the rows of ``--timestamps`` that name no student of the class."""
        names = list(students)
        said = []
        for student, (_, line) in sorted((self.table or {}).items(), key=lambda item: item[1][1]):
            if student not in names:
                close = difflib.get_close_matches(student, names, n=3, cutoff=0.6)
                said.append(f"--timestamps line {line}: no student folder named {terminal(student)!r}"
                            + (f" (close: {', '.join(terminal(c) for c in close)})" if close else ""))
        return said

    def stamp(self, submission: Submission) -> Stamp:
        if self.table and submission.student in self.table:
            when, line = self.table[submission.student]
            return Stamp(when, f"--timestamps line {line}")
        found = from_files(submission)
        return found or Stamp(None, "", f"no {NBGRADER_FILE}, {GRADESCOPE_FILE} or --timestamps row")

    def assess(self, stamp: Stamp) -> Late:
        if stamp.time is None:
            return Late(self.deadline_text, self.policy.text, None, stamp.source, "unknown", note=stamp.note)
        late = stamp.time - self.deadline
        status, penalty, units = self.policy.judge(late)
        return Late(self.deadline_text, self.policy.text, stamp.time.astimezone(self.deadline.tzinfo).isoformat(),
                    stamp.source, status, max(0.0, late.total_seconds()), units, penalty, stamp.note)

    def for_class(self, students: list[Submission], warn: Callable[[str], None]) -> dict[str, Late]:
        """Each student's ``Late``; says on stderr which rows name nobody and whose time is unknown, and why."""
        for line in self.unknown_rows(s.student for s in students):
            warn(line)
        lates = {s.student: self.assess(self.stamp(s)) for s in students}
        unknown = [name for name, late in lates.items() if late.status == "unknown"]
        for name in unknown:
            if lates[name].source:  # a file or row was there, and why it gave no time
                warn(f"{terminal(name)}: submission time unknown: {terminal(lates[name].note)}")
        if unknown:
            warn(f"submission time unknown for {len(unknown)} student(s), graded without a late penalty: "
                 f"{', '.join(terminal(n) for n in unknown)} (give their times with --timestamps FILE)")
        return lates


def counts(lates: Iterable[Late]) -> str:
    """``2 on time, 1 in the grace period, 1 late, 1 unknown``."""
    words = {"on_time": "on time", "grace": "in the grace period", "late": "late", "no_credit": "too late for credit",
             "unknown": "with no known time"}
    tally = {k: 0 for k in words}
    for late in lates:
        tally[late.status] = tally.get(late.status, 0) + 1
    return ", ".join(f"{n} {words[k]}" for k, n in tally.items() if n)
