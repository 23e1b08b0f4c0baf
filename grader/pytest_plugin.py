"""The student's pytest plugin: the rubric's visible checks as tests, plain verdicts, a score table.

``pytest exercises/`` collects each ``exercises/exNN_*.py`` as the checks its rubric declares
(students' own files are only imported when a check runs, so a broken file fails its checks
instead of stopping the run). ``--impl reference`` runs the same checks against ``reference/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import warnings
from pathlib import Path

import pytest
import torch

from . import GraderError, rubric, torchstate
from .checks import CheckResult, judge_check
from .course import import_file
from .escaping import multiline
from .expected import Expectations
from .probes import describe_import_error, run_check
from .reports import FIGURES, save_figures

EXERCISE_FILE = re.compile(r"^ex\d\d_\w+\.py$")
RESULTS = pytest.StashKey[list]()


def pytest_addoption(parser):
    group = parser.getgroup("course", "PyTorch course pack")
    group.addoption("--impl", default="exercises", metavar="WHOSE",
                    help="whose code the exercise checks run: 'exercises' (default: the files collected), "
                         "'reference' (the solutions in reference/ beside exercises/), or a folder of exNN_*.py files")
    group.addoption("--device", default="cpu", choices=("cpu", "cuda"), help="run the checks on this device")
    group.addoption("--score-json", default=None, metavar="PATH", help="also write every verdict to this JSON file")
    group.addoption("--figures", default=None, metavar="DIR",
                    help="where the figures your plotting functions draw are saved (default: figures/ beside "
                         "the exercise files)")


def pytest_configure(config):
    config.stash[RESULTS] = []
    if config.option.markers:  # `pytest --markers` lists every exercise's; a run registers those it collects
        for exercise in rubric.load_all():
            _register_markers(config, exercise)
    if config.getoption("--device") == "cuda" and not torch.cuda.is_available():
        raise pytest.UsageError("--device cuda: no CUDA device is available here")


def _register_markers(config, exercise: rubric.Exercise) -> None:
    """``-m ex02`` and ``-m softplus_grad`` select an exercise's or a function's checks. Registered as each file is
    collected, so that a run of one exercise loads that exercise's rubric alone (all twelve take seconds)."""
    config.addinivalue_line("markers", f"{exercise.key}: the checks of exercise {exercise.name}")
    for function in sorted({check.function for check in exercise.checks}):
        config.addinivalue_line("markers", f"{function}: the checks of {exercise.key}.{function}")


def _exercise_file(file_path: Path) -> bool:
    return (EXERCISE_FILE.match(file_path.name) is not None and (file_path.parent / "expected").is_dir()
            and file_path.stem in rubric.exercise_names())


def pytest_collect_file(file_path: Path, parent):
    if _exercise_file(file_path):
        return ExerciseFile.from_parent(parent, path=file_path)
    return None


class NotATestModule(pytest.File):
    """An exercise file named on the command line, as pytest's Python collector would see it: nothing to collect."""

    def collect(self):
        return []


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent):
    """``pytest exercises/ex02_gradients.py`` names the file, so pytest's own collector would import the student's
    code as a test module, outside the checks (a syntax error would be reported twice, once as a bare traceback).
    Its checks are the rubric's, collected by ``pytest_collect_file``."""
    if _exercise_file(Path(module_path)):
        return NotATestModule.from_parent(parent, path=Path(module_path))
    return None


class CheckFailed(Exception):
    """A check did not pass; its message is the whole report."""


class ExerciseFile(pytest.File):
    """One exercise: a test item per visible check of its rubric."""

    def collect(self):
        self.exercise = rubric.load(self.path.stem)
        _register_markers(self.config, self.exercise)
        self._module = None
        self._import_error: str | None = None
        for check in self.exercise.selected(hidden=False):
            item = CheckItem.from_parent(self, name=check.id, check=check)
            item.add_marker(self.exercise.key)
            item.add_marker(check.function)
            yield item

    def implementation(self) -> Path:
        impl = self.config.getoption("--impl")
        folder = {"exercises": self.path.parent, "reference": self.path.parent.parent / "reference"}.get(impl)
        if folder is None:
            folder = Path(impl).expanduser()
            if not folder.is_absolute():
                folder = Path(self.config.invocation_params.dir) / folder
        return folder / self.path.name

    def module(self):
        """The code under test, imported once; a broken file becomes every check's verdict."""
        if self._module is None and self._import_error is None:
            path = self.implementation()
            if not path.is_file():
                self._import_error = f"{path} is missing"
            else:
                alias = f"_course_impl_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}.{path.stem}"
                before = torchstate.take()
                try:
                    self._module = import_file(path, alias)
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:  # a student file may raise anything while importing
                    self._import_error = describe_import_error(exc, path)
                left = torchstate.restore(before)  # the checks run with torch's settings as they were
                if left:
                    warnings.warn(pytest.PytestWarning(torchstate.note(f"{path.name}, when imported,", left)))
        if self._import_error:
            raise CheckFailed(self._import_error)
        return self._module

    def expectations(self) -> Expectations:
        if not hasattr(self, "_expectations"):
            self._expectations = Expectations(self.exercise, self.config.getoption("--device"),
                                              recorded=self.path.parent / "expected" / f"{self.exercise.name}.json")
        return self._expectations


