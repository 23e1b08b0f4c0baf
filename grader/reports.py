"""What grading writes: ``grades.csv``, and per student ``feedback.md`` and Gradescope's ``results.json``."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .checks import CheckResult
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

    @property
    def points(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def max_points(self) -> float:
        return sum(c.max_points for c in self.checks)


@dataclass
class StudentResult:
    student: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"
    grader_version: str = ""
    provenance: dict = field(default_factory=dict)  # what was graded, how: files' sha256, grader, seeds, limits

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> float:
        return sum(e.max_points for e in self.exercises)


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
             f"**Score: {fmt(result.points)} / {fmt(result.max_points)}**", "",
             "| exercise | points | |", "|---|---:|---|"]
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
    return json.dumps({"score": result.points, "max_score": result.max_points, "output_format": "text",
                       "execution_time": round(result.seconds, 3), "tests": tests,
                       "output": f"graded on {result.device} by grader {result.grader_version}"}, indent=1) + "\n"


def gradebook_csv(results: list[StudentResult], exercises: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180; and a CR in a name makes its cell quoted
    writer.writerow(["student", *exercises, "total", "max"])
    for r in results:
        points = {e.exercise: e.points for e in r.exercises}
        writer.writerow([csv_cell(terminal(r.student)), *(fmt(points.get(e, 0.0)) for e in exercises), fmt(r.points),
                         fmt(r.max_points)])
    return buffer.getvalue()


def class_table(results: list[StudentResult], exercises: list[str]) -> str:
    """The class at a glance, for the terminal."""
    short = [e.split("_", 1)[0] for e in exercises]
    rows = [["student", *short, "total"]]
    for r in results:
        by_name = {e.exercise: e for e in r.exercises}
        cells = []
        for e in exercises:
            ex = by_name.get(e)
            cells.append("-" if ex is None else f"{fmt(ex.points)}/{fmt(ex.max_points)}"
                         + ("" if ex.status == "graded" else f" ({ex.status})"))
        rows.append([terminal(r.student), *cells, f"{fmt(r.points)}/{fmt(r.max_points)}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


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


def save_student(out: Path, result: StudentResult) -> None:
    folder = out / result.student
    save_figures(folder / FIGURES, [c for ex in result.exercises for c in ex.checks])
    from .pages import feedback_html

    atomic_write(folder / "feedback.md", feedback_markdown(result))
    atomic_write(folder / "feedback.html", feedback_html(result))
    atomic_write(folder / "results.json", gradescope_json(result))
    atomic_write(folder / RECORD, record_json(result))  # last: its presence means this student is finished


RECORD = "record.json"


def record_json(result: StudentResult) -> str:
    """Everything needed to rebuild the gradebook without grading again (figures stay in their files)."""
    exercises = [{**{k: v for k, v in vars(e).items() if k != "checks"},
                  "checks": [{k: v for k, v in vars(c).items() if k not in ("figure", "points")} for c in e.checks]}
                 for e in result.exercises]
    return json.dumps({"student": result.student, "seconds": result.seconds, "device": result.device,
                       "grader_version": result.grader_version, "provenance": result.provenance,
                       "points": result.points, "max_points": result.max_points, "exercises": exercises}, indent=1) + "\n"


def load_record(path: Path) -> StudentResult | None:
    """A finished student's result from an earlier run, or None when the record is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
        exercises = [ExerciseResult(**{**e, "checks": [CheckResult(**c) for c in e["checks"]]})
                     for e in data["exercises"]]
        return StudentResult(data["student"], exercises, data["seconds"], data["device"], data["grader_version"],
                             data["provenance"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
