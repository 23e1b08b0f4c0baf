"""Release: stubs and recorded expectations from ``reference/``, and the repository students get.

Written as small steps with one job each, in the manner of nbgrader's preprocessors, using its
markers: ``ClearSolutions`` turns each ``### BEGIN SOLUTION`` / ``### END SOLUTION`` region into a
``raise NotImplementedError("exNN.function")`` stub (nbgrader's own works on notebook cells and
writes one stub text for every region; ours names the enclosing function), ``ClearHiddenTests``
cuts ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` regions from the rubric, and
``CheckNoSolutions`` refuses a student tree that still holds solution text.
"""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from . import GraderError, classroom, rubric
from .course import Course
from .expected import dumps, record, same_document

BEGIN_SOLUTION = re.compile(r"^(\s*)#+\s*BEGIN SOLUTION\s*$")
END_SOLUTION = re.compile(r"^\s*#+\s*END SOLUTION\s*$")
BEGIN_HIDDEN = re.compile(r"^\s*#+\s*BEGIN HIDDEN TESTS\s*$")
END_HIDDEN = re.compile(r"^\s*#+\s*END HIDDEN TESTS\s*$")
MARKERS = re.compile(r"#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)")

PACKAGE = Path(__file__).resolve().parent
# The runtime students need for `pytest exercises/`: no release, grading or sandbox code.
STUDENT_ENTRY = ["__init__.py", "pytest_plugin.py", "classroom.py", "rubrics/__init__.py"]  # what students run


def student_runtime() -> list[str]:
    """The grader's modules a student repository ships (paths inside ``grader/``): what its entry points and the
    rubrics import, at any depth (imports inside functions too), so that it runs without the course installed."""
    seen: set[str] = set()
    todo = STUDENT_ENTRY + [f"rubrics/{p.name}" for p in sorted((PACKAGE / "rubrics").glob("ex[0-9][0-9]_*.py"))]
    while todo:
        rel = todo.pop()
        if rel not in seen:
            seen.add(rel)
            todo += sorted(_grader_imports(rel) - seen)
    return sorted(r for r in seen if not r.startswith("rubrics/ex"))


