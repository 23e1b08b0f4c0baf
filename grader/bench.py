"""``grader bench``: how fast grading is on this machine, as a table of medians (min, max) over repeated runs.

Every figure times the commands an instructor runs, as separate processes, with the grader and the
reference byte-compiled as an install leaves them: the student tests
against the reference, ``grader grade`` of one reference submission without stored results (split
into the reference's preflight, the checks, what the submission cost beyond them and reporting,
from the run's own timing and records) and with them (``grader.preflight``; the light exercises
alone too), a Gradescope dry run, a class of reference copies with one and two jobs (and the light
exercises alone), each with what a submission costs beyond its checks, read from that run's own
records, the sandbox's cost (the same submission with ``GRADER_ISOLATION=process``), and nbgrader's
autograde of the same reference notebooks.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grader

from . import GraderError, rubric
from .course import Course, byte_compile
from .sandbox import TEMP_PREFIX


def _grader() -> list[str]:
    script = Path(sys.executable).with_name("grader")
    return [str(script)] if script.exists() else [sys.executable, "-m", "grader.cli"]


def _timed(command: list[str], cwd: Path, env: dict | None = None) -> float:
    start = time.perf_counter()
    # a session of its own: a terminal's Ctrl-C reaches the bench alone, which passes it on exactly once
    with subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, **(env or {})}, start_new_session=True) as child:
        try:
            _, stderr = child.communicate()
        except KeyboardInterrupt:
            _stop(child)
            raise
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        raise GraderError(f"bench: `{' '.join(command)}` failed ({child.returncode}):\n{stderr[-2000:]}")
    return seconds


def _stop(child: subprocess.Popen) -> None:
    """Pass the bench's Ctrl-C on to the command, once, and give it time to clean up after itself."""
    child.send_signal(signal.SIGINT)
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


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
        nbgrader: bool = True, progress=print) -> tuple[str, bool]:
    """Run every measurement ``repeats`` times; return the table and whether it is complete.

    Interrupted (Ctrl-C), the table holds the rows measured so far.
    """
    import torch

    if repeats < 1 or class_size < 1:
        raise GraderError("bench: --repeats and --class-size must be at least 1")
    if device == "cuda" and not torch.cuda.is_available():
        raise GraderError("bench --device cuda: no CUDA device is available here")
    exercises = [e.name for e in rubric.select(only)]
    byte_compile(course)  # every command timed in the state an install leaves
    rows: list[Row] = []
    header = (f"grader {grader.__version__} bench: {os.cpu_count()} cores, torch {torch.__version__}, device "
              f"{device}, exercises {', '.join(e.split('_')[0] for e in exercises)}, {repeats} run(s) each")
    work = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-bench-"))

    def add(*new: Row) -> None:  # each row is shown as soon as it is measured: an interrupted run keeps them
        rows.extend(new)
        for row in new:
            progress("bench: | " + " | ".join(row.cells()) + " |")

    complete = False
    try:
        _measure(course, exercises, work, repeats, class_size, only, device, nbgrader, add, progress)
        complete = True
    except KeyboardInterrupt:
        header += " (interrupted: the rows measured so far)"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return table(rows, header), complete


LIGHT = ("ex01_tensors_autograd", "ex02_gradients", "ex03_regression")  # what a first assignment grades


