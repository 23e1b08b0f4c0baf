"""What grading writes: ``grades.csv``, and per student ``feedback.md`` and Gradescope's ``results.json``."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .checks import CheckResult
from .deadlines import Late, counts, percent
from .escaping import csv_cell, fence, md_inline, multiline, terminal

STATUS_WORDS = {"passed": "passed", "failed": "wrong", "not_implemented": "not implemented", "error": "error"}
MISSING = "missing: not submitted"  # an exercise's note when the student sent no file for it


@dataclass
class ExerciseResult:
    """One student's result on one exercise; ``status`` says whether the code ran at all."""

    exercise: str
    title: str
    status: str  # graded, missing, import_error, timeout, memory, crashed, tamper, grader_failure
    message: str
    checks: list[CheckResult]
    output: str = ""
    seconds: float = 0.0
    provenance: dict = field(default_factory=dict)  # what decided it: file hashes, grader digest, seeds, limits
    checks_seconds: float = 0.0  # of ``seconds``, the checks' own time in the child (``ChildRun.checks_seconds``)

    @property
    def points(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def max_points(self) -> float:
        return sum(c.max_points for c in self.checks)


@dataclass
class StudentResult:
    """A student's raw results per exercise; ``late``, when the run has a deadline, says what the late policy takes
    off them (``final_points``) without changing them."""

    student: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"
    grader_version: str = ""
    late: Late | None = None

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> float:
        return sum(e.max_points for e in self.exercises)

    @property
    def final_points(self) -> float:
        """The points after the late penalty (the raw points without a deadline)."""
        return self.late.final(self.points) if self.late else self.points

    def late_sentence(self) -> str:
        """When and how late this was submitted, and what it cost, in plain text ("" without a deadline)."""
        return self.late.sentence(self.points, self.max_points) if self.late else ""


def late_columns(results: list[StudentResult]) -> bool:
    """Whether the gradebooks show the late columns: when any student has a deadline to be measured against."""
    return any(r.late is not None for r in results)


def late_cells(result: StudentResult) -> list[str]:
    """``submitted``, ``late``, ``penalty``, ``final``: what the gradebook shows beside the raw total."""
    late = result.late
    if late is None:
        return ["", "", "", fmt(result.points)]
    submitted = datetime.fromisoformat(late.submitted).isoformat(timespec="seconds") if late.submitted else ""
    return [submitted, late.short, percent(late.penalty), fmt(result.final_points)]


def fmt(x: float) -> str:
    return f"{x:g}"


def atomic_write(path: Path, content: str | bytes) -> None:
    """Write a whole file or nothing: a run killed half-way never leaves a torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if isinstance(content, bytes):
        tmp.write_bytes(content)
    else:
        tmp.write_text(content)
    os.replace(tmp, path)


def _lines(text: str) -> list[str]:
    return multiline(text).strip().split("\n")


def _first_line(text: str) -> str:
    """A message as one table cell: its first line, with a pointer to the rest when there is more."""
    lines = _lines(text)
    return md_inline(lines[0]) + (" (more below)" if len(lines) > 1 else "")


def feedback_markdown(result: StudentResult) -> str:
    """Student text lands only escaped (``md_inline``) in a single line the grader starts, or fenced."""
    lines = [f"# Feedback for {md_inline(result.student)}", "",
             f"**Score: {fmt(result.points)} / {fmt(result.max_points)}**", ""]
    if result.late is not None and result.late.penalty:
        lines[-2] = (f"**Score: {fmt(result.final_points)} / {fmt(result.max_points)}** (raw {fmt(result.points)}, "
                     f"late penalty -{percent(result.late.penalty)})")
    if result.late is not None:
        lines += [md_inline(result.late_sentence()), ""]
    lines += ["| exercise | points | |", "|---|---:|---|"]
    for ex in result.exercises:
        note = "" if ex.status == "graded" else MISSING if ex.status == "missing" else _first_line(ex.message)
        lines.append(f"| {ex.exercise} | {fmt(ex.points)} / {fmt(ex.max_points)} | {note} |")
    for ex in result.exercises:
        lines += ["", f"## {ex.exercise}: {ex.title} ({fmt(ex.points)} / {fmt(ex.max_points)})", ""]
        if ex.status == "missing":  # one line, not a verdict per check of code that was never there
            lines.append(f"**missing**: {_first_line(ex.message or 'not submitted')}")
            continue
        if ex.status != "graded" and ex.message.strip():
            lines += [fence(ex.message), ""]
        lines += ["| check | points | verdict |", "|---|---:|---|"]
        for c in ex.checks:
            hidden = " (hidden)" if c.hidden else ""
            detail = f": {_first_line(c.message)}" if c.passed and c.message.strip() else ""
            lines.append(f"| `{c.check}`{hidden} | {fmt(c.points)} / {fmt(c.max_points)} | "
                         f"{STATUS_WORDS.get(c.status, 'error')}{detail} |")
        for c in ex.checks:
            failed = not c.passed and (ex.status == "graded" or c.message != ex.message)
            if failed or (c.passed and len(_lines(c.message)) > 1):
                lines += ["", f"### `{c.check}`: {c.description}", "", fence(c.message)]
        for c in ex.checks:
            if c.figure:
                lines += ["", f"![{ex.exercise} {c.check}]({FIGURES}/{figure_name(ex.exercise, c.check)})"]
        if ex.output.strip():
            lines += ["", "<details><summary>What your code printed</summary>", "", fence(ex.output), "", "</details>"]
    return "\n".join(lines) + "\n"


def gradescope_json(result: StudentResult) -> str:
    """Gradescope's results.json: hidden checks become visible once grades are published; every output is plain
    text (``output_format``), so a message that quotes student code is never rendered as Markdown or HTML."""
    tests = []
    for ex in result.exercises:
        for c in ex.checks:
            tests.append({"name": f"{ex.exercise}: {c.check}", "score": c.points, "max_score": c.max_points,
                          "status": "passed" if c.passed else "failed", "output": multiline(c.message),
                          "output_format": "text", "visibility": "after_published" if c.hidden else "visible"})
    document = {"score": result.points, "max_score": result.max_points, "output_format": "text",
                "execution_time": round(result.seconds, 3), "tests": tests,
                "output": f"graded on {result.device} by grader {result.grader_version}"}
    if result.late is not None:  # the total after the penalty; each test keeps its raw points
        document["score"] = result.final_points
        document["output"] = f"{multiline(result.late_sentence())}\n{document['output']}"
        document["extra_data"] = {"raw_score": result.points, "late": result.late.record(result.points)}
    return json.dumps(document, indent=1) + "\n"


def gradebook_csv(results: list[StudentResult], exercises: list[str]) -> str:
    """``student``, a column per exercise, ``total`` (raw), ``max``; with a deadline, ``submitted``, ``late``,
    ``penalty`` and ``final`` (after the penalty) between ``total`` and ``max``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180; and a CR in a name makes its cell quoted
    late = late_columns(results)
    writer.writerow(["student", *exercises, "total", *(LATE_COLUMNS if late else ()), "max"])
    for r in results:
        points = {e.exercise: e.points for e in r.exercises}
        writer.writerow([csv_cell(terminal(r.student)), *(fmt(points.get(e, 0.0)) for e in exercises), fmt(r.points),
                         *(csv_cell(c) for c in late_cells(r) if late), fmt(r.max_points)])
    return buffer.getvalue()


LATE_COLUMNS = ("submitted", "late", "penalty", "final")


def class_table(results: list[StudentResult], exercises: list[str]) -> str:
    """The class at a glance, for the terminal."""
    short = [e.split("_", 1)[0] for e in exercises]
    late = late_columns(results)
    rows = [["student", *short, "total", *(("late", "final") if late else ())]]
    for r in results:
        by_name = {e.exercise: e for e in r.exercises}
        cells = []
        for e in exercises:
            ex = by_name.get(e)
            cells.append("-" if ex is None else f"{fmt(ex.points)}/{fmt(ex.max_points)}"
                         + ("" if ex.status == "graded" else f" ({ex.status})"))
        rows.append([terminal(r.student), *cells, f"{fmt(r.points)}/{fmt(r.max_points)}"])
        if late:
            rows[-1] += ["-", "-"] if r.late is None else [
                r.late.short, f"{fmt(r.final_points)}/{fmt(r.max_points)}"
                + (f" (-{percent(r.late.penalty)})" if r.late.penalty else "")]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
    with_late = [r.late for r in results if r.late is not None]
    if with_late:
        first = with_late[0]
        table += f"\ndeadline {first.deadline}, late policy {first.policy}: {counts(with_late)}"
    return table


FIGURES = "figures"


def figure_name(exercise: str, check: str) -> str:
    return f"{exercise}.{check}.png".replace("/", "_")


def save_figures(folder: Path, checks: list[CheckResult]) -> list[Path]:
    """Write the PNG of every check that drew one into ``folder``; returns the paths written."""
    written = []
    for c in checks:
        if c.figure:
            path = folder / figure_name(c.exercise, c.check)
            atomic_write(path, c.figure)
            written.append(path)
    return written


def write_changed(path: Path, content: str | bytes) -> None:
    """``atomic_write``, unless the file already holds exactly ``content`` (a kept student's files stay untouched)."""
    data = content.encode() if isinstance(content, str) else content
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return
    except OSError:
        pass
    atomic_write(path, content)


def save_student(out: Path, result: StudentResult) -> None:
    """Write the student's figures, feedback, results.json and record; a file whose content is unchanged is left
    as it is, so reporting a kept student again (a new deadline) rewrites only what the deadline changes."""
    folder = out / result.student
    for c in (c for ex in result.exercises for c in ex.checks if c.figure):
        write_changed(folder / FIGURES / figure_name(c.exercise, c.check), c.figure)
    from .pages import feedback_html

    write_changed(folder / "feedback.md", feedback_markdown(result))
    write_changed(folder / "feedback.html", feedback_html(result))
    write_changed(folder / "results.json", gradescope_json(result))
    write_changed(folder / RECORD, record_json(result))  # last: its presence means this student is finished


RECORD = "record.json"


def record_json(result: StudentResult) -> str:
    """Everything needed to rebuild the gradebook without grading again (figures stay in their files; ``drew``
    says a check has one). Each exercise keeps its own provenance, so one exercise can be graded again and the
    others kept; ``points`` are the raw points, and ``late``, with a deadline, what the late policy makes of them."""
    exercises = [{**{k: v for k, v in vars(e).items() if k != "checks"},
                  "checks": [{**{k: v for k, v in vars(c).items() if k not in ("figure", "points")},
                              **({"drew": True} if c.figure else {})} for c in e.checks]}
                 for e in result.exercises]
    late = {"late": result.late.record(result.points)} if result.late else {}
    return json.dumps({"student": result.student, "seconds": result.seconds, "device": result.device,
                       "grader_version": result.grader_version, "points": result.points,
                       "max_points": result.max_points, **late, "exercises": exercises}, indent=1) + "\n"


MAX_FIGURE_BYTES = 16 * 1024 * 1024


def _figure(folder: Path, exercise: str, check: str) -> bytes | None:
    """A figure a check drew, as saved beside the record (None when it is gone)."""
    path = folder / FIGURES / figure_name(exercise, check)
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_FIGURE_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _check(folder: Path, data: dict) -> CheckResult:
    data = dict(data)
    drew = data.pop("drew", False)
    check = CheckResult(**data)
    if drew:
        check.figure = _figure(folder, check.exercise, check.check)
    return check


def load_record(path: Path) -> StudentResult | None:
    """A finished student's result from an earlier run, or None when the record is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
        exercises = [ExerciseResult(**{**e, "checks": [_check(path.parent, c) for c in e["checks"]]})
                     for e in data["exercises"]]
        return StudentResult(data["student"], exercises, data["seconds"], data["device"], data["grader_version"],
                             Late.from_record(data.get("late")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