def _grader_imports(rel: str) -> set[str]:
    """The grader's own files that the module ``rel`` (a path inside ``grader/``) imports."""
    package = rel.split("/")[:-1]
    found = set()
    for node in ast.walk(ast.parse((PACKAGE / rel).read_text(), filename=rel)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                module = package[:len(package) - node.level + 1] + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "grader":
                module = node.module.split(".")[1:]
            else:
                continue
            names = [module] + [module + [alias.name] for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name.split(".")[1:] for alias in node.names if alias.name.split(".")[0] == "grader"]
        else:
            continue
        for parts in filter(None, names):
            found.update(f for f in ("/".join(parts) + ".py", "/".join(parts) + "/__init__.py") if (PACKAGE / f).is_file())
    return found


RELEASE_MARK = ".student-release"


class ReleaseError(GraderError):
    """The reference or the rubric cannot be released as it is."""


@dataclass
class Source:
    """A file on its way through the steps: where it came from, and its text now."""

    origin: Path
    text: str

    def where(self, lineno: int) -> str:
        return f"{self.origin}:{lineno}"


def _regions(source: Source, begin: re.Pattern, end: re.Pattern) -> list[tuple[int, int, str]]:
    """(first line, last line, indentation) of every marked region, 0-based and inclusive."""
    regions, start, indent = [], None, ""
    for n, line in enumerate(source.text.splitlines()):
        if (m := begin.match(line)) is not None:
            if start is not None:
                raise ReleaseError(f"{source.where(n + 1)}: a region begins inside the region begun at line {start + 1}")
            start, indent = n, m.group(1) if m.groups() else ""
        elif end.match(line):
            if start is None:
                raise ReleaseError(f"{source.where(n + 1)}: a region ends that never began")
            regions.append((start, n, indent))
            start = None
    if start is not None:
        raise ReleaseError(f"{source.where(start + 1)}: a region begins and never ends")
    return regions


def _functions(text: str) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function, 1-based."""
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    found.append((child.lineno, child.end_lineno, name))
                visit(child, name + ".")

    visit(ast.parse(text), "")
    return found


class ClearSolutions:
    """Replace each solution region with a stub that names its function: ``exNN.Class.method``."""

    def __init__(self, key: str):
        self.key = key

    def __call__(self, source: Source) -> Source:
        try:
            functions = _functions(source.text)
        except SyntaxError as exc:
            raise ReleaseError(f"{source.origin}:{exc.lineno}: {exc.msg}") from None
        lines = source.text.splitlines()
        out, last = [], 0
        for first, final, indent in _regions(source, BEGIN_SOLUTION, END_SOLUTION):
            owners = [f for f in functions if f[0] <= first + 1 <= f[1]]
            if not owners:
                raise ReleaseError(f"{source.where(first + 1)}: a solution region must sit inside a function")
            name = max(owners, key=lambda f: f[0])[2]
            out += lines[last:first]
            out += [f"{indent}# YOUR CODE HERE", f'{indent}raise NotImplementedError("{self.key}.{name}")']
            last = final + 1
        out += lines[last:]
        text = "\n".join(out) + "\n"
        try:
            compile(text, str(source.origin), "exec")
        except SyntaxError as exc:
            raise ReleaseError(f"{source.origin}: the stub does not compile ({exc.msg}, line {exc.lineno})") from None
        return Source(source.origin, text)


class ClearHiddenTests:
    """Cut every hidden-test region, markers included."""

    def __call__(self, source: Source) -> Source:
        lines = source.text.splitlines()
        for first, final, _ in reversed(_regions(source, BEGIN_HIDDEN, END_HIDDEN)):
            del lines[first:final + 1]
        return Source(source.origin, "\n".join(lines) + "\n")


def solution_lines(reference: Path) -> set[str]:
    """The distinctive lines of the reference's solution regions: at least 24 characters, and not
    shown to students anyway: a stub's docstring may quote a line on purpose, as a hint, and the
    course's own runtime (``grader/``, shipped to students) may hold the same common idiom."""
    paths = sorted(reference.glob("ex[0-9][0-9]_*.py"))
    shown = "\n".join([ClearSolutions("ex00")(Source(p, p.read_text())).text for p in paths]
                      + [(PACKAGE / name).read_text() for name in student_runtime()]
                      + [ClearHiddenTests()(Source(p, p.read_text())).text
                         for p in sorted((PACKAGE / "rubrics").glob("ex[0-9][0-9]_*.py"))])
    found = set()
    for path in paths:
        source = Source(path, path.read_text())
        lines = source.text.splitlines()
        for first, final, _ in _regions(source, BEGIN_SOLUTION, END_SOLUTION):
            found.update(s for s in (line.strip() for line in lines[first + 1:final])
                         if len(s) >= 24 and not s.startswith("#") and s not in shown)
    return found


class CheckNoSolutions:
    """Refuse a student tree that holds a solution line or an nbgrader marker anywhere."""

    def __init__(self, reference: Path):
        self.lines = solution_lines(reference)

    def __call__(self, root: Path) -> None:
        leaks = []
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            text = path.read_text(errors="replace")
            if MARKERS.search(text):
                leaks.append(f"{path}: an nbgrader marker")
            leaks += [f"{path}: {line!r}" for line in sorted(self.lines) if line in text]
        if leaks:
            raise ReleaseError("solution text in the student release:\n  " + "\n  ".join(leaks[:20]))


# --- the release ------------------------------------------------------------------------------------


def released_files(course: Course) -> dict[Path, str]:
    """What ``exercises/`` should hold, by path relative to the course root."""
    files = {}
    for exercise in rubric.load_all():
        reference = course.reference / f"{exercise.name}.py"
        if not reference.is_file():
            raise ReleaseError(f"{reference} is missing (the rubric grader/rubrics/{exercise.name}.py needs it)")
        stub = ClearSolutions(exercise.key)(Source(reference, reference.read_text()))
        files[Path("exercises") / f"{exercise.name}.py"] = stub.text
        document = record(exercise, course.reference_module(exercise.name))
        files[Path("exercises") / "expected" / f"{exercise.name}.json"] = dumps(document)
    return files


def _same(path: Path, text: str) -> bool:
    if not path.is_file():
        return False
    current = path.read_text()
    if path.suffix != ".json" or current == text:
        return current == text
    return same_document(current, text)


def drifted(course: Course) -> list[Path]:
    """Released files that differ from what ``release`` would write, plus strays in ``exercises/``."""
    files = released_files(course)
    bad = [rel for rel, text in files.items() if not _same(course.root / rel, text)]
    for pattern in ("ex[0-9][0-9]_*.py", "expected/ex[0-9][0-9]_*.json"):
        for path in course.exercises.glob(pattern):
            if path.relative_to(course.root) not in files:
                bad.append(path.relative_to(course.root))
    return sorted(bad)


def write_exercises(course: Course) -> list[Path]:
    """Regenerate ``exercises/``; returns the files that changed."""
    changed = []
    for rel, text in released_files(course).items():
        path = course.root / rel
        if not _same(path, text):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text)
            tmp.replace(path)
            changed.append(rel)
    return changed


