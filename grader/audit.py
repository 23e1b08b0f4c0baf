"""``grader audit``: mutation testing of the rubric: mutants of the reference graded as a class, then sorted.

Each mutant (``grader/mutants.py``) becomes a student folder of a class of its own, ``OUT/mutants/``,
and the class is graded once by ``grader grade`` in a child process, into ``OUT/graded/``: the same
intake, sandbox, zygote, preflight, checks (visible and hidden), limits and ``--jobs`` as any class. The
mutants are graded in a seeded random order, interleaved across exercises, so a budget that runs out
leaves a random sample of each exercise graded; when it runs out the child is stopped as Ctrl-C stops
it (the mutants in flight are stopped too) and the rest are reported as not run. Running the same
command again keeps what was graded (``grader grade`` resumes) and grades the rest. Each graded mutant
is then sorted from its record: killed (it lost points), timed out, an error of the grader's own, or
survived (full marks); survivors are probed for equivalence (``grader/equivalence.py``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from . import GraderError, fresh, rubric
from .course import Course
from .mutants import NO_MUTATE, Mutant, free_lines, in_order, mutants_of
from .operators import KINDS, NEVER_EQUIVALENT
from .reports import RECORD, load_record
from .rubric import Exercise

STATUSES = ("killed", "survived", "equivalent", "timed_out", "error", "not_run")
CLASS, GRADED, PROBES = "mutants", "graded", "equivalence"
FOLDER = re.compile(r"^\d{4}-ex\d\d-\d{3}$")
STOP_GRACE = 120  # seconds a stopped grading run gets to finish writing before it is terminated
UNEXERCISED = ("its outputs equal the reference's at every probe input, but a change of this kind ({kind}) shows "
               "at inputs no check tries: another value of the parameter, or another device")


@dataclass
class Verdict:
    """What became of one mutant: its status, its points, the checks it failed and passed, and why."""

    mutant: Mutant
    rank: int  # its place in its exercise's seeded order
    status: str = "not_run"
    points: float = 0.0
    max_points: float = 0.0
    message: str = ""  # the grading's message (a timeout, an error), the first failure, or why it was not run
    failed: list[str] = field(default_factory=list)
    passed: list[dict] = field(default_factory=list)
    difference: str | None = None  # a survivor: where its outputs first differ from the reference's
    seconds: float = 0.0

    @property
    def folder(self) -> str:
        return f"{self.rank:04d}-{self.mutant.id}"


@dataclass
class Audit:
    """One audit: the exercises, every mutant's verdict, the references' text, the settings and notes."""

    exercises: list[Exercise]
    verdicts: list[Verdict]
    references: dict[str, str]
    settings: dict
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    def of(self, exercise: str) -> list[Verdict]:
        return [v for v in self.verdicts if v.mutant.exercise == exercise]


def select(course: Course, exercises: list[Exercise], seed: int, sample: int | None) -> list[Verdict]:
    """Every exercise's mutants in its seeded order (the first ``sample`` of each), interleaved by rank."""
    if sample is not None and sample < 1:
        raise GraderError(f"--sample {sample}: give at least 1")
    chosen = []
    for exercise in exercises:
        path = course.reference / f"{exercise.name}.py"
        if not path.is_file():
            raise GraderError(f"{path} is missing (the rubric grader/rubrics/{exercise.name}.py needs it)")
        ordered = in_order(mutants_of(path), seed)
        chosen += [Verdict(m, rank) for rank, m in enumerate(ordered[:sample] if sample is not None else ordered)]
    return sorted(chosen, key=lambda v: v.folder)


