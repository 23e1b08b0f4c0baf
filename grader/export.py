"""``grader export``: a graded class's points as the import file a learning-management system expects.

The students of ``OUT`` (their ``record.json``, as graded, less any late penalty) are matched to a roster
(a CSV of the class: names, ids, emails), and each matched student gets a row in Canvas' gradebook-import
columns, Moodle's grade-import columns or a plain CSV, one column per exercise. A student matched to no roster row, or
to two, and a roster row no student matched, are reported and listed in ``OUT/export-unmatched.csv``:
never dropped silently, never guessed.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from . import GraderError
from .deadlines import percent
from .escaping import csv_cell, terminal
from .reports import RECORD, StudentResult, atomic_write, fmt, late_columns, load_record
from .shards import read_run
from .tables import read_rows

FORMATS = ("canvas", "moodle", "csv")
ROSTER_FIELDS = ("folder", "name", "id", "email", "sis_user_id", "sis_login_id", "section")
KEYS = ("folder", "id", "email", "sis_login_id", "sis_user_id", "login", "name")  # matched in this order


@dataclass
class Member:
    """One roster row: what it says of a student (missing fields are empty)."""

    row: int
    fields: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.fields.get(name, "")

    def keys(self) -> dict[str, str]:
        """How this member may be named by a student folder, per kind of key (normalised)."""
        email = self.get("email")
        found = {k: self.get(k) for k in KEYS if k != "login"}
        found["login"] = email.split("@", 1)[0] if "@" in email else ""  # the one key no column holds
        return {k: normal(v) for k, v in found.items() if normal(v)}


def normal(text: str) -> str:
    """A name as people type it: case, accents, spaces and separators ignored."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    return re.sub(r"[\s._-]+", " ", text).strip()


def read_roster(path: Path) -> list[Member]:
    """The roster's rows; a header naming at least one of ``ROSTER_FIELDS`` (any case) is required."""
    rows = read_rows(path, f"--roster {path}", "the class list")
    if not rows:
        raise GraderError(f"--roster {path}: empty; give a header row ({', '.join(ROSTER_FIELDS)}) and a row per "
                          "student")
    header = [normal(h).replace(" ", "_") for h in rows[0]]
    known = [h for h in header if h in ROSTER_FIELDS]
    if not known:
        raise GraderError(f"--roster {path}: its header {rows[0][:8]} names none of the columns "
                          f"{', '.join(ROSTER_FIELDS)}")
    members = []
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        fields = {h: cell.strip() for h, cell in zip(header, row) if h in ROSTER_FIELDS and cell.strip()}
        members.append(Member(number, fields))
    return members


@dataclass
class Matching:
    matched: list[tuple[StudentResult, Member]]
    students: list[tuple[str, str]]  # (student, why not matched)
    members: list[tuple[Member, str]]  # (roster row, why not matched)


def match(results: list[StudentResult], roster: list[Member]) -> Matching:
    """Each student to the one roster row naming their folder by the first kind of key that names any; a tie at
    that kind, or a row claimed by two students, matches nobody."""
    claimed: dict[int, list[str]] = {}
    chosen: dict[str, Member] = {}
    students: list[tuple[str, str]] = []
    keys = [(m, m.keys()) for m in roster]
    for result in results:
        name = normal(result.student)
        for kind in KEYS:
            found = [m for m, k in keys if k.get(kind) == name]
            if len(found) == 1:
                chosen[result.student] = found[0]
                claimed.setdefault(found[0].row, []).append(result.student)
                break
            if len(found) > 1:
                students.append((result.student, f"its name matches roster rows {', '.join(str(m.row) for m in found)}"
                                 f" ({kind}); add a folder column to say which"))
                break
        else:
            students.append((result.student, "no roster row names this folder (by folder, id, email, login or "
                                             "name)"))
    matched = []
    for result in results:
        member = chosen.get(result.student)
        if member is None:
            continue
        if len(claimed[member.row]) > 1:
            students.append((result.student, f"roster row {member.row} also matches "
                                             f"{', '.join(s for s in claimed[member.row] if s != result.student)}"))
        else:
            matched.append((result, member))
    used = {m.row for _, m in matched}
    members = [(m, "no graded student folder matches this row") for m in roster
               if m.row not in used and m.row not in claimed]
    members += [(m, "two student folders match this row") for m in roster if len(claimed.get(m.row, [])) > 1]
    return Matching(matched, students, members)


