"""Grading a class: each student's files run in a sandboxed child; verdicts are made here.

The steps, each a small class: ``FindSubmissions`` lists the students, ``Preflight`` computes the
reference's expected values once (and refuses to grade when the reference fails its own rubric),
``GradeExercise`` (``grader/exercise_run.py``) runs one student's file in a ``Sandbox`` and judges what comes
back (a student's exercises in a pipeline, ``run_plan``), and ``save_student`` / ``gradebook_csv`` in ``reports``
write the results as each student finishes.
A re-run keeps each exercise whose result in ``record.json`` matches the files and the settings (``kept``),
so an interrupted run resumes and ``--only``/``--students`` grade part of a class again; the grader's own
failures are retried once and reported apart.
"""

from __future__ import annotations

import hashlib
import os
import queue
import sys
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path

import torch

import grader

from . import GraderError, compare, data, deadlines, fresh, rubric, shards
from .course import Course, location, views
from .escaping import terminal
from .exercise_run import SLOTS_PER_JOB, GradeExercise, Running, failed, grader_failure, settled
from .expected import Expectations
from .intake import FindSubmissions, Submission, file_hashes, select_students
from .kept import Plan, course_order, exercise_settings, merged, plan_class, provenance, run_settings
from .pages import class_report_html
from .preflight import Preflight, Store, pack_key
from .reports import ExerciseResult, StudentResult, atomic_write, class_table, gradebook_csv, save_student
from .rubric import Exercise
from .sandbox import (TEMP_PREFIX, GiB, Limits, allow_children, detect, remove_tree, run_line, start_view, start_warm,
                      stop_all, stop_warm_and_view, sweep_stale, view_ready)


class Progress:
    """A bar with counts and ETA on a terminal (tqdm); one plain line per student in a log, or on a terminal too
    narrow for a bar (``MIN_BAR_COLUMNS``), such as one that reports a size of 0x0 (some CI runners and ssh
    sessions), where the bar would print nothing."""

    MIN_BAR_COLUMNS = 40

    def __init__(self, total: int):
        self.total, self.done = total, 0
        self.bar = None
        if total and self._bar_fits(sys.stderr):
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="student", file=sys.stderr, dynamic_ncols=True)

    @classmethod
    def _bar_fits(cls, stream) -> bool:
        try:
            return stream.isatty() and os.get_terminal_size(stream.fileno()).columns >= cls.MIN_BAR_COLUMNS
        except (OSError, ValueError, AttributeError):  # no file descriptor, or not a terminal after all
            return False

    def update(self, result: StudentResult) -> None:
        self.done += 1
        line = f"{terminal(result.student)}: {result.points:g} / {result.max_points:g} ({result.seconds:.1f} s)"
        if self.bar is not None:
            self.bar.set_postfix_str(line[:60])
            self.bar.update(1)
        else:
            width = len(str(self.total))
            print(f"[{self.done:>{width}}/{self.total}] {line}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


REASONS = ("import_error", "timeout", "memory", "crashed", "tamper", "missing", "refused", "grader_failure")


def summary(results: list[StudentResult], kept: int, seconds: float) -> str:
    counts = {r: 0 for r in ("graded", *REASONS)}
    for r in results:
        for e in r.exercises:
            counts[e.status] = counts.get(e.status, 0) + 1
    full = sum(1 for r in results if r.max_points and r.points == r.max_points)
    stopped = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in counts.items() if n and reason != "graded")
    return (f"{len(results)} student(s) in {seconds:.1f} s ({kept} kept from an earlier run), {full} with full marks; "
            f"exercises: {counts['graded']} graded" + (f", {stopped}" if stopped else ""))


def _resolve_jobs(jobs: int | None, device: str) -> int:
    if jobs is None:
        jobs = 1 if device == "cuda" else (os.cpu_count() or 1)
    if jobs < 1:
        raise GraderError(f"--jobs {jobs}: give at least 1")
    return jobs


