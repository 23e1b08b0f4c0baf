"""The course on disk: where ``exercises/`` and ``reference/`` are, and importing modules from files."""

from __future__ import annotations

import compileall
import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType

import grader

from . import GraderError

STORE_ENV = "GRADER_STORE"  # where the grader keeps what it computed instead of <course>/.grader-store ("off": nowhere)
FOLDER = ".grader-store"


def import_file(path: Path, alias: str) -> ModuleType:
    """Import a Python file as a module registered under ``alias`` (so two same-named files coexist)."""
    spec = importlib.util.spec_from_file_location(alias, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(alias, None)
        raise
    return module


class Course:
    """A course folder: ``exercises/`` (stubs and recorded expectations) and, for instructors, ``reference/``."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.exercises = self.root / "exercises"
        self.reference = self.root / "reference"
        self.expected = self.exercises / "expected"
        self._modules: dict[str, ModuleType] = {}

    @classmethod
    def find(cls, start: Path | None = None) -> "Course":
        """The course containing ``start`` (default: the working directory), else the installed one."""
        here = Path(start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / "exercises").is_dir() and (folder / "reference").is_dir():
                return cls(folder)
        installed = Path(grader.__file__).resolve().parent.parent
        if (installed / "reference").is_dir():
            return cls(installed)
        raise GraderError(f"no course found: neither {here} nor its parents hold exercises/ and reference/ "
                          "(run from the course folder or pass --course)")

    def reference_module(self, name: str) -> ModuleType:
        """The instructor's solution for an exercise (trusted code, imported in this process)."""
        if name not in self._modules:
            path = self.reference / f"{name}.py"
            if not path.is_file():
                raise GraderError(f"the reference solution {path} is missing")
            try:
                self._modules[name] = import_file(path, f"_course_reference.{name}")
            except Exception as exc:
                raise GraderError(f"the reference solution {path} does not import: "
                                  f"{type(exc).__name__}: {exc}") from exc
        return self._modules[name]


def location(course: Course) -> Path | None:
    """Where the grader keeps what it computed once (the reference's results, the data-free view's scans):
    ``$GRADER_STORE`` (``off`` for nowhere), else ``.grader-store`` in the course."""
    chosen = os.environ.get(STORE_ENV, "").strip()
    if chosen.lower() == "off":
        return None
    return Path(chosen).expanduser() if chosen else course.root / FOLDER


def views(course: Course) -> Path | None:
    """Where the data-free view's scans are kept between runs (``grader.view.Scans``), inside the store."""
    store = location(course)
    return store / "views" if store is not None else None


def byte_compile(course: Course) -> None:
    """The grader package and the course's reference byte-compiled, as an install or any earlier run leaves them
    (its example submissions left alone): under ``PYTHONDONTWRITEBYTECODE`` a file edited since would otherwise be
    compiled again by every grader process, the CLI and the zygote each importing some 20,000 lines."""
    compileall.compile_dir(Path(grader.__file__).resolve().parent, quiet=2, rx=re.compile(r"[/\\]examples[/\\]"))
    compileall.compile_dir(course.reference, quiet=2)
