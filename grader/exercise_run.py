"""One student's exercise: its child started in a sandbox and held at its gate, let go, ended, and its results judged.

``GradeExercise`` does it at once (``__call__``) or in steps (``start``, then ``Running.go``,
``until_done`` and ``finish``), so that the class grader (``grader/grading.py``) starts a
student's next exercise while one runs and judges each in the background while the next runs.
"""

from __future__ import annotations

import json
import queue
import signal
import time
from concurrent.futures import Future
from pathlib import Path

from .checks import CheckResult, judge_check
from .intake import Submission
from .payload import PayloadError, read_outcomes
from .reports import ExerciseResult
from .rubric import Check, Exercise
from .sandbox import GiB, Limits, Sandbox, Started, python


def _all(checks: list[Check], exercise: Exercise, status: str, message: str) -> list[CheckResult]:
    return [CheckResult(exercise.name, c.id, c.target, c.description, c.points, c.hidden, status, message)
            for c in checks]


def grader_failure(exercise: Exercise, exc: BaseException) -> ExerciseResult:
    """An exercise the grader could not grade because of a fault of its own (``exc``): no points, and why."""
    message = (f"the grader failed on this exercise ({type(exc).__name__}: {str(exc)[:300]}); not your fault, "
               "the instructor has been told")
    return ExerciseResult(exercise.name, exercise.title, "grader_failure", message,
                          _all(exercise.selected(hidden=True), exercise, "error", message))


def _noted(result: ExerciseResult, notes: list[str]) -> ExerciseResult:
    """What the intake left out of the sandbox (helper files), said where an import or a check failed."""
    if not notes:
        return result
    note = "Note: " + "; ".join(notes) + "."
    if result.status != "graded":
        result.message = f"{result.message}\n{note}" if result.message else note
    for check in result.checks:
        if not check.passed:
            check.message = f"{check.message}\n{note}" if check.message else note
    return result


class GradeExercise:
    """Run one student's file for one exercise in a sandboxed child, then judge its outcomes here."""

    def __init__(self, exercise: Exercise, expectations: Future, device: str, limits: Limits,
                 hide: list[Path], data_pack: Path | None, slots: queue.Queue):
        """``expectations`` is the preflight's future ``Expectations``: children start before it is done."""
        self.exercise, self.expectations, self.device = exercise, expectations, device
        self.checks = exercise.selected(hidden=True)
        self.limits, self.hide, self.data_pack, self.slots = limits, hide, data_pack, slots

    def __call__(self, submission: Submission) -> ExerciseResult:
        """Grade the exercise now: start its child, let it go at once, judge what it sent."""
        started = self.start(submission)
        if isinstance(started, ExerciseResult):
            return started
        try:
            started.go()
            started.until_done()
        finally:
            result = started.finish()
        return result

    def start(self, submission: Submission, wait: bool = True) -> "ExerciseResult | Running | None":
        """The student's child for this exercise, started and held at its gate (``Running.go`` lets it run); or the
        verdict when no child is needed (refused, missing); or None when ``wait`` is False and no uid slot is free."""
        name = self.exercise.name
        contents = submission.contents  # read once, without following links (intake.py)
        if name in contents.refused:
            return self._result("refused", contents.refused[name])
        filename = contents.exercises.get(name)
        if filename is None:
            return self._result("missing", f"{name}.py was not submitted")
        if contents.size > self.limits.scratch_bytes // 2:  # the intake's caps keep far below this
            return self._result("refused", f"your files ({contents.size} bytes) do not fit the sandbox's "
                                           f"{self.limits.scratch_bytes} bytes")
        begin = time.monotonic()
        try:
            slot = self.slots.get(block=wait)
        except queue.Empty:
            return None
        box = None
        try:
            box = Sandbox(contents.files, f"{submission.student}-{self.exercise.key}", hide=self.hide,
                          data_pack=self.data_pack, device=self.device)
            started = box.start(python(["grader.worker", "--exercise", name, "--file", str(box.work / filename),
                                        "--device", self.device, "--hidden", "--gate"]),
                                self.limits, slot, gated=True)
        except BaseException:
            if box is not None:
                box.__exit__(None, None, None)
            self.slots.put(slot)
            raise
        return Running(self, box, started, slot, contents.notes, time.monotonic() - begin)

    def _result(self, status: str, message: str, output: str = "") -> ExerciseResult:
        return ExerciseResult(self.exercise.name, self.exercise.title, status, message,
                              _all(self.checks, self.exercise, "error", message), output)

    @staticmethod
    def _import_error(body: bytes) -> str:
        try:
            message = json.loads(body[:20_000])["message"]
        except (ValueError, KeyError, TypeError, IndexError, RecursionError):  # not JSON, or not the worker's object
            return "the file does not import"
        return message[:4000] if isinstance(message, str) else "the file does not import"

    @staticmethod
    def _grader_changed(body: bytes) -> str:
        """What the ``done`` frame says student code changed in the grader's code (``{"changed": [...]}``)."""
        try:
            changed = json.loads(body[:20_000])["changed"]
            what = ", ".join(str(c)[:100] for c in changed[:3]) if isinstance(changed, list) else ""
        except (ValueError, KeyError, TypeError, IndexError, RecursionError):  # not the worker's object
            what = ""
        return (f"your code changed the grader's own code in its process{f' ({what})' if what else ''}: "
                "the checks from then on score zero")

    def _stopped(self, run) -> tuple[str, str]:
        """Why a run ended before sending ``done``: the reason class and the student-facing message."""
        limits = self.limits
        if run.tampered:
            return "tamper", f"the results your code's process sent were rejected ({run.tampered})"
        if run.timed_out:
            return "timeout", f"stopped after the time limit of {limits.wall_seconds:g} s"
        if run.out_of_memory:
            return "memory", f"stopped: your code used more than the memory limit of {limits.memory_bytes / GiB:g} GiB"
        if run.cpu_exceeded:
            return "timeout", f"stopped after using the CPU-time limit of {limits.cpu} s"
        code = run.returncode
        how = f"exit code {code}"
        if isinstance(code, int) and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:  # a signal number Python has no name for
                how = f"killed by signal {-code}"
        return "crashed", f"the process running your code stopped ({how})"

    def _judge(self, results: Path, run) -> tuple[list[CheckResult], str, str]:
        finished = "done" in run.frames and not run.tampered
        status, message = ("graded", "") if finished else self._stopped(run)
        if finished and run.frames["done"]:  # the worker found the grader's code in the child changed (guard.py)
            status, message = "tamper", self._grader_changed(run.frames["done"])
        running = next((i for i in range(len(self.checks))
                        if f"start-{i:03d}" in run.frames and f"check-{i:03d}" not in run.frames), None)
        verdicts = []
        expectations = self.expectations.result()  # a reference that fails its checks raises here
        for index, check in enumerate(self.checks):
            path = results / f"check-{index:03d}"
            if path.exists():
                try:
                    outcomes = read_outcomes(path, len(check.cases), self.limits.payload_bytes)
                except PayloadError as exc:
                    verdicts += _all([check], self.exercise, "error", f"unusable results ({exc})")
                    status, message = "tamper", f"the results of {check.id} were rejected ({exc})"
                    continue
                except Exception as exc:  # reading only raises PayloadError; this guard keeps the run going
                    verdicts += _all([check], self.exercise, "error", f"the grader could not read these results "
                                                                      f"({type(exc).__name__}: {str(exc)[:200]})")
                    continue
                expected = expectations.for_check(check)  # the reference failing to run is no verdict: it raises
                try:  # judge_check makes a verdict of any values; this is the last guard
                    verdicts.append(judge_check(self.exercise.name, check, outcomes, expected, self.device,
                                                expectations.anchors.get(check.id)))
                except Exception as exc:
                    verdicts += _all([check], self.exercise, "error", f"the grader could not judge these results "
                                                                      f"({type(exc).__name__}: {str(exc)[:200]})")
            elif index == running:
                verdicts += _all([check], self.exercise, "error", f"{message} while running this check")
            else:
                verdicts += _all([check], self.exercise, "error", f"not run: {message}")
        if status == "graded" and any("MemoryError" in v.message for v in verdicts if not v.passed):
            status, message = "memory", (f"your code ran out of memory (the limit is "
                                         f"{self.limits.memory_bytes / GiB:g} GiB)")
        return verdicts, status, message