class CheckItem(pytest.Item):
    """One check of the rubric, run in this process against the code under test."""

    def __init__(self, *, check, **kwargs):
        super().__init__(**kwargs)
        self.check = check

    def runtest(self):
        file: ExerciseFile = self.parent
        device = self.config.getoption("--device")
        try:
            module = file.module()
        except CheckFailed as failed:
            self._record(CheckResult(file.exercise.name, self.check.id, self.check.target, self.check.description,
                                     self.check.points, self.check.hidden, "error", str(failed)))
            raise
        expected = file.expectations().for_check(self.check)
        before = torchstate.take()
        outcomes = run_check(self.check, module, device)
        left = torchstate.note(f"`{self.check.target}`", torchstate.restore(before))  # not for the next check to meet
        result = judge_check(file.exercise.name, self.check, torchstate.noted(outcomes, left), expected, device)
        if left and result.passed:  # a failure's message says it; a pass is told in pytest's warnings summary
            warnings.warn(pytest.PytestWarning(left))
        self._record(result)
        if result.figure:
            folder = self.config.getoption("--figures")
            folder = Path(self.config.invocation_params.dir, folder) if folder else file.path.parent / FIGURES
            for path in save_figures(folder, [result]):
                self.user_properties.append(("figure", str(path)))
        if not result.passed:
            raise CheckFailed(result.message)

    def _record(self, result: CheckResult):
        self.config.stash[RESULTS].append(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, (CheckFailed, GraderError)):
            message = str(excinfo.value).strip() or f"{self.check.description}: not passed (no detail was given)"
            return multiline(message)  # it quotes exception text: no escape sequence reaches the terminal
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"{self.parent.exercise.name}::{self.check.id}"


def _totals(results: list[CheckResult]) -> dict[str, dict]:
    table: dict[str, dict] = {}
    for r in results:
        row = table.setdefault(r.exercise, {"points": 0.0, "max_points": 0.0, "not_implemented": 0, "checks": 0})
        row["points"] += r.points
        row["max_points"] += r.max_points
        row["checks"] += 1
        row["not_implemented"] += r.status == "not_implemented"
    return table


def _fmt(x: float) -> str:
    return f"{x:g}"


PYTEST_REPORT_CHARS = "fE"  # pytest's default for -r: failures and errors in its short test summary


def _summary_asked_for(config) -> bool:
    """Whether the command line (or addopts) chose pytest's short test summary itself (``-ra``, ``-rA``, ``-rf``...)."""
    if config.option.reportchars != PYTEST_REPORT_CHARS:
        return True
    args = [*config.invocation_params.args, *shlex.split(os.environ.get("PYTEST_ADDOPTS", "")),
            *config.getini("addopts")]
    return any(str(a).startswith(("-r", "--report-chars")) for a in args)


def _each_failure_once(terminalreporter, config) -> None:
    """Each failure's message is in the FAILURES section already; pytest's short test summary would repeat every
    one of them (with the message cut short), so unless asked for, it keeps everything but the failures. Where the
    FAILURES section is off (``--tb=no``), the summary is all there is and stays."""
    if not _summary_asked_for(config) and config.option.tbstyle != "no":
        terminalreporter.reportchars = terminalreporter.reportchars.replace("f", "")


@pytest.hookimpl(wrapper=True, tryfirst=True)  # outermost: the score table comes after pytest's own sections
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    results = config.stash.get(RESULTS, [])
    if results:
        _each_failure_once(terminalreporter, config)
    outcome = yield
    if results:
        _score(terminalreporter, config, results)
    return outcome


def _score(terminalreporter, config, results: list[CheckResult]) -> None:
    """The score table per exercise and in total; with ``--score-json``, every verdict as JSON too."""
    table = _totals(results)
    width = max(len(name) for name in table) + 2
    terminalreporter.write_sep("=", "score")
    for name, row in table.items():
        note = f"   ({row['not_implemented']} not implemented yet)" if row["not_implemented"] else ""
        terminalreporter.write_line(f"{name:<{width}}{_fmt(row['points']):>6} / {_fmt(row['max_points']):<6}{note}")
    total, most = sum(r["points"] for r in table.values()), sum(r["max_points"] for r in table.values())
    terminalreporter.write_line(f"{'total':<{width}}{_fmt(total):>6} / {_fmt(most):<6}", bold=True)
    path = config.getoption("--score-json")
    if path:
        Path(path).write_text(json.dumps({
            "impl": config.getoption("--impl"), "total": total, "max_points": most, "exercises": table,
            "checks": [{k: getattr(r, k) for k in ("exercise", "check", "target", "status", "points",
                                                    "max_points", "message")} for r in results]}, indent=1))
