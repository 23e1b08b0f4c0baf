"""Grading a class: each student's files run in a sandboxed child; verdicts are made here.

The steps, each a small class: ``FindSubmissions`` lists the students, ``Preflight`` computes the
reference's expected values once (and refuses to grade when the reference fails its own rubric),
``GradeExercise`` runs one student's file in a ``Sandbox`` and judges what comes back, and
``save_student`` / ``gradebook_csv`` in ``reports`` write the results as each student finishes.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import torch

import grader

from . import GraderError, calibration, rubric
from .checks import CheckResult, judge_check
from .course import Course
from .expected import Expectations
from .payload import PayloadError, read_outcomes
from .probes import run_check
from .reports import (ExerciseResult, StudentResult, atomic_write, class_table, gradebook_csv, save_student)
from .rubric import Check, Exercise
from .sandbox import Limits, Sandbox, missing_layers, stop_all

@dataclass
class Submission:
    student: str
    folder: Path

    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.glob("*.py") if p.is_file())

    def file(self, exercise: str) -> Path | None:
        path = self.folder / f"{exercise}.py"
        return path if path.is_file() else None


class FindSubmissions:
    """One folder per student inside ``SUBMISSIONS``; hidden folders and caches are not students."""

    def __init__(self, folder: Path, out: Path):
        self.folder, self.out = folder.resolve(), out.resolve()

    def __call__(self) -> list[Submission]:
        if not self.folder.is_dir():
            raise GraderError(f"{self.folder} is not a folder of submissions")
        if self.out == self.folder or self.folder in self.out.parents:
            raise GraderError(f"--out {self.out} is inside the submissions folder {self.folder}: "
                              "the next run would grade it as a student; choose another folder")
        students = [Submission(p.name, p) for p in sorted(self.folder.iterdir())
                    if p.is_dir() and not p.name.startswith((".", "_"))]
        if not students:
            loose = [p.name for p in self.folder.glob("ex*.py")]
            hint = f" (it holds {', '.join(loose)} directly: put each student's files in a folder of their own)" \
                if loose else ""
            raise GraderError(f"{self.folder} holds no student folders{hint}")
        return students


class Preflight:
    """The reference's expected values for every check, computed once; the reference must earn full marks.

    A training check is not re-run when the committed calibration shows this very reference file
    passing it on this device over several seeds (``grader calibrate``).
    """

    def __init__(self, course: Course, device: str):
        self.course, self.device = course, device

    def __call__(self, exercise: Exercise) -> Expectations:
        reference = self.course.reference_module(exercise.name)
        expectations = Expectations(exercise, self.device, reference=reference)
        for check in exercise.selected(hidden=True):
            if calibration.proven(exercise, check, Path(reference.__file__), self.device):
                continue
            expected = expectations.for_check(check)
            if not check.judge.needs_reference:
                result = judge_check(exercise.name, check, run_check(check, reference, self.device), expected, self.device)
                if not result.passed:
                    raise GraderError(f"the reference fails its own check {exercise.name}::{check.id}: "
                                      f"{result.message}\nFix reference/ or the rubric before grading.")
        return expectations


def _all(checks: list[Check], exercise: Exercise, status: str, message: str) -> list[CheckResult]:
    return [CheckResult(exercise.name, c.id, c.target, c.description, c.points, c.hidden, status, message)
            for c in checks]


def _int_file(path: Path) -> int | None:
    try:
        text = path.read_text()[:12]
        return int(text) if text.isdigit() else None
    except OSError:
        return None


class GradeExercise:
    """Run one student's file for one exercise in a sandboxed child, then judge its outcomes here."""

    def __init__(self, exercise: Exercise, expectations: Expectations, device: str, threads: int,
                 time_limit: float | None = None):
        self.exercise, self.expectations, self.device = exercise, expectations, device
        self.checks = exercise.selected(hidden=True)
        self.limits = Limits(wall_seconds=time_limit or exercise.time_limit, threads=threads)

    def __call__(self, submission: Submission) -> ExerciseResult:
        name = self.exercise.name
        path = submission.file(name)
        if path is None:
            return self._result("missing", f"{name}.py was not submitted")
        start = time.monotonic()
        with Sandbox(submission.files(), f"{submission.student}-{self.exercise.key}") as box:
            run = box.run_python(["grader.worker", "--exercise", name, "--file", str(box.work / path.name),
                                  "--out", str(box.out), "--device", self.device, "--hidden"], self.limits)
            if not (box.out / "importing").exists():
                return self._result("grader_failure", "the grader's child process failed before running your code "
                                    "(not your fault; the instructor has been told)", run.output)
            if (box.out / "import_error.json").exists():
                return self._result("import_error", self._import_error(box.out / "import_error.json"), run.output)
            checks, status, message = self._judge(box.out, run)
        return ExerciseResult(name, self.exercise.title, status, message, checks, run.output, time.monotonic() - start)

    def _result(self, status: str, message: str, output: str = "") -> ExerciseResult:
        return ExerciseResult(self.exercise.name, self.exercise.title, status, message,
                              _all(self.checks, self.exercise, "error", message), output)

    @staticmethod
    def _import_error(path: Path) -> str:
        try:
            message = json.loads(path.read_bytes()[:20_000])["message"]
            return str(message)[:4000]
        except (OSError, ValueError, KeyError, TypeError):
            return "the file does not import"

    def _judge(self, out: Path, run) -> tuple[list[CheckResult], str, str]:
        finished = (out / "done").exists()
        running = _int_file(out / "current")
        if finished:
            status, message = "graded", ""
        elif run.timed_out:
            status, message = "timeout", f"stopped after the time limit of {self.limits.wall_seconds:g} s"
        else:
            code = run.returncode
            how = f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
            status, message = "crashed", f"the process running your code stopped ({how})"
        results = []
        for index, check in enumerate(self.checks):
            path = out / f"{index:03d}.safetensors"
            if path.exists():
                try:
                    outcomes = read_outcomes(path, len(check.cases), self.limits.payload_bytes)
                except PayloadError as exc:
                    results += _all([check], self.exercise, "error", f"unusable results ({exc})")
                    continue
                results.append(judge_check(self.exercise.name, check, outcomes,
                                           self.expectations.for_check(check), self.device))
            elif index == running:
                results += _all([check], self.exercise, "error", f"{message} while running this check")
            else:
                results += _all([check], self.exercise, "error", f"not run: {message}")
        return results, status, message