class Running:
    """One student's child for one exercise, started: ``go``, ``until_done`` (while the caller starts the next), then
    ``finish`` (possibly in another thread): the child ended, its results judged, its scratch folder and uid freed."""

    def __init__(self, grade: GradeExercise, box: Sandbox, started: Started, slot: int, notes: list[str],
                 seconds: float):
        self.grade, self.box, self.started, self.slot, self.notes, self.seconds = grade, box, started, slot, notes, seconds

    def go(self) -> None:
        self.started.go()

    def until_done(self) -> None:
        self.started.until_done()

    def finish(self) -> ExerciseResult:
        g = self.grade
        try:
            try:
                run = self.started.finish()
            finally:
                g.slots.put(self.slot)  # the child is gone: its uid may serve the next
            if "importing" not in run.frames:
                if run.tampered or run.timed_out or run.out_of_memory:
                    return g._result(*g._stopped(run), run.output)
                return g._result("grader_failure", "the grader's child process failed before running your "
                                 "code (not your fault; the instructor has been told)", run.output)
            if "import_error" in run.frames:
                return _noted(g._result("import_error", g._import_error(run.frames["import_error"]), run.output),
                              self.notes)
            checks, status, message = g._judge(self.box.results, run)
        finally:
            self.box.__exit__(None, None, None)
        return _noted(ExerciseResult(g.exercise.name, g.exercise.title, status, message, checks, run.output,
                                     self.seconds + time.monotonic() - self.started.begin,
                                     checks_seconds=run.checks_seconds()), self.notes)

    def abandon(self) -> None:
        """End the child without letting it go (the run is stopping, or the exercise before failed the grader)."""
        try:
            self.started.abandon()
        finally:
            self.grade.slots.put(self.slot)
            self.box.__exit__(None, None, None)


SLOTS_PER_JOB = 3  # uid slots: a job's running child, the next one held at its gate, the one before still ending


def settled(result: ExerciseResult) -> Future:
    future: Future = Future()
    future.set_result(result)
    return future


def failed(exc: BaseException) -> Future:
    future: Future = Future()
    future.set_exception(exc)
    return future