def _measure(course: Course, exercises: list[str], work: Path, repeats: int, class_size: int, only: str | None,
             device: str, nbgrader: bool, add, progress) -> None:
    one = work / "one"
    (one / "ref").mkdir(parents=True)
    for name in exercises:
        shutil.copy(course.reference / f"{name}.py", one / "ref")
    klass = work / "class"
    for i in range(class_size):
        shutil.copytree(one / "ref", klass / f"ref{i:03d}")
    store = {"GRADER_STORE": str(work / "store")}  # the bench's own store: the reference's results, once
    unstored = {"GRADER_STORE": "off"}

    def grade(folder: Path, out: str, jobs: int, env: dict, names: list[str] = exercises) -> float:
        return _timed([*_grader(), "--course", str(course.root), "grade", str(folder), "--out", str(work / out),
                       "--jobs", str(jobs), "--device", device, "--only", ",".join(names)], course.root, env)

    progress("bench: pytest exercises/ --impl reference")
    add(Row("pytest exercises/ --impl reference", [
        _timed([sys.executable, "-m", "pytest", "exercises/", "--impl", "reference", "-q", "-p", "no:cacheprovider",
                "--device", device, *(["-k", " or ".join(exercises)] if only else [])], course.root)
        for _ in range(repeats)]))

    warm = device == "cpu"  # warm workers fork a CPU-only interpreter; CUDA children always start fresh
    phases: dict[str, list[float]] = {k: [] for k in ("total", "preflight", "beyond", "checks", "reporting")}
    stored, cold, bare = [], [], []
    progress("bench: the reference's results into the bench's store")
    _timed([*_grader(), "--course", str(course.root), "preflight", "--device", device, "--only", ",".join(exercises)],
           course.root, store)
    for i in range(repeats):
        progress(f"bench: one reference submission ({i + 1}/{repeats})")
        phases["total"].append(grade(one, f"one-{i}", 1, unstored))
        timing = json.loads((work / f"one-{i}" / "run.json").read_text())["timing"]
        wall, checks, _ = _beyond(work / f"one-{i}")[0]
        phases["preflight"].append(timing["preflight"])
        phases["beyond"].append(wall - checks)
        phases["checks"].append(checks)
        phases["reporting"].append(timing["reporting"])
        stored.append(grade(one, f"stored-{i}", 1, store))
        cold.append(grade(one, f"cold-{i}", 1, {**store, "GRADER_WARM": "0"}) if warm else stored[-1])
        bare.append(grade(one, f"bare-{i}", 1, {**store, "GRADER_ISOLATION": "process"}))
    add(Row("grade one reference submission, the reference checked", phases["total"],
            note="wall, CLI start to exit; no stored results"),
        Row("  reference preflight", phases["preflight"], note="a thread beside the first children"),
        Row("  the submission: beyond its checks", phases["beyond"],
            note=f"{len(exercises)} children: start-up not hidden, imports, waits, judging"),
        Row("  the submission: its checks", phases["checks"], note="in the children, first start to last result"),
        Row("  reporting", phases["reporting"]),
        Row("grade one reference submission, results stored", stored, note="wall; the reference's results read"))
    light = [e for e in LIGHT if e in exercises]
    light_one = None  # (its exercises, its median wall) when the light exercises are measured alone too
    if light and light != exercises:
        times = [grade(one, f"light-{i}", 1, store, light) for i in range(repeats)]
        light_one = (light, statistics.median(times))
        add(Row(f"  the same, {', '.join(e.split('_')[0] for e in light)} only", times, note="wall, results stored"))
    if warm:
        add(Row("  the same, a fresh interpreter per child", cold, note="GRADER_WARM=0"))
    add(Row("sandbox overhead per submission", [a - b for a, b in zip(cold, bare)],
            note="fresh interpreters, minus GRADER_ISOLATION=process"))
    add(Row("Gradescope dry run", _gradescope(course, exercises, work, repeats, device, store, progress),
            note="run_autograder on a fake root, start to results.json"))

    per_submission = {}
    subsets = [(exercises, 1), (exercises, 2)] + ([(light, 1)] if light and light != exercises else [])
    for names, jobs in subsets:
        rates, beyond, beyond_code = [], [], []
        label = "" if names == exercises else f", {', '.join(e.split('_')[0] for e in names)} only"
        for i in range(repeats):
            progress(f"bench: a class of {class_size}{label} with --jobs {jobs} ({i + 1}/{repeats})")
            out = f"class-{len(names)}-{jobs}-{i}"
            rates.append(60 * class_size / grade(klass, out, jobs, store, names))
            students = _beyond(work / out)
            beyond.append(statistics.median(wall - checks for wall, checks, _ in students))
            beyond_code.append(statistics.median(wall - code for wall, _, code in students))
        add(Row(f"class of {class_size}{label}, --jobs {jobs}", rates, unit="/min", note="submissions per minute"))
        if jobs == 1:  # what a submission costs in a class, less the time its checks take: from the run's own records
            add(Row("  per submission, beyond the checks", beyond,
                    note="a student's wall less its checks (in the children, first start to last result)"),
                Row("  per submission, beyond the code checked", beyond_code,
                    note="the same less the student's functions' own time only (inputs made count as beyond)"))
        if names == exercises:
            per_submission[jobs] = 60 / statistics.median(rates)

    if nbgrader:
        _nbgrader_rows(course, exercises, work, repeats, min(class_size, 3), statistics.median(stored),
                       per_submission, add, progress, light_one)


def _beyond(out: Path) -> list[tuple[float, float, float]]:
    """Each student graded in ``out``: its wall time, its checks' time in the children (``checks_seconds``: the
    first check's start to the last one's results) and the time its functions ran (the cases' ``seconds``)."""
    students = []
    for path in sorted(out.glob("*/record.json")):
        record = json.loads(path.read_text())
        exercises = [e for e in record["exercises"] if e["status"] != "missing"]
        students.append((record["seconds"], sum(e.get("checks_seconds", 0.0) for e in exercises),
                         sum(c["seconds"] for e in exercises for c in e["checks"])))
    if not students:
        raise GraderError(f"bench: no student records in {out}")
    return students