def _points(result: StudentResult, exercises: list[str]) -> list[str]:
    """Each exercise's points after the student's late penalty (the same fraction of every exercise's raw points,
    so they add up to the final total); the raw points when there is no deadline."""
    points = {e.exercise: e.points if result.late is None else result.late.final(e.points) for e in result.exercises}
    return [fmt(points.get(e, 0.0)) for e in exercises]


def _maxima(results: list[StudentResult], exercises: list[str]) -> list[str]:
    maxima = {e.exercise: e.max_points for r in results for e in r.exercises}
    return [fmt(maxima.get(e, 0.0)) for e in exercises]


def table(fmt_name: str, matched: list[tuple[StudentResult, Member]], exercises: list[str],
          results: list[StudentResult]) -> list[list[str]]:
    """The rows of the import file (header first); student and roster text made safe for spreadsheets."""
    safe = csv_cell
    if fmt_name == "canvas":  # Canvas' gradebook import: these five columns, then one per assignment
        rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *exercises],
                ["    Points Possible", "", "", "", "", *_maxima(results, exercises)]]
        rows += [[safe(m.get("name") or r.student), safe(m.get("id")), safe(m.get("sis_user_id")),
                  safe(m.get("sis_login_id")), safe(m.get("section")), *_points(r, exercises)] for r, m in matched]
        return rows
    if fmt_name == "moodle":  # Moodle's CSV grade import: an identifying column, then one per grade item
        rows = [["Email address", "ID number", "Full name", *exercises]]
        rows += [[safe(m.get("email")), safe(m.get("id")), safe(m.get("name") or r.student), *_points(r, exercises)]
                 for r, m in matched]
        return rows
    late = late_columns(results)
    rows = [["student", "name", "id", "email", *exercises, "total", "max", *(("raw_total", "penalty") if late else ())]]
    rows += [[safe(terminal(r.student)), safe(m.get("name")), safe(m.get("id")), safe(m.get("email")),
              *_points(r, exercises), fmt(r.final_points), fmt(r.max_points),
              *((fmt(r.points), percent(r.late.penalty) if r.late else "") if late else ())] for r, m in matched]
    return rows


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def run(graded: Path, roster_path: Path, fmt_name: str, to: Path | None = None) -> tuple[Path, Matching]:
    """Write the import file for ``graded`` (an OUT of ``grader grade``) and the unmatched list beside it."""
    if fmt_name not in FORMATS:
        raise GraderError(f"--format {fmt_name}: give one of {', '.join(FORMATS)}")
    run_record = read_run(graded)
    exercises = list(run_record["settings"].get("exercises", []))
    results = []
    for student in run_record["students"]:
        result = load_record(graded / student / RECORD)
        if result is None:
            raise GraderError(f"{terminal(graded / student / RECORD)} is missing or unreadable: grade again first")
        results.append(result)
    matching = match(results, read_roster(roster_path))
    target = to or graded / f"{fmt_name}-import.csv"
    atomic_write(target, _csv(table(fmt_name, matching.matched, exercises, results)))
    unmatched = [["what", "name", "roster row", "why"]]
    unmatched += [["student folder", csv_cell(terminal(s)), "", why] for s, why in matching.students]
    unmatched += [["roster row", csv_cell(m.get("name") or m.get("email") or m.get("id")), str(m.row), why]
                  for m, why in matching.members]
    atomic_write(graded / "export-unmatched.csv", _csv(unmatched))
    for student, why in matching.students:
        print(f"export: not exported: student folder {terminal(student)}: {why}", file=sys.stderr)
    for member, why in matching.members:
        print(f"export: roster row {member.row} ({terminal(member.get('name') or member.get('email'))}): {why}",
              file=sys.stderr)
    penalised = [r for r, _ in matching.matched if r.late is not None and r.late.penalty]
    if late_columns(results):
        print(f"export: the points exported are after the late penalty ({len(penalised)} student(s) penalised: "
              f"{', '.join(terminal(r.student) for r in penalised) or 'none'}); grades.csv keeps the raw points "
              "beside them", file=sys.stderr)
    return target, matching
