"""nbgrader: a course directory of notebooks generated from ``reference/``, and the ``check`` its test cells call.

Each exercise becomes ``source/<exercise>/<exercise>.ipynb``: its docstrings as markdown, its
imports and helpers as locked cells, each function or class holding a solution region as a
solution cell (nbgrader's own ``### BEGIN SOLUTION`` markers, which ``reference/`` already uses),
and one autograder test cell per rubric check with the check's points. Hidden checks sit inside
``### BEGIN HIDDEN TESTS`` blocks, which nbgrader strips from the released notebooks and restores
when it autogrades. The test cells run the same rubric checks as ``pytest`` and ``grader grade``,
in the notebook's kernel (as nbgrader always does: no sandbox there).
"""

from __future__ import annotations

import ast
import json
import re
import sys
import textwrap
from pathlib import Path

from . import rubric
from .course import Course
from .release import claim_folder
from .reports import atomic_write

CONFIG = """c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.course_id = "torch-course-pack"
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = "sqlite:///" + {root!r} + "/gradebook.db"
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.ExecutePreprocessor.timeout = 600
"""
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
          "language_info": {"name": "python"}}
ROOT_ENV = "COURSE_PACK_ROOT"  # where check() finds the course when the notebook runs elsewhere
COURSE_MARK = ".nbgrader-release"  # left in the course folder: `--force` may rewrite a folder holding it


def _cell(kind: str, source: str, nbgrader: dict | None = None) -> dict:
    cell = {"cell_type": kind, "metadata": {}, "source": source.strip("\n")}
    if nbgrader is not None:
        cell["metadata"]["nbgrader"] = {"schema_version": 3, **nbgrader}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _grade_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


def notebook(course: Course, exercise: str) -> dict:
    """The nbgrader source notebook of one exercise."""
    path = course.reference / f"{exercise}.py"
    source = path.read_text()
    tree = ast.parse(source)
    lines = source.splitlines()
    ex = rubric.load(exercise)
    docstring = ast.get_docstring(tree) or ""
    cells = [_cell("markdown", f"# {ex.title}\n\n{docstring}")]
    nodes = tree.body[1:] if docstring else tree.body
    starts = []
    for node in nodes:  # a node starts at its decorators, or at the comments at column 0 right above it
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
        while first > 0 and (not lines[first - 1].strip() or lines[first - 1].startswith("#")) \
                and (not starts or first - 1 > starts[-1]):
            first -= 1
        starts.append(first)
    pending: list[str] = []
    for node, begin, end in zip(nodes, starts, [*starts[1:], len(lines)]):
        chunk = "\n".join(lines[begin:end]).strip("\n")  # trailing comments (### END SOLUTION) stay with it
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            pending.append(chunk)
            continue
        if pending:
            cells.append(_cell("code", "\n\n".join(pending), {"grade": False, "solution": False, "locked": True,
                                                              "grade_id": f"setup_{len(cells)}"}))
            pending = []
        doc = ast.get_docstring(node) or ""
        cells.append(_cell("markdown", f"## `{node.name}`\n\n{textwrap.dedent(doc)}"))
        solution = "BEGIN SOLUTION" in chunk
        cells.append(_cell("code", chunk, {"grade": False, "solution": solution, "locked": not solution,
                                           "grade_id": f"{'solution' if solution else 'given'}_{node.name}"}))
    if pending:
        cells.append(_cell("code", "\n\n".join(pending), {"grade": False, "solution": False, "locked": True,
                                                          "grade_id": "setup_end"}))
    cells.append(_cell("markdown", "## Checks\n\nEach cell below runs one check of the course's rubric and is "
                                   "worth its points."))
    for check in ex.checks:
        call = f"from grader.notebooks import check\ncheck({exercise!r}, {check.id!r})"
        text = f"### BEGIN HIDDEN TESTS\n{call}\n### END HIDDEN TESTS" if check.hidden else call
        cells.append(_cell("code", f"# {check.description}\n{text}",
                           {"grade": True, "solution": False, "locked": True, "points": check.points,
                            "grade_id": _grade_id(f"check_{check.id}")}))
    for index, cell in enumerate(cells):  # nbformat 4.5 wants an id per cell
        cell["id"] = cell["metadata"].get("nbgrader", {}).get("grade_id", f"cell-{index}").replace("_", "-")
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": KERNEL, "cells": cells}


def write_course(course: Course, dest: Path, only: str | None = None, force: bool = False) -> list[Path]:
    """Write ``nbgrader_config.py`` and ``source/<exercise>/<exercise>.ipynb`` into ``dest``.

    A non-empty ``dest`` needs ``force`` and an earlier course written here (``COURSE_MARK``); then only these
    files are rewritten: nbgrader's own folders and its gradebook stay as they are.
    """
    exercises = [e.name for e in rubric.select(only)]
    dest = dest.resolve()
    claim_folder(dest, force, COURSE_MARK, "nbgrader course", "rewrite")
    atomic_write(dest / COURSE_MARK, "written by `grader release --nbgrader`: --force rewrites nbgrader_config.py "
                                     "and source/ here\n")
    written = [dest / "nbgrader_config.py"]
    atomic_write(written[0], CONFIG.format(root=str(dest)))
    for name in exercises:
        path = dest / "source" / name / f"{name}.ipynb"
        atomic_write(path, json.dumps(notebook(course, name), indent=1) + "\n")
        written.append(path)
    return written


def _course() -> Course:
    import os

    if os.environ.get(ROOT_ENV):
        return Course(Path(os.environ[ROOT_ENV]))
    return Course.find()


def check(exercise: str, check_id: str, device: str = "cpu") -> None:
    """Run one rubric check on the notebook's own definitions; raise AssertionError with the diagnostic."""
    from .checks import judge_check
    from .expected import Expectations
    from .probes import run_check

    course = _course()
    ex = rubric.load(exercise)
    chk = ex.check(check_id)
    expectations = Expectations(ex, device, reference=course.reference_module(exercise))
    result = judge_check(exercise, chk, run_check(chk, sys.modules["__main__"], device),
                         expectations.for_check(chk), device)
    if not result.passed:
        raise AssertionError(f"{check_id}: {result.message}")
    print(f"{check_id}: passed ({result.points:g} point(s)){': ' + result.message if result.message else ''}")