def _gradescope(course: Course, exercises: list[str], work: Path, repeats: int, device: str, store: dict,
                progress) -> list[float]:
    """``run_autograder`` on a fake ``/autograder`` made from ``grader gradescope build``: its own stored results."""
    import zipfile

    root = work / "autograder"
    progress("bench: the Gradescope archive")
    _timed([*_grader(), "--course", str(course.root), "gradescope", "build", str(work / "autograder.zip"), "--only",
            ",".join(exercises)], course.root, store)
    with zipfile.ZipFile(work / "autograder.zip") as z:
        z.extractall(root / "source")
    env = {"AUTOGRADER_ROOT": str(root), "GRADER": _grader()[0]}
    times = []
    for i in range(repeats):
        progress(f"bench: Gradescope dry run ({i + 1}/{repeats})")
        for folder in ("submission", "results"):
            shutil.rmtree(root / folder, ignore_errors=True)
            (root / folder).mkdir()
        for name in exercises:
            shutil.copy(course.reference / f"{name}.py", root / "submission")
        # "" for the store: the archive's own records, as on Gradescope
        seconds = _timed(["bash", str(root / "source" / "run_autograder")], root, {**env, "GRADER_STORE": ""})
        if not (root / "results" / "results.json").is_file():
            raise GraderError("bench: the Gradescope dry run wrote no results.json")
        times.append(seconds)
    return times


def _nbgrader_rows(course: Course, exercises: list[str], work: Path, repeats: int, students: int, one: float,
                   per_submission: dict[int, float], add, progress,
                   light: tuple[list[str], float] | None = None) -> None:
    """nbgrader's autograde of the same reference notebooks, and each ratio: ``per_submission`` holds the grader's
    seconds per submission in the class, by ``--jobs`` (nbgrader grades one notebook at a time)."""
    binary = Path(sys.executable).with_name("nbgrader")
    if not binary.exists():
        add(Row("nbgrader autograde, same notebooks", [],
                note="nbgrader not installed: pip install -e '.[instructor]'"))
        return
    from .notebooks import write_course

    env = {"PATH": f"{binary.parent}{os.pathsep}{os.environ.get('PATH', '')}", "COURSE_PACK_ROOT": str(course.root)}

    def autograde(tag: str, copies: int, names: list[str] = exercises) -> float:
        """nbgrader's own commands: one ``autograde`` per exercise over ``copies`` submitted reference notebooks."""
        nb = work / f"nbgrader-{tag}"
        write_course(course, nb, only=",".join(names))
        for name in names:
            _timed([str(binary), "generate_assignment", name, "--force"], nb, env)
            for j in range(copies):
                target = nb / "submitted" / f"ref{j:03d}" / name
                target.mkdir(parents=True)
                shutil.copy(nb / "source" / name / f"{name}.ipynb", target)
        start = time.perf_counter()
        for name in names:
            _timed([str(binary), "autograde", name, "--create", "--force"], nb, env)
        seconds = time.perf_counter() - start
        shutil.rmtree(nb, ignore_errors=True)
        return seconds

    times, class_times = [], []
    for i in range(repeats):
        progress(f"bench: nbgrader autograde, one submission ({i + 1}/{repeats})")
        times.append(autograde(f"one-{i}", 1))
    add(Row("nbgrader autograde, same notebooks", times, note="one `autograde` per exercise"),
        Row("nbgrader / grader, one submission", [t / one for t in times], unit="x", note="higher: grader faster"))
    if light is not None:
        names, seconds = light
        shown = ", ".join(e.split("_")[0] for e in names)
        light_times = []
        for i in range(repeats):
            progress(f"bench: nbgrader autograde, one submission of {shown} ({i + 1}/{repeats})")
            light_times.append(autograde(f"light-{i}", 1, names))
        add(Row(f"nbgrader autograde, {shown} only", light_times, note="one `autograde` per exercise"),
            Row(f"nbgrader / grader, one submission of {shown}", [t / seconds for t in light_times], unit="x",
                note="grader: results stored"))
    for i in range(repeats):
        progress(f"bench: nbgrader autograde, {students} submissions ({i + 1}/{repeats})")
        class_times.append(autograde(f"class-{i}", students) / students)
    add(Row(f"nbgrader autograde, per submission of {students}", class_times, note="one `autograde` per exercise"),
        *(Row("nbgrader / grader, per submission in a class" + ("" if jobs == 1 else f", --jobs {jobs}"),
              [t / seconds for t in class_times], unit="x",
              note=f"grader: the class with --jobs {jobs}" + (" (one per core: the default here)"
                                                               if jobs == (os.cpu_count() or 1) else ""))
          for jobs, seconds in sorted(per_submission.items())))
