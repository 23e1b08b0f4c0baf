"""The real nbgrader round trip: `grader release --nbgrader`, `nbgrader generate_assignment`, `nbgrader autograde`,
scores read from nbgrader's own gradebook; and the same submitted notebooks graded by `grader grade`."""

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXERCISES, ROOT, run_grader

from grader import rubric

EX01 = EXERCISES[0]
nbgrader_api = pytest.importorskip("nbgrader.api", reason="nbgrader is not installed (pip install -e '.[instructor]')")


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    bin_dir = Path(sys.executable).parent  # nbgrader runs alembic and the kernel from this environment
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "COURSE_PACK_ROOT": str(ROOT)}
    return subprocess.run([str(bin_dir / "nbgrader"), *args], cwd=course, capture_output=True, text=True, env=env,
                          timeout=600)


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    course = tmp_path_factory.mktemp("nbgrader") / "course"
    released = run_grader("release", "--nbgrader", str(course), "--only", EX01)
    assert released.returncode == 0, released.stderr
    generated = nbgrader(course, "generate_assignment", EX01, "--force")
    assert generated.returncode == 0, generated.stderr[-3000:]
    for student, folder in (("ref", "source"), ("stub", "release")):
        target = course / "submitted" / student / EX01
        target.mkdir(parents=True)
        shutil.copy(course / folder / EX01 / f"{EX01}.ipynb", target)
    autograded = nbgrader(course, "autograde", EX01, "--create", "--force")
    assert autograded.returncode == 0, autograded.stderr[-3000:]
    (course.parent / "autograde.log").write_text(autograded.stderr)  # what nbgrader said, for the README's account
    with nbgrader_api.Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s: (gradebook.find_submission(EX01, s).score, gradebook.find_submission(EX01, s).max_score)
                  for s in ("ref", "stub")}
    return course, scores


def test_the_reference_notebook_earns_full_marks_in_nbgraders_gradebook(round_trip):
    _, scores = round_trip
    full = rubric.load(EX01).max_points(hidden=True)
    assert scores["ref"] == (full, full)


def test_the_released_stub_notebook_earns_zero(round_trip):
    _, scores = round_trip
    assert scores["stub"][0] == 0


def test_the_released_notebook_has_no_solution_and_no_hidden_check(round_trip):
    course, _ = round_trip
    released = (course / "release" / EX01 / f"{EX01}.ipynb").read_text()
    source = (course / "source" / EX01 / f"{EX01}.ipynb").read_text()
    assert "BEGIN SOLUTION" in source and "BEGIN SOLUTION" not in released
    assert "raise NotImplementedError()" in released
    hidden = [c.id for c in rubric.load(EX01).checks if c.hidden]
    assert all(repr(h) in source and repr(h) not in released for h in hidden)


def test_the_grader_grades_nbgraders_submitted_folder_with_the_same_verdicts(round_trip, tmp_path):
    course, _ = round_trip
    run = run_grader("grade", str(course / "submitted"), "--out", str(tmp_path / "out"), "--only", EX01)
    assert run.returncode == 0, run.stderr[-3000:]
    with (tmp_path / "out" / "grades.csv").open() as f:
        book = {row["student"]: float(row["total"]) for row in csv.DictReader(f)}
    assert book == {"ref": rubric.load(EX01).max_points(hidden=True), "stub": 0.0}


def test_nbgraders_checksum_warnings_are_the_hidden_test_cells_the_readme_explains(round_trip):
    """A released notebook submitted as it is warns for each cell with hidden tests, and for no other cell."""
    course, scores = round_trip
    log = (course.parent / "autograde.log").read_text()
    warned = re.findall(r"\[AutogradeApp \| WARNING\] Attribute 'checksum' for cell (\S+) has changed!", log)
    hidden = [c for c in rubric.load(EX01).checks if c.hidden]
    assert len(warned) == len(set(warned)) == len(hidden) and all(cell.endswith("_hidden") for cell in warned)
    assert scores["stub"][0] == 0  # the stub submitted as released: warned, and graded all the same
    readme = (ROOT / "README.md").read_text()
    assert "[AutogradeApp | WARNING] Attribute 'checksum' for cell check_" in readme
    assert "_hidden has changed! (should be: " in readme


def test_the_readmes_nbgrader_command_lines_use_nbgraders_own_options():
    readme = (ROOT / "README.md").read_text()
    lines = re.findall(r"^    (nbgrader [a-z_]+ .*)$", readme, re.M)
    assert {line.split()[1] for line in lines} >= {"generate_assignment", "autograde", "export"}
    for line in lines:
        words = line.split("#")[0].replace("[", " ").replace("]", " ").split()
        helped = nbgrader(ROOT, words[1], "--help")
        assert helped.returncode == 0, helped.stderr[-2000:]
        for option in (w for w in words[2:] if w.startswith("-")):
            assert re.search(rf"^{re.escape(option)}\b", helped.stdout, re.M), f"{line}: nbgrader has no {option}"
        assert "--create" not in words  # deprecated: autograde adds the students it finds