STUDENT_README = """\
# {title}

Your exercises are the files in `exercises/`. Each function or method that says
`raise NotImplementedError(...)` is yours to write: its docstring gives the maths, the shapes and
the dtypes. Nothing else in the repository needs changing.

## Set up (once)

    python3 -m venv .venv && . .venv/bin/activate && pip install -e . && pip install --no-deps recbole==1.2.1

The second install brings only the MovieLens-100k ratings for exercise 7 (inside RecBole's
wheel; GroupLens does not allow copying them here). Instead, you can download GroupLens'
`ml-100k.zip` and set `COURSE_MOVIELENS` to its path.

## Check your work

    pytest exercises/                              # every exercise, with your score at the end
    pytest exercises/ex02_gradients.py             # one exercise
    pytest exercises/ -m ex02                      # the same, by marker
    pytest exercises/ -m Linear                    # the checks of one function or class

A check that fails tells you what it called, with which inputs, what it expected and how far
your answer is from it, and names the mistake when it recognises one. The checks here are the
visible part of the rubric; the course's grader also runs the same checks at inputs you do not
see, so make your code right for every shape the docstring allows, not only for these inputs.
Keep the dtype and the device of the inputs: the grader may run your code on a GPU.

In exercises 4 to 9 and 12 the checks train your model with your code and a fixed seed, and measure it
on held-out data whose labels only the checks hold; the figures you draw are saved in
`exercises/figures/`.

## On GitHub

If your course hands this repository out through GitHub Classroom, every push runs the same
visible checks (`.github/workflows/classroom.yml`): the Actions tab shows each check with its
points, and the Classroom sees your total. It is the score of `pytest exercises/`; your grade
also counts the hidden checks. Leave the workflow and `grader/` as they are.
"""

STUDENT_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "torch-course-pack-student"
version = "{version}"
description = "PyTorch exercises with instant feedback"
requires-python = ">=3.10"
dependencies = {dependencies}

[project.entry-points.pytest11]
course = "grader.pytest_plugin"

[tool.setuptools.packages.find]
include = ["grader*"]
"""


def claim_folder(dest: Path, force: bool, mark: str, what: str, how: str) -> bool:
    """May a release (``what``) be written into ``dest``? Into a new or empty folder, yes; into a non-empty one
    only with ``force``, and only where an earlier release of the same kind left its ``mark`` file. ``how`` says
    what ``--force`` does to it (the caller does it). Returns whether ``dest`` holds an earlier release."""
    if not (dest.exists() and any(dest.iterdir())):
        return False
    if not force:
        raise GraderError(f"{dest} exists and is not empty: choose a new folder, or pass --force to {how} an "
                          f"earlier {what} there")
    if not (dest / mark).is_file():
        raise GraderError(f"{dest} does not hold an earlier {what} ({mark} is missing): refusing to {how} it")
    return True


def write_student_repo(course: Course, dest: Path, force: bool = False) -> list[Path]:
    """Write the repository students get into ``dest``; returns the files written."""
    import tomllib

    import grader

    dest = Path(dest).resolve()
    if dest == course.root or course.root in dest.parents or dest in course.root.parents:
        raise GraderError(f"{dest} overlaps the course folder {course.root}: choose a folder outside it")
    if claim_folder(dest, force, RELEASE_MARK, "student release", "replace"):
        shutil.rmtree(dest)
    files: dict[Path, str] = dict(released_files(course))
    for name in student_runtime():
        files[Path("grader") / name] = (PACKAGE / name).read_text()
    hidden_free = ClearHiddenTests()
    for exercise in rubric.exercise_names():
        path = PACKAGE / "rubrics" / f"{exercise}.py"
        files[Path("grader") / "rubrics" / f"{exercise}.py"] = hidden_free(Source(path, path.read_text())).text
    project = tomllib.loads((course.root / "pyproject.toml").read_text())["project"]
    files[Path("README.md")] = STUDENT_README.format(title=project.get("description", "PyTorch exercises"))
    deps = "[" + ", ".join(f'"{d}"' for d in project["dependencies"]) + "]"
    files[Path("pyproject.toml")] = STUDENT_PYPROJECT.format(version=grader.__version__, dependencies=deps)
    files[Path(RELEASE_MARK)] = f"written by `grader release --student` {grader.__version__}\n"
    files[Path(".gitignore")] = ".venv/\n__pycache__/\n*.egg-info/\n.pytest_cache/\n"
    files[classroom.WORKFLOW] = classroom.workflow(rubric.load_all())
    for rel, text in files.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    CheckNoSolutions(course.reference)(dest)
    return sorted(files)
