"""``grader bench``: how fast grading is on this machine, as a table of medians (min, max) over repeated runs.

Every figure times the commands an instructor runs, as separate processes: the student tests
against the reference, ``grader grade`` of one reference submission (split into the reference's
preflight, the children's start-up, the checks and reporting, from the run's own timing), a class
of reference copies with one and two jobs, the sandbox's cost (the same submission with
``GRADER_ISOLATION=process``), and nbgrader's autograde of the same reference notebooks.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grader

from . import GraderError, rubric
from .course import Course
from .sandbox import TEMP_PREFIX


def _grader() -> list[str]:
    script = Path(sys.executable).with_name("grader")
    return [str(script)] if script.exists() else [sys.executable, "-m", "grader.cli"]


def _timed(command: list[str], cwd: Path, env: dict | None = None) -> float:
    start = time.perf_counter()
    run = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise GraderError(f"bench: `{' '.join(command)}` failed ({run.returncode}):\n{run.stderr[-2000:]}")
    return seconds


class Row:
    def __init__(self, measure: str, values: list[float], unit: str = "s", note: str = ""):
        self.measure, self.values, self.unit, self.note = measure, values, unit, note

    def cells(self) -> list[str]:
        if not self.values:
            return [self.measure, "-", "-", "-", self.note]
        fmt = (lambda v: f"{v:.1f}") if self.unit != "x" else (lambda v: f"{v:.2f}")
        return [self.measure, f"{fmt(statistics.median(self.values))} {self.unit}", fmt(min(self.values)),
                fmt(max(self.values)), self.note]


def table(rows: list[Row], header: str) -> str:
    cells = [["measure", "median", "min", "max", "note"], *(r.cells() for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    lines = [header, "", "| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells[1:]]
    return "\n".join(lines)


def run(course: Course, repeats: int = 3, class_size: int = 20, only: str | None = None, device: str = "cpu",
        nbgrader: bool = True, progress=print) -> str:
    """Run every measurement ``repeats`` times; return the table."""
    import torch

    if repeats < 1 or class_size < 1:
        raise GraderError("bench: --repeats and --class-size must be at least 1")
    exercises = [e.name for e in rubric.select(only)]
    only_args = ["--only", ",".join(exercises)]
    work = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-bench-"))
    rows: list[Row] = []
    try:
        one = work / "one"
        (one / "ref").mkdir(parents=True)
        for name in exercises:
            shutil.copy(course.reference / f"{name}.py", one / "ref")
        klass = work / "class"
        for i in range(class_size):
            shutil.copytree(one / "ref", klass / f"ref{i:03d}")

        progress("bench: pytest exercises/ --impl reference")
        pytest_times = [_timed([sys.executable, "-m", "pytest", "exercises/", "--impl", "reference", "-q",
                                "-p", "no:cacheprovider", *(["-k", " or ".join(exercises)] if only else [])],
                               course.root) for _ in range(repeats)]
        rows.append(Row("pytest exercises/ --impl reference", pytest_times))

        phases: dict[str, list[float]] = {k: [] for k in ("total", "preflight", "start-up", "checks", "reporting")}
        cold, bare = [], []
        for i in range(repeats):
            progress(f"bench: one reference submission ({i + 1}/{repeats})")
            out = work / f"one-out-{i}"
            phases["total"].append(_timed([*_grader(), "--course", str(course.root), "grade", str(one), "--out",
                                           str(out), "--jobs", "1", "--device", device, *only_args], course.root))
            timing = json.loads((out / "run.json").read_text())["timing"]
            record = json.loads((out / "ref" / "record.json").read_text())
            children = sum(e["seconds"] for e in record["exercises"])
            checks = sum(c["seconds"] for e in record["exercises"] for c in e["checks"])
            phases["preflight"].append(timing["preflight"])
            phases["start-up"].append(children - checks)
            phases["checks"].append(checks)
            phases["reporting"].append(timing["reporting"])
            for mode, env in (("cold", {"GRADER_WARM": "0"}), ("bare", {"GRADER_ISOLATION": "process"})):
                (cold if mode == "cold" else bare).append(_timed(
                    [*_grader(), "--course", str(course.root), "grade", str(one), "--out", str(work / f"{mode}-{i}"),
                     "--jobs", "1", "--device", device, *only_args], course.root, env))
        rows.append(Row("grade one reference submission", phases["total"], note="wall, CLI start to exit"))
        rows.append(Row("  reference preflight", phases["preflight"]))
        rows.append(Row("  children: start-up (process, sandbox, imports)", phases["start-up"],
                        note=f"{len(exercises)} children"))
        rows.append(Row("  children: the checks", phases["checks"]))
        rows.append(Row("  reporting", phases["reporting"]))
        rows.append(Row("  the same, a fresh interpreter per child", cold, note="GRADER_WARM=0"))
        rows.append(Row("sandbox overhead per submission", [a - b for a, b in zip(cold, bare)],
                        note="GRADER_WARM=0 minus GRADER_ISOLATION=process"))

        for jobs in (1, 2):
            rates = []
            for i in range(repeats):
                progress(f"bench: a class of {class_size} with --jobs {jobs} ({i + 1}/{repeats})")
                seconds = _timed([*_grader(), "--course", str(course.root), "grade", str(klass), "--out",
                                  str(work / f"class-{jobs}-{i}"), "--jobs", str(jobs), "--device", device,
                                  *only_args], course.root)
                rates.append(60 * class_size / seconds)
            rows.append(Row(f"class of {class_size}, --jobs {jobs}", rates, unit="/min", note="submissions per minute"))

        if nbgrader:
            rows += _nbgrader_rows(course, exercises, work, repeats, statistics.median(phases["total"]), progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    header = (f"grader {grader.__version__} bench: {os.cpu_count()} cores, torch {torch.__version__}, device "
              f"{device}, exercises {', '.join(e.split('_')[0] for e in exercises)}, {repeats} run(s) each")
    return table(rows, header)


def _nbgrader_rows(course: Course, exercises: list[str], work: Path, repeats: int, ours: float, progress) -> list[Row]:
    binary = Path(sys.executable).with_name("nbgrader")
    if not binary.exists():
        return [Row("nbgrader autograde, same notebooks", [], note="nbgrader not installed: pip install -e '.[instructor]'")]
    from .notebooks import write_course

    env = {"PATH": f"{binary.parent}{os.pathsep}{os.environ.get('PATH', '')}", "COURSE_PACK_ROOT": str(course.root)}
    times = []
    for i in range(repeats):
        progress(f"bench: nbgrader autograde ({i + 1}/{repeats})")
        nb = work / f"nbgrader-{i}"
        write_course(course, nb, only=",".join(exercises))
        for name in exercises:
            _timed([str(binary), "generate_assignment", name, "--force"], nb, env)
            target = nb / "submitted" / "ref" / name
            target.mkdir(parents=True)
            shutil.copy(nb / "source" / name / f"{name}.ipynb", target)
        start = time.perf_counter()
        for name in exercises:
            _timed([str(binary), "autograde", name, "--create", "--force"], nb, env)
        times.append(time.perf_counter() - start)
    return [Row("nbgrader autograde, same notebooks", times, note="one `autograde` per exercise"),
            Row("nbgrader / grader (one submission)", [t / ours for t in times], unit="x", note="higher: grader faster")]