def _resolve_jobs(jobs: int | None, device: str) -> int:
    if jobs is None:
        jobs = 1 if device == "cuda" else (os.cpu_count() or 1)
    if jobs < 1:
        raise GraderError(f"--jobs {jobs}: give at least 1")
    return jobs


def grade_class(course: Course, submissions: Path, out: Path, device: str = "cpu", only: str | None = None,
                jobs: int | None = None, time_limit: float | None = None) -> int:
    """Grade every student; write results as they finish; print the class table. Returns the exit status."""
    if device == "cuda" and not torch.cuda.is_available():
        raise GraderError("--device cuda: no CUDA device is available here")
    try:
        exercises = rubric.select(only)
    except KeyError as exc:
        raise GraderError(f"--only {only}: {exc.args[0]}") from None
    students = FindSubmissions(submissions, out)()
    jobs = _resolve_jobs(jobs, device)
    if time_limit is not None and time_limit <= 0:
        raise GraderError(f"--time-limit {time_limit:g}: give a positive number of seconds")
    threads = max(1, (os.cpu_count() or 1) // jobs)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GraderError(f"cannot create --out {out}: {exc}") from None
    for layer in missing_layers():
        print(f"note: grading without {layer}", file=sys.stderr)

    started = time.monotonic()
    print(f"checking the reference on {device} for {', '.join(e.name for e in exercises)} ...", file=sys.stderr)
    preflight = Preflight(course, device)
    graders = [GradeExercise(e, preflight(e), device, threads, time_limit) for e in exercises]
    names = [e.name for e in exercises]

    stopping = threading.Event()

    def grade(submission: Submission) -> StudentResult:
        begin = time.monotonic()
        exercises_done = []
        for g in graders:
            if stopping.is_set():
                raise KeyboardInterrupt
            exercises_done.append(g(submission))
        if stopping.is_set():  # children killed by the interruption: these verdicts are not the student's
            raise KeyboardInterrupt
        result = StudentResult(submission.student, exercises_done, device=device, grader_version=grader.__version__)
        result.seconds = time.monotonic() - begin
        save_student(out, result)
        return result

    results: dict[str, StudentResult] = {}
    width = len(str(len(students)))
    print(f"grading {len(students)} student(s) with {jobs} job(s) ...", file=sys.stderr)
    pool = ThreadPoolExecutor(max_workers=jobs)
    futures = [pool.submit(grade, s) for s in students]
    try:
        for done, future in enumerate(as_completed(futures), 1):
            r = future.result()
            results[r.student] = r
            print(f"[{done:>{width}}/{len(students)}] {r.student}: {r.points:g} / {r.max_points:g} "
                  f"({r.seconds:.1f} s)", file=sys.stderr)
    except KeyboardInterrupt:
        stopping.set()
        stop_all()
        print(f"interrupted: the feedback of the {len(results)} student(s) graded so far is in {out}; "
              "grades.csv was not written", file=sys.stderr)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    ordered = [results[s.student] for s in students]
    atomic_write(out / "grades.csv", gradebook_csv(ordered, names))
    print(class_table(ordered, names))
    failures = [(r.student, e.exercise) for r in ordered for e in r.exercises if e.status == "grader_failure"]
    print(f"graded {len(ordered)} student(s) in {time.monotonic() - started:.1f} s; results in {out}", file=sys.stderr)
    if failures:
        print(f"grader: error: the grader failed for {', '.join(f'{s}/{e}' for s, e in failures)}: "
              "see their feedback.md and re-run", file=sys.stderr)
        return 1
    return 0