def grade_class(course: Course, submissions: Path, out: Path, device: str = "cpu", only: str | None = None,
                jobs: int | None = None, time_limit: float | None = None, force: bool = False,
                memory_limit: float | None = None, shard: str | None = None, students: str | None = None,
                deadline: str | None = None, late_policy: str | None = None, timestamps: Path | None = None) -> int:
    """Grade the class; write results as they finish; print the class table. Returns the exit status.

    An exercise whose earlier result in ``out`` (``record.json``) was graded from the same files, grader, rubric,
    device and limits is kept as it is (``force`` grades the selected ones again). ``only`` and ``students``
    select what is graded; every other exercise and student keeps its earlier result, and the gradebook lists
    them all. With ``shard`` ("I/N") only the students of that shard are graded (``grader merge`` puts the
    shards together). With ``deadline``, each student's submission time (``timestamps``, or the files nbgrader
    and Gradescope leave in their folder) is judged by ``late_policy``: the reports show the penalty beside
    the raw points, which it never changes, and nobody is graded again for it.
    """
    if device == "cuda" and not torch.cuda.is_available():
        raise GraderError("--device cuda: no CUDA device is available here")
    exercises = rubric.select(only)
    rules = deadlines.Rules.from_options(deadline, late_policy, timestamps)
    # each student's files are read for every exercise, whatever is selected: what is hashed is then the same for
    # every selection, and every file that can enter an exercise's sandbox is in the hashes that decide its keeping
    found = FindSubmissions(submissions, out, rubric.exercise_names())()
    chosen = select_students(found, students, submissions) if students is not None else None
    part = shards.parse(shard) if shard else None
    klass = [s for s in found if not part or shards.owner(s.student, part[1]) == part[0]]
    jobs = _resolve_jobs(jobs, device)
    if time_limit is not None and time_limit <= 0:
        raise GraderError(f"--time-limit {time_limit:g}: give a positive number of seconds")
    if memory_limit is not None and memory_limit <= 0:
        raise GraderError(f"--memory-limit {memory_limit:g}: give a positive number of GiB")
    threads = max(1, (os.cpu_count() or 1) // jobs)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GraderError(f"cannot create --out {out}: {exc}") from None
    isolation = detect()
    print(f"sandbox: {isolation.describe()}", file=sys.stderr)
    print(f"sandbox: {run_line(isolation)}", file=sys.stderr)  # the run's own processes and folders
    for layer in isolation.missing(device):
        print(f"note: grading without {layer}", file=sys.stderr)

    started = time.monotonic()
    fresh.set_seed(fresh.secret_seed(course.reference))  # inputs drawn for this run, out of every child's reach

    def limits_of(exercise: Exercise) -> Limits:
        return Limits(wall_seconds=time_limit or exercise.time_limit, threads=threads,
                      **({"memory_bytes": int(memory_limit * GiB)} if memory_limit else {}))

    limits = {e.name: limits_of(e) for e in exercises}
    names = [e.name for e in exercises]
    common = {"grader_version": grader.__version__, "device": device, "data_split_seed": data.SPLIT_SEED,
              "sandbox": isolation.describe(),
              "fresh_inputs": hashlib.sha256(f"fresh {fresh.seed()}".encode()).hexdigest()[:16]}
    wanted = {e.name: exercise_settings(course, e, common, limits[e.name]) for e in exercises}
    earlier = plan_class(klass, exercises, wanted, out, chosen, force, only)
    results, plans, unlisted = earlier.results, earlier.plans, earlier.unlisted  # results: finished students
    listed = [s for s in klass if s.student not in unlisted]
    lates = rules.for_class(listed, lambda line: print(f"late: {line}", file=sys.stderr)) if rules else {}
    needed = [e for e in exercises if e.name in earlier.names()]

    graders: dict[str, GradeExercise] = {}
    expected: dict[str, Future] = {}
    timing = {"preflight": 0.0}  # seconds per phase, kept in run.json for `grader bench`
    checking = ThreadPoolExecutor(max_workers=1, thread_name_prefix="preflight")
    # ends and judges children: two per job, so that a slow judge does not keep the next child's end waiting
    finishing = ThreadPoolExecutor(max_workers=2 * jobs, thread_name_prefix="judge")
    stopping = threading.Event()
    sweep_stale()  # what a killed earlier run could not remove
    allow_children()
    scratch = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-run-"))
    try:
        if plans:
            start_view(views(course))  # built beside the zygote's imports and the preflight; the first child waits
            if device == "cpu" and start_warm():  # it imports torch while the reference is checked
                print("sandbox: warm workers (a zygote that has imported torch forks each child)", file=sys.stderr)
            store = Store.opened(location(course))  # made before any child starts, so each one's jail hides it
            print(f"checking the reference on {device} for {', '.join(e.name for e in needed)} ...", file=sys.stderr)
            preflight = Preflight(course, device, store)

            def checked(exercise: Exercise) -> Expectations:
                begin = time.monotonic()
                try:
                    return preflight(exercise)
                finally:
                    timing["preflight"] += time.monotonic() - begin

            # the reference is checked in a thread of its own while the first children run, after the judges' warm-up
            checking.submit(compare.warm)
            expected = {e.name: checking.submit(checked, e) for e in needed}
            pack = scratch / "data.safetensors"
            store.write_pack(pack, pack_key(course))  # stored beside the reference's results, like them by key
            pack.chmod(0o644)
            scratch.chmod(0o755)
            hide = [course.reference, submissions, out, *([store.root] if store.root else [])]
            slots: queue.Queue = queue.Queue()  # uids: each job's running child, the next one held, the last one ending
            for slot in range(SLOTS_PER_JOB * jobs):
                slots.put(slot)
            graders = {e.name: GradeExercise(e, expected[e.name], device, limits[e.name], hide, pack, slots)
                       for e in needed}

        def reference_failed() -> bool:
            return any(f.done() and not f.cancelled() and f.exception() is not None for f in expected.values())

        def again(g: GradeExercise, submission: Submission, first: Future) -> ExerciseResult:
            """An exercise's result; a grader failure (an exception escaping included) is tried once more, alone."""
            try:
                result = first.result()
            except Exception as exc:
                if reference_failed():  # nobody is graded against a reference that fails its checks
                    raise
                result = grader_failure(g.exercise, exc)
            if result.status == "grader_failure" and not stopping.is_set():
                try:
                    result = g(submission)
                except Exception as exc:
                    if reference_failed():
                        raise
                    result = grader_failure(g.exercise, exc)
            return result

        def run_plan(plan: Plan) -> list[ExerciseResult]:
            """The plan's exercises in order. While one child runs the next is started and held at its gate (its
            fork, jail and imports out of the way), and each child is ended and judged in the background while the
            next one runs: a submission costs its checks and little more."""
            submission, todo = plan.submission, plan.todo
            results: list[tuple[GradeExercise, Future]] = []
            ahead = None
            try:
                for i, exercise in enumerate(todo):
                    if stopping.is_set():
                        raise KeyboardInterrupt
                    g = graders[exercise.name]
                    current, ahead = ahead, None
                    try:
                        current = current or g.start(submission)
                    except Exception as exc:
                        results.append((g, failed(exc)))
                        continue
                    if isinstance(current, ExerciseResult):
                        results.append((g, settled(current)))
                        continue
                    try:
                        current.go()
                        if i + 1 < len(todo):
                            try:
                                ahead = graders[todo[i + 1].name].start(submission, wait=False)
                            except Exception:  # told when that exercise starts again, at its turn
                                ahead = None
                        current.until_done()
                    finally:
                        results.append((g, finishing.submit(current.finish)))
            finally:
                if isinstance(ahead, Running):
                    ahead.abandon()
            return [again(g, submission, future) for g, future in results]

        def finish(plan: Plan, done: list[ExerciseResult], begin: float) -> StudentResult:
            result = StudentResult(plan.submission.student, merged(plan.kept, done), device=device,
                                   grader_version=grader.__version__, late=lates.get(plan.submission.student))
            result.seconds = time.monotonic() - begin + sum(e.seconds for e in plan.kept.values())
            return result

        def grade(plan: Plan) -> StudentResult:
            begin = time.monotonic()
            submission = plan.submission
            try:
                hashes = file_hashes(submission)
                done = run_plan(plan)
                if stopping.is_set():  # children killed by the interruption: these verdicts are not the student's
                    raise KeyboardInterrupt
                for future in expected.values():  # no record is saved unless the whole reference passed its checks
                    future.result()
                for r in done:  # a grader failure is not kept: a re-run grades it again
                    r.provenance = {} if r.status == "grader_failure" else provenance(wanted[r.exercise], hashes)
                result = finish(plan, done, begin)
                save_student(out, result)
                return result
            except Exception as exc:  # a fault of the grader's for this student: the rest of the class goes on
                if reference_failed():
                    raise
                result = finish(plan, [grader_failure(e, exc) for e in plan.todo], begin)
                try:
                    save_student(out, result)
                except Exception:  # its feedback cannot be written either; the gradebook still lists it
                    pass
                return result

        if plans:
            if isolation.namespaces and not view_ready():
                print("note: grading without a data-free view: children see the data files of installed "
                      "packages (this kernel refused the overlay or its whiteouts)", file=sys.stderr)
            print(f"grading {len(plans)} student(s) with {jobs} job(s) ...", file=sys.stderr)
        grading_started = time.monotonic()
        progress = Progress(len(plans))
        pool = ThreadPoolExecutor(max_workers=jobs)
        futures = [pool.submit(grade, plan) for plan in plans]
        try:
            for future in as_completed(futures):
                r = future.result()
                results[r.student] = r
                progress.update(r)
        except KeyboardInterrupt:
            stopping.set()
            stop_all()
            progress.close()
            print(f"interrupted: {len(results)} student(s) are finished in {out}; run the same command again to "
                  "grade the rest", file=sys.stderr)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            progress.close()
    except KeyboardInterrupt:  # before the class started too (the preflight may be running): stop its children
        stopping.set()
        stop_all()
        raise
    finally:
        checking.shutdown(wait=True, cancel_futures=True)
        finishing.shutdown(wait=True)
        stop_warm_and_view()
        remove_tree(scratch)
    timing["grading"] = time.monotonic() - grading_started
    reporting_started = time.monotonic()
    ordered = [results[s.student] for s in listed]
    graded_now = {p.submission.student for p in plans}
    for r in ordered:
        if r.student not in graded_now and r.late != lates.get(r.student):  # kept, under another deadline (or
            r.late = lates.get(r.student)                                    # none): its reports say so now
            save_student(out, r)
    columns = course_order({e.exercise for r in ordered for e in r.exercises} | set(names))
    atomic_write(out / "grades.csv", gradebook_csv(ordered, columns))
    atomic_write(out / "report.html", class_report_html(ordered, columns, time.monotonic() - started))
    timing["reporting"] = time.monotonic() - reporting_started
    per_exercise = {**{e.name: exercise_settings(course, e, common, limits_of(e))
                       for e in (rubric.load(n) for n in columns if n in rubric.exercise_names() and n not in wanted)},
                    **wanted}
    shards.write_run(out, run_settings(common, per_exercise, columns), part, [r.student for r in ordered], timing,
                     late={"deadline": rules.deadline_text, "policy": rules.policy.text} if rules else None)
    print(class_table(ordered, columns))
    failures = [(r.student, e.exercise) for r in ordered for e in r.exercises if e.status == "grader_failure"]
    print(f"graded {summary(ordered, len(ordered) - len(plans), time.monotonic() - started)}; results in {out}",
          file=sys.stderr)
    if failures:
        print(f"grader: error: the grader failed for {', '.join(f'{terminal(s)}/{e}' for s, e in failures)} "
              "(tried twice): see their feedback.md and re-run", file=sys.stderr)
        return 1
    return 0