def write_class(folder: Path, verdicts: list[Verdict]) -> None:
    """One student folder per mutant, holding the mutated exercise file; folders of earlier audits go."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {v.folder: v for v in verdicts}
    strays = [p.name for p in folder.iterdir() if not FOLDER.match(p.name)]
    if strays:
        raise GraderError(f"{folder} holds {', '.join(sorted(strays)[:5])}, which `grader audit` did not write: "
                          "choose another --out")
    for old in folder.iterdir():
        if old.name not in wanted:
            shutil.rmtree(old)
    for name, verdict in wanted.items():
        path = folder / name / f"{verdict.mutant.exercise}.py"
        path.parent.mkdir(exist_ok=True)
        if not path.is_file() or path.read_text() != verdict.mutant.text:
            path.write_text(verdict.mutant.text)


class ChildRun:
    """A command in a child process, its stderr passed through (the last lines kept); stopped as Ctrl-C
    stops it (SIGINT, then SIGTERM, then SIGKILL) when ``deadline`` (a ``time.monotonic()``) passes."""

    def __init__(self, argv: list[str], deadline: float | None, env: dict | None = None):
        self.argv, self.deadline, self.env = argv, deadline, env
        self.tail: deque[str] = deque(maxlen=40)
        self.stopped = False

    def __call__(self) -> int:
        child = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=self.env,
                                 text=True, errors="replace")
        pump = threading.Thread(target=self._pump, args=(child,), daemon=True)
        pump.start()
        try:
            left = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
            child.wait(timeout=left)
        except subprocess.TimeoutExpired:
            self.stopped = True
            self.stop(child)
        except KeyboardInterrupt:  # a terminal's Ctrl-C reached the child too; give it time to save its work
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.stop(child)
            raise
        finally:
            pump.join(timeout=10)
        return child.returncode

    def _pump(self, child: subprocess.Popen) -> None:
        for line in child.stderr:
            self.tail.append(line)
            sys.stderr.write(line)
            sys.stderr.flush()

    @staticmethod
    def stop(child: subprocess.Popen) -> None:
        for sig, grace in ((signal.SIGINT, STOP_GRACE), (signal.SIGTERM, 30), (signal.SIGKILL, None)):
            if child.poll() is not None:
                return
            child.send_signal(sig)
            try:
                child.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue


def grade_mutants(course: Course, out: Path, verdicts: list[Verdict], exercises: list[Exercise], jobs: int | None,
                  device: str, deadline: float | None) -> ChildRun:
    """``grader grade OUT/mutants --out OUT/graded`` in a child process, until done or ``deadline``."""
    names = sorted({v.mutant.exercise for v in verdicts})
    argv = [sys.executable, "-m", "grader.cli", "--course", str(course.root), "grade", str(out / CLASS),
            "--out", str(out / GRADED), "--only", ",".join(names), "--device", device]
    if jobs is not None:
        argv += ["--jobs", str(jobs)]
    run = ChildRun(argv, deadline)
    code = run()
    if not run.stopped and code not in (0, 1, 130):  # 1: grader failures, kept per mutant in its record
        raise GraderError(f"grading the mutants failed (exit status {code}):\n" + "".join(run.tail).strip())
    return run


def sort_graded(verdict: Verdict, graded: Path) -> None:
    """Killed, survived, timed out or error, from the mutant's ``record.json``; not run without one."""
    record = load_record(graded / verdict.folder / RECORD)
    result = None if record is None else next((e for e in record.exercises if e.exercise == verdict.mutant.exercise),
                                              None)
    if result is None:
        verdict.status, verdict.message = "not_run", verdict.message or "not graded"
        return
    verdict.points, verdict.max_points, verdict.seconds = result.points, result.max_points, result.seconds
    verdict.failed = [c.check for c in result.checks if not c.passed]
    verdict.passed = [{"id": c.check, "target": c.target, "description": c.description, "hidden": c.hidden,
                       "points": c.max_points} for c in result.checks if c.passed]
    first = next((f"{c.check}: {c.message}" for c in result.checks if not c.passed and c.message), "")
    verdict.message = " ".join((result.message or first).split())[:300]
    if result.status in ("grader_failure", "missing", "refused"):
        verdict.status = "error"
    elif result.status == "timeout":
        verdict.status = "timed_out"
    elif result.points < result.max_points:
        verdict.status = "killed"
    else:
        verdict.status = "survived"


def probe_survivors(course: Course, out: Path, exercise: Exercise, survivors: list[Verdict], device: str) -> str:
    """Run ``grader.equivalence`` on one exercise's survivors; mark the equal ones equivalent. Returns a note."""
    folder = out / PROBES
    folder.mkdir(exist_ok=True)
    results, log = folder / f"{exercise.name}.jsonl", folder / f"{exercise.name}.log"
    results.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "grader.equivalence", "--exercise", exercise.name, "--reference",
            str(course.reference / f"{exercise.name}.py"), "--device", device, "--results", str(results),
            *[f"{v.mutant.id}={out / CLASS / v.folder / (exercise.name + '.py')}" for v in survivors]]
    env = {**os.environ, fresh.SEED_ENV: str(fresh.secret_seed(course.reference))}  # the grading run's fresh inputs
    limit = exercise.time_limit * (2 + len(survivors))
    with open(log, "w", encoding="utf-8") as sink:
        try:
            code = subprocess.run(argv, stdout=sink, stderr=subprocess.STDOUT, env=env, timeout=limit).returncode
            why = f"the probe stopped (exit status {code}; see {log})" if code else ""
        except subprocess.TimeoutExpired:
            why = f"the probe ran past its {limit:g} s (see {log})"
    entries = []
    if results.is_file():
        for line in results.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
    reference = next((e for e in entries if "reference" in e), None)
    decided = {e["id"]: e for e in entries if "id" in e}
    unstable = reference is not None and reference.get("reference") != "stable"
    for verdict in survivors:
        entry = decided.get(verdict.mutant.id)
        if unstable:
            verdict.difference = f"not decided: {reference.get('difference')}"
        elif entry is None:
            verdict.difference = f"not decided: {why or 'the probe did not reach it'}"
        elif not entry.get("equal"):
            verdict.difference = str(entry.get("difference"))
        elif verdict.mutant.kind in NEVER_EQUIVALENT:
            verdict.difference = UNEXERCISED.format(kind=verdict.mutant.kind)
        else:
            verdict.status, verdict.difference = "equivalent", None
    if unstable:
        return f"{exercise.name}: no mutant called equivalent: {reference.get('difference')}"
    return f"{exercise.name}: {why}" if why and len(decided) < len(survivors) else ""


def run_audit(course: Course, out: Path, only: str | None = None, budget: float | None = None,
              jobs: int | None = None, seed: int = 0, sample: int | None = None, device: str = "cpu",
              verdicts: list[Verdict] | None = None) -> Audit:
    """Generate (or take ``verdicts``), grade within ``budget`` minutes, sort and probe the mutants."""
    started = time.monotonic()
    if budget is not None and budget <= 0:
        raise GraderError(f"--budget {budget:g}: give a positive number of minutes")
    if jobs is not None and jobs < 1:
        raise GraderError(f"--jobs {jobs}: give at least 1")
    exercises = rubric.select(only)
    if verdicts is None:
        verdicts = select(course, exercises, seed, sample)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    write_class(out / CLASS, verdicts)
    settings = {"only": only, "budget_minutes": budget, "jobs": jobs, "seed": seed, "sample": sample, "device": device,
                "kinds": KINDS}
    audit = Audit(exercises, verdicts, {e.name: (course.reference / f"{e.name}.py").read_text() for e in exercises},
                  settings)
    for name, text in audit.references.items():
        free = free_lines(text)
        if free:
            audit.notes.append(f"{name}: line(s) {', '.join(map(str, free))} marked `{NO_MUTATE}` (free choices) "
                               "were not mutated")
    print(f"audit: {len(verdicts)} mutant(s) of {', '.join(e.name for e in exercises)} "
          f"(seed {seed}{f', sample {sample} per exercise' if sample else ''}"
          f"{f', budget {budget:g} min' if budget else ''}), graded into {out / GRADED}", file=sys.stderr)
    deadline = None if budget is None else started + budget * 60
    try:
        run = grade_mutants(course, out, verdicts, exercises, jobs, device, deadline) if verdicts else None
    except KeyboardInterrupt:
        run, audit.interrupted = None, True
        audit.notes.append("interrupted: the mutants graded so far are sorted below; run the same command again to "
                           "grade the rest")
    if run is not None and run.stopped:
        audit.notes.append(f"the budget of {budget:g} min was spent: the mutants not run were not started or were "
                           "stopped; run the same command again to grade them (the graded ones are kept)")
    for verdict in verdicts:
        verdict.message = "the budget was spent before it finished" if run is not None and run.stopped else ""
        sort_graded(verdict, out / GRADED)
    if not audit.interrupted:
        for exercise in exercises:
            survivors = [v for v in audit.of(exercise.name) if v.status == "survived"]
            if survivors:
                print(f"audit: probing {len(survivors)} survivor(s) of {exercise.name} for equivalence ...",
                      file=sys.stderr)
                note = probe_survivors(course, out, exercise, survivors, device)
                if note:
                    audit.notes.append(note)
    audit.seconds = time.monotonic() - started
    return audit
